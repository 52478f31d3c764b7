import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { UsageItem } from "../../model/usage.ts";
import { parseRange } from "../../time/date-range.ts";
import {
  auditErrorCode,
  parseAuditLine,
  parsePolicyWrite,
  parseTransitCall,
  readAuditLog,
  type AuditLogScope,
} from "./audit-log.reader.ts";

const scope: AuditLogScope = {
  source: "vault-prod",
  location: "https://vault.example:8200",
  namespace: "",
  range: parseRange("2026-11-01", "2026-11-30"),
};

/** A response entry shaped like OpenBao 2.7 writes it (fields trimmed to those that matter). */
function responseLine(overrides: {
  path?: string;
  operation?: string;
  mountPoint?: string;
  namespace?: { id: string; path?: string };
  time?: string;
  error?: string;
  displayName?: string | undefined;
  type?: string;
}): string {
  const auth: Record<string, unknown> = {
    client_token: "hmac-sha256:6bab",
    accessor: "hmac-sha256:3795903d",
    policies: ["app", "default"],
  };
  if (overrides.displayName !== undefined) auth["display_name"] = overrides.displayName;
  const entry: Record<string, unknown> = {
    time: overrides.time ?? "2026-11-28T16:33:41.019080329Z",
    type: overrides.type ?? "response",
    auth,
    request: {
      id: "60169b91-2866-e7db-afde-3145481699ab",
      operation: overrides.operation ?? "update",
      mount_point: overrides.mountPoint ?? "team-a/transit/",
      mount_type: "transit",
      namespace: overrides.namespace ?? { id: "root" },
      path: overrides.path ?? "team-a/transit/decrypt/pay",
      data: { ciphertext: "hmac-sha256:9bf957db" },
      remote_address: "10.0.0.5",
      remote_port: 37932,
    },
    response: { mount_type: "transit", data: { plaintext: "hmac-sha256:ad3bdf85" } },
  };
  if (overrides.error !== undefined) entry["error"] = overrides.error;
  return JSON.stringify(entry);
}

describe("parseTransitCall", () => {
  it.each([
    ["encrypt/pay", "update", "transit/encrypt", "pay"],
    ["decrypt/pay", "update", "transit/decrypt", "pay"],
    ["rewrap/pay", "update", "transit/rewrap", "pay"],
    ["sign/pay/sha2-256", "update", "transit/sign", "pay"],
    ["verify/pay", "update", "transit/verify", "pay"],
    ["hmac/pay/sha2-512", "update", "transit/hmac", "pay"],
    ["datakey/plaintext/pay", "update", "transit/datakey", "pay"],
    ["keys/pay", "read", "transit/read-key", "pay"],
    ["keys/pay", "create", "transit/create-key", "pay"],
    ["keys/pay", "delete", "transit/delete-key", "pay"],
    ["keys/pay/rotate", "update", "transit/rotate-key", "pay"],
    ["keys/pay/config", "update", "transit/configure-key", "pay"],
    ["export/encryption-key/pay/2", "read", "transit/export-key", "pay"],
    ["export/public-key/pay", "read", "transit/export-public-key", "pay"],
    ["byok-export/dest/pay", "read", "transit/byok-export-key", "pay"],
    ["backup/pay", "read", "transit/backup-key", "pay"],
    ["restore/pay", "update", "transit/restore-key", "pay"],
  ])("%s (%s) → %s on %s", (relative, operation, action, keyName) => {
    expect(parseTransitCall(relative, operation)).toEqual({ action, keyName });
  });

  it.each([
    ["keys/"],
    ["keys"],
    ["random/32"],
    ["hash/sha2-256"],
    ["wrapping_key"],
    ["cache-config"],
    ["keys/pay", "list"],
  ])("ignores %s, which names no key", (relative, operation = "read") => {
    expect(parseTransitCall(relative, operation)).toBeUndefined();
  });
});

