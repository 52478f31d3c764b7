/**
 * Usage events from a Vault file audit device: one JSON object per line (research/apis.md §1.6).
 *
 * Every request writes a `request` entry and then a `response` entry sharing `request.id`; only `response`
 * entries are counted, so each call is one event with its outcome. Values Vault HMACs (`auth.accessor`, data
 * fields) are kept as written: keyproof has no audit salt and must not need one. `request.path` is relative
 * to `request.namespace.path`, and `request.mount_point` includes the namespace, so the mount is found by
 * stripping the namespace from `mount_point`. The file is read line by line from a stream: memory does not
 * grow with its size.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { DateRange } from "../../model/snapshot.ts";
import type { UsageEvent, UsageGap, UsageItem } from "../../model/usage.ts";
import { isInRange } from "../../time/date-range.ts";
import { classifyAdministrativeAction } from "../../model/changes.ts";
import { toJsonValue } from "../../model/json.ts";
import { asObject, asString } from "../shared/json-fields.ts";

export interface AuditLogScope {
  source: string;
  location: string;
  /** Namespace path of the location (`admin/`), `""` for the root namespace: only its records are read. */
  namespace: string;
  /** Prefix of the location's key ids (the namespace relative to the source's; see TransitKeyContext). */
  keyPrefix?: string;
  /** Transit mounts (no trailing slash) to keep; undefined keeps every transit mount. */
  mounts?: ReadonlySet<string>;
  range: DateRange;
}

/** A recognized transit call on a named key, from the part of the path after the mount. */
export interface TransitCall {
  action: string;
  keyName: string;
}

const KEY_SUBPATH_ACTIONS: Record<string, string> = {
  config: "transit/configure-key",
  rotate: "transit/rotate-key",
  trim: "transit/trim-key",
  import: "transit/import-key",
  import_version: "transit/import-key",
  "soft-delete": "transit/soft-delete-key",
  "soft-delete-restore": "transit/restore-soft-deleted-key",
  csr: "transit/create-csr",
  "set-certificate": "transit/set-certificate",
};

const KEY_OPERATION_ACTIONS: Record<string, string> = {
  read: "transit/read-key",
  create: "transit/create-key",
  update: "transit/create-key",
  delete: "transit/delete-key",
};

/**
 * `decrypt/payments` → `transit/decrypt` on `payments`. `operation` is the audit `request.operation`
 * (`keys/<name>` means read, create or delete depending on it). Undefined for paths that name no key
 * (`keys/` list, `random`, `hash`, `wrapping_key`...).
 */
export function parseTransitCall(relativePath: string, operation: string): TransitCall | undefined {
  const parts = relativePath.replace(/\/+$/, "").split("/");
  const [head, second, third] = parts;
  if (head === undefined || second === undefined || second === "") return undefined;
  switch (head) {
    case "encrypt":
    case "decrypt":
    case "rewrap":
    case "derive-key":
      return parts.length === 2 ? { action: `transit/${head}`, keyName: second } : undefined;
    case "sign":
    case "verify":
    case "hmac":
      return parts.length <= 3 ? { action: `transit/${head}`, keyName: second } : undefined;
    case "datakey":
      return third !== undefined && parts.length === 3
        ? { action: "transit/datakey", keyName: third }
        : undefined;
    case "backup":
      return parts.length === 2 ? { action: "transit/backup-key", keyName: second } : undefined;
    case "restore":
      return parts.length === 2 ? { action: "transit/restore-key", keyName: second } : undefined;
    case "export":
      if (third === undefined || parts.length > 4) return undefined;
      return {
        action:
          second === "public-key" || second === "certificate-chain"
            ? "transit/export-public-key"
            : "transit/export-key",
        keyName: third,
      };
    case "byok-export":
      return third !== undefined && parts.length <= 4
        ? { action: "transit/byok-export-key", keyName: third }
        : undefined;
    case "keys": {
      if (parts.length === 2) {
        const action = KEY_OPERATION_ACTIONS[operation];
        return action === undefined ? undefined : { action, keyName: second };
      }
      const action = third === undefined ? undefined : KEY_SUBPATH_ACTIONS[third];
      return action !== undefined && parts.length === 3 ? { action, keyName: second } : undefined;
    }
    default:
      return undefined;
  }
}

