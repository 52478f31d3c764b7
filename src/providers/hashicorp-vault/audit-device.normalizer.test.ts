import { describe, expect, it } from "vitest";
import { normalizeAuditDevices } from "./audit-device.normalizer.ts";

describe("normalizeAuditDevices", () => {
  it("has no sinks when no device is enabled", () => {
    expect(normalizeAuditDevices({}, "https://vault:8200")).toEqual([]);
  });

  it("describes file, syslog and socket devices; retention is never guessed", () => {
    const sinks = normalizeAuditDevices(
      {
        "file/": {
          type: "file",
          description: "",
          local: false,
          path: "file/",
          options: { file_path: "/var/log/vault_audit.log", mode: "0600" },
        },
        "syslog/": {
          type: "syslog",
          description: "",
          local: false,
          path: "syslog/",
          options: { facility: "AUTH", tag: "vault" },
        },
        "siem/": {
          type: "socket",
          description: "to the SIEM",
          local: true,
          path: "siem/",
          options: { address: "10.0.0.9:9090", socket_type: "tcp" },
        },
      },
      "https://vault:8200/",
    );
    expect(
      sinks.map((sink) => [
        sink.name,
        sink.destination,
        sink.reference,
        sink.coversKeyEvents,
        sink.retention.kind,
      ]),
    ).toEqual([
      ["file/", "/var/log/vault_audit.log", "https://vault:8200/v1/sys/audit/file/", true, "unknown"],
      ["siem/", "tcp://10.0.0.9:9090", "https://vault:8200/v1/sys/audit/siem/", true, "unknown"],
      ["syslog/", "syslog:AUTH/vault", "https://vault:8200/v1/sys/audit/syslog/", true, "unknown"],
    ]);
    expect(sinks.map((sink) => sink.auditDeviceType)).toEqual(["file", "socket", "syslog"]);
    expect(sinks[1]).toMatchObject({
      kind: "vault-audit-device",
      active: true,
      detail: { type: "socket", description: "to the SIEM", local: true },
    });
  });

  it("does not count a device that discards records or filters them", () => {
    const sinks = normalizeAuditDevices(
      {
        "null/": { type: "file", path: "null/", options: { file_path: "discard" } },
        "filtered/": {
          type: "file",
          path: "filtered/",
          options: { file_path: "/a.log", filter: 'mount_type == "kv"' },
        },
      },
      "https://vault:8200",
    );
    expect(sinks.map((sink) => [sink.name, sink.coversKeyEvents])).toEqual([
      ["filtered/", false],
      ["null/", false],
    ]);
    expect(sinks[1]?.coverageReason).toContain("discard");
  });
});