describe("parseAuditLine", () => {
  it("turns a transit response entry into an event, HMAC'd values untouched", () => {
    const result = parseAuditLine(
      responseLine({ displayName: "token-billing" }),
      "/var/log/audit.log:7",
      scope,
    );
    expect(result).toEqual({
      kind: "item",
      item: {
        kind: "event",
        event: {
          time: "2026-11-28T16:33:41.019Z",
          source: "vault-prod",
          location: "https://vault.example:8200",
          keyId: "team-a/transit/pay",
          keyReference: "team-a/transit/decrypt/pay",
          action: "transit/decrypt",
          principal: "token-billing",
          sourceAddress: "10.0.0.5",
          outcome: "success",
          eventId: "60169b91-2866-e7db-afde-3145481699ab",
          origin: "/var/log/audit.log:7",
        },
      },
    });
  });

  it("falls back to the HMAC'd accessor when there is no display name, and records failures", () => {
    const result = parseAuditLine(
      responseLine({ displayName: undefined, error: "1 error occurred:\n\t* permission denied\n\n" }),
      "f:1",
      scope,
    );
    expect(result.kind === "item" && result.item.kind === "event" && result.item.event).toMatchObject({
      principal: "hmac-sha256:3795903d",
      outcome: "failure",
      errorCode: "permission denied",
    });
  });

  it("skips request entries, other namespaces, other mounts, non-key paths and times outside the range", () => {
    expect(parseAuditLine(responseLine({ type: "request" }), "f:1", scope)).toEqual({ kind: "skip" });
    expect(parseAuditLine(responseLine({ namespace: { id: "x1", path: "ns1/" } }), "f:1", scope)).toEqual({
      kind: "skip",
    });
    expect(parseAuditLine(responseLine({}), "f:1", { ...scope, mounts: new Set(["transit"]) })).toEqual({
      kind: "skip",
    });
    expect(parseAuditLine(responseLine({ path: "team-a/transit/random/32" }), "f:1", scope)).toEqual({
      kind: "skip",
    });
    expect(parseAuditLine(responseLine({ time: "2026-12-01T00:00:00Z" }), "f:1", scope)).toEqual({
      kind: "skip",
    });
    expect(parseAuditLine("", "f:1", scope)).toEqual({ kind: "skip" });
  });

  it("resolves the mount inside a namespace: mount_point carries the namespace, path does not", () => {
    const line = responseLine({
      namespace: { id: "u3qF3a", path: "ns1/" },
      mountPoint: "ns1/transit/",
      path: "transit/encrypt/nk",
    });
    const result = parseAuditLine(line, "f:1", { ...scope, namespace: "ns1/", mounts: new Set(["transit"]) });
    expect(result.kind === "item" && result.item.kind === "event" && result.item.event).toMatchObject({
      keyId: "transit/nk",
      keyReference: "ns1/transit/encrypt/nk",
      action: "transit/encrypt",
    });
  });

  it("reads a line written with the device's prefix option", () => {
    const result = parseAuditLine(`vault-audit: ${responseLine({})}`, "f:1", scope);
    expect(result.kind === "item" && result.item.kind).toBe("event");
  });

  it.each([
    ["not json at all", "UnparsableLine"],
    ['{"time": "2026-11-28T00:00:00Z", "type": "resp', "UnparsableLine"],
    ['{"hello": "world"}', "UnrecognizedEntry"],
    [responseLine({ time: "yesterday" }), "InvalidTime"],
  ])("reports %j as a gap (%s)", (line, code) => {
    expect(parseAuditLine(line, "/var/log/audit.log:3", scope)).toEqual({
      kind: "item",
      item: {
        kind: "gap",
        gap: expect.objectContaining({ source: "vault-prod", object: "/var/log/audit.log:3", code }),
      },
    });
  });
});

