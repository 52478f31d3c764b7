import { describe, expect, it } from "vitest";
import {
  DEFAULT_ACCOUNT,
  makeAzureKey,
  makeRotation,
  makeVaultKey,
  makeGap,
  makeKey,
  makeKeys,
  makeLoggingStatus,
  makeSink,
  makeSnapshot,
  makeSource,
  makeSourceGap,
  makeUsageSummary,
} from "./index.ts";

describe("test factories", () => {
  it("makes distinct, consistent keys", () => {
    const [first, second] = makeKeys(2, { location: "us-east-1" });
    expect(first?.keyId).not.toBe(second?.keyId);
    expect(first?.arn).toBe(`arn:aws:kms:us-east-1:${DEFAULT_ACCOUNT}:key/${first?.keyId}`);
    expect(makeKey({ keyId: "abc" }).arn).toMatch(/:key\/abc$/);
    expect(makeKey({ arn: "arn:custom" }).arn).toBe("arn:custom");
  });

  it("makes Azure and Vault keys with the typed facts their providers fill", () => {
    const azure = makeAzureKey({ aliases: ["payments"] });
    expect(azure).toMatchObject({
      sourceType: "azure-key-vault",
      keyId: "https://kv-prod.vault.azure.net/keys/payments",
      hsmBacked: true,
      vaultProtection: { ok: true, value: { vault: "kv-prod", softDelete: true, purgeProtection: true } },
    });
    const vault = makeVaultKey({ keyId: "team/transit/orders" });
    expect(vault).toMatchObject({
      sourceType: "hashicorp-vault",
      arn: "https://vault.example:8200/v1/team/transit/keys/orders",
      aliases: ["orders"],
      exportable: false,
      allowPlaintextBackup: false,
    });
  });

  it("keeps lastRotation on the last history event", () => {
    const rotation = makeRotation({
      history: [
        { date: "2026-01-01T00:00:00.000Z", type: "automatic" },
        { date: "2026-04-01T00:00:00.000Z", type: "on-demand" },
      ],
    });
    expect(rotation.ok && rotation.value.lastRotation).toBe("2026-04-01T00:00:00.000Z");
    const never = makeRotation();
    expect(never.ok && "lastRotation" in never.value).toBe(false);
  });

  it("makes an empty snapshot with the default policy", () => {
    const snapshot = makeSnapshot();
    expect(snapshot.sources).toEqual([]);
    expect(snapshot.range.label).toBe("2026-Q3");
    expect(snapshot.policy).toMatchObject({ maxRotationDays: 365, logRetentionDays: 365 });
    expect(makeSnapshot({ policy: { maxRotationDays: 90 } }).policy.logRetentionDays).toBe(365);
  });

  it("groups keys into sources and locations with default logging and usage", () => {
    const keys = [
      makeKey(),
      makeKey({ location: "us-east-1" }),
      makeKey(),
      makeKey({ source: "vault", sourceType: "hashicorp-vault", location: "transit" }),
    ];
    const snapshot = makeSnapshot({ keys });
    expect(snapshot.sources.map((source) => [source.source, source.type, source.account])).toEqual([
      ["aws-prod", "aws-kms", DEFAULT_ACCOUNT],
      ["vault", "hashicorp-vault", undefined],
    ]);
    const [aws] = snapshot.sources;
    expect(aws?.locations.map((location) => [location.location, location.keys.length])).toEqual([
      ["eu-west-1", 2],
      ["us-east-1", 1],
    ]);
    expect(aws?.locations[1]?.logging).toMatchObject({ source: "aws-prod", location: "us-east-1" });
    expect(aws?.usage.map((summary) => summary.location)).toEqual(["eu-west-1", "us-east-1"]);
    expect(snapshot.sources[1]).not.toHaveProperty("account");
  });

  it("places logging, usage, gaps and accounts where they belong", () => {
    const snapshot = makeSnapshot({
      keys: [makeKey()],
      logging: [makeLoggingStatus({ location: "ap-south-1", sinks: [makeSink({ active: false })] })],
      usage: [makeUsageSummary({ eventCount: 0 })],
      gaps: [
        makeGap({ location: "eu-west-1" }),
        makeGap({ location: "sa-east-1" }),
        makeSourceGap({ source: "aws-b" }),
      ],
      accounts: { "aws-prod": "999988887777", "aws-b": undefined },
    });
    const [prod, other] = snapshot.sources;
    expect(prod?.account).toBe("999988887777");
    expect(prod?.locations.map((location) => location.location)).toEqual(["eu-west-1", "ap-south-1"]);
    expect(prod?.locations[0]?.gaps).toHaveLength(1);
    expect(prod?.gaps.map((gap) => gap.location)).toEqual(["sa-east-1"]);
    expect(prod?.usage).toEqual([expect.objectContaining({ location: "eu-west-1", eventCount: 0 })]);
    expect(other).toMatchObject({ source: "aws-b", locations: [], gaps: [{ source: "aws-b" }] });
    expect(other).not.toHaveProperty("account");
    expect(other?.gaps[0]).not.toHaveProperty("location");
  });

  it("accepts sources verbatim, but not mixed with keys", () => {
    const sources = [makeSource({ source: "x" })];
    expect(makeSnapshot({ sources }).sources).toBe(sources);
    expect(() => makeSnapshot({ sources, keys: [makeKey()] })).toThrow(/either `sources`/);
  });
});
