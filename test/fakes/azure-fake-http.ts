/**
 * TEST SUPPORT shared by the Azure FAKES (Key Vault data plane, Resource Manager, Log Analytics): an https
 * server on 127.0.0.1 with a random port, Azure's error body, the bearer-token check, and one self-signed TLS
 * certificate for `localhost`/`127.0.0.1` made with the system `openssl` once per process. Azure's bearer-token
 * policy refuses plain http, so the fakes serve https; clients trust the certificate through an https agent
 * (the provider's `trustedCertificates` or a source's `tlsCaFile`).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:https";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeTlsMaterial {
  /** PEM certificate: the trust anchor clients add. */
  cert: string;
  /** PEM private key. */
  key: string;
}

let material: FakeTlsMaterial | undefined;

export function fakeTlsMaterial(): FakeTlsMaterial {
  if (material !== undefined) return material;
  const directory = mkdtempSync(join(tmpdir(), "keyproof-fake-tls-"));
  try {
    const keyFile = join(directory, "key.pem");
    const certFile = join(directory, "cert.pem");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        keyFile,
        "-out",
        certFile,
        "-days",
        "2",
        "-subj",
        "/CN=keyproof-azure-fake",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,digitalSignature,keyCertSign",
      ],
      { stdio: "pipe" },
    );
    material = { cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8") };
    return material;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

export interface FakeRequest {
  method: string;
  /** Parsed URL; `url.host` is the authority the client used (vaults are told apart by it). */
  url: URL;
  headers: IncomingMessage["headers"];
  body: unknown;
}

export interface FakeResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type FakeHandler = (request: FakeRequest) => FakeResponse | Promise<FakeResponse>;

export interface RunningFakeServer {
  /** `https://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Every request seen, for assertions on what the real clients sent. */
  requests: Array<{ method: string; url: string; authorization: boolean }>;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Starts an https server on 127.0.0.1 with a random free port, answering through `handler`. */
export async function startFakeHttpsServer(handler: FakeHandler): Promise<RunningFakeServer> {
  const tls = fakeTlsMaterial();
  const requests: RunningFakeServer["requests"] = [];
  const server: Server = createServer(
    { cert: tls.cert, key: tls.key },
    (request, response: ServerResponse) => {
      void (async () => {
        try {
          const body = await readBody(request);
          const url = new URL(request.url ?? "/", `https://${request.headers.host ?? "127.0.0.1"}`);
          requests.push({
            method: request.method ?? "GET",
            url: url.toString(),
            authorization: request.headers.authorization !== undefined,
          });
          const answer = await handler({
            method: request.method ?? "GET",
            url,
            headers: request.headers,
            body,
          });
          const headers: Record<string, string> = { "x-fake": "keyproof", ...(answer.headers ?? {}) };
          if (answer.body === undefined) {
            response.writeHead(answer.status, headers).end();
          } else {
            response.writeHead(answer.status, {
              "content-type": "application/json; charset=utf-8",
              ...headers,
            });
            response.end(JSON.stringify(answer.body));
          }
        } catch (error) {
          response.writeHead(500, { "content-type": "application/json" });
          response.end(JSON.stringify({ error: { code: "FakeInternalError", message: String(error) } }));
        }
      })();
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The error body every Azure service uses: `{"error":{"code","message"}}`. */
export function azureError(status: number, code: string, message: string, innerCode?: string): FakeResponse {
  return {
    status,
    body: {
      error: { code, message, ...(innerCode === undefined ? {} : { innererror: { code: innerCode } }) },
    },
  };
}

/** ARM and Log Analytics accept any bearer token here; the header must be there (401 otherwise, as Azure does). */
export function requireBearer(request: FakeRequest): FakeResponse | undefined {
  const header = request.headers.authorization;
  if (typeof header === "string" && /^Bearer \S+/.test(header)) return undefined;
  return azureError(
    401,
    "AuthenticationFailed",
    "Authentication failed. The 'Authorization' header is missing.",
  );
}
