/**
 * Rotation history and multi-Region keys as the three providers collect them, judged by rotation-performed
 * and the rotation checks: AWS KMS on moto (CreateKey MultiRegion, ReplicateKey, EnableKeyRotation,
 * RotateKeyOnDemand, ListKeyRotations), HashiCorp Vault transit on OpenBao (version times), and Azure Key
 * Vault on the data-plane fake (key versions, paged by `nextLink`; its clock can be set, so versions can
 * carry past dates). moto and OpenBao stamp "now", so their keys are judged over a span that ends after
 * the real time: the verdicts come from the collected facts, only the judged span is chosen.
 */
import { randomUUID } from "node:crypto";
import { Agent } from "node:https";
import { rootCertificates } from "node:tls";
import type { TokenCredential } from "@azure/core-auth";
import { KeyClient } from "@azure/keyvault-keys";
import {
  CreateKeyCommand,
  EnableKeyRotationCommand,
  KMSClient,
  ReplicateKeyCommand,
  RotateKeyOnDemandCommand,
} from "@aws-sdk/client-kms";
import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AwsKmsSourceSchema } from "../../src/config/config.schema.ts";
import { AzureKeyVaultSourceSchema } from "../../src/config/sources/azure-key-vault.schema.ts";
import { HashicorpVaultSourceSchema } from "../../src/config/sources/hashicorp-vault.schema.ts";
import { check as rotationEnabled } from "../../src/checks/key-rotation-enabled/key-rotation-enabled.check.ts";
import { check as rotationPerformed } from "../../src/checks/rotation-performed/rotation-performed.check.ts";
import type { Finding } from "../../src/model/finding.ts";
import type { KeyRecord } from "../../src/model/key.ts";
import type { LocationSnapshot, Snapshot } from "../../src/model/snapshot.ts";
import { createAwsKmsProvider } from "../../src/providers/aws-kms/aws-kms.provider.ts";
import { createAzureKeyVaultProvider } from "../../src/providers/azure-key-vault/azure-key-vault.provider.ts";
import { collectLocation } from "../../src/providers/collect-location.ts";
import { createHashicorpVaultProvider } from "../../src/providers/hashicorp-vault/hashicorp-vault.provider.ts";
import { parsePeriod, parseRange } from "../../src/time/date-range.ts";
import { startAzureKeyVaultFake, type AzureKeyVaultFake } from "../fakes/azure-key-vault.fake.ts";
import {
  startAzureResourceManagerFake,
  type AzureResourceManagerFake,
} from "../fakes/azure-resource-manager.fake.ts";
import { startLogAnalyticsFake, type LogAnalyticsFake } from "../fakes/log-analytics.fake.ts";
import { makeSnapshot, makeSource } from "../factories/index.ts";
import {
  acquireOpenBao,
  createNamespace,
  createTransitKey,
  deleteNamespace,
  enableTransit,
  rotateTransitKey,
  uniqueName,
  vaultClient,
  type OpenBaoServer,
} from "../support/openbao.ts";

const DAY_MS = 86_400_000;
const TIMEOUT = 120_000;

/** One collected source judged over `range`, as read at `capturedAt`. */
function snapshotOf(
  source: { id: string; type: KeyRecord["sourceType"] },
  locations: LocationSnapshot[],
  range: Snapshot["range"],
  capturedAt: string,
): Snapshot {
  return makeSnapshot({
    sources: [makeSource({ source: source.id, type: source.type, locations })],
    range,
    capturedAt,
  });
}

function findingOn(findings: Finding[], key: Pick<KeyRecord, "arn">): Finding {
  const finding = findings.find((candidate) => candidate.resource === key.arn);
  if (finding === undefined) throw new Error(`no finding on ${key.arn}`);
  return finding;
}

/** A span from yesterday to `days` from now: what was just created on the servers lies inside it. */
function spanFromYesterday(days: number): Snapshot["range"] {
  const day = (offset: number) => new Date(Date.now() + offset * DAY_MS).toISOString().slice(0, 10);
  return parseRange(day(-1), day(days));
}

