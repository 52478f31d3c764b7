import { createHash, randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { DeliveryArtifact, DeliveryRunSummary } from "../../src/delivery/delivery-target.ts";

/** A run summary as the orchestrator builds it; each call a fresh run id (tests share the fakes). */
export function makeDeliveryRun(overrides: Partial<DeliveryRunSummary> = {}): DeliveryRunSummary {
  return {
    runId: `run-${randomUUID().slice(0, 8)}`,
    scope: "acme-prod",
    organization: "Acme Corp",
    period: { label: "2026-Q2", from: "2026-04-01", to: "2026-06-30" },
    findings: { byStatus: { pass: 10, fail: 2 }, bySeverity: { high: 1, medium: 1 } },
    gaps: 0,
    bundle: {
      location: "s3://acme-evidence/acme-prod/2026-Q2/bundle.tar",
      versionId: "v1",
      manifestSha256: createHash("sha256").update(randomUUID()).digest("hex"),
    },
    schedule: { name: "quarterly", cron: "0 6 1 1,4,7,10 *", period: "previous-quarter" },
    ...overrides,
  };
}

/** A directory of artifact files for one test; `cleanup` removes it. */
export async function makeArtifactDirectory(): Promise<{
  write(bundlePath: string, content: string | Buffer, mimeType?: string): Promise<DeliveryArtifact>;
  /** A sparse file of `sizeBytes` (no memory, little disk): for size limits. */
  writeSized(bundlePath: string, sizeBytes: number, mimeType?: string): Promise<DeliveryArtifact>;
  cleanup(): Promise<void>;
}> {
  const directory = await mkdtemp(path.join(tmpdir(), "keyproof-delivery-"));
  let counter = 0;
  return {
    async write(bundlePath, content, mimeType = "application/pdf") {
      counter += 1;
      const file = path.join(directory, `${counter}-${path.basename(bundlePath)}`);
      const bytes = typeof content === "string" ? Buffer.from(content) : content;
      await writeFile(file, bytes);
      return {
        path: bundlePath,
        file,
        sizeBytes: bytes.length,
        sha256: createHash("sha256").update(bytes).digest("hex"),
        mimeType,
      };
    },
    async writeSized(bundlePath, sizeBytes, mimeType = "application/pdf") {
      counter += 1;
      const file = path.join(directory, `${counter}-${path.basename(bundlePath)}`);
      await writeFile(file, "");
      await truncate(file, sizeBytes);
      const hash = createHash("sha256");
      for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
      return { path: bundlePath, file, sizeBytes, sha256: hash.digest("hex"), mimeType };
    },
    cleanup: () => rm(directory, { recursive: true, force: true }),
  };
}
