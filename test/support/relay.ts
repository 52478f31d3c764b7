import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * An HTTP relay on a free loopback port in front of a real server (moto): every request is read whole,
 * shown to `intercept` (which may answer it itself, e.g. with a throttling error, or just note it), and
 * otherwise forwarded unchanged after `delayMs`. Tests use it to count, slow down or fail calls on the
 * wire without touching the code under test.
 */
export interface RelayOptions {
  delayMs?: number;
  /** Returns true when it answered the request itself; the relay then does not forward it. */
  intercept?: (request: IncomingMessage, body: Buffer, response: ServerResponse) => boolean;
}

export interface Relay {
  endpoint: string;
  close(): Promise<void>;
}

export async function startRelay(upstream: string, options: RelayOptions = {}): Promise<Relay> {
  const target = new URL(upstream);
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks);
      if (options.intercept?.(request, body, response) === true) return;
      const forward = (): void => {
        const forwarded = httpRequest(
          {
            hostname: target.hostname,
            port: target.port,
            method: request.method,
            path: request.url,
            headers: { ...request.headers, host: target.host },
          },
          (upstreamResponse) => {
            response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
            upstreamResponse.pipe(response);
          },
        );
        forwarded.on("error", (error) => {
          response.writeHead(502, { "content-type": "text/plain" });
          response.end(`relay: upstream failed: ${error.message}`);
        });
        forwarded.end(body);
      };
      if (options.delayMs === undefined || options.delayMs <= 0) forward();
      else setTimeout(forward, options.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
