/**
 * The S3 side of queued runs against moto: the work store (put/get/list/overwrite), the run workspace's
 * publish and hydrate (a large extract goes up in parts and comes back streamed, with bounded memory,
 * removed files are removed remotely), and the refusal of a work bucket with default Object Lock retention.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { CreateBucketCommand, PutObjectLockConfigurationCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertWorkBucketUnretained } from "../../src/jobs/queue/run-marker.ts";
import { RunWorkspace } from "../../src/jobs/queue/run-workspace.ts";
import { S3WorkStore, type S3WorkTarget } from "../../src/storage/s3-work-store.ts";
import { awsTestClientConfig, uniqueName } from "../support/test-env.ts";

const REGION = "eu-west-1";
const MB = 1024 * 1024;
const aws = awsTestClientConfig(REGION);
const s3 = new S3Client({ ...aws, forcePathStyle: true });
let scratch: string;

async function createBucket(options: { objectLock: boolean }): Promise<string> {
  const bucket = uniqueName("kp-work");
  await s3.send(
    new CreateBucketCommand({
      Bucket: bucket,
      CreateBucketConfiguration: { LocationConstraint: REGION },
      ...(options.objectLock ? { ObjectLockEnabledForBucket: true } : {}),
    }),
  );
  return bucket;
}

function targetIn(bucket: string): S3WorkTarget {
  return { client: s3, bucket, prefix: `keyproof-work/${uniqueName("run")}/` };
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Peak growth of live heap plus Buffer memory while `work` runs, sampled every 50 ms after a collection. */
async function peakMemoryDuring(work: () => Promise<void>): Promise<number> {
  setFlagsFromString("--expose-gc");
  const collect = runInNewContext("gc") as () => void;
  const used = (): number => {
    const memory = process.memoryUsage();
    return memory.heapUsed + memory.arrayBuffers;
  };
  collect();
  const baseline = used();
  let peak = 0;
  const sampler = setInterval(() => {
    collect();
    peak = Math.max(peak, used() - baseline);
  }, 50);
  try {
    await work();
  } finally {
    clearInterval(sampler);
  }
  return peak;
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), "keyproof-s3-work-"));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe("the S3 work store", () => {
  it("puts, overwrites, gets and lists items in an Object Lock bucket", async () => {
    const store = new S3WorkStore(targetIn(await createBucket({ objectLock: true })));
    expect(await store.get("snapshot")).toBeUndefined();
    expect(await store.list("locations")).toEqual([]);
    await store.put("locations/b", { n: 1 });
    await store.put("locations/a", { n: 2 });
    await store.put("locations/a", { n: 3 });
    await store.put("locations/a/nested", { n: 4 });
    expect(await store.get("locations/a")).toEqual({ n: 3 });
    // Direct children only, sorted, as a directory listing.
    expect(await store.list("locations")).toEqual(["locations/a", "locations/b"]);
    await expect(store.put("../escape", {})).rejects.toThrow("must not contain ..");
  });

  it("runs its before-put hook before the item becomes visible", async () => {
    const seen: unknown[] = [];
    const store: S3WorkStore = new S3WorkStore(targetIn(await createBucket({ objectLock: false })), {
      beforePut: async () => {
        seen.push((await store.get("one")) ?? "absent");
      },
    });
    await store.put("one", 1);
    await store.put("one", 2);
    // The hook saw the store before each put: nothing, then the first value.
    expect(seen).toEqual(["absent", 1]);
  });
});

describe("the run workspace", () => {
  it("publishes a large extract in parts and hydrates it streamed, with bounded memory", async () => {
    const target = targetIn(await createBucket({ objectLock: true }));
    const runId = "kp-workspace-large";
    const writer = await RunWorkspace.open({ target, runId, scratchDirectory: scratch });
    const extract = path.join(writer.bundleDirectory, "sources/aws/eu-west-1/usage-events.ndjson");
    await mkdir(path.dirname(extract), { recursive: true });
    const SIZE = 96 * MB;
    const line = Buffer.from(`${JSON.stringify({ event: "Decrypt", key: "k".repeat(60) })}\n`);
    let written = 0;
    await pipeline(
      Readable.from(
        (function* () {
          while (written < SIZE) {
            written += line.length;
            yield line;
          }
        })(),
      ),
      createWriteStream(extract),
    );
    await writeFile(path.join(writer.bundleDirectory, "findings.json"), "[]\n");
    const expected = await sha256Of(extract);

    const publishPeak = await peakMemoryDuring(() => writer.publish());
    expect(await writer.remoteFiles()).toEqual([
      `${runId}/findings.json`,
      `${runId}/sources/aws/eu-west-1/usage-events.ndjson`,
    ]);
    await writer.close();

    const reader = await RunWorkspace.open({ target, runId, scratchDirectory: scratch });
    const hydratePeak = await peakMemoryDuring(() => reader.hydrate("all"));
    const copy = path.join(reader.bundleDirectory, "sources/aws/eu-west-1/usage-events.ndjson");
    expect(await sha256Of(copy)).toBe(expected);
    console.log(
      `workspace: ${SIZE / MB} MB extract, memory growth peak publish ${(publishPeak / MB).toFixed(1)} MB, hydrate ${(hydratePeak / MB).toFixed(1)} MB`,
    );
    // Parts of 8 MB, two in flight: well below the file's size.
    expect(publishPeak).toBeLessThan(SIZE / 2);
    expect(hydratePeak).toBeLessThan(SIZE / 4);

    // A hydrated file removed (a retried extract that writes fewer files) is removed remotely; unchanged
    // files are not uploaded again.
    await rm(path.join(reader.bundleDirectory, "findings.json"));
    await reader.publish();
    expect(await reader.remoteFiles()).toEqual([`${runId}/sources/aws/eu-west-1/usage-events.ndjson`]);
    await reader.close();
  }, 300_000);

  it("refuses a work bucket whose Object Lock has a default retention", async () => {
    const bucket = await createBucket({ objectLock: true });
    await assertWorkBucketUnretained(targetIn(bucket));
    await s3.send(
      new PutObjectLockConfigurationCommand({
        Bucket: bucket,
        ObjectLockConfiguration: {
          ObjectLockEnabled: "Enabled",
          Rule: { DefaultRetention: { Mode: "GOVERNANCE", Days: 1 } },
        },
      }),
    );
    await expect(assertWorkBucketUnretained(targetIn(bucket))).rejects.toMatchObject({
      code: "STORAGE_REFUSED",
    });
    // A bucket without Object Lock at all holds work objects freely.
    await assertWorkBucketUnretained(targetIn(await createBucket({ objectLock: false })));
  });
});
