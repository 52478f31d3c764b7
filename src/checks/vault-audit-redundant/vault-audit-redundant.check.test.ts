import { describe, expect, it } from "vitest";
import type { LoggingSink } from "../../model/logging.ts";
import type { CollectionError } from "../../model/key.ts";
import type { LocationSnapshot, MonitoringDestination, SourceGap } from "../../model/snapshot.ts";
import {
  loggingSnapshotParts,
  makeCollectionError,
  makeGap,
  makeLoggingLocation,
  makeLoggingStatus,
  makeSnapshot,
  makeSourceGap,
  makeVaultAuditDevice,
} from "../../../test/factories/index.ts";
import { loggingStatusPath } from "../../evidence/paths.ts";
import { check } from "./vault-audit-redundant.check.ts";

const SOURCE = "vault-prod";
const CLUSTER = "https://vault.example:8200";

const device = makeVaultAuditDevice;

function vaultLocation(
  location: string,
  sinks: LoggingSink[],
  errors: CollectionError[] = [],
  source = SOURCE,
) {
  return makeLoggingLocation(source, location, sinks, errors);
}

function snapshotOf(
  locations: LocationSnapshot[],
  destinations: MonitoringDestination[] = [],
  gaps: SourceGap[] = [],
) {
  return makeSnapshot(loggingSnapshotParts("hashicorp-vault", locations, destinations, gaps));
}

