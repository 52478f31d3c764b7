import { describe, expect, it } from "vitest";
import { HashicorpVaultSourceSchema } from "../../config/sources/hashicorp-vault.schema.ts";
import { normalizeMount, normalizeNamespace, vaultLocation } from "./hashicorp-vault.provider.ts";
import { childNamespace, isWithinNamespace, namespaceOfLocation } from "./vault-paths.ts";
import { toVaultCollectionError, isEmptyListResponse } from "./vault-error.ts";

describe("HashicorpVaultSourceSchema", () => {
  const minimal = { id: "vault-prod", type: "hashicorp-vault", address: "https://vault.acme.internal:8200" };

  it("accepts the issue's example and every optional field", () => {
    expect(HashicorpVaultSourceSchema.parse(minimal)).toEqual(minimal);
    const full = {
      ...minimal,
      namespace: "admin/",
      auditLogFile: "/var/log/vault/audit.log",
      tokenFile: "secrets/vault-token",
      mounts: ["transit", "team-a/transit/"],
      tlsCaFile: "certs/vault-ca.pem",
    };
    expect(HashicorpVaultSourceSchema.parse(full)).toEqual(full);
  });

  it("accepts namespaces: all (below a namespace or the root) and a list of full paths", () => {
    expect(HashicorpVaultSourceSchema.parse({ ...minimal, namespaces: "all" })).toMatchObject({
      namespaces: "all",
    });
    expect(
      HashicorpVaultSourceSchema.parse({ ...minimal, namespace: "admin/", namespaces: "all" }),
    ).toMatchObject({
      namespace: "admin/",
    });
    expect(
      HashicorpVaultSourceSchema.parse({ ...minimal, namespaces: ["admin/", "admin/team-a"] }),
    ).toMatchObject({
      namespaces: ["admin/", "admin/team-a"],
    });
  });

  it.each([
    [{ namespaces: "some" }, "namespaces"],
    [{ namespaces: [] }, "namespaces"],
    [{ namespaces: ["bad namespace"] }, "namespaces"],
    [{ namespace: "admin/", namespaces: ["team-a/"] }, "namespaces"],
  ])("rejects namespaces %j", (override, field) => {
    const result = HashicorpVaultSourceSchema.safeParse({ ...minimal, ...override });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path[0]).toBe(field);
  });

  it("reads a namespace back from its location, and only from locations of the same address", () => {
    const address = "https://vault.acme.internal:8200";
    expect(namespaceOfLocation(address, address)).toBe("");
    expect(namespaceOfLocation(`${address}/`, `${address}/v1/admin/team-a`)).toBe("admin/team-a/");
    for (const namespace of ["", "admin/", "admin/team-a/"]) {
      expect(namespaceOfLocation(address, vaultLocation(address, namespace))).toBe(namespace);
    }
    expect(namespaceOfLocation(address, "https://other:8200/v1/admin")).toBeUndefined();
    expect(namespaceOfLocation(address, `${address}/v1/admin/`)).toBeUndefined();
    expect(namespaceOfLocation(address, `${address}/v1/`)).toBeUndefined();
    expect(childNamespace("admin/", "team-a/")).toBe("admin/team-a/");
    expect(childNamespace("", "admin/")).toBe("admin/");
    expect(isWithinNamespace("", "admin/")).toBe(true);
    expect(isWithinNamespace("admin/", "admin/team-a/")).toBe(true);
    expect(isWithinNamespace("admin/", "admin2/")).toBe(false);
  });

  it("refuses a token in the file and any other unknown field", () => {
    const result = HashicorpVaultSourceSchema.safeParse({ ...minimal, token: "hvs.secret" });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({ code: "unrecognized_keys", keys: ["token"] });
  });

  it.each([
    [{ address: "vault:8200" }, "address"],
    [{ namespace: "bad namespace" }, "namespace"],
    [{ mounts: [] }, "mounts"],
    [{ mounts: ["transit/*"] }, "mounts"],
    [{ id: "Vault_Prod" }, "id"],
  ])("rejects %j", (override, field) => {
    const result = HashicorpVaultSourceSchema.safeParse({ ...minimal, ...override });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path[0]).toBe(field);
  });
});

describe("location and path helpers", () => {
  it("builds one location per source: the address, or its namespace URL prefix", () => {
    expect(vaultLocation("https://vault:8200/", undefined)).toBe("https://vault:8200");
    expect(vaultLocation("https://vault:8200", "admin/team-a/")).toBe("https://vault:8200/v1/admin/team-a");
    expect(normalizeNamespace("/admin")).toBe("admin/");
    expect(normalizeNamespace("")).toBe("");
    expect(normalizeMount("team-a/transit/")).toBe("team-a/transit");
  });
});

describe("toVaultCollectionError", () => {
  it("names Vault statuses and unwraps multierror text", () => {
    const denied = Object.assign(new Error("1 error occurred:\n\t* permission denied\n\n"), {
      response: { statusCode: 403, body: { errors: ["1 error occurred:\n\t* permission denied\n\n"] } },
    });
    expect(toVaultCollectionError("vault:GET sys/audit", denied)).toEqual({
      call: "vault:GET sys/audit",
      code: "PermissionDenied",
      message: "permission denied",
      retryable: false,
    });
    const sealed = Object.assign(new Error("Vault is sealed"), {
      response: { statusCode: 503, body: { errors: ["Vault is sealed"] } },
    });
    expect(toVaultCollectionError("c", sealed)).toMatchObject({ code: "Unavailable", retryable: true });
  });

  it("tells an empty LIST (404 without errors) from a real 404", () => {
    expect(isEmptyListResponse({ response: { statusCode: 404, body: { errors: [] } } })).toBe(true);
    expect(
      isEmptyListResponse({ response: { statusCode: 404, body: { errors: ["no handler for route"] } } }),
    ).toBe(false);
    expect(isEmptyListResponse({ response: { statusCode: 403, body: { errors: [] } } })).toBe(false);
  });

  it("keeps the errno of transport errors, also inside an AggregateError with an empty message", () => {
    const refused = Object.assign(
      new AggregateError(
        [Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" })],
        "",
      ),
      {},
    );
    expect(toVaultCollectionError("vault:GET sys/mounts", refused)).toEqual({
      call: "vault:GET sys/mounts",
      code: "ECONNREFUSED",
      message: "connect ECONNREFUSED 127.0.0.1:1",
      retryable: true,
    });
  });
});