describe("rotation-performed on moto: a multi-Region key rotated on demand", () => {
  const ENDPOINT = process.env.KEYPROOF_TEST_AWS_ENDPOINT ?? "http://127.0.0.1:5000";
  const CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };
  // An account of this file's own (moto keeps state per account): ListKeys sees only the keys made here.
  const account = `8${String(Math.floor(Math.random() * 1e11)).padStart(11, "0")}`;
  const roleArn = `arn:aws:iam::${account}:role/rotperf-audit`;
  const externalId = "rotperf-external-id";
  const source = AwsKmsSourceSchema.parse({
    id: "aws-rotperf",
    type: "aws-kms",
    regions: ["us-east-1", "eu-west-1"],
    endpoint: ENDPOINT,
    roleArn,
    externalId,
  });
  function kms(region: string): KMSClient {
    return new KMSClient({
      endpoint: ENDPOINT,
      region,
      credentials: fromTemporaryCredentials({
        masterCredentials: CREDENTIALS,
        params: { RoleArn: roleArn, ExternalId: externalId, RoleSessionName: "rotperf-arrange" },
        clientConfig: { endpoint: ENDPOINT, region },
      }),
    });
  }
  const provider = createAwsKmsProvider(source, { credentials: CREDENTIALS });
  let keyId: string;
  let usEast: LocationSnapshot;
  let euWest: LocationSnapshot;

  beforeAll(async () => {
    const primaryRegion = kms("us-east-1");
    try {
      const created = await primaryRegion.send(
        new CreateKeyCommand({
          MultiRegion: true,
          KeyUsage: "ENCRYPT_DECRYPT",
          Description: "rotperf multi-Region primary",
        }),
      );
      keyId = created.KeyMetadata?.KeyId ?? "";
      await primaryRegion.send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: "eu-west-1" }));
      await primaryRegion.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 90 }));
      await primaryRegion.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    } finally {
      primaryRegion.destroy();
    }
    // One after the other, primary first: moto's ReplicateKey shares one MultiRegionConfiguration between
    // the primary and its replica (a shallow copy), and DescribeKey on the replica rewrites its key type to
    // REPLICA, so a primary described after its replica reads REPLICA on moto (never on AWS).
    usEast = await collectLocation(provider, "us-east-1");
    euWest = await collectLocation(provider, "eu-west-1");
  }, TIMEOUT);

  afterAll(() => provider.close());

  function keyIn(location: LocationSnapshot): KeyRecord {
    const key = location.keys.find((candidate) => candidate.keyId === keyId);
    if (key === undefined) throw new Error(`${keyId} not collected in ${location.location}`);
    return key;
  }

  it("collects the primary and its replica, each naming the primary", () => {
    const primary = keyIn(usEast);
    const replica = keyIn(euWest);
    const primaryArn = `arn:aws:kms:us-east-1:${account}:key/${keyId}`;
    const replicaArn = `arn:aws:kms:eu-west-1:${account}:key/${keyId}`;
    expect(keyId).toMatch(/^mrk-/);
    expect(primary).toMatchObject({
      arn: primaryArn,
      multiRegion: true,
      multiRegionConfiguration: {
        role: "primary",
        primaryArn,
        primaryRegion: "us-east-1",
        replicaArns: [replicaArn],
      },
    });
    expect(replica).toMatchObject({
      arn: replicaArn,
      multiRegion: true,
      multiRegionConfiguration: { role: "replica", primaryArn, primaryRegion: "us-east-1" },
    });
  });

  it("reads the on-demand rotation from ListKeyRotations, with its time", () => {
    const primary = keyIn(usEast);
    if (!primary.rotation.ok) throw new Error(JSON.stringify(primary.rotation.error));
    // moto accepts RotationPeriodInDays but does not report it back (see key-rotation-period).
    expect(primary.rotation.value.enabled).toBe(true);
    expect(primary.rotation.value.history).toEqual([
      { date: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/), type: "on-demand" },
    ]);
    expect(primary.rotation.value.historyUnavailable).toBeUndefined();
    const rotatedAt = Date.parse(primary.rotation.value.history[0]?.date ?? "");
    expect(Math.abs(rotatedAt - Date.now())).toBeLessThan(10 * 60_000);
  });

  it("judges the replica on its primary's rotation, so the two agree (moto reports the replica's own as off)", () => {
    const replica = keyIn(euWest);
    // moto does not synchronize the rotation status to replicas as AWS does: the contradiction the
    // primary-first rule exists for.
    expect(replica.rotation).toMatchObject({ ok: true, value: { enabled: false } });
    const range = spanFromYesterday(1);
    const both = snapshotOf(
      { id: source.id, type: "aws-kms" },
      [usEast, euWest],
      range,
      new Date().toISOString(),
    );
    const findings = rotationEnabled.run(both);
    const onPrimary = findingOn(findings, keyIn(usEast));
    const onReplica = findingOn(findings, replica);
    expect([onPrimary.status, onReplica.status]).toEqual(["pass", "pass"]);
    expect(onReplica.message).toContain(
      `judged on its primary arn:aws:kms:us-east-1:${account}:key/${keyId} in us-east-1`,
    );
    expect(onReplica.message).toContain("the replica itself reports automatic rotation off");

    const replicaOnly = snapshotOf(
      { id: source.id, type: "aws-kms" },
      [euWest],
      range,
      new Date().toISOString(),
    );
    const alone = findingOn(rotationEnabled.run(replicaOnly), replica);
    expect(alone.status).toBe("fail");
    expect(alone.message).toContain("its primary in us-east-1 was not collected");
  });

  it("fails both keys alike once the rotation is overdue, and calls them too young before it is due", () => {
    const range = spanFromYesterday(420);
    const overdue = snapshotOf(
      { id: source.id, type: "aws-kms" },
      [usEast, euWest],
      range,
      new Date(Date.now() + 400 * DAY_MS).toISOString(),
    );
    const findings = rotationPerformed.run(overdue);
    const onPrimary = findingOn(findings, keyIn(usEast));
    const onReplica = findingOn(findings, keyIn(euWest));
    expect([onPrimary.status, onReplica.status]).toEqual(["fail", "fail"]);
    expect(onPrimary.message).toMatch(
      /^no rotation for 40\d(\.\d)? days from .* \(rotation\) to .*the policy maximum of 365 days \(the source does not report its period\) plus 7 days' grace/,
    );
    expect(onReplica.message.startsWith(onPrimary.message)).toBe(true);

    const early = snapshotOf(
      { id: source.id, type: "aws-kms" },
      [usEast, euWest],
      range,
      new Date(Date.now() + 300 * DAY_MS).toISOString(),
    );
    expect(
      rotationPerformed
        .run(early)
        .filter((finding) => finding.keyId === keyId)
        .map((finding) => finding.status),
    ).toEqual(["not-applicable", "not-applicable"]);
  });
});