describe("vault-audit-redundant", () => {
  it("has nothing to judge without a Vault source (AWS locations are not its business)", () => {
    expect(check.run(makeSnapshot())).toEqual([]);
    expect(check.run(makeSnapshot({ logging: [makeLoggingStatus()] }))).toEqual([]);
  });

  it("passes a cluster with two enabled devices, naming them with their types", () => {
    const findings = check.run(
      snapshotOf([vaultLocation(CLUSTER, [device("file", "file"), device("siem", "socket")])]),
    );
    expect(findings).toEqual([
      {
        checkId: "vault-audit-redundant",
        status: "pass",
        severity: "info",
        source: SOURCE,
        location: CLUSTER,
        resource: `${SOURCE}/${CLUSTER}`,
        message: "2 audit devices record every request: file/ (file), siem/ (socket)",
        evidence: [loggingStatusPath(SOURCE, CLUSTER)],
      },
    ]);
  });

  it("passes one device with a declared shipper for the source, saying it is declared", () => {
    const [finding] = check.run(
      snapshotOf(
        [vaultLocation(CLUSTER, [device("file", "file")])],
        [
          { source: "other-vault", name: "not this one", kind: "shipper" },
          { source: SOURCE, name: "Splunk", kind: "siem" },
          { source: SOURCE, name: "fluent-bit → Datadog", kind: "shipper" },
        ],
      ),
    );
    expect(finding).toMatchObject({
      status: "pass",
      message:
        "one audit device records every request (file/ (file)) and its log is copied off the host by declared shipper fluent-bit → Datadog",
    });
  });

  it("fails one device without a shipper (a SIEM is no second copy), saying Vault then blocks requests", () => {
    const [finding] = check.run(
      snapshotOf(
        [vaultLocation(CLUSTER, [device("file", "file")])],
        [{ source: SOURCE, name: "Splunk", kind: "siem" }],
      ),
    );
    expect(finding).toMatchObject({
      status: "fail",
      severity: "medium",
      message:
        "only one audit device is enabled (file/ (file)) and no shipper is declared: Vault blocks every request when it cannot write to it",
    });
  });

  it("warns when the second device discards or filters records: Vault keeps serving, but the copy is unproven", () => {
    const discard = {
      ...device("null", "file"),
      coversKeyEvents: false,
      coverageReason: "file_path is `discard`: the device throws every record away",
    };
    const [finding] = check.run(snapshotOf([vaultLocation(CLUSTER, [device("file", "file"), discard])]));
    expect(finding).toMatchObject({
      status: "warn",
      message:
        "2 audit devices are enabled, but only file/ (file) records every request (null/ (file): file_path is `discard`: the device throws every record away); confirm a second device keeps key events",
    });
  });

  it("fails one device that does not record every request, even with a declared shipper", () => {
    const filtered = {
      ...device("filtered", "file"),
      coversKeyEvents: false,
      coverageReason: 'the device has a filter (mount_type == "kv")',
    };
    const [finding] = check.run(
      snapshotOf([vaultLocation(CLUSTER, [filtered])], [{ source: SOURCE, name: "vector", kind: "shipper" }]),
    );
    expect(finding).toMatchObject({
      status: "fail",
      message:
        'only one audit device is enabled (filtered/ (file)); declared shipper vector copies a log that does not record every request (filtered/ (file): the device has a filter (mount_type == "kv")): Vault blocks every request when it cannot write to it',
    });
  });

  it("fails a cluster without any audit device, even with a declared shipper", () => {
    const [finding] = check.run(
      snapshotOf([vaultLocation(CLUSTER, [])], [{ source: SOURCE, name: "fluent-bit", kind: "shipper" }]),
    );
    expect(finding).toMatchObject({
      status: "fail",
      message: "no audit device is enabled: key use leaves no audit record",
    });
  });

  it("errors, never fails, when sys/audit could not be listed, naming the call and the cause", () => {
    const denied = makeCollectionError({
      call: "vault:GET sys/audit",
      code: "PermissionDenied",
      message: "1 error occurred: permission denied",
    });
    const [finding] = check.run(
      snapshotOf(
        [vaultLocation(CLUSTER, [], [denied])],
        [{ source: SOURCE, name: "fluent-bit", kind: "shipper" }],
      ),
    );
    expect(finding).toMatchObject({
      status: "error",
      severity: "medium",
      message:
        "the audit devices could not be listed: vault:GET sys/audit failed (PermissionDenied): 1 error occurred: permission denied",
    });
  });

  it("warns, never fails or errors, for a child namespace whose root-namespace audit devices the token may not read", () => {
    const denied = makeCollectionError({
      call: "vault:GET sys/audit",
      code: "PermissionDenied",
      message: "permission denied",
    });
    const child = vaultLocation(`${CLUSTER}/v1/admin/team-a`, [], [denied]);
    child.logging.auditDevicesOutOfReach = {
      namespace: "admin/team-a/",
      call: "vault:GET sys/audit",
      reason:
        "audit devices exist only in the root namespace and record every namespace's requests, admin/team-a/ included",
    };
    const [finding] = check.run(snapshotOf([child]));
    expect(finding).toMatchObject({ status: "warn", location: `${CLUSTER}/v1/admin/team-a` });
    expect(finding?.message).toBe(
      "whether audit records are kept twice is unknown from this namespace: audit devices exist only in the root namespace and record every namespace's requests, admin/team-a/ included",
    );
    // Another failed read besides it is a real gap: error as before.
    const other = makeCollectionError({
      call: "vault:GET sys/health",
      code: "Unavailable",
      message: "sealed",
    });
    child.logging.errors.push(other);
    expect(check.run(snapshotOf([child]))[0]?.status).toBe("error");
  });

  it("gives every cluster of every Vault source, and every cluster lost to a gap, exactly one finding", () => {
    const findings = check.run(
      snapshotOf(
        [
          vaultLocation(CLUSTER, [device("a", "file"), device("b", "syslog"), device("c", "socket")]),
          vaultLocation("https://vault-dr.example:8200", [device("file", "file")]),
          vaultLocation("https://vault-eu.example:8200", [device("file", "file")], [], "vault-eu"),
        ],
        [{ source: "vault-eu", name: "vector", kind: "shipper" }],
        [
          makeGap({ source: SOURCE, location: "https://vault-gone.example:8200" }),
          makeSourceGap({ source: "vault-down" }),
        ],
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
    expect(findings[0]?.message).toBe(
      "3 audit devices record every request: a/ (file), b/ (syslog), c/ (socket)",
    );
    expect(findings[2]?.message).toContain(
      "audit device redundancy of vault-prod/https://vault-gone.example:8200 could not be judged: kms:ListKeys failed",
    );
    expect(findings.every((finding) => finding.keyId === undefined)).toBe(true);
  });
});
