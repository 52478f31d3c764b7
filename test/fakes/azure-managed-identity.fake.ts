/**
 * FAKE Azure App Service managed-identity token endpoint, so `DefaultAzureCredential` (the provider's real
 * default) can authenticate against the local fakes in the demo. `@azure/identity` (through MSAL) uses this
 * source when `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` are set: `GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=<r>`
 * with header `X-IDENTITY-HEADER`, answered by `{ access_token, expires_on (unix seconds, string), resource,
 * token_type }` (App Service "managed identity" REST protocol). Plain http on 127.0.0.1, as App Service's
 * own endpoint is. The token is an opaque string: the fakes only check that a bearer token is present.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";

export interface ManagedIdentityFake {
  /** Value for `IDENTITY_ENDPOINT`. */
  endpoint: string;
  /** Value for `IDENTITY_HEADER`. */
  header: string;
  /** Resources tokens were issued for, in order. */
  issuedFor: string[];
  close(): Promise<void>;
}

export async function startManagedIdentityFake(): Promise<ManagedIdentityFake> {
  const header = randomUUID();
  const issuedFor: string[] = [];
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const resource = url.searchParams.get("resource");
    if (
      request.headers["x-identity-header"] !== header ||
      resource === null ||
      url.searchParams.get("api-version") === null
    ) {
      response.writeHead(400, { "content-type": "application/json" });
      response.end(
        JSON.stringify({
          error: "invalid_request",
          error_description: "missing X-IDENTITY-HEADER, resource or api-version",
        }),
      );
      return;
    }
    issuedFor.push(resource);
    response.writeHead(200, { "content-type": "application/json" });
    response.end(
      JSON.stringify({
        access_token: `fake-mi-token-${randomUUID()}`,
        expires_on: String(Math.floor(Date.now() / 1000) + 3600),
        resource,
        token_type: "Bearer",
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}/msi/token`,
    header,
    issuedFor,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