describe("administrative calls (the configuration history)", () => {
  function eventOf(line: string, lineScope: AuditLogScope = scope) {
    const result = parseAuditLine(line, "f:1", lineScope);
    return result.kind === "item" && result.item.kind === "event" ? result.item.event : undefined;
  }

  /** An ACL policy call as OpenBao logs it: mount `sys/`, mount type `system`, path relative to the namespace. */
  function policyLine(path: string, operation: string, namespace?: { id: string; path: string }): string {
    const entry = JSON.parse(
      responseLine({ path, operation, mountPoint: `${namespace?.path ?? ""}sys/` }),
    ) as {
      request: Record<string, unknown>;
      response: Record<string, unknown>;
    };
    entry.request["mount_type"] = "system";
    entry.request["data"] = { policy: "hmac-sha256:77aa" };
    if (namespace !== undefined) entry.request["namespace"] = namespace;
    entry.response["mount_type"] = "system";
    return JSON.stringify(entry);
  }

  it.each([
    ["sys/policy/payments-app", "update", "sys/policy-write"],
    ["sys/policies/acl/payments-app", "create", "sys/policy-write"],
    ["sys/policies/acl/payments-app", "delete", "sys/policy-delete"],
  ])("%s (%s) → %s, naming no key", (path, operation, action) => {
    expect(parsePolicyWrite(path, operation)).toEqual({ action, keyReference: path });
    const event = eventOf(policyLine(path, operation));
    expect(event).toMatchObject({
      action,
      keyReference: path,
      requestParameters: { policy: "hmac-sha256:77aa" },
    });
    expect(event?.keyId).toBeUndefined();
  });

  it("does not take a policy read or list, or another sys path, for a change", () => {
    expect(parsePolicyWrite("sys/policies/acl/payments-app", "read")).toBeUndefined();
    expect(parsePolicyWrite("sys/policies/acl", "list")).toBeUndefined();
    expect(parsePolicyWrite("sys/mounts/transit", "update")).toBeUndefined();
    expect(eventOf(policyLine("sys/policies/acl/payments-app", "read"))).toBeUndefined();
  });

  it("keeps a policy write in the source's namespace (prefixed in the reference), not one in another", () => {
    const nested = { id: "u3qF3a", path: "ns1/" };
    expect(
      eventOf(policyLine("sys/policies/acl/app", "update", nested), { ...scope, namespace: "ns1/" }),
    ).toMatchObject({ keyReference: "ns1/sys/policies/acl/app" });
    expect(eventOf(policyLine("sys/policies/acl/app", "update", nested))).toBeUndefined();
  });

  it("keeps the logged request on key changes only: a key config's field names, never a decrypt's data", () => {
    const config = JSON.parse(responseLine({ path: "team-a/transit/keys/pay/config" })) as {
      request: Record<string, unknown>;
    };
    config.request["data"] = { auto_rotate_period: "hmac-sha256:5c1e" };
    expect(eventOf(JSON.stringify(config))).toMatchObject({
      action: "transit/configure-key",
      keyId: "team-a/transit/pay",
      requestParameters: { auto_rotate_period: "hmac-sha256:5c1e" },
    });
    expect(eventOf(responseLine({}))?.requestParameters).toBeUndefined();
  });
});

describe("auditErrorCode", () => {
  it("unwraps go-multierror text", () => {
    expect(auditErrorCode("2 errors occurred:\n\t* a\n\t* b\n\n")).toBe("a; b");
    expect(auditErrorCode("permission denied")).toBe("permission denied");
  });
});

describe("readAuditLog", () => {
  const directories: string[] = [];
  afterAll(async () => {
    for (const directory of directories) await rm(directory, { recursive: true, force: true });
  });

  async function collect(items: AsyncIterable<UsageItem>): Promise<UsageItem[]> {
    const all: UsageItem[] = [];
    for await (const item of items) all.push(item);
    return all;
  }

  it("streams events and line-numbered gaps, and keeps reading after a bad line", async () => {
    const directory = await mkdtemp(path.join(os.tmpdir(), "keyproof-audit-"));
    directories.push(directory);
    const file = path.join(directory, "audit.log");
    await writeFile(
      file,
      [
        responseLine({ type: "request" }),
        responseLine({}),
        "garbage",
        "",
        responseLine({ path: "team-a/transit/encrypt/pay" }),
      ].join("\r\n"),
    );
    const items = await collect(readAuditLog(file, scope));
    expect(
      items.map((item) =>
        item.kind === "event"
          ? `${item.event.action} ${item.event.origin}`
          : `${item.gap.code} ${item.gap.object}`,
      ),
    ).toEqual([`transit/decrypt ${file}:2`, `UnparsableLine ${file}:3`, `transit/encrypt ${file}:5`]);
  });

  it("reports a missing file as one gap naming it", async () => {
    const items = await collect(readAuditLog("/nonexistent/keyproof/audit.log", scope));
    expect(items).toEqual([
      {
        kind: "gap",
        gap: expect.objectContaining({ object: "/nonexistent/keyproof/audit.log", code: "ENOENT" }),
      },
    ]);
  });
});