describe("rotation-performed on OpenBao: transit version times", () => {
  let server: OpenBaoServer;
  let namespace: string;
  let snapshot: LocationSnapshot;

  beforeAll(async () => {
    server = await acquireOpenBao();
    namespace = uniqueName("rotperf");
    const namespacePath = await createNamespace(server, namespace);
    const admin = vaultClient(server, namespace);
    await enableTransit(admin, "transit");
    await createTransitKey(admin, "transit", "orders", { type: "aes256-gcm96", auto_rotate_period: "720h" });
    await rotateTransitKey(admin, "transit", "orders");
    await rotateTransitKey(admin, "transit", "orders");
    const config = HashicorpVaultSourceSchema.parse({
      id: "vault-rotperf",
      type: "hashicorp-vault",
      address: server.address,
      namespace: namespacePath,
    });
    const vault = createHashicorpVaultProvider(config, { env: { VAULT_TOKEN: server.token } });
    snapshot = await collectLocation(vault, vault.listLocations()[0] ?? "");
  }, TIMEOUT);

  afterAll(async () => {
    if (namespace !== undefined) await deleteNamespace(server, namespace);
    await server?.stop();
  });

  it("records each rotation as a new version with its time, and judges the 30-day schedule", () => {
    const key = snapshot.keys.find((candidate) => candidate.keyId === "transit/orders");
    if (key === undefined || !key.rotation.ok) throw new Error("transit/orders not collected");
    expect(key.rotation.value.periodDays).toBe(30);
    expect(key.rotation.value.history.map((event) => [event.type, event.version])).toEqual([
      ["new-version", "2"],
      ["new-version", "3"],
    ]);
    const range = spanFromYesterday(90);
    const judge = (daysFromNow: number) =>
      findingOn(
        rotationPerformed.run(
          snapshotOf(
            { id: "vault-rotperf", type: "hashicorp-vault" },
            [snapshot],
            range,
            new Date(Date.now() + daysFromNow * DAY_MS).toISOString(),
          ),
        ),
        key,
      );
    expect(judge(20).status).toBe("not-applicable");
    const overdue = judge(45);
    expect(overdue.status).toBe("fail");
    expect(overdue.message).toContain(`from ${key.rotation.value.lastRotation} (rotation)`);
    expect(overdue.message).toContain("its rotation period of 30 days plus 7 days' grace");
  });
});

