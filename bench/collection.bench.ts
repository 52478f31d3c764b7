/**
 * Collection (issue 16, benchmark 2): KMS keys over 3 regions, with key policies, grants, tags and rotation,
 * collected by keyproof inline and queued (1, 2, 4 collect-worker processes), against a minimal SDK script
 * making the same calls at the same concurrency (the floor). Prints wall time, keys/s, the ratio to the
 * floor, and the KMS calls per second per API (mean over the case, and the busiest second) so a user can
 * see the quotas (kms-rate-limit.ts) are respected. Figures only, no assertions.
 *
 *   npx tsx bench/collection.bench.ts --keys 1000            (default 1000; the issue asks 10,000)
 *   npx tsx bench/collection.bench.ts --keys 300 --workers 1,2 --skip-queued
 *
 * A private moto (`.venv/bin/moto_server`, a free port, stopped at the end) holds the estate, so the figures
 * are not disturbed by other tests' requests and nothing collides; it is seeded once and every case reads
 * the same keys. Every case talks to it through a counting proxy in this process (KMS JSON protocol:
 * `X-Amz-Target: TrentService.<API>`), the floor included, so the proxy's cost is in every figure alike.
 *
 * Concurrency, the same in keyproof and the floor: regions one after another, keys in batches of 100
 * (queue.keyBatchSize), 4 keys at once, each key's 6 calls at once (kms-key.collector.ts). keyproof inline
 * is the provider's listKeys + collectKeys, the collection an inline run makes (the run's logging, usage
 * and sealing are not timed). Queued is a whole queued run without rendering (plan, collect, seal) from
 * `startRun` to completion, on that many `workers/collect.worker.ts` processes.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import {
  CreateGrantCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  EnableKeyRotationCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  KMSClient,
  RotateKeyOnDemandCommand,
  paginateListAliases,
  paginateListGrants,
  paginateListKeyRotations,
  paginateListKeys,
  paginateListResourceTags,
} from "@aws-sdk/client-kms";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { stringify } from "yaml";
import type { AwsKmsSourceConfig } from "../src/config/config.schema.ts";
import { loadConfig } from "../src/config/load-config.ts";
import { QueueClient } from "../src/jobs/queue/queue-client.ts";
import { followRun } from "../src/jobs/run-queued.ts";
import { createAwsKmsProvider } from "../src/providers/aws-kms/aws-kms.provider.ts";
import { KMS_REQUEST_QUOTAS } from "../src/providers/aws-kms/kms-rate-limit.ts";
import { mapWithConcurrency } from "../src/providers/shared/concurrency.ts";
import { generateSigningKey } from "../src/signing/keygen.ts";
import { parseRange } from "../src/time/date-range.ts";
import {
  EMULATOR_CREDENTIALS as CREDENTIALS,
  MOTO_ACCOUNT as ACCOUNT,
  REDIS_URL,
  argument,
  cleanupPrefix,
  killChildren,
  machineLine,
  startPrivateMoto,
  startWorker,
  stopWorker,
  waitUntilReady,
} from "./support/bench-processes.ts";

const KEY_COUNT = Number(argument("keys") ?? 1000);
const WORKER_COUNTS = (argument("workers") ?? "1,2,4").split(",").map(Number);
const SKIP_QUEUED = process.argv.includes("--skip-queued");
const REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"];
const BATCH_SIZE = 100;
const KEY_CONCURRENCY = 4;

/** Counts KMS requests per API with their times, forwarding everything to moto. */
interface CountingProxy {
  url: string;
  calls: Map<string, number[]>;
  reset(): void;
  close(): Promise<void>;
}

async function startCountingProxy(target: string): Promise<CountingProxy> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const calls = new Map<string, number[]>();
  const server = http.createServer((request, response) => {
    const amzTarget = request.headers["x-amz-target"];
    const api =
      typeof amzTarget === "string" && amzTarget.startsWith("TrentService.")
        ? amzTarget.slice("TrentService.".length)
        : "other";
    const times = calls.get(api) ?? [];
    times.push(performance.now());
    calls.set(api, times);
    const forwarded = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: request.method,
        path: request.url,
        headers: request.headers,
        agent,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forwarded.on("error", () => {
      response.writeHead(502);
      response.end();
    });
    request.pipe(forwarded);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    reset: () => calls.clear(),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      agent.destroy();
    },
  };
}

