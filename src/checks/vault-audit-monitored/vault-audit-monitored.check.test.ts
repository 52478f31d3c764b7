import { describe, expect, it } from "vitest";
import type { CollectionError } from "../../model/key.ts";
import type { LoggingSink } from "../../model/logging.ts";
import type { LocationSnapshot, MonitoringDestination, SourceGap } from "../../model/snapshot.ts";
import {
  loggingSnapshotParts,
  makeCollectionError,
  makeGap,
  makeLoggingLocation,
  makeLoggingStatus,
  makeSnapshot,
  makeSourceGap,
  makeVaultAuditDevice as device,
} from "../../../test/factories/index.ts";
import { loggingStatusPath } from "../../evidence/paths.ts";
import { check } from "./vault-audit-monitored.check.ts";

const SOURCE = "vault-prod";
const CLUSTER = "https://vault.example:8200";

function judge(
  sinks: LoggingSink[],
  destinations: MonitoringDestination[] = [],
  errors: CollectionError[] = [],
) {
  return check.run(
    makeSnapshot(
      loggingSnapshotParts(
        "hashicorp-vault",
        [makeLoggingLocation(SOURCE, CLUSTER, sinks, errors)],
        destinations,
      ),
    ),
  );
}

describe("vault-audit-monitored", () => {
  it("has nothing to judge without a Vault source", () => {
    expect(check.run(makeSnapshot())).toEqual([]);
    expect(check.run(makeSnapshot({ logging: [makeLoggingStatus()] }))).toEqual([]);
  });

  it("passes a socket or syslog device: records leave the host (observed, not declared)", () => {
    expect(judge([device("file", "file"), device("siem", "socket")])).toEqual([
      {
        checkId: "vault-audit-monitored",
        status: "pass",
        severity: "info",
        source: SOURCE,
        location: CLUSTER,
        resource: `${SOURCE}/${CLUSTER}`,
        message: "audit records leave the Vault host through siem/ (socket)",
        evidence: [loggingStatusPath(SOURCE, CLUSTER)],
      },
    ]);
    expect(judge([device("syslog", "syslog")])[0]).toMatchObject({
      status: "pass",
      message: "audit records leave the Vault host through syslog/ (syslog)",
    });
  });

  it("passes a file device with a destination of any kind declared for the source, saying so", () => {
    for (const kind of ["siem", "shipper"] as const) {
      expect(judge([device("file", "file")], [{ source: SOURCE, name: "Splunk", kind }])[0]).toMatchObject({
        status: "pass",
        message: `audit records of file/ (file) are monitored by declared ${kind} Splunk`,
      });
    }
  });

  it("fails file devices alone (local only), and ignores destinations declared for other sources", () => {
    const [finding] = judge(
      [device("file", "file"), device("copy", "file")],
      [{ source: "vault-dr", name: "Splunk", kind: "siem" }],
    );
    expect(finding).toMatchObject({
      status: "fail",
      severity: "medium",
      message:
        "only file audit devices are enabled (file/ (file), copy/ (file)): records stay on the Vault host and no monitoring destination is declared",
    });
  });

  it("fails without any device: a declared destination has nothing to receive", () => {
    expect(judge([])[0]).toMatchObject({ status: "fail", message: "no audit device is enabled" });
    expect(judge([], [{ source: SOURCE, name: "fluent-bit", kind: "shipper" }])[0]).toMatchObject({
      status: "fail",
      message: "no audit device is enabled, so declared shipper fluent-bit receives nothing",
    });
  });

  it("warns on a socket device with a filter: it leaves the host, but key events may not pass the filter", () => {
    const filtered = {
      ...device("siem", "socket"),
      coversKeyEvents: false,
      coverageReason: 'the device has a filter (mount_type == "kv") that keyproof does not evaluate',
    };
    expect(judge([device("file", "file"), filtered])[0]).toMatchObject({
      status: "warn",
      message: expect.stringContaining(
        "audit records leave the Vault host through siem/ (socket), but not every request reaches it",
      ),
    });
  });

  it("warns, never fails, on a device type it cannot place (an audit plugin)", () => {
    expect(judge([device("file", "file"), device("custom", "acme-audit-plugin")])[0]).toMatchObject({
      status: "warn",
      message: expect.stringContaining(
        "cannot tell whether custom/ (acme-audit-plugin) sends records off the host",
      ),
    });
  });

  it("warns, never fails or errors, for a child namespace whose root-namespace audit devices the token may not read", () => {
    const denied = makeCollectionError({
      call: "vault:GET sys/audit",
      code: "PermissionDenied",
      message: "permission denied",
    });
    const child = makeLoggingLocation(SOURCE, "https://vault.example:8200/v1/admin/team-a", [], [denied]);
    child.logging.auditDevicesOutOfReach = {
      namespace: "admin/team-a/",
      call: "vault:GET sys/audit",
      reason:
        "audit devices exist only in the root namespace and record every namespace's requests, admin/team-a/ included",
    };
    const [finding] = check.run(makeSnapshot(loggingSnapshotParts("hashicorp-vault", [child])));
    expect(finding).toMatchObject({ status: "warn" });
    expect(finding?.message).toMatch(
      /^whether audit records reach a monitoring system is unknown from this namespace: audit devices exist only in the root namespace/,
    );
  });

  it("errors when sys/audit could not be listed, naming the call and the cause", () => {
    const denied = makeCollectionError({
      call: "vault:GET sys/audit",
      code: "PermissionDenied",
      message: "permission denied",
    });
    expect(judge([], [{ source: SOURCE, name: "Splunk", kind: "siem" }], [denied])[0]).toMatchObject({
      status: "error",
      message:
        "the audit devices could not be listed: vault:GET sys/audit failed (PermissionDenied): permission denied",
    });
  });

  it("gives every cluster, and every cluster lost to a gap, exactly one finding", () => {
    const locations: LocationSnapshot[] = [
      makeLoggingLocation(SOURCE, CLUSTER, [device("siem", "socket")]),
      makeLoggingLocation(SOURCE, "https://vault-dr.example:8200", [device("file", "file")]),
      makeLoggingLocation("vault-eu", "https://vault-eu.example:8200", [device("file", "file")]),
    ];
    const gaps: SourceGap[] = [
      makeGap({ source: SOURCE, location: "https://vault-gone.example:8200" }),
      makeSourceGap({ source: "vault-down" }),
    ];
    const findings = check.run(
      makeSnapshot(
        loggingSnapshotParts(
          "hashicorp-vault",
          locations,
          [{ source: "vault-eu", name: "Vector → Elastic", kind: "shipper" }],
          gaps,
        ),
      ),
    );
    expect(
      findings.map((finding) => `${finding.source} ${finding.location ?? "-"} ${finding.status}`),
    ).toEqual([
      `${SOURCE} ${CLUSTER} pass`,
      `${SOURCE} https://vault-dr.example:8200 fail`,
      `${SOURCE} https://vault-gone.example:8200 error`,
      "vault-eu https://vault-eu.example:8200 pass",
      "vault-down - error",
    ]);
    expect(findings[4]?.message).toContain("audit log monitoring of source vault-down could not be judged");
  });
});
