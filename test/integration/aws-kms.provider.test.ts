/**
 * The AWS KMS provider against moto. moto is shared and never reset: this file works in an AWS account of
 * its own, reached the way the provider reaches a customer's account — by assuming a role (`roleArn` +
 * `externalId`) — since moto keeps separate state per account and maps the assumed role's credentials
 * to the role's account. Nothing seeded here is visible to other tests, and nothing of theirs here. LookupEvents, which moto lacks, is served by the LookupEvents fake; KMS errors
 * moto cannot produce (denied GetKeyPolicy/ListKeys, UnsupportedOperationException) come from the KMS
 * error fake proxy in front of moto.
 */
import { randomUUID } from "node:crypto";
import { gzipSync } from "node:zlib";
import {
  CloudTrailClient,
  CreateTrailCommand,
  PutEventSelectorsCommand,
  StartLoggingCommand,
} from "@aws-sdk/client-cloudtrail";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEMO_BEFORE_RANGE_EVENT_ID,
  DEMO_CORRUPT_OBJECT_MARKER,
  DEMO_EXTERNAL_ID,
  DEMO_KMS_DELETION_FILTER_PATTERN,
  DEMO_LATE_EVENT_ID,
  DEMO_LOG_EXPIRATION_DAYS,
  DEMO_OUTSIDE_EVENT_ID,
  DEMO_PARTNER_ACCOUNT,
  demoAliasName,
  kmsApiCallRecord,
  seedAwsDemoEstate,
  stableId,
} from "../../scripts/demo/seed-aws-estate.ts";
import type { SeededAwsDemoEstate } from "../../scripts/demo/seed-aws-estate.ts";
import type { AwsKmsSourceConfig } from "../../src/config/config.schema.ts";
import type { AccessGrant, KeyRecord } from "../../src/model/key.ts";
import type { LocationSnapshot } from "../../src/model/snapshot.ts";
import type { UsageEvent, UsageGap, UsageItem } from "../../src/model/usage.ts";
import { createAwsKmsProvider } from "../../src/providers/aws-kms/aws-kms.provider.ts";
import type { AwsKmsProvider } from "../../src/providers/aws-kms/aws-kms.provider.ts";
import { startRelay } from "../support/relay.ts";
import { collectLocation } from "../../src/providers/collect-location.ts";
import type { KeyRef } from "../../src/providers/key-provider.ts";
import { keyReference, matchInventory } from "../../src/inventory/match-inventory.ts";
import { parseRange } from "../../src/time/date-range.ts";
import { startCloudTrailLookupEventsFake } from "../fakes/cloudtrail-lookup-events.fake.ts";
import { startKmsErrorProxy } from "../fakes/kms-error-proxy.fake.ts";

