/**
 * What the collection and end-to-end benchmarks share: a private moto on a free port (figures undisturbed
 * by other tests' requests, nothing shared), worker processes on a unique Redis prefix, and cleanup of
 * both, also when the bench is interrupted.
 */
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { cpus, loadavg, totalmem } from "node:os";
import path from "node:path";
import { Redis } from "ioredis";

export const ROOT = path.resolve(import.meta.dirname, "../..");
export const REDIS_URL = process.env.KEYPROOF_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
export const EMULATOR_CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };
/** moto's default account: the private moto serves only the bench that started it. */
export const MOTO_ACCOUNT = "123456789012";

export function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
}

const children = new Set<ChildProcess>();

/** Kills every process this bench started (each is its own process group: npx, tsx and node). */
export function killChildren(): void {
  for (const child of children) {
    if (child.pid === undefined || child.exitCode !== null) continue;
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    killChildren();
    process.exit(130);
  });
}

export function machineLine(): string {
  return `machine: ${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, load ${loadavg()
    .map((value) => value.toFixed(1))
    .join(" ")}`;
}

async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function until(
  what: string,
  probe: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Starts `.venv/bin/moto_server` on a free port; it is killed with the bench's other children. */
export async function startPrivateMoto(): Promise<string> {
  const port = await freePort();
  const child = spawn(path.join(ROOT, ".venv/bin/moto_server"), ["-H", "127.0.0.1", "-p", String(port)], {
    detached: true,
    stdio: "ignore",
  });
  children.add(child);
  const url = `http://127.0.0.1:${port}`;
  await until("private moto", async () => {
    try {
      return (await fetch(`${url}/moto-api/`)).status < 500;
    } catch {
      return false;
    }
  });
  return url;
}

export interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
}

/** `npx tsx workers/<kind>.worker.ts` on the prefix, with the emulator's static credentials. */
export function startWorker(
  kind: string,
  prefix: string,
  environment: NodeJS.ProcessEnv = {},
): WorkerProcess {
  let output = "";
  const child = spawn("npx", ["tsx", `workers/${kind}.worker.ts`], {
    cwd: ROOT,
    env: {
      ...process.env,
      REDIS_URL,
      KEYPROOF_QUEUE_PREFIX: prefix,
      AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
      ...environment,
    },
    detached: true,
    stdio: ["ignore", "ignore", "pipe"],
  });
  children.add(child);
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  return { child, output: () => output };
}

export async function waitUntilReady(worker: WorkerProcess): Promise<void> {
  await until("worker ready", () => worker.output().includes('"msg":"ready"'), 120_000);
}

/** SIGTERM to the worker's node process (its pid is in its first log line), SIGKILL to the group after 15 s. */
export async function stopWorker(worker: WorkerProcess): Promise<void> {
  const pid = Number(/"pid":(\d+)/.exec(worker.output())?.[1] ?? 0);
  const exited = new Promise((resolve) => {
    if (worker.child.exitCode !== null) resolve(undefined);
    else worker.child.once("exit", resolve);
  });
  if (pid > 0) process.kill(pid, "SIGTERM");
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
  if (worker.child.exitCode === null && worker.child.pid !== undefined) {
    try {
      process.kill(-worker.child.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

export async function cleanupPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== "0");
  await redis.quit();
}
