/**
 * FAKE PROXY in front of a real KMS emulator (moto). It forwards every request unchanged to the upstream
 * and answers an AWS KMS error itself for the operations (and, optionally, key ids) it is told to fail:
 * by default `AccessDeniedException`, the way AWS KMS answers a caller whose key policy does not allow
 * the action. moto enforces key policies only on DescribeKey and never refuses rotation calls on
 * asymmetric or HMAC keys, so a denied GetKeyPolicy or ListKeys, or AWS's UnsupportedOperationException,
 * cannot be provoked in moto itself; this proxy provokes them on the wire, leaving the provider under
 * test untouched.
 *
 * The same proxy serves the other awsJson services keyproof calls (CloudTrail's target is
 * `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.<Operation>`): the operation is the target's last
 * dot-separated part, and `service` names the IAM prefix in the AccessDenied text.
 *
 * Wire format: awsJson1_1, `POST /` with `X-Amz-Target: TrentService.<Operation>` and a JSON body holding
 * `KeyId` (an id, key ARN, alias or alias ARN). A failure is HTTP 400 with `{"__type": "<Code>",
 * "message": "..."}`; for AccessDeniedException the message is AWS's "User: ... is not authorized to
 * perform: kms:<Operation> on resource: ..." text.
 */
import { createServer, request as httpRequest } from "node:http";
import type { IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

export interface KmsFailure {
  /** Operation name as in the X-Amz-Target, e.g. `GetKeyPolicy`, `ListKeys`, `GetTrailStatus`. */
  operation: string;
  /** IAM service prefix for the AccessDenied message; default `kms`. */
  service?: string;
  /** Fail only for this key (id or ARN); every key when absent. */
  keyId?: string;
  /** AWS error code; default `AccessDeniedException`. */
  code?: string;
  message?: string;
}

export interface KmsErrorProxy {
  endpoint: string;
  /** How many requests the proxy answered with an error instead of forwarding them. */
  readonly failedCount: number;
  close(): Promise<void>;
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

function sameKey(requested: unknown, keyId: string): boolean {
  if (typeof requested !== "string") return false;
  return requested === keyId || requested.endsWith(`:key/${keyId}`) || keyId.endsWith(`:key/${requested}`);
}

export async function startKmsErrorProxy(options: {
  upstream: string;
  failures: KmsFailure[];
}): Promise<KmsErrorProxy> {
  const upstream = new URL(options.upstream);
  let failedCount = 0;
  const server = createServer((request, response) => {
    readBody(request)
      .then((body) => {
        const target = String(request.headers["x-amz-target"] ?? "");
        const operation = target.includes(".") ? target.slice(target.lastIndexOf(".") + 1) : "";
        let keyId: unknown;
        try {
          keyId = (JSON.parse(body.toString("utf8") || "{}") as { KeyId?: unknown }).KeyId;
        } catch {
          keyId = undefined;
        }
        const failure = options.failures.find(
          (candidate) =>
            candidate.operation === operation &&
            (candidate.keyId === undefined || sameKey(keyId, candidate.keyId)),
        );
        if (failure !== undefined) {
          failedCount += 1;
          const resource = typeof keyId === "string" ? keyId : "*";
          const code = failure.code ?? "AccessDeniedException";
          const message =
            failure.message ??
            (code === "AccessDeniedException"
              ? `User: arn:aws:sts::123456789012:assumed-role/keyproof-audit/collector is not authorized to perform: ${failure.service ?? "kms"}:${operation} on resource: ${resource} because no resource-based policy allows the ${failure.service ?? "kms"}:${operation} action`
              : `${operation} failed for ${resource}`);
          const text = JSON.stringify({ __type: code, message });
          response.writeHead(400, {
            "content-type": "application/x-amz-json-1.1",
            "content-length": Buffer.byteLength(text),
          });
          response.end(text);
          return;
        }
        const forwarded = httpRequest(
          {
            protocol: upstream.protocol,
            hostname: upstream.hostname,
            port: upstream.port,
            method: request.method,
            path: request.url,
            headers: { ...request.headers, host: upstream.host },
          },
          (upstreamResponse) => {
            response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
            upstreamResponse.pipe(response);
          },
        );
        forwarded.on("error", (error) => {
          response.writeHead(502, { "content-type": "text/plain" });
          response.end(`fake proxy: upstream failed: ${error.message}`);
        });
        forwarded.end(body);
      })
      .catch((error: unknown) => {
        response.writeHead(500, { "content-type": "text/plain" });
        response.end(String(error));
      });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get failedCount() {
      return failedCount;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
