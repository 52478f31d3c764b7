import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { DeliveryTargetConfig } from "../config/deliver.schema.ts";
import { selectArtifacts } from "./deliver-run.ts";
import { FileDeliveryLedger } from "./delivery-ledger.ts";

const files = [
  { path: "findings.json", sha256: "a".repeat(64), bytes: 10 },
  { path: "reports/findings-report.pdf", sha256: "b".repeat(64), bytes: 20 },
  { path: "reports/nested/other.pdf", sha256: "c".repeat(64), bytes: 30 },
  { path: "screenshots/aws/eu-west-1/k-1.png", sha256: "d".repeat(64), bytes: 40 },
];

const drata = (artifacts: string[]): DeliveryTargetConfig => ({
  name: "drata",
  type: "drata",
  workspaceId: 1,
  controlIds: [42],
  ownerId: 7,
  artifacts,
  apiKeyEnv: "KEYPROOF_DRATA_API_KEY",
  baseUrl: "https://public-api.drata.com",
});

describe("selectArtifacts", () => {
  it("selects manifest files by the target's globs, with size, digest and MIME type", () => {
    const selected = selectArtifacts(drata(["reports/*.pdf", "screenshots/**/*.png"]), "/b/run-1", files);
    expect(selected).toEqual([
      {
        path: "reports/findings-report.pdf",
        file: path.join("/b/run-1", "reports", "findings-report.pdf"),
        sizeBytes: 20,
        sha256: "b".repeat(64),
        mimeType: "application/pdf",
      },
      expect.objectContaining({
        path: "screenshots/aws/eu-west-1/k-1.png",
        mimeType: "image/png",
        sizeBytes: 40,
      }),
    ]);
  });

  it("selects nothing for a webhook (it sends the summary only) or for globs that match nothing", () => {
    const webhook: DeliveryTargetConfig = {
      name: "hook",
      type: "webhook",
      url: "https://hooks.example/k",
      secretEnv: "S",
    };
    expect(selectArtifacts(webhook, "/b", files)).toEqual([]);
    expect(selectArtifacts(drata(["review/*.pdf"]), "/b", files)).toEqual([]);
  });
});

describe("FileDeliveryLedger (runs without Redis)", () => {
  const directory = mkdtemp(path.join(tmpdir(), "keyproof-ledger-"));
  afterAll(async () => rm(await directory, { recursive: true, force: true }));

  it("writes only over the expected entry, and keeps entries across instances", async () => {
    const ledger = FileDeliveryLedger.besideBundle(path.join(await directory, "run-1"));
    const sending = await ledger.compareAndSet("run-1", "drata", "a.pdf", undefined, { state: "sending" });
    expect(sending?.entry.state).toBe("sending");
    // A second writer that still believes the entry absent loses.
    expect(
      await ledger.compareAndSet("run-1", "drata", "a.pdf", undefined, { state: "sending" }),
    ).toBeUndefined();
    const [first, second] = await Promise.all([
      ledger.compareAndSet("run-1", "drata", "a.pdf", sending?.raw, { state: "delivered" }),
      ledger.compareAndSet("run-1", "drata", "a.pdf", sending?.raw, { state: "failed" }),
    ]);
    expect([first?.entry.state, second]).toEqual(["delivered", undefined]);
    const reopened = FileDeliveryLedger.besideBundle(path.join(await directory, "run-1"));
    expect((await reopened.read("run-1", "drata")).get("a.pdf")?.entry.state).toBe("delivered");
    expect((await reopened.read("run-1", "other")).size).toBe(0);
  });
});
