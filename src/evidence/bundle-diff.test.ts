import { describe, expect, it } from "vitest";
import type { Finding } from "../model/finding.ts";
import type { AccessGrant } from "../model/key.ts";
import {
  FIRST_BUNDLE_REASON,
  describeChanges,
  diffBundles,
  documentSha256,
  formatChanges,
  noPreviousBundle,
  type BundleContents,
  type BundleKeyContents,
} from "./bundle-diff.ts";

const grant = (principal: string, reference: string, via: AccessGrant["via"] = "grant"): AccessGrant => ({
  principal,
  principalKind: "role",
  effect: "allow",
  actions: ["kms:Encrypt", "kms:Decrypt"],
  via,
  reference,
});

const key = (keyId: string, overrides: Partial<BundleKeyContents> = {}): BundleKeyContents => ({
  source: "aws-prod",
  location: "us-east-1",
  keyId,
  configuration: { state: "enabled", rotation: { enabled: true, periodDays: 365 } },
  access: {
    collected: true,
    grants: [grant("arn:aws:iam::1:role/app", "key-policy#Allow", "key-policy")],
    documents: [{ name: "key-policy", document: { Version: "2012-10-17", Statement: [] } }],
  },
  ...overrides,
});

const finding = (checkId: string, resource: string, status: Finding["status"]): Finding => ({
  checkId,
  status,
  severity: "high",
  source: "aws-prod",
  location: "us-east-1",
  keyId: resource,
  resource: `arn:${resource}`,
  message: `${checkId} is ${status}`,
  evidence: [],
});

const bundle = (runId: string, keys: BundleKeyContents[], findings: Finding[] = []): BundleContents => ({
  runId,
  period: { label: "2026-Q3", from: "2026-07-01", to: "2026-09-30" },
  capturedAt: "2026-10-01T00:00:00.000Z",
  manifestSha256: runId === "kp-a" ? "a".repeat(64) : "b".repeat(64),
  findings,
  keys,
});