const ENDPOINT = process.env.KEYPROOF_TEST_AWS_ENDPOINT ?? "http://127.0.0.1:5000";
const CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };
const CAPTURED_AT = new Date("2026-11-28T12:00:00.000Z");
const clock = () => CAPTURED_AT;
const RANGE = parseRange("2026-07-01", "2026-07-12");
/** A fresh 12-digit account per run (moto creates account state on first use). */
const ACCOUNT = `7${String(Math.floor(Math.random() * 1e11)).padStart(11, "0")}`;
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/keyproof-audit`;

/** Clients the test itself uses to arrange state, in the same account as the provider. */
function awsClientConfig(region: string) {
  return {
    endpoint: ENDPOINT,
    region,
    credentials: fromTemporaryCredentials({
      masterCredentials: CREDENTIALS,
      params: { RoleArn: ROLE_ARN, ExternalId: DEMO_EXTERNAL_ID, RoleSessionName: "keyproof-test-arrange" },
      clientConfig: { endpoint: ENDPOINT, region },
    }),
  };
}

function keyNamed(snapshot: LocationSnapshot, keyId: string | undefined): KeyRecord {
  const key = snapshot.keys.find((candidate) => candidate.keyId === keyId);
  if (key === undefined) throw new Error(`key ${keyId} is not in the ${snapshot.location} snapshot`);
  return key;
}

function grantsOf(key: KeyRecord): AccessGrant[] {
  if (!key.access.ok) throw new Error(`access of ${key.keyId} failed: ${key.access.error.message}`);
  return key.access.value.grants;
}

async function drain(items: AsyncIterable<UsageItem>): Promise<{ events: UsageEvent[]; gaps: UsageGap[] }> {
  const events: UsageEvent[] = [];
  const gaps: UsageGap[] = [];
  for await (const item of items) {
    if (item.kind === "event") events.push(item.event);
    else gaps.push(item.gap);
  }
  return { events, gaps };
}

const suffix = `it${randomUUID().slice(0, 8)}`;
let estate: SeededAwsDemoEstate;
let provider: AwsKmsProvider;
let usEast: LocationSnapshot;
let euWest: LocationSnapshot;

beforeAll(async () => {
  estate = await seedAwsDemoEstate({ endpoint: ENDPOINT, suffix, quarter: RANGE, roleArn: ROLE_ARN });
  provider = createAwsKmsProvider(estate.source, { clock, credentials: CREDENTIALS });
  [usEast, euWest] = await Promise.all([
    collectLocation(provider, "us-east-1"),
    collectLocation(provider, "eu-west-1"),
  ]);
});

afterAll(() => provider?.close());

describe("AWS KMS provider: keys", () => {
  it("assumes the configured role (with its ExternalId) and names that role's account", async () => {
    expect(estate.source).toMatchObject({ roleArn: ROLE_ARN, externalId: DEMO_EXTERNAL_ID });
    expect(provider.listLocations()).toEqual(["us-east-1", "eu-west-1"]);
    expect(await provider.describeAccount()).toBe(ACCOUNT);
  });

  it("collects every seeded key in its region with aliases, spec, usage, state and tags", () => {
    expect(usEast.gaps).toEqual([]);
    expect(euWest.gaps).toEqual([]);
    const expectations: Array<[string, LocationSnapshot, Partial<KeyRecord>]> = [
      [
        "payments-db",
        usEast,
        { keySpec: "SYMMETRIC_DEFAULT", keyUsage: "ENCRYPT_DECRYPT", state: "enabled" },
      ],
      ["customer-pii", euWest, { keySpec: "SYMMETRIC_DEFAULT", state: "enabled" }],
      ["release-signing", usEast, { keySpec: "RSA_2048", rawKeyType: "RSA_2048", keyUsage: "SIGN_VERIFY" }],
      ["webhook-hmac", usEast, { keySpec: "HMAC_256", keyUsage: "GENERATE_VERIFY_MAC" }],
      ["device-firmware-signing", euWest, { keySpec: "ECC_SECG_P256K1", keyUsage: "SIGN_VERIFY" }],
      ["billing-legacy", usEast, { state: "pending-deletion" }],
      ["archive-2019", euWest, { state: "disabled" }],
      ["scratch", usEast, { state: "enabled" }],
    ];
    for (const [name, snapshot, expected] of expectations) {
      const key = keyNamed(snapshot, estate.keyIdsByName[name]);
      expect(key, name).toMatchObject({
        source: "aws-demo",
        sourceType: "aws-kms",
        location: snapshot.location,
        aliases: [demoAliasName(name, suffix)],
        origin: "platform",
        manager: "customer",
        hsmBacked: true,
        ...expected,
      });
      expect(key.arn).toBe(`arn:aws:kms:${snapshot.location}:${ACCOUNT}:key/${key.keyId}`);
      expect(key.tags).toMatchObject({ environment: "production", "managed-by": "terraform" });
      expect(key.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
      expect(key.errors).toEqual([]);
    }
    // The account holds exactly the seeded keys, each in its region.
    expect(usEast.keys.map((key) => key.keyId).sort()).toEqual(
      [
        "payments-db",
        "session-tokens",
        "marketing-assets",
        "reporting-exports",
        "release-signing",
        "webhook-hmac",
        "scratch",
        "billing-legacy",
      ]
        .map((name) => estate.keyIdsByName[name])
        .sort(),
    );
    expect(euWest.keys.map((key) => key.keyId).sort()).toEqual(
      [
        "customer-pii",
        "backups",
        "partner-exchange",
        "analytics-warehouse",
        "device-firmware-signing",
        "archive-2019",
      ]
        .map((name) => estate.keyIdsByName[name])
        .sort(),
    );
  });

  it("records the deletion date of a key pending deletion, about 30 days out", () => {
    const key = keyNamed(usEast, estate.keyIdsByName["billing-legacy"]);
    const days = (Date.parse(key.deletionDate ?? "") - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29);
    expect(days).toBeLessThan(31);
  });

  it("keeps each raw response with its call and the injected capture time", () => {
    const key = keyNamed(usEast, estate.keyIdsByName["payments-db"]);
    expect(Object.keys(key.raw).sort()).toEqual([
      "kms:DescribeKey",
      "kms:GetKeyPolicy",
      "kms:GetKeyRotationStatus",
      "kms:ListAliases",
      "kms:ListGrants",
      "kms:ListKeyRotations",
      "kms:ListResourceTags",
    ]);
    for (const [call, collected] of Object.entries(key.raw)) {
      expect(collected).toMatchObject({ ok: true, call, capturedAt: CAPTURED_AT.toISOString() });
    }
    const describe = key.raw["kms:DescribeKey"];
    expect(describe?.ok && describe.value).toMatchObject({
      KeyMetadata: { KeyId: key.keyId, KeySpec: "SYMMETRIC_DEFAULT" },
    });
    // Plain JSON: no SDK $metadata, dates as strings.
    expect(JSON.parse(JSON.stringify(key.raw))).toEqual(key.raw);
    expect(JSON.stringify(key.raw)).not.toContain("$metadata");
  });

  it("seeds an inventory documenting every key but the unowned one, plus an entry that matches no key", () => {
    const match = matchInventory(estate.inventory, [...usEast.keys, ...euWest.keys]);
    const undocumented = Object.entries(estate.keyIdsByName)
      .filter(([, keyId]) => !match.entryByKey.has(keyReference({ source: "aws-demo", keyId })))
      .map(([name]) => name);
    expect(undocumented).toEqual(["scratch"]);
    expect(match.unmatchedEntries.map((entry) => entry.match)).toEqual([demoAliasName("ledger-v1", suffix)]);
    expect(match.duplicateEntries.size).toBe(0);
  });

  it("skips moto's reserved alias/aws/* entries, whose targets are not keys of the account", () => {
    const aliases = [...usEast.keys, ...euWest.keys].flatMap((key) => key.aliases);
    expect(aliases).toHaveLength(14);
    expect(aliases.filter((alias) => alias.startsWith("alias/aws/"))).toEqual([]);
  });
});

/**
 * Forwards every request to moto and notes the IAM query action of each, so a test can count the calls
 * a provider makes (the provider is not instrumented; this sits on the wire like the KMS error proxy).
 */
async function startIamCallCounter(): Promise<{
  endpoint: string;
  actions: string[];
  close(): Promise<void>;
}> {
  const actions: string[] = [];
  const relay = await startRelay(ENDPOINT, {
    intercept: (_request, body) => {
      actions.push(new URLSearchParams(body.toString("utf8")).get("Action") ?? "");
      return false;
    },
  });
  return { endpoint: relay.endpoint, actions, close: () => relay.close() };
}

/** What a batch job gets: references written to the work store as JSON and read back elsewhere. */
function throughJson(refs: readonly KeyRef[]): KeyRef[] {
  return JSON.parse(JSON.stringify(refs)) as KeyRef[];
}

/** A provider as a batch worker builds it: a fresh instance, nothing memoized yet. */
function freshProvider(source: AwsKmsSourceConfig = estate.source): AwsKmsProvider {
  return createAwsKmsProvider(source, { clock, credentials: CREDENTIALS });
}

describe("AWS KMS provider: listing and describing in batches", () => {
  it("lists every key of the region as a JSON-safe reference, sorted by key id, with its ARN and aliases", async () => {
    const lister = freshProvider();
    try {
      const listing = await lister.listKeys("us-east-1");
      expect(listing.gaps).toEqual([]);
      const ids = listing.refs.map((ref) => ref.keyId);
      expect(ids).toEqual([...ids].sort((left, right) => left.localeCompare(right)));
      expect(ids).toEqual(usEast.keys.map((key) => key.keyId));
      // Plain JSON: no Date, no undefined, no SDK objects.
      expect(JSON.parse(JSON.stringify(listing))).toStrictEqual(listing);
      const paymentsId = estate.keyIdsByName["payments-db"];
      const payments = listing.refs.find((ref) => ref.keyId === paymentsId);
      expect(payments?.listed).toEqual({
        keyArn: `arn:aws:kms:us-east-1:${ACCOUNT}:key/${paymentsId}`,
        aliases: {
          ok: true,
          call: "kms:ListAliases",
          capturedAt: CAPTURED_AT.toISOString(),
          value: [
            // moto sends no CreationDate/LastUpdatedDate; AWS does, and they are kept as ISO strings.
            expect.objectContaining({
              AliasName: demoAliasName("payments-db", suffix),
              AliasArn: `arn:aws:kms:us-east-1:${ACCOUNT}:${demoAliasName("payments-db", suffix)}`,
              TargetKeyId: paymentsId,
            }),
          ],
        },
      });
    } finally {
      lister.close();
    }
  });

  it("describes two halves in two fresh instances exactly as the whole region at once", async () => {
    const [lister, whole, firstHalf, secondHalf] = [
      freshProvider(),
      freshProvider(),
      freshProvider(),
      freshProvider(),
    ];
    try {
      const refs = throughJson((await lister.listKeys("us-east-1")).refs);
      const middle = Math.floor(refs.length / 2);
      const all = await whole.collectKeys("us-east-1", refs);
      const first = await firstHalf.collectKeys("us-east-1", throughJson(refs.slice(0, middle)));
      const second = await secondHalf.collectKeys("us-east-1", throughJson(refs.slice(middle)));
      expect([all.gaps, first.gaps, second.gaps]).toEqual([[], [], []]);
      expect(all.keys.map((key) => key.keyId)).toEqual(refs.map((ref) => ref.keyId));
      expect(JSON.stringify([...first.keys, ...second.keys])).toBe(JSON.stringify(all.keys));
      // And the same records the whole-location call gave (the raw ListAliases evidence included).
      expect(JSON.stringify(all.keys)).toBe(JSON.stringify(usEast.keys));
    } finally {
      for (const instance of [lister, whole, firstHalf, secondHalf]) instance.close();
    }
  });

  it("reads the account's IAM identity policies once per instance, however many batches it describes", async () => {
    const counter = await startIamCallCounter();
    const batches = freshProvider({ ...estate.source, endpoints: { iam: counter.endpoint } });
    const readsIam = (key: KeyRecord) =>
      key.access.ok && key.access.call.includes("iam:GetAccountAuthorizationDetails");
    try {
      const refs = throughJson((await batches.listKeys("us-east-1")).refs);
      const middle = Math.floor(refs.length / 2);
      const first = await batches.collectKeys("us-east-1", refs.slice(0, middle));
      const readsAfterFirst = counter.actions.filter(
        (action) => action === "GetAccountAuthorizationDetails",
      ).length;
      const second = await batches.collectKeys("us-east-1", refs.slice(middle));
      const readsAfterBoth = counter.actions.filter(
        (action) => action === "GetAccountAuthorizationDetails",
      ).length;
      // Both batches hold keys whose policy lets IAM policies apply, so each needed the answer.
      expect(first.keys.some(readsIam)).toBe(true);
      expect(second.keys.some(readsIam)).toBe(true);
      expect(readsAfterFirst).toBeGreaterThanOrEqual(1);
      expect(readsAfterBoth).toBe(readsAfterFirst);
      // A fresh instance (another worker) reads it again: memoized per instance, not per process.
      const another = freshProvider({ ...estate.source, endpoints: { iam: counter.endpoint } });
      try {
        await another.collectKeys("us-east-1", refs.slice(0, middle));
      } finally {
        another.close();
      }
      expect(counter.actions.filter((action) => action === "GetAccountAuthorizationDetails").length).toBe(
        2 * readsAfterFirst,
      );
    } finally {
      batches.close();
      await counter.close();
    }
  });

  it("records a malformed reference as an error on its key (or a gap without a key id), never a throw", async () => {
    const describer = freshProvider();
    try {
      const refs = throughJson((await describer.listKeys("us-east-1")).refs);
      const [noListed, badAliases, badArn, foreignAlias] = refs;
      if (
        noListed === undefined ||
        badAliases === undefined ||
        badArn === undefined ||
        foreignAlias === undefined
      )
        throw new Error("us-east-1 holds fewer than four seeded keys");
      // Another key's aliases: listed for a key they do not target.
      const foreignAliases = refs.find((ref) => ref.keyId !== foreignAlias.keyId)?.listed?.aliases;
      const malformed = [
        { keyId: noListed.keyId },
        { keyId: badAliases.keyId, listed: { ...badAliases.listed, aliases: "kms:ListAliases" } },
        { keyId: badArn.keyId, listed: { ...badArn.listed, keyArn: 42 } },
        { keyId: foreignAlias.keyId, listed: { aliases: foreignAliases ?? null } },
        { listed: {} } as unknown as KeyRef,
      ];
      const batch = await describer.collectKeys("us-east-1", malformed);
      expect(batch.keys.map((key) => key.keyId)).toEqual(malformed.slice(0, 4).map((ref) => ref.keyId));
      for (const key of batch.keys) {
        const complete = usEast.keys.find((candidate) => candidate.keyId === key.keyId);
        expect(key.errors, key.keyId).toEqual([
          {
            call: "kms:ListAliases",
            code: "InvalidKeyRef",
            message: expect.stringContaining(`key ${key.keyId} in us-east-1`),
            retryable: false,
          },
        ]);
        expect(key.raw["kms:ListAliases"]).toMatchObject({ ok: false, error: { code: "InvalidKeyRef" } });
        expect(key.aliases).toEqual([]);
        // The rest of the key is described from KMS as usual; the ARN then comes from DescribeKey.
        expect(key).toMatchObject({
          arn: complete?.arn,
          keySpec: complete?.keySpec,
          state: complete?.state,
          rotation: complete?.rotation,
          access: complete?.access,
        });
      }
      expect(batch.gaps).toEqual([
        {
          source: "aws-demo",
          location: "us-east-1",
          error: {
            call: "kms:ListAliases",
            code: "InvalidKeyRef",
            message: "key reference 4 of the batch has no key id",
            retryable: false,
          },
        },
      ]);
    } finally {
      describer.close();
    }
  });
});

describe("AWS KMS provider: rotation", () => {
  it("reports enabled rotation with the on-demand rotation history", () => {
    const key = keyNamed(usEast, estate.keyIdsByName["payments-db"]);
    expect(key.rotation.ok).toBe(true);
    if (!key.rotation.ok) return;
    expect(key.rotation.call).toBe("kms:GetKeyRotationStatus, kms:ListKeyRotations");
    expect(key.rotation.value.enabled).toBe(true);
    expect(key.rotation.value.history).toHaveLength(1);
    expect(key.rotation.value.history[0]?.type).toBe("on-demand");
    expect(key.rotation.value.lastRotation).toBe(key.rotation.value.history[0]?.date);
  });

  it("records AWS's UnsupportedOperationException on rotation calls as rotation off, with the reason", async () => {
    const signingId = estate.keyIdsByName["release-signing"] as string;
    const unsupported = "UnsupportedOperationException";
    const message = `${signingId} key rotation is not supported for asymmetric KMS keys`;
    const proxy = await startKmsErrorProxy({
      upstream: ENDPOINT,
      failures: [
        { operation: "GetKeyRotationStatus", keyId: signingId, code: unsupported, message },
        { operation: "ListKeyRotations", keyId: signingId, code: unsupported, message },
      ],
    });
    const viaProxy = createAwsKmsProvider(
      { ...estate.source, endpoints: { kms: proxy.endpoint } },
      { clock, credentials: CREDENTIALS },
    );
    try {
      const key = keyNamed(await collectLocation(viaProxy, "us-east-1"), signingId);
      expect(key.rotation).toEqual({
        ok: true,
        call: "kms:GetKeyRotationStatus",
        capturedAt: CAPTURED_AT.toISOString(),
        value: { enabled: false, history: [], detail: { unsupported: message } },
      });
      expect(key.errors).toEqual([]);
      expect(key.raw["kms:GetKeyRotationStatus"]).toMatchObject({ ok: false, error: { code: unsupported } });
      expect(proxy.failedCount).toBe(2);
    } finally {
      viaProxy.close();
      await proxy.close();
    }
  });

  it("reports disabled rotation as a fact, not an error", () => {
    for (const [name, snapshot] of [
      ["session-tokens", usEast],
      ["release-signing", usEast],
      ["device-firmware-signing", euWest],
    ] as const) {
      const key = keyNamed(snapshot, estate.keyIdsByName[name]);
      expect(key.rotation, name).toMatchObject({ ok: true, value: { enabled: false, history: [] } });
    }
  });
});

describe("AWS KMS provider: access", () => {
  it("normalizes a tight policy: account root, administrators and the service role with its condition", () => {
    const key = keyNamed(usEast, estate.keyIdsByName["payments-db"]);
    const policyGrants = grantsOf(key).filter((grant) => grant.via === "key-policy");
    expect(policyGrants.map((grant) => [grant.reference, grant.principalKind, grant.principal])).toEqual([
      ["EnableIamUserPermissions", "account-root", `arn:aws:iam::${ACCOUNT}:root`],
      ["AllowKeyAdministration", "role", `arn:aws:iam::${ACCOUNT}:role/kms-admin`],
      ["AllowPaymentsServiceUse", "role", `arn:aws:iam::${ACCOUNT}:role/payments-app`],
    ]);
    expect(policyGrants[2]).toMatchObject({
      effect: "allow",
      principalAccount: ACCOUNT,
      actions: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
      conditions: { StringEquals: { "kms:ViaService": "rds.us-east-1.amazonaws.com" } },
    });
    expect(key.access.ok && key.access.value.documents.map((document) => document.name).slice(0, 2)).toEqual([
      "key-policy",
      "grants",
    ]);
  });

  it("adds identity-policy grants to keys whose policy enables IAM, once per matching statement", () => {
    const policyName = `payments-db-access-${suffix}`;
    const payments = keyNamed(usEast, estate.keyIdsByName["payments-db"]);
    const identity = grantsOf(payments).filter((grant) => grant.via === "identity-policy");
    expect(identity).toEqual([
      {
        principal: `arn:aws:iam::${ACCOUNT}:role/payments-app`,
        principalKind: "role",
        principalAccount: ACCOUNT,
        effect: "allow",
        actions: ["kms:Decrypt", "kms:DescribeKey"],
        via: "identity-policy",
        reference: `role/payments-app inline-policy ${policyName}#DecryptPaymentsData`,
      },
    ]);
    expect(
      payments.access.ok &&
        payments.access.value.documents.some((document) => document.name.includes(policyName)),
    ).toBe(true);
    // The statement names the payments-db ARN only: no other key of the account gets it.
    for (const key of [...usEast.keys, ...euWest.keys].filter(
      (candidate) => candidate.keyId !== payments.keyId,
    )) {
      expect(grantsOf(key).filter((grant) => grant.via === "identity-policy")).toEqual([]);
    }
  });

  it("records an unconditional wildcard principal", () => {
    const key = keyNamed(usEast, estate.keyIdsByName["marketing-assets"]);
    const wildcard = grantsOf(key).find((grant) => grant.reference === "AllowAgencyDownloads");
    expect(wildcard).toEqual({
      principal: "*",
      principalKind: "wildcard",
      effect: "allow",
      actions: ["kms:Decrypt", "kms:DescribeKey"],
      via: "key-policy",
      reference: "AllowAgencyDownloads",
    });
  });

  it("records a cross-account root principal with its account", () => {
    const key = keyNamed(euWest, estate.keyIdsByName["partner-exchange"]);
    expect(grantsOf(key).find((grant) => grant.reference === "AllowPartnerAccount")).toMatchObject({
      principal: `arn:aws:iam::${DEMO_PARTNER_ACCOUNT}:root`,
      principalKind: "account-root",
      principalAccount: DEMO_PARTNER_ACCOUNT,
    });
  });

  it("records a human user in the key policy", () => {
    const key = keyNamed(euWest, estate.keyIdsByName["analytics-warehouse"]);
    expect(grantsOf(key).find((grant) => grant.reference === "AllowBobAdHocDecrypt")).toMatchObject({
      principal: `arn:aws:iam::${ACCOUNT}:user/bob`,
      principalKind: "human-user",
      actions: ["kms:Decrypt"],
    });
  });

  it("normalizes grants: a human grantee, and a service role with encryption-context constraints", () => {
    const reporting = keyNamed(usEast, estate.keyIdsByName["reporting-exports"]);
    const rawGrants = reporting.raw["kms:ListGrants"];
    const grantId = rawGrants?.ok
      ? (rawGrants.value as { Grants: Array<{ GrantId: string }> }).Grants[0]?.GrantId
      : undefined;
    expect(grantId).toBeDefined();
    expect(grantsOf(reporting).filter((grant) => grant.via === "grant")).toEqual([
      {
        principal: `arn:aws:iam::${ACCOUNT}:user/alice`,
        principalKind: "human-user",
        principalAccount: ACCOUNT,
        effect: "allow",
        actions: ["kms:Decrypt", "kms:GenerateDataKey"],
        via: "grant",
        reference: grantId,
      },
    ]);
    const backups = keyNamed(euWest, estate.keyIdsByName["backups"]);
    expect(grantsOf(backups).filter((grant) => grant.via === "grant")).toMatchObject([
      {
        principal: `arn:aws:iam::${ACCOUNT}:role/backup-runner`,
        principalKind: "role",
        actions: ["kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"],
        conditions: { EncryptionContextSubset: { purpose: "nightly-backup" } },
      },
    ]);
  });

  it("keeps a key whose policy cannot be read, with access naming kms:GetKeyPolicy", async () => {
    const paymentsId = estate.keyIdsByName["payments-db"] as string;
    const proxy = await startKmsErrorProxy({
      upstream: ENDPOINT,
      failures: [{ operation: "GetKeyPolicy", keyId: paymentsId }],
    });
    const denied = createAwsKmsProvider(
      { ...estate.source, endpoints: { kms: proxy.endpoint } },
      { clock, credentials: CREDENTIALS },
    );
    try {
      const snapshot = await collectLocation(denied, "us-east-1");
      const key = keyNamed(snapshot, paymentsId);
      expect(key.access).toEqual({
        ok: false,
        error: {
          call: "kms:GetKeyPolicy",
          code: "AccessDeniedException",
          message: expect.stringContaining("kms:GetKeyPolicy"),
          retryable: false,
        },
        capturedAt: CAPTURED_AT.toISOString(),
      });
      expect(key.raw["kms:GetKeyPolicy"]?.ok).toBe(false);
      // The rest of the key is intact, and the other keys are untouched.
      expect(key).toMatchObject({ keySpec: "SYMMETRIC_DEFAULT", state: "enabled", rotation: { ok: true } });
      expect(keyNamed(snapshot, estate.keyIdsByName["session-tokens"]).access.ok).toBe(true);
      expect(proxy.failedCount).toBeGreaterThanOrEqual(1);
    } finally {
      denied.close();
      await proxy.close();
    }
  });

  it("keeps a trail whose status cannot be read with its status unknown, never 'not logging'", async () => {
    const proxy = await startKmsErrorProxy({
      upstream: ENDPOINT,
      failures: [{ operation: "GetTrailStatus", service: "cloudtrail" }],
    });
    const denied = createAwsKmsProvider(
      { ...estate.source, endpoints: { cloudtrail: proxy.endpoint } },
      { clock, credentials: CREDENTIALS },
    );
    try {
      const snapshot = await collectLocation(denied, "us-east-1");
      const trails = snapshot.logging.sinks.filter((sink) => sink.kind === "cloudtrail-trail");
      expect(trails.length).toBeGreaterThan(0);
      for (const trail of trails) expect(trail.active).toBeUndefined();
      expect(snapshot.logging.errors).toContainEqual(
        expect.objectContaining({ call: "cloudtrail:GetTrailStatus", code: "AccessDeniedException" }),
      );
      expect(proxy.failedCount).toBeGreaterThanOrEqual(1);
    } finally {
      denied.close();
      await proxy.close();
    }
  });

  it("turns a denied ListKeys into a location gap, and still reads the logging status", async () => {
    const proxy = await startKmsErrorProxy({ upstream: ENDPOINT, failures: [{ operation: "ListKeys" }] });
    const denied = createAwsKmsProvider(
      { ...estate.source, endpoints: { kms: proxy.endpoint } },
      { clock, credentials: CREDENTIALS },
    );
    try {
      const snapshot = await collectLocation(denied, "us-east-1");
      expect(snapshot.keys).toEqual([]);
      expect(snapshot.gaps).toEqual([
        {
          source: "aws-demo",
          location: "us-east-1",
          error: {
            call: "kms:ListKeys",
            code: "AccessDeniedException",
            message: expect.stringContaining("kms:ListKeys"),
            retryable: false,
          },
        },
      ]);
      expect(snapshot.logging.sinks.some((sink) => sink.destination === `s3://${estate.trailBucket}/`)).toBe(
        true,
      );
    } finally {
      denied.close();
      await proxy.close();
    }
  });

  it("reports a throttled ListAliases as a listing error (so a queued plan retries), and keeps every key", async () => {
    const proxy = await startKmsErrorProxy({
      upstream: ENDPOINT,
      failures: [{ operation: "ListAliases", code: "ThrottlingException", message: "Rate exceeded" }],
    });
    const throttled = createAwsKmsProvider(
      { ...estate.source, endpoints: { kms: proxy.endpoint } },
      { clock, credentials: CREDENTIALS },
    );
    try {
      const listing = await throttled.listKeys("us-east-1");
      expect(listing.refs.length).toBeGreaterThan(0);
      expect(listing.gaps).toEqual([]);
      expect(listing.errors).toEqual([
        expect.objectContaining({ call: "kms:ListAliases", code: "ThrottlingException", retryable: true }),
      ]);
      const batch = await throttled.collectKeys("us-east-1", listing.refs);
      expect(batch.keys).toHaveLength(listing.refs.length);
      expect(
        batch.keys.every((key) => key.errors.some((error) => error.code === "ThrottlingException")),
      ).toBe(true);
    } finally {
      throttled.close();
      await proxy.close();
    }
  });

  it("keeps a key whose DescribeKey its own policy denies (moto enforces that one)", async () => {
    const region = "ca-central-1";
    const kms = new KMSClient(awsClientConfig(region));
    const root = {
      Sid: "Root",
      Effect: "Allow",
      Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
      Action: "kms:*",
      Resource: "*",
    };
    const created = await kms.send(
      new CreateKeyCommand({
        KeyUsage: "ENCRYPT_DECRYPT",
        Description: `describe-denied ${suffix}`,
        Policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            root,
            { Sid: "DenyDescribe", Effect: "Deny", Principal: "*", Action: "kms:DescribeKey", Resource: "*" },
          ],
        }),
      }),
    );
    const keyId = created.KeyMetadata?.KeyId as string;
    const regional = createAwsKmsProvider(
      {
        id: "aws-describe-denied",
        type: "aws-kms",
        regions: [region],
        endpoint: ENDPOINT,
        roleArn: ROLE_ARN,
        externalId: DEMO_EXTERNAL_ID,
      },
      { clock, credentials: CREDENTIALS },
    );
    try {
      const snapshot = await collectLocation(regional, region);
      const key = keyNamed(snapshot, keyId);
      expect(key.errors).toEqual([
        {
          call: "kms:DescribeKey",
          code: "AccessDeniedException",
          message: expect.any(String),
          retryable: false,
        },
      ]);
      expect(key.raw["kms:DescribeKey"]?.ok).toBe(false);
      expect(key).toMatchObject({
        keySpec: "UNKNOWN",
        state: "other",
        arn: `arn:aws:kms:${region}:${ACCOUNT}:key/${keyId}`,
      });
      expect(key.rotation.ok).toBe(true);
      expect(grantsOf(key).find((grant) => grant.reference === "DenyDescribe")).toMatchObject({
        effect: "deny",
        principalKind: "wildcard",
      });
    } finally {
      regional.close();
      kms.destroy();
    }
  });
});