/** "1 error occurred:\n\t* permission denied\n\n" → "permission denied". */
export function auditErrorCode(error: string): string {
  const bullets = error
    .split("\n")
    .map((line) => /^\s*\*\s*(.+)$/.exec(line)?.[1]?.trim())
    .filter((line): line is string => line !== undefined && line.length > 0);
  return bullets.length > 0 ? bullets.join("; ") : error.trim();
}

export type AuditLineResult = { kind: "item"; item: UsageItem } | { kind: "skip" };

const SKIP: AuditLineResult = { kind: "skip" };

/**
 * One audit line → an event, a gap, or nothing (request entries, other mounts, other namespaces, out of
 * range). `origin` names the file and line, e.g. `/var/log/vault/audit.log:42`.
 */
export function parseAuditLine(line: string, origin: string, scope: AuditLogScope): AuditLineResult {
  const gap = (code: string, message: string): AuditLineResult => {
    const usageGap: UsageGap = {
      source: scope.source,
      location: scope.location,
      object: origin,
      code,
      message,
    };
    return { kind: "item", item: { kind: "gap", gap: usageGap } };
  };
  const trimmed = line.trim();
  if (trimmed.length === 0) return SKIP;
  // The device's optional `prefix` option writes text before the JSON object.
  const start = trimmed.indexOf("{");
  if (start === -1) return gap("UnparsableLine", "no JSON object on the line");
  let entry: Record<string, unknown> | undefined;
  try {
    entry = asObject(JSON.parse(trimmed.slice(start)));
  } catch (error) {
    return gap("UnparsableLine", `invalid JSON: ${(error as Error).message}`);
  }
  if (entry === undefined) return gap("UnparsableLine", "the line is JSON but not an object");
  const type = entry["type"];
  const request = asObject(entry["request"]);
  const time = asString(entry["time"]);
  if ((type !== "request" && type !== "response") || request === undefined || time === undefined) {
    return gap(
      "UnrecognizedEntry",
      "not a Vault audit entry (needs time, type request|response and request)",
    );
  }
  if (type === "request") return SKIP;

  const instantMs = Date.parse(time);
  if (Number.isNaN(instantMs)) return gap("InvalidTime", `unparsable time ${JSON.stringify(time)}`);
  const instant = new Date(instantMs).toISOString();
  if (!isInRange(instant, scope.range)) return SKIP;

  const namespacePath = asString(asObject(request["namespace"])?.["path"]) ?? "";
  if (namespacePath !== scope.namespace) return SKIP;

  const operation = asString(request["operation"]) ?? "";
  const policyWrite = parsePolicyWrite(asString(request["path"]) ?? "", operation);
  if (policyWrite !== undefined) {
    return {
      kind: "item",
      item: {
        kind: "event",
        event: auditEvent(
          { entry, request, instant, origin, scope },
          { ...policyWrite, keyReference: `${namespacePath}${policyWrite.keyReference}` },
        ),
      },
    };
  }

  const response = asObject(entry["response"]);
  const mountType = asString(request["mount_type"]) ?? asString(response?.["mount_type"]);
  if (mountType !== "transit") return SKIP;
  const mountPoint = asString(request["mount_point"]) ?? asString(response?.["mount_point"]);
  const path = asString(request["path"]);
  if (mountPoint === undefined || path === undefined) return SKIP;
  const relativeMount = mountPoint.startsWith(namespacePath)
    ? mountPoint.slice(namespacePath.length)
    : mountPoint;
  if (!path.startsWith(relativeMount)) return SKIP;
  const mount = relativeMount.replace(/\/+$/, "");
  if (scope.mounts !== undefined && !scope.mounts.has(mount)) return SKIP;

  const call = parseTransitCall(path.slice(relativeMount.length), operation);
  if (call === undefined) return SKIP;
  const event = auditEvent(
    { entry, request, instant, origin, scope },
    {
      action: call.action,
      keyId: `${scope.keyPrefix ?? ""}${mount}/${call.keyName}`,
      keyReference: `${namespacePath}${path}`,
    },
  );
  return { kind: "item", item: { kind: "event", event } };
}