function keyPolicy(): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "Enable IAM User Permissions",
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
        Action: "kms:*",
        Resource: "*",
      },
      {
        Sid: "Application use",
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/app` },
        Action: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
        Resource: "*",
      },
    ],
  });
}

/** Keys spread evenly over the regions: a policy, a tag and a grant each; rotation on every other key, an on-demand rotation on every fourth. */
async function seed(moto: string): Promise<void> {
  const perRegion = Math.ceil(KEY_COUNT / REGIONS.length);
  await Promise.all(
    REGIONS.map(async (region, regionIndex) => {
      const kms = new KMSClient({ endpoint: moto, region, credentials: CREDENTIALS });
      const count = Math.max(0, Math.min(perRegion, KEY_COUNT - regionIndex * perRegion));
      await mapWithConcurrency(
        Array.from({ length: count }, (_, index) => index),
        16,
        async (index) => {
          const created = await kms.send(
            new CreateKeyCommand({
              Description: `bench key ${index}`,
              Policy: keyPolicy(),
              Tags: [{ TagKey: "owner", TagValue: `team-${index % 7}` }],
            }),
          );
          const KeyId = created.KeyMetadata?.KeyId ?? "";
          await kms.send(
            new CreateGrantCommand({
              KeyId,
              GranteePrincipal: `arn:aws:iam::${ACCOUNT}:role/worker`,
              Operations: ["Decrypt"],
            }),
          );
          if (index % 2 === 0) await kms.send(new EnableKeyRotationCommand({ KeyId }));
          // moto may not implement on-demand rotation: the estate then simply has none.
          if (index % 4 === 0) await kms.send(new RotateKeyOnDemandCommand({ KeyId })).catch(() => undefined);
        },
      );
      kms.destroy();
    }),
  );
}

/** The floor: the same calls with the SDK alone, at keyproof's concurrency, no normalisation. */
async function collectWithSdk(endpoint: string): Promise<number> {
  let keys = 0;
  for (const region of REGIONS) {
    const kms = new KMSClient({ endpoint, region, credentials: CREDENTIALS });
    const listed: string[] = [];
    for await (const page of paginateListKeys({ client: kms }, {}))
      for (const key of page.Keys ?? []) if (key.KeyId !== undefined) listed.push(key.KeyId);
    const aliases: unknown[] = [];
    for await (const page of paginateListAliases({ client: kms }, {})) aliases.push(...(page.Aliases ?? []));
    const drain = async <T>(pages: AsyncIterable<T>) => {
      const all: T[] = [];
      for await (const page of pages) all.push(page);
      return all;
    };
    for (let start = 0; start < listed.length; start += BATCH_SIZE) {
      await mapWithConcurrency(listed.slice(start, start + BATCH_SIZE), KEY_CONCURRENCY, (KeyId) =>
        Promise.all([
          kms.send(new DescribeKeyCommand({ KeyId })),
          drain(paginateListResourceTags({ client: kms }, { KeyId })),
          kms.send(new GetKeyRotationStatusCommand({ KeyId })),
          drain(paginateListKeyRotations({ client: kms }, { KeyId })),
          kms.send(new GetKeyPolicyCommand({ KeyId, PolicyName: "default" })),
          drain(paginateListGrants({ client: kms }, { KeyId })),
        ]),
      );
    }
    keys += listed.length;
    kms.destroy();
  }
  return keys;
}

function sourceConfig(endpoint: string): AwsKmsSourceConfig {
  return { id: "aws-bench", type: "aws-kms", regions: REGIONS, endpoint };
}

/** keyproof inline: the provider's listing and batches, as an inline run calls them. */
async function collectWithKeyproof(endpoint: string): Promise<number> {
  const provider = createAwsKmsProvider(sourceConfig(endpoint), { credentials: CREDENTIALS });
  let keys = 0;
  try {
    for (const region of REGIONS) {
      const listing = await provider.listKeys(region);
      for (let start = 0; start < listing.refs.length; start += BATCH_SIZE) {
        const batch = await provider.collectKeys(region, listing.refs.slice(start, start + BATCH_SIZE));
        keys += batch.keys.length;
        const failed = batch.keys.find((key) => key.errors.length > 0);
        if (failed !== undefined) throw new Error(`key ${failed.keyId}: ${JSON.stringify(failed.errors)}`);
      }
    }
  } finally {
    provider.close();
  }
  return keys;
}

/** A whole queued run (no rendering) on `workerCount` collect workers; the clock starts at startRun. */
async function collectQueued(
  endpoint: string,
  moto: string,
  workerCount: number,
  directory: string,
  proxy: CountingProxy,
): Promise<{ keys: number; seconds: number; status: string }> {
  const prefix = `kpbench-collect-${randomUUID().slice(0, 8)}`;
  const bucket = `keyproof-bench-trail-${randomUUID().slice(0, 8)}`;
  const s3 = new S3Client({
    endpoint: moto,
    region: "us-east-1",
    credentials: CREDENTIALS,
    forcePathStyle: true,
  });
  // An empty trail bucket: usage extraction reads it (no events) instead of LookupEvents, which moto lacks.
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  s3.destroy();
  const configFile = path.join(directory, `queued-${workerCount}.yaml`);
  await writeFile(
    configFile,
    stringify({
      organization: "Bench Corp",
      sources: [
        {
          ...sourceConfig(endpoint),
          endpoints: { s3: moto },
          cloudtrail: { bucket, prefix: "", region: "us-east-1" },
        },
      ],
      signing: { localKeyFile: "./signing.pem" },
      queue: { keyBatchSize: BATCH_SIZE },
    }),
  );
  const loaded = await loadConfig(configFile);
  const workers = [
    ...Array.from({ length: workerCount }, () => startWorker("collect", prefix)),
    startWorker("seal", prefix),
    startWorker("deliver", prefix),
  ];
  const client = QueueClient.connect(REDIS_URL, prefix);
  try {
    for (const worker of workers) await waitUntilReady(worker);
    proxy.reset();
    const started = performance.now();
    const run = await client.startRun({
      config: loaded.config,
      configDirectory: loaded.directory,
      outDirectory: path.join(directory, `data-${workerCount}`),
      range: parseRange("2026-07-01", "2026-07-01"),
      render: false,
      request: { origin: "cli" },
    });
    const record = await followRun(client, run.runId, { pollIntervalMs: 100, timeoutMs: 3_600_000 });
    const seconds = (performance.now() - started) / 1000;
    return { keys: record.summary?.sources[0]?.keys ?? 0, seconds, status: record.status };
  } finally {
    await client.close();
    await Promise.all(workers.map(stopWorker));
    await cleanupPrefix(prefix);
  }
}

/** Calls per second per KMS API: mean over the case and the busiest whole second, with the quota. */
function callRates(proxy: CountingProxy, seconds: number): string {
  const lines: string[] = [];
  for (const [api, times] of [...proxy.calls.entries()].sort(([left], [right]) =>
    left.localeCompare(right),
  )) {
    const perSecond = new Map<number, number>();
    const first = Math.min(...times);
    for (const time of times) {
      const second = Math.floor((time - first) / 1000);
      perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
    }
    const busiest = Math.max(...perSecond.values());
    const quota = (KMS_REQUEST_QUOTAS as Record<string, number | undefined>)[api];
    lines.push(
      `    ${api.padEnd(21)} ${String(times.length).padStart(6)} calls, ${(times.length / seconds).toFixed(1).padStart(7)}/s mean, ` +
        `${String(busiest).padStart(5)} in the busiest second${quota === undefined ? "" : ` (quota ${quota}/s)`}`,
    );
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const directory = await mkdtemp(path.join(tmpdir(), "keyproof-bench-collection-"));
  const moto = await startPrivateMoto();
  const proxy = await startCountingProxy(moto);
  try {
    await generateSigningKey(path.join(directory, "signing.pem"));
    process.stdout.write(`${machineLine()}\n`);
    const seedStart = performance.now();
    await seed(moto);
    process.stdout.write(
      `seeded ${KEY_COUNT} keys over ${REGIONS.join(", ")} into a private moto at ${moto} in ${((performance.now() - seedStart) / 1000).toFixed(1)} s\n`,
    );

    const cases: Array<{
      label: string;
      run: () => Promise<{ keys: number; seconds: number; status?: string }>;
    }> = [
      {
        label: "floor: minimal SDK script",
        run: async () => {
          const started = performance.now();
          const keys = await collectWithSdk(proxy.url);
          return { keys, seconds: (performance.now() - started) / 1000 };
        },
      },
      {
        label: "keyproof inline",
        run: async () => {
          const started = performance.now();
          const keys = await collectWithKeyproof(proxy.url);
          return { keys, seconds: (performance.now() - started) / 1000 };
        },
      },
      ...(SKIP_QUEUED
        ? []
        : WORKER_COUNTS.map((count) => ({
            label: `keyproof queued, ${count} worker(s), whole run`,
            run: () => collectQueued(proxy.url, moto, count, directory, proxy),
          }))),
    ];
    let floorSeconds: number | undefined;
    for (const { label, run } of cases) {
      proxy.reset();
      const result = await run();
      floorSeconds ??= result.seconds;
      process.stdout.write(
        `${label}: ${result.status === undefined ? "" : `${result.status}, `}${result.keys} keys in ${result.seconds.toFixed(1)} s = ` +
          `${(result.keys / result.seconds).toFixed(1)} keys/s, ${(result.seconds / floorSeconds).toFixed(2)}x the floor; load ${loadavg()[0]?.toFixed(1)}\n` +
          `${callRates(proxy, result.seconds)}\n`,
      );
    }
  } finally {
    await proxy.close();
    killChildren();
    await rm(directory, { recursive: true, force: true });
  }
}

await main();