describe("AWS KMS provider: CloudTrail status", () => {
  it("sees the multi-region trail from both regions: logging, covering KMS, 90-day retention", () => {
    for (const snapshot of [usEast, euWest]) {
      expect(snapshot.logging).toMatchObject({
        source: "aws-demo",
        location: snapshot.location,
        capturedAt: CAPTURED_AT.toISOString(),
        errors: [],
      });
      expect(snapshot.logging.sinks).toHaveLength(1);
      const sink = snapshot.logging.sinks.find(
        (candidate) => candidate.name === `keyproof-demo-management-events-${suffix}`,
      );
      expect(sink, snapshot.location).toMatchObject({
        kind: "cloudtrail-trail",
        reference: `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/keyproof-demo-management-events-${suffix}`,
        active: true,
        coversKeyEvents: true,
        coverageReason:
          "event selector 1: management events (ReadWriteType All), kms.amazonaws.com not excluded",
        destination: `s3://${estate.trailBucket}/`,
        retention: { kind: "days", days: DEMO_LOG_EXPIRATION_DAYS },
        detail: {
          homeRegion: "us-east-1",
          multiRegion: true,
          logPrefix: `AWSLogs/${ACCOUNT}/CloudTrail/${snapshot.location}/`,
        },
      });
    }
  });

  it("applies a single-region trail only to its region, with its selectors and an unlimited bucket", async () => {
    const region = "eu-west-1";
    const bucket = `keyproof-it-eu-trail-${suffix}`;
    const trailName = `keyproof-it-eu-only-${suffix}`;
    const s3 = new S3Client({ ...awsClientConfig(region), forcePathStyle: true });
    const cloudTrail = new CloudTrailClient(awsClientConfig(region));
    try {
      await s3.send(
        new CreateBucketCommand({
          Bucket: bucket,
          CreateBucketConfiguration: { LocationConstraint: region },
        }),
      );
      await cloudTrail.send(
        new CreateTrailCommand({
          Name: trailName,
          S3BucketName: bucket,
          S3KeyPrefix: "audit",
          IsMultiRegionTrail: false,
        }),
      );
      await cloudTrail.send(
        new PutEventSelectorsCommand({
          TrailName: trailName,
          EventSelectors: [
            {
              ReadWriteType: "All",
              IncludeManagementEvents: true,
              ExcludeManagementEventSources: ["kms.amazonaws.com"],
            },
          ],
        }),
      );
      const [eu, us] = await Promise.all([
        collectLocation(provider, region),
        collectLocation(provider, "us-east-1"),
      ]);
      const sink = eu.logging.sinks.find((candidate) => candidate.name === trailName);
      expect(sink).toMatchObject({
        active: false,
        coversKeyEvents: false,
        coverageReason: "event selector 1: kms.amazonaws.com is in ExcludeManagementEventSources",
        destination: `s3://${bucket}/audit`,
        retention: { kind: "unlimited" },
        detail: {
          homeRegion: region,
          multiRegion: false,
          logPrefix: `audit/AWSLogs/${ACCOUNT}/CloudTrail/${region}/`,
        },
      });
      expect(us.logging.sinks.some((candidate) => candidate.name === trailName)).toBe(false);

      await cloudTrail.send(new StartLoggingCommand({ Name: trailName }));
      const again = await collectLocation(provider, region);
      expect(again.logging.sinks.find((candidate) => candidate.name === trailName)?.active).toBe(true);
    } finally {
      s3.destroy();
      cloudTrail.destroy();
    }
  });

  /**
   * moto 5.2 implements every call behind these facts: DescribeTrails returns LogFileValidationEnabled,
   * KmsKeyId and CloudWatchLogsLogGroupArn as created, and S3 answers GetPublicAccessBlock,
   * GetBucketVersioning and GetObjectLockConfiguration with AWS's "never configured" errors
   * (NoSuchPublicAccessBlockConfiguration, ObjectLockConfigurationNotFoundError). A denied S3 call cannot be
   * provoked: moto does not enforce bucket policies and the error proxy speaks awsJson (X-Amz-Target), not
   * S3's REST-XML; a trail whose bucket was deleted gives a real failing S3 call (NoSuchBucket) instead.
   */
  it("collects each trail's validation, log encryption, CloudWatch Logs group and its bucket's protections", async () => {
    const region = "eu-west-1";
    const names = {
      guarded: `keyproof-it-guarded-${suffix}`,
      bare: `keyproof-it-bare-${suffix}`,
      orphan: `keyproof-it-orphan-${suffix}`,
    };
    const buckets = {
      guarded: `keyproof-it-guarded-${suffix}`,
      bare: `keyproof-it-locked-${suffix}`,
      orphan: `keyproof-it-deleted-${suffix}`,
    };
    const s3 = new S3Client({ ...awsClientConfig(region), forcePathStyle: true });
    const cloudTrail = new CloudTrailClient(awsClientConfig(region));
    const kms = new KMSClient(awsClientConfig(region));
    const logGroupArn = `arn:aws:logs:${region}:${ACCOUNT}:log-group:keyproof-it-${suffix}:*`;
    try {
      const logKey = (await kms.send(new CreateKeyCommand({ Description: "trail log encryption" })))
        .KeyMetadata?.Arn;
      const inRegion = { CreateBucketConfiguration: { LocationConstraint: region } } as const;
      await s3.send(new CreateBucketCommand({ Bucket: buckets.guarded, ...inRegion }));
      await s3.send(
        new PutPublicAccessBlockCommand({
          Bucket: buckets.guarded,
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            IgnorePublicAcls: true,
            BlockPublicPolicy: true,
            RestrictPublicBuckets: true,
          },
        }),
      );
      await s3.send(
        new PutBucketVersioningCommand({
          Bucket: buckets.guarded,
          VersioningConfiguration: { Status: "Enabled" },
        }),
      );
      await s3.send(
        new CreateBucketCommand({ Bucket: buckets.bare, ObjectLockEnabledForBucket: true, ...inRegion }),
      );
      await s3.send(new CreateBucketCommand({ Bucket: buckets.orphan, ...inRegion }));
      await cloudTrail.send(
        new CreateTrailCommand({
          Name: names.guarded,
          S3BucketName: buckets.guarded,
          EnableLogFileValidation: true,
          KmsKeyId: logKey,
          CloudWatchLogsLogGroupArn: logGroupArn,
          CloudWatchLogsRoleArn: `arn:aws:iam::${ACCOUNT}:role/cloudtrail-to-cloudwatch`,
        }),
      );
      await cloudTrail.send(new CreateTrailCommand({ Name: names.bare, S3BucketName: buckets.bare }));
      await cloudTrail.send(new CreateTrailCommand({ Name: names.orphan, S3BucketName: buckets.orphan }));
      await s3.send(new DeleteBucketCommand({ Bucket: buckets.orphan }));

      const snapshot = await collectLocation(provider, region);
      const trailOf = (name: string) => snapshot.logging.sinks.find((sink) => sink.name === name)?.trail;
      const fact = (value: boolean, call: string) => ({
        ok: true,
        value,
        call,
        capturedAt: CAPTURED_AT.toISOString(),
      });
      expect(trailOf(names.guarded)).toEqual({
        logFileValidationEnabled: true,
        kmsKeyId: logKey,
        cloudWatchLogsLogGroupArn: logGroupArn,
        bucket: {
          name: buckets.guarded,
          publicAccessBlocked: fact(true, "s3:GetPublicAccessBlock"),
          versioningEnabled: fact(true, "s3:GetBucketVersioning"),
          objectLockEnabled: fact(false, "s3:GetObjectLockConfiguration"),
        },
      });
      // No public access block configured at all reads as "not blocked"; Object Lock implies versioning.
      expect(trailOf(names.bare)).toEqual({
        logFileValidationEnabled: false,
        bucket: {
          name: buckets.bare,
          publicAccessBlocked: fact(false, "s3:GetPublicAccessBlock"),
          versioningEnabled: fact(true, "s3:GetBucketVersioning"),
          objectLockEnabled: fact(true, "s3:GetObjectLockConfiguration"),
        },
      });
      const orphan = trailOf(names.orphan)?.bucket;
      for (const [slot, call] of [
        ["publicAccessBlocked", "s3:GetPublicAccessBlock"],
        ["versioningEnabled", "s3:GetBucketVersioning"],
        ["objectLockEnabled", "s3:GetObjectLockConfiguration"],
      ] as const) {
        expect(orphan?.[slot]).toMatchObject({ ok: false, error: { call, code: "NoSuchBucket" } });
        expect(snapshot.logging.errors).toContainEqual(
          expect.objectContaining({ call, code: "NoSuchBucket" }),
        );
      }
      // The demo's multi-region trail, seen from this region, carries its facts too (validation off on purpose).
      expect(trailOf(`keyproof-demo-management-events-${suffix}`)).toMatchObject({
        logFileValidationEnabled: false,
        bucket: {
          name: estate.trailBucket,
          publicAccessBlocked: { ok: true },
          versioningEnabled: { ok: true },
        },
      });
    } finally {
      s3.destroy();
      cloudTrail.destroy();
      kms.destroy();
    }
  });
});