describe("diffBundles", () => {
  it("reports nothing when nothing changed, with both bundles' run ids, periods and digests", () => {
    const diff = diffBundles(
      bundle("kp-a", [key("k1")], [finding("key-rotation-enabled", "k1", "pass")]),
      bundle("kp-b", [key("k1")], [finding("key-rotation-enabled", "k1", "pass")]),
    );
    expect(diff.unchanged).toBe(true);
    expect(diff.previous).toMatchObject({ runId: "kp-a", manifestSha256: "a".repeat(64) });
    expect(diff.current).toMatchObject({ runId: "kp-b", period: { label: "2026-Q3" } });
    expect(diff.keys).toEqual({ added: [], removed: [] });
    expect([diff.rotation, diff.state, diff.access, diff.findings.opened, diff.findings.resolved]).toEqual([
      [],
      [],
      [],
      [],
      [],
    ]);
    expect(formatChanges(diff)).toContain("no changes");
  });

  it("names keys added and removed by source, location and key id", () => {
    const diff = diffBundles(bundle("kp-a", [key("k1"), key("k2")]), bundle("kp-b", [key("k1"), key("k3")]));
    expect(diff.keys.added).toEqual([{ source: "aws-prod", location: "us-east-1", keyId: "k3" }]);
    expect(diff.keys.removed).toEqual([{ source: "aws-prod", location: "us-east-1", keyId: "k2" }]);
    expect(diff.unchanged).toBe(false);
  });

  it("names rotation switched off, switched on, and a new period", () => {
    const diff = diffBundles(
      bundle("kp-a", [
        key("off"),
        key("on", { configuration: { state: "enabled", rotation: { enabled: false } } }),
        key("period"),
      ]),
      bundle("kp-b", [
        key("off", { configuration: { state: "enabled", rotation: { enabled: false } } }),
        key("on"),
        key("period", { configuration: { state: "enabled", rotation: { enabled: true, periodDays: 90 } } }),
      ]),
    );
    expect(diff.rotation.map((change) => [change.key.keyId, change.change])).toEqual([
      ["off", "disabled"],
      ["on", "enabled"],
      ["period", "period"],
    ]);
    expect(diff.rotation[2]).toMatchObject({ before: { periodDays: 365 }, after: { periodDays: 90 } });
  });

  it("names key state changes", () => {
    const diff = diffBundles(
      bundle("kp-a", [key("k1")]),
      bundle("kp-b", [
        key("k1", { configuration: { state: "disabled", rotation: { enabled: true, periodDays: 365 } } }),
      ]),
    );
    expect(diff.state).toEqual([
      {
        key: { source: "aws-prod", location: "us-east-1", keyId: "k1" },
        before: "enabled",
        after: "disabled",
      },
    ]);
  });

  it("names grants added and removed and a changed policy document by its SHA-256", () => {
    const before = key("k1", {
      access: {
        collected: true,
        grants: [grant("arn:aws:iam::1:role/old", "grant-1")],
        documents: [{ name: "key-policy", document: { Statement: [{ Sid: "a" }] } }],
      },
    });
    const after = key("k1", {
      access: {
        collected: true,
        grants: [grant("arn:aws:iam::1:role/new", "grant-2")],
        documents: [{ name: "key-policy", document: { Statement: [{ Sid: "b" }] } }],
      },
    });
    const diff = diffBundles(bundle("kp-a", [before]), bundle("kp-b", [after]));
    expect(diff.access).toHaveLength(1);
    const change = diff.access[0];
    expect(change?.grantsAdded.map((item) => [item.principal, item.via, item.reference])).toEqual([
      ["arn:aws:iam::1:role/new", "grant", "grant-2"],
    ]);
    expect(change?.grantsRemoved.map((item) => item.reference)).toEqual(["grant-1"]);
    expect(change?.documentsChanged).toEqual([
      {
        name: "key-policy",
        beforeSha256: documentSha256({ Statement: [{ Sid: "a" }] }),
        afterSha256: documentSha256({ Statement: [{ Sid: "b" }] }),
      },
    ]);
    const access = describeChanges(diff).find((section) => section.title === "Access");
    expect(access?.lines.join("\n")).toContain(
      "grant added: allow arn:aws:iam::1:role/new via grant grant-2",
    );
  });

  it("does not call a re-ordered policy document a change", () => {
    expect(documentSha256({ a: 1, b: [2] })).toBe(documentSha256({ b: [2], a: 1 }));
  });

  it("says when access could not be compared instead of reporting every grant as removed", () => {
    const diff = diffBundles(
      bundle("kp-a", [key("k1")]),
      bundle("kp-b", [key("k1", { access: { collected: false } })]),
    );
    expect(diff.access).toEqual([]);
    expect(diff.notCompared).toEqual([
      expect.objectContaining({ what: "access", reason: "access could not be read in the current bundle" }),
    ]);
  });

  it("names findings opened (new key included) and resolved (removed key included)", () => {
    const diff = diffBundles(
      bundle(
        "kp-a",
        [key("k1"), key("gone")],
        [
          finding("key-rotation-enabled", "k1", "pass"),
          finding("key-access-not-public", "k1", "fail"),
          finding("key-rotation-enabled", "gone", "warn"),
        ],
      ),
      bundle(
        "kp-b",
        [key("k1"), key("new")],
        [
          finding("key-rotation-enabled", "k1", "fail"),
          finding("key-access-not-public", "k1", "pass"),
          finding("key-rotation-enabled", "new", "error"),
        ],
      ),
    );
    expect(diff.findings.opened.map((item) => [item.checkId, item.keyId, item.before, item.after])).toEqual([
      ["key-rotation-enabled", "k1", "pass", "fail"],
      ["key-rotation-enabled", "new", null, "error"],
    ]);
    expect(diff.findings.resolved.map((item) => [item.checkId, item.keyId, item.before, item.after])).toEqual(
      [
        ["key-access-not-public", "k1", "fail", "pass"],
        ["key-rotation-enabled", "gone", "warn", null],
      ],
    );
    const text = formatChanges(diff);
    expect(text).toContain("Findings opened (2)");
    expect(text).toContain("key-access-not-public on arn:k1 (aws-prod / us-east-1): fail → pass");
  });

  it("keeps an open finding that stays open out of both lists", () => {
    const diff = diffBundles(
      bundle("kp-a", [key("k1")], [finding("key-rotation-enabled", "k1", "fail")]),
      bundle("kp-b", [key("k1")], [finding("key-rotation-enabled", "k1", "warn")]),
    );
    expect(diff.findings).toEqual({ opened: [], resolved: [] });
  });
});

describe("noPreviousBundle", () => {
  it("records the reason and the current bundle", () => {
    const value = noPreviousBundle(bundle("kp-b", []), FIRST_BUNDLE_REASON);
    expect(value).toMatchObject({
      previous: null,
      reason: "first bundle of its chain",
      current: { runId: "kp-b" },
    });
    expect(formatChanges(value)).toContain("no comparison: first bundle of its chain");
  });
});
