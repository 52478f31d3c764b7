/**
 * `GET sys/audit` → logging sinks. Pure.
 *
 * The response maps device path (`file/`) → `{type, description, local, path, options}`; the same map is also
 * copied to the top level of the body for old clients (research/apis.md §1.1), so only `data` is read. Option
 * values are all strings. Audit devices live in the root namespace and record requests of every namespace.
 */
import type { LoggingSink, Retention } from "../../model/logging.ts";

interface AuditDevice {
  type: string;
  path: string;
  description: string;
  local: boolean;
  options: Record<string, string>;
}

function readDevices(data: unknown): AuditDevice[] {
  if (typeof data !== "object" || data === null) return [];
  return Object.entries(data as Record<string, unknown>)
    .filter(([, value]) => typeof value === "object" && value !== null)
    .map(([path, value]) => {
      const device = value as Record<string, unknown>;
      const options: Record<string, string> = {};
      if (typeof device["options"] === "object" && device["options"] !== null) {
        for (const [name, option] of Object.entries(device["options"] as Record<string, unknown>)) {
          options[name] = typeof option === "string" ? option : JSON.stringify(option);
        }
      }
      return {
        type: typeof device["type"] === "string" ? device["type"] : "unknown",
        path: typeof device["path"] === "string" ? device["path"] : path,
        description: typeof device["description"] === "string" ? device["description"] : "",
        local: device["local"] === true,
        options,
      };
    })
    .sort((a, b) => a.path.localeCompare(b.path));
}

function destinationOf(device: AuditDevice): string | undefined {
  const options = device.options;
  switch (device.type) {
    case "file":
      return options["file_path"] ?? options["path"];
    case "socket":
      return options["address"] === undefined
        ? undefined
        : `${options["socket_type"] ?? "tcp"}://${options["address"]}`;
    case "syslog":
      return `syslog:${options["facility"] ?? "AUTH"}/${options["tag"] ?? "vault"}`;
    default:
      return undefined;
  }
}

/** Vault keeps no audit records itself: whatever receives them decides how long they live. */
function retentionOf(device: AuditDevice): Retention {
  if (device.type === "file") {
    return {
      kind: "unknown",
      reason:
        "a file audit device only appends to its file; how long records are kept depends on log rotation and shipping outside Vault",
    };
  }
  return {
    kind: "unknown",
    reason: `a ${device.type} audit device hands records to another system, which sets their retention`,
  };
}

function coverageOf(device: AuditDevice): { covers: boolean; reason: string } {
  const destination = destinationOf(device);
  if (device.type === "file" && destination === "discard") {
    return { covers: false, reason: "file_path is `discard`: the device throws every record away" };
  }
  if (device.options["filter"] !== undefined && device.options["filter"] !== "") {
    return {
      covers: false,
      reason: `the device has a filter (${device.options["filter"]}) that keyproof does not evaluate; confirm transit requests pass it`,
    };
  }
  return {
    covers: true,
    reason:
      "an enabled audit device records every authenticated request and response, transit operations included, in all namespaces",
  };
}

/** One sink per enabled device; `address` makes each reference point at `sys/audit/<path>`. */
export function normalizeAuditDevices(data: unknown, address: string): LoggingSink[] {
  return readDevices(data).map((device) => {
    const coverage = coverageOf(device);
    const sink: LoggingSink = {
      kind: "vault-audit-device",
      name: device.path,
      reference: `${address.replace(/\/+$/, "")}/v1/sys/audit/${device.path}`,
      // sys/audit lists enabled devices only; a disabled device is simply absent.
      active: true,
      coversKeyEvents: coverage.covers,
      coverageReason: coverage.reason,
      retention: retentionOf(device),
      auditDeviceType: device.type,
      detail: {
        type: device.type,
        description: device.description,
        local: device.local,
        options: device.options,
      },
    };
    const destination = destinationOf(device);
    if (destination !== undefined) sink.destination = destination;
    return sink;
  });
}