describe("AWS KMS provider: alerts on key disable and deletion", () => {
  it("finds the demo's CIS alarm from both regions, through the multi-region trail's log group", () => {
    for (const location of [usEast, euWest]) {
      expect(location.logging.keyEventAlerting?.errors, location.location).toEqual([]);
      expect(location.logging.keyEventAlerting?.alerts, location.location).toContainEqual(
        expect.objectContaining({
          kind: "cloudwatch-metric-alarm",
          name: estate.deletionAlarm,
          enabled: true,
          actions: ["DisableKey", "ScheduleKeyDeletion"],
          notifies: [expect.stringMatching(/^arn:aws:sns:us-east-1:\d{12}:keyproof-demo-security-alerts/)],
          detail: expect.objectContaining({ filterPattern: DEMO_KMS_DELETION_FILTER_PATTERN }),
        }),
      );
    }
  });
});

describe("AWS KMS provider: usage from the trail bucket", () => {
  it("streams the range's KMS events, with late delivery, without out-of-range or other services' records", async () => {
    const usage = provider.streamUsage("us-east-1", RANGE);
    expect(await usage.method).toBe("cloudtrail-s3");
    const { events, gaps } = await drain(usage.items);
    // 12 days of at least four KMS calls a day, plus the late delivery.
    expect(events.length).toBeGreaterThan(48);
    const ids = new Set(events.map((event) => event.eventId));
    expect(ids.has(DEMO_LATE_EVENT_ID)).toBe(true);
    expect(ids.has(DEMO_OUTSIDE_EVENT_ID)).toBe(false);
    expect(ids.has(DEMO_BEFORE_RANGE_EVENT_ID)).toBe(false);
    expect(ids.size).toBe(events.length);
    for (const event of events) {
      expect(event.time >= RANGE.from && event.time < RANGE.toExclusive, event.time).toBe(true);
      expect(event).toMatchObject({ source: "aws-demo", location: "us-east-1" });
      expect(event.origin).toMatch(
        new RegExp(`^AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/2026/07/\\d\\d/.+\\.json\\.gz$`),
      );
    }
    expect(events.map((event) => event.action)).not.toContain("ConsoleLogin");
    expect(events.map((event) => event.action)).not.toContain("DescribeInstances");
    const late = events.find((event) => event.eventId === DEMO_LATE_EVENT_ID);
    expect(late).toMatchObject({
      time: "2026-07-12T23:57:41.000Z",
      keyId: estate.keyIdsByName["payments-db"],
      action: "Decrypt",
      principal: `arn:aws:sts::${ACCOUNT}:assumed-role/payments-app/i-0a1b2c3d4e5f60718`,
      outcome: "success",
    });
    expect(late?.origin).toContain("/2026/07/13/");
    // A GenerateDataKey called through the alias is attributed to the key the alias resolved to.
    const generate = events.find((event) => event.action === "GenerateDataKey");
    expect(generate?.keyId).toBe(estate.keyIdsByName["payments-db"]);
    // Automatic rotation is logged as a service event with no caller ARN: the principal is the service.
    expect(
      events.some((event) => event.action === "RotateKey" && event.principal === "kms.amazonaws.com"),
    ).toBe(true);

    expect(gaps).toEqual([
      {
        source: "aws-demo",
        location: "us-east-1",
        object: expect.stringMatching(
          new RegExp(`^s3://${estate.trailBucket}/AWSLogs/.+/2026/07/10/.+${DEMO_CORRUPT_OBJECT_MARKER}$`),
        ),
        code: "InvalidGzip",
        message: expect.stringContaining("gzip"),
      },
    ]);
  });

  it("reports a file that is not JSON or has no Records array as a gap and reads on", async () => {
    const s3 = new S3Client({ ...awsClientConfig("us-east-1"), forcePathStyle: true });
    const folder = `AWSLogs/${ACCOUNT}/CloudTrail/eu-west-1/2026/07/05/`;
    try {
      await s3.send(
        new PutObjectCommand({
          Bucket: estate.trailBucket,
          Key: `${folder}bad-json.json.gz`,
          Body: gzipSync('{"Records": ['),
        }),
      );
      await s3.send(
        new PutObjectCommand({
          Bucket: estate.trailBucket,
          Key: `${folder}no-records.json.gz`,
          Body: gzipSync('{"records": []}'),
        }),
      );
      await s3.send(
        new PutObjectCommand({
          Bucket: estate.trailBucket,
          Key: `${folder}CloudTrail-Digest.json`,
          Body: "not a log file",
        }),
      );
      const { events, gaps } = await drain(provider.streamUsage("eu-west-1", RANGE).items);
      expect(gaps.map((gap) => [gap.object, gap.code])).toEqual([
        [`s3://${estate.trailBucket}/${folder}bad-json.json.gz`, "InvalidJson"],
        [`s3://${estate.trailBucket}/${folder}no-records.json.gz`, "NoRecordsArray"],
      ]);
      // The same day's real file was still read.
      expect(events.some((event) => event.time.startsWith("2026-07-05"))).toBe(true);
      expect(events.some((event) => event.keyId === estate.keyIdsByName["customer-pii"])).toBe(true);
    } finally {
      s3.destroy();
    }
  });
});

