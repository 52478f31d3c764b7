/**
 * vitest globalSetup: makes the local services' addresses known to every test file and fails the run
 * early, with the command to fix it, when moto or Redis does not answer. `scripts/test.sh` starts the
 * services and exports their variables; a bare `npx vitest run` picks them up from
 * `.keyproof/services.env` here. Variables already in the environment win over the file.
 * Runs in vitest's main process before the test workers start, so they inherit what is set here.
 */
import { existsSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";

const SERVICES_ENV = fileURLToPath(new URL("../.keyproof/services.env", import.meta.url));
const HINT = "run `bash scripts/test.sh`, or start the services with `bash scripts/services.sh start`";

/** `export NAME='value'` lines as written by scripts/services.sh (single, double or no quotes). */
export function parseServicesEnv(text: string): Map<string, string> {
  const variables = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^\s*export\s+([A-Za-z_][A-Za-z0-9_]*)=(.*?)\s*$/.exec(line);
    if (match === null) continue;
    const [, name, raw] = match;
    if (name === undefined || raw === undefined) continue;
    const quoted = /^'(.*)'$/.exec(raw) ?? /^"(.*)"$/.exec(raw);
    variables.set(name, quoted?.[1] ?? raw);
  }
  return variables;
}

function loadServicesEnv(): void {
  if (
    process.env["KEYPROOF_TEST_AWS_ENDPOINT"] !== undefined &&
    process.env["KEYPROOF_TEST_REDIS_URL"] !== undefined
  ) {
    return;
  }
  if (!existsSync(SERVICES_ENV)) return;
  for (const [name, value] of parseServicesEnv(readFileSync(SERVICES_ENV, "utf8"))) {
    if (process.env[name] === undefined) process.env[name] = value;
  }
}

async function checkMoto(endpoint: string): Promise<void> {
  let detail: string;
  try {
    const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(5_000) });
    if (response.ok) return;
    detail = `HTTP ${response.status}`;
  } catch (error) {
    detail =
      error instanceof Error
        ? error.cause instanceof Error
          ? error.cause.message
          : error.message
        : String(error);
  }
  throw new Error(`moto (AWS emulator) does not answer at ${endpoint}/moto-api/ (${detail}): ${HINT}`);
}

/** Sends PING over a raw socket: no client library, no reconnect loop, one clear answer. */
async function checkRedis(url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  const host = hostname === "" ? "127.0.0.1" : hostname;
  const answer = await new Promise<string>((resolve) => {
    const socket = connect({ host, port: Number(port || "6379") });
    let received = "";
    const finish = (result: string): void => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(5_000, () => finish("timed out"));
    socket.once("error", (error) => finish(error.message));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("utf8");
      if (received.includes("\r\n")) finish(received.trim());
    });
  });
  if (answer !== "+PONG") {
    throw new Error(`Redis does not answer PING at ${url} (${answer}): ${HINT}`);
  }
}

export default async function setup(): Promise<void> {
  loadServicesEnv();
  await checkMoto(process.env["KEYPROOF_TEST_AWS_ENDPOINT"] ?? "http://127.0.0.1:5000");
  await checkRedis(process.env["KEYPROOF_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379");
}