/** What an audit entry is about, once its path is recognized. */
interface RecognizedCall {
  action: string;
  /** Absent for a namespace-wide call (an ACL policy write). */
  keyId?: string;
  keyReference: string;
}

/**
 * A write or delete of an ACL policy: `sys/policy/<name>` (the older route) or `sys/policies/acl/<name>`,
 * relative to the namespace. Reads and lists are not changes. Policies are namespace-wide, so the event
 * names no key; `keyReference` is the policy path (relative to the namespace here).
 */
export function parsePolicyWrite(relativePath: string, operation: string): RecognizedCall | undefined {
  const match = /^sys\/(?:policy|policies\/acl)\/([^/]+)\/?$/.exec(relativePath);
  if (match === null) return undefined;
  const action =
    operation === "delete"
      ? "sys/policy-delete"
      : operation === "create" || operation === "update"
        ? "sys/policy-write"
        : undefined;
  return action === undefined ? undefined : { action, keyReference: relativePath };
}

/** A response entry already known to be in range and in the source's namespace. */
interface AuditEntryContext {
  entry: Record<string, unknown>;
  request: Record<string, unknown>;
  /** The entry's time, UTC ISO-8601. */
  instant: string;
  origin: string;
  scope: AuditLogScope;
}

function auditEvent(context: AuditEntryContext, call: RecognizedCall): UsageEvent {
  const { entry, request, instant, origin, scope } = context;
  const auth = asObject(entry["auth"]);
  const principal = asString(auth?.["display_name"]) ?? asString(auth?.["accessor"]) ?? "unknown";
  const error = asString(entry["error"]);
  const event: UsageEvent = {
    time: instant,
    source: scope.source,
    location: scope.location,
    ...(call.keyId === undefined ? {} : { keyId: call.keyId }),
    keyReference: call.keyReference,
    action: call.action,
    principal,
    outcome: error === undefined ? "success" : "failure",
    eventId: asString(request["id"]) ?? origin,
    origin,
  };
  const remoteAddress = asString(request["remote_address"]);
  if (remoteAddress !== undefined) event.sourceAddress = remoteAddress;
  const headers = asObject(request["headers"]);
  const userAgent = headers?.["user-agent"];
  const agent = Array.isArray(userAgent) ? asString(userAgent[0]) : asString(userAgent);
  if (agent !== undefined) event.userAgent = agent;
  if (error !== undefined) event.errorCode = auditErrorCode(error);
  // Only administrative calls keep their request as logged (values HMACed by the device unless it was told
  // otherwise): it names what was changed. An encrypt's plaintext field is usage and stays out.
  if (classifyAdministrativeAction("hashicorp-vault", { action: call.action }) !== undefined) {
    const data = toJsonValue(request["data"]);
    if (data !== undefined) event.requestParameters = data;
  }
  return event;
}

/**
 * Streams the audit file's events and gaps. An unreadable file is one gap naming it; an unparsable line is
 * a gap naming `file:line`, and reading goes on.
 */
export async function* readAuditLog(file: string, scope: AuditLogScope): AsyncGenerator<UsageItem> {
  let lineNumber = 0;
  try {
    const lines = createInterface({
      input: createReadStream(file, { encoding: "utf8" }),
      crlfDelay: Infinity,
    });
    for await (const line of lines) {
      lineNumber += 1;
      const result = parseAuditLine(line, `${file}:${lineNumber}`, scope);
      if (result.kind === "item") yield result.item;
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "ReadError";
    const gap: UsageGap = {
      source: scope.source,
      location: scope.location,
      object: lineNumber === 0 ? file : `${file}:${lineNumber + 1}`,
      code,
      message: `audit log could not be read: ${(error as Error).message}`,
    };
    yield { kind: "gap", gap };
  }
}