describe("AWS KMS provider: usage through LookupEvents", () => {
  const lookupRange = parseRange("2026-11-01", "2026-11-03");

  function lookupRecords(): Array<Record<string, unknown>> {
    const records: Array<Record<string, unknown>> = [];
    const keyArn = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    for (let index = 0; index < 121; index += 1) {
      const seconds = Date.parse(lookupRange.from) / 1000 + index * 1_800;
      records.push(
        kmsApiCallRecord({
          account: ACCOUNT,
          region: "us-east-1",
          time: new Date(seconds * 1000).toISOString().replace(".000Z", "Z"),
          eventName: index % 3 === 0 ? "GenerateDataKey" : "Decrypt",
          identity: { type: "role", role: "payments-app", session: `session-${index}` },
          keyArn,
          readOnly: true,
          eventId: stableId(`lookup:${suffix}:${index}`),
        }),
      );
    }
    // On the exclusive end: LookupEvents' EndTime is inclusive, so the fake serves it; the provider drops it.
    records.push(
      kmsApiCallRecord({
        account: ACCOUNT,
        region: "us-east-1",
        time: "2026-11-04T00:00:00Z",
        eventName: "Decrypt",
        identity: { type: "user", user: "alice" },
        keyArn,
        readOnly: true,
        eventId: stableId(`lookup:${suffix}:boundary`),
      }),
    );
    return records;
  }

  it("pages through the fake at no more than 2 requests/second, retries throttling, and maps each event", async () => {
    const records = lookupRecords();
    const corruptId = String(records[7]?.eventID);
    const fake = await startCloudTrailLookupEventsFake({
      records,
      throttleFirst: 2,
      cloudTrailEventOverrides: { [corruptId]: '{"eventVersion": "1.11", "eventTime": ' },
    });
    const source: AwsKmsSourceConfig = {
      id: "aws-lookup",
      type: "aws-kms",
      regions: ["us-east-1"],
      endpoint: ENDPOINT,
      endpoints: { cloudtrail: fake.endpoint },
    };
    const lookup = createAwsKmsProvider(source, { clock, credentials: CREDENTIALS });
    try {
      const usage = lookup.streamUsage("us-east-1", lookupRange);
      // No cloudtrail configured and no trail in the account: LookupEvents is the only history.
      expect(await usage.method).toBe("cloudtrail-lookup-events");
      const { events, gaps } = await drain(usage.items);
      expect(events).toHaveLength(120);
      expect(
        events.every((event) => event.time >= lookupRange.from && event.time < lookupRange.toExclusive),
      ).toBe(true);
      expect(events.some((event) => event.eventId === stableId(`lookup:${suffix}:boundary`))).toBe(false);
      expect(events[0]).toMatchObject({
        source: "aws-lookup",
        location: "us-east-1",
        keyId: "1234abcd-12ab-34cd-56ef-1234567890ab",
        principal: expect.stringMatching(
          new RegExp(`^arn:aws:sts::${ACCOUNT}:assumed-role/payments-app/session-\\d+$`),
        ),
        origin: "cloudtrail:LookupEvents",
        outcome: "success",
      });
      expect(gaps).toEqual([
        {
          source: "aws-lookup",
          location: "us-east-1",
          object: `cloudtrail:LookupEvents event ${corruptId}`,
          code: "InvalidJson",
          message: expect.stringContaining("CloudTrailEvent is not JSON"),
        },
      ]);

      // 122 served events = 3 pages, after 2 throttled attempts.
      expect(fake.calls.map((call) => call.answer)).toEqual([
        "throttled",
        "throttled",
        "page",
        "page",
        "page",
      ]);
      for (const call of fake.calls) {
        expect(call.body).toMatchObject({
          LookupAttributes: [{ AttributeKey: "EventSource", AttributeValue: "kms.amazonaws.com" }],
          MaxResults: 50,
          StartTime: Date.parse(lookupRange.from) / 1000,
          EndTime: Date.parse(lookupRange.toExclusive) / 1000,
        });
      }
      const spacing = fake.calls
        .slice(1)
        .map((call, index) => call.receivedAt - (fake.calls[index]?.receivedAt ?? 0));
      // 500 ms apart by the token bucket; a little timer and socket slack.
      for (const gap of spacing) expect(gap).toBeGreaterThanOrEqual(450);
    } finally {
      lookup.close();
      await fake.close();
    }
  });

  it("reports the part of a range older than LookupEvents' 90 days as a gap without calling", async () => {
    const fake = await startCloudTrailLookupEventsFake({ records: lookupRecords() });
    const lookup = createAwsKmsProvider(
      {
        id: "aws-lookup-old",
        type: "aws-kms",
        regions: ["eu-west-1"],
        endpoint: ENDPOINT,
        endpoints: { cloudtrail: fake.endpoint },
      },
      { clock, credentials: CREDENTIALS },
    );
    try {
      const { events, gaps } = await drain(lookup.streamUsage("eu-west-1", RANGE).items);
      expect(events).toEqual([]);
      expect(gaps).toEqual([
        {
          source: "aws-lookup-old",
          location: "eu-west-1",
          object: `cloudtrail:LookupEvents ${RANGE.from}..${RANGE.toExclusive}`,
          code: "OutsideLookupWindow",
          message: expect.stringContaining("last 90 days"),
        },
      ]);
      expect(fake.calls).toEqual([]);
    } finally {
      lookup.close();
      await fake.close();
    }
  });
});