describe("rotation-performed on the Azure Key Vault fake: key versions across pages", () => {
  const credential: TokenCredential = {
    getToken: async () => ({ token: "static-test-token", expiresOnTimestamp: Date.now() + 3_600_000 }),
  };
  const subscriptionId = randomUUID();
  const suffix = randomUUID().slice(0, 8);
  const names = { paged: `paged-${suffix}`, stale: `stale-${suffix}`, young: `young-${suffix}` };
  let dataPlane: AzureKeyVaultFake;
  let arm: AzureResourceManagerFake;
  let logs: LogAnalyticsFake;
  let vaultUrl: string;
  let snapshot: LocationSnapshot;

  beforeAll(async () => {
    dataPlane = await startAzureKeyVaultFake();
    arm = await startAzureResourceManagerFake();
    logs = await startLogAnalyticsFake();
    [vaultUrl] = dataPlane.vaultUrls;
    const agent = new Agent({ ca: [...rootCertificates, dataPlane.ca] });
    const client = new KeyClient(vaultUrl, credential, {
      agent,
      serviceVersion: "7.6",
      disableChallengeResourceVerification: true,
    });
    const at = (iso: string) => dataPlane.setNow(() => new Date(iso));
    const policy = { lifetimeActions: [{ action: "Rotate" as const, timeAfterCreate: "P90D" }] };
    // 30 versions, one a day through June: more than the fake's 25-per-page, so history needs every page.
    at("2026-05-31T12:00:00.000Z");
    await client.createRsaKey(names.paged, { keySize: 2048 });
    await client.updateKeyRotationPolicy(names.paged, policy);
    for (let day = 1; day <= 29; day += 1) {
      at(`2026-06-${String(day + 1).padStart(2, "0")}T12:00:00.000Z`);
      await client.rotateKey(names.paged);
    }
    at("2026-01-10T12:00:00.000Z");
    await client.createRsaKey(names.stale, { keySize: 2048 });
    await client.updateKeyRotationPolicy(names.stale, policy);
    at("2026-03-01T12:00:00.000Z");
    await client.rotateKey(names.stale);
    at("2026-09-20T12:00:00.000Z");
    await client.createRsaKey(names.young, { keySize: 2048 });
    await client.updateKeyRotationPolicy(names.young, policy);
    dataPlane.setNow(() => new Date());

    arm.addVault({
      subscriptionId,
      resourceGroup: "rg-rotperf",
      name: "kv-rotperf",
      vaultUri: vaultUrl,
      enableRbacAuthorization: true,
    });
    const config = AzureKeyVaultSourceSchema.parse({
      id: "azure-rotperf",
      type: "azure-key-vault",
      subscriptionId,
      vaults: [vaultUrl],
      logAnalyticsWorkspaceId: randomUUID(),
      endpoints: { resourceManager: arm.url, logAnalytics: logs.url },
    });
    const azure = createAzureKeyVaultProvider(config, {
      credential,
      trustedCertificates: [dataPlane.ca, arm.ca],
      maxRetries: 0,
    });
    snapshot = await collectLocation(azure, azure.listLocations()[0] ?? "");
  }, TIMEOUT);

  afterAll(async () => {
    await Promise.all([dataPlane?.close(), arm?.close(), logs?.close()]);
  });

  function keyNamed(name: string): KeyRecord {
    const key = snapshot.keys.find((candidate) => candidate.aliases.includes(name));
    if (key === undefined) throw new Error(`${name} not collected`);
    return key;
  }

  it("reads every version past the first page as a rotation", () => {
    const paged = keyNamed(names.paged);
    if (!paged.rotation.ok) throw new Error(JSON.stringify(paged.rotation.error));
    expect(paged.rotation.value.history).toHaveLength(29);
    expect(paged.rotation.value.lastRotation).toBe("2026-06-30T12:00:00.000Z");
    expect(paged.rotation.value.periodDays).toBe(90);
  });

  it("passes, fails and sets aside the keys of 2026-Q3 by their version dates", () => {
    const findings = rotationPerformed.run(
      snapshotOf(
        { id: "azure-rotperf", type: "azure-key-vault" },
        [snapshot],
        parsePeriod("2026-Q3"),
        "2026-10-02T08:00:00.000Z",
      ),
    );
    expect(findingOn(findings, keyNamed(names.paged)).status).toBe("pass");
    const stale = findingOn(findings, keyNamed(names.stale));
    expect(stale.status).toBe("fail");
    expect(stale.message).toContain(
      "213.5 days from 2026-03-01T12:00:00.000Z (rotation) to 2026-10-01T00:00:00.000Z (end of the judged span, still none)",
    );
    expect(findingOn(findings, keyNamed(names.young)).status).toBe("not-applicable");
  });
});
