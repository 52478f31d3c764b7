/**
 * Where the AWS provider reads CloudTrail log objects, against moto: from the trail when `cloudtrail` is
 * not configured, the `AWSLogs/` prefix form copied from trail documentation, a configured location that
 * differs from the trail's (a `trail-location-matches` warn naming both), day folders that hold nothing
 * (a gap naming the exact prefix listed), and the per-object size bound (`cloudtrail.maxObjectBytes`)
 * against a gzip bomb and an incompressible oversized object. moto is shared and never reset: this file
 * works in an AWS account of its own, reached by assuming a role in it (moto keeps state per account).
 * moto's trails have no event selectors, which CloudTrail documents as all management events (KMS too).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { gzipSync } from "node:zlib";
import {
  CloudTrailClient,
  CreateTrailCommand,
  StartLoggingCommand,
  StopLoggingCommand,
} from "@aws-sdk/client-cloudtrail";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { CreateBucketCommandInput } from "@aws-sdk/client-s3";
import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kmsApiCallRecord, stableId } from "../../scripts/demo/seed-aws-estate.ts";
import { judgeTrailLocation } from "../../src/checks/trail-location-matches/trail-location-matches.check.ts";
import type { AwsKmsSourceConfig } from "../../src/config/config.schema.ts";
import type { UsageEvent, UsageGap, UsageItem } from "../../src/model/usage.ts";
import { createAwsKmsProvider } from "../../src/providers/aws-kms/aws-kms.provider.ts";
import { parseRange } from "../../src/time/date-range.ts";
import { makeLocation } from "../factories/index.ts";

const ENDPOINT = process.env.KEYPROOF_TEST_AWS_ENDPOINT ?? "http://127.0.0.1:5000";
const CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };
const clock = () => new Date("2026-11-28T12:00:00.000Z");
/** A fresh 12-digit account per run (moto creates account state on first use). */
const ACCOUNT = `6${String(Math.floor(Math.random() * 1e11)).padStart(11, "0")}`;
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/keyproof-audit`;
const suffix = randomUUID().slice(0, 8);
/** us-east-1's trail writes under `audit/`; eu-west-1's writes at the bucket root. */
const US_BUCKET = `keyproof-it-trail-us-${suffix}`;
const EU_BUCKET = `keyproof-it-trail-eu-${suffix}`;
const US_TRAIL = `keyproof-it-us-${suffix}`;
const EU_TRAIL = `keyproof-it-eu-${suffix}`;
const US_TRAIL_ARN = `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/${US_TRAIL}`;
const EU_TRAIL_ARN = `arn:aws:cloudtrail:eu-west-1:${ACCOUNT}:trail/${EU_TRAIL}`;
/** Two days with one log object each. */
const RANGE = parseRange("2026-07-01", "2026-07-02");
const MIB = 1024 * 1024;

function arrangeConfig(region: string) {
  return {
    endpoint: ENDPOINT,
    region,
    credentials: fromTemporaryCredentials({
      masterCredentials: CREDENTIALS,
      params: { RoleArn: ROLE_ARN, RoleSessionName: "keyproof-test-arrange" },
      clientConfig: { endpoint: ENDPOINT, region },
    }),
  };
}

const s3 = new S3Client({ ...arrangeConfig("us-east-1"), forcePathStyle: true });

function folder(prefix: string, region: string, day: string): string {
  return `${prefix}AWSLogs/${ACCOUNT}/CloudTrail/${region}/${day.replace(/-/g, "/")}/`;
}

function objectKey(prefix: string, region: string, day: string, name: string): string {
  const stamp = day.replace(/-/g, "");
  return `${folder(prefix, region, day)}${ACCOUNT}_CloudTrail_${region}_${stamp}T1205Z_${name}.json.gz`;
}

function decryptRecord(region: string, day: string, name: string): Record<string, unknown> {
  return kmsApiCallRecord({
    account: ACCOUNT,
    region,
    time: `${day}T10:00:00Z`,
    eventName: "Decrypt",
    identity: { type: "role", role: "payments-app", session: "i-0a1b2c3d" },
    keyArn: `arn:aws:kms:${region}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
    readOnly: true,
    eventId: stableId(`${suffix}:${region}:${day}:${name}`),
  });
}

async function putLogObject(bucket: string, key: string, body: Buffer): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

function source(cloudtrail?: AwsKmsSourceConfig["cloudtrail"]): AwsKmsSourceConfig {
  return {
    id: "aws-trails",
    type: "aws-kms",
    regions: ["us-east-1", "eu-west-1"],
    endpoint: ENDPOINT,
    roleArn: ROLE_ARN,
    ...(cloudtrail === undefined ? {} : { cloudtrail }),
  };
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

/** Usage and logging status of one region through a fresh provider for the given `cloudtrail` setting. */
async function readRegion(
  region: string,
  range: typeof RANGE,
  cloudtrail?: AwsKmsSourceConfig["cloudtrail"],
) {
  const provider = createAwsKmsProvider(source(cloudtrail), { clock, credentials: CREDENTIALS });
  try {
    const usage = provider.streamUsage(region, range);
    const method = await usage.method;
    const { events, gaps } = await drain(usage.items);
    const logging = await provider.collectLogging(region);
    const finding = judgeTrailLocation(makeLocation({ source: "aws-trails", location: region, logging }));
    return { method, events, gaps, logging, finding };
  } finally {
    provider.close();
  }
}

beforeAll(async () => {
  for (const [region, bucket, trail, prefix] of [
    ["us-east-1", US_BUCKET, US_TRAIL, "audit"],
    ["eu-west-1", EU_BUCKET, EU_TRAIL, undefined],
  ] as const) {
    const bucketInput: CreateBucketCommandInput =
      region === "us-east-1"
        ? { Bucket: bucket }
        : { Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: region } };
    const regional = new S3Client({ ...arrangeConfig(region), forcePathStyle: true });
    const cloudTrail = new CloudTrailClient(arrangeConfig(region));
    try {
      await regional.send(new CreateBucketCommand(bucketInput));
      await cloudTrail.send(
        new CreateTrailCommand({
          Name: trail,
          S3BucketName: bucket,
          ...(prefix === undefined ? {} : { S3KeyPrefix: prefix }),
          IsMultiRegionTrail: false,
        }),
      );
      await cloudTrail.send(new StartLoggingCommand({ Name: trail }));
    } finally {
      regional.destroy();
      cloudTrail.destroy();
    }
    const keyPrefix = prefix === undefined ? "" : `${prefix}/`;
    for (const day of ["2026-07-01", "2026-07-02"]) {
      await putLogObject(
        bucket,
        objectKey(keyPrefix, region, day, "a"),
        gzipSync(JSON.stringify({ Records: [decryptRecord(region, day, "a")] })),
      );
    }
  }
}, 120_000);

afterAll(() => s3.destroy());

describe("CloudTrail location from the trail", () => {
  it("reads where the region's logging trail writes when cloudtrail is not configured", async () => {
    const us = await readRegion("us-east-1", RANGE);
    expect(us.method).toBe("cloudtrail-s3");
    expect(us.gaps).toEqual([]);
    expect(us.events.map((event) => event.origin)).toEqual([
      objectKey("audit/", "us-east-1", "2026-07-01", "a"),
      objectKey("audit/", "us-east-1", "2026-07-02", "a"),
    ]);
    expect(us.logging.usageLogLocation).toEqual({
      configured: {},
      sink: { reference: US_TRAIL_ARN, bucket: US_BUCKET, prefix: "audit/" },
    });
    expect(us.finding.status).toBe("pass");

    const eu = await readRegion("eu-west-1", RANGE);
    expect(eu.method).toBe("cloudtrail-s3");
    expect(eu.gaps).toEqual([]);
    expect(eu.events).toHaveLength(2);
    expect(eu.logging.usageLogLocation?.sink).toEqual({
      reference: EU_TRAIL_ARN,
      bucket: EU_BUCKET,
      prefix: "",
    });
  }, 120_000);

  it("takes a prefix ending in AWSLogs/ as the path up to AWSLogs/ (the form users copy)", async () => {
    const eu = await readRegion("eu-west-1", RANGE, { bucket: EU_BUCKET, prefix: "AWSLogs/" });
    expect(eu.gaps).toEqual([]);
    expect(eu.events).toHaveLength(2);
    expect(eu.logging.usageLogLocation?.configured).toEqual({ bucket: EU_BUCKET, prefix: "" });
    expect(eu.finding.status).toBe("pass");

    const us = await readRegion("us-east-1", RANGE, { bucket: US_BUCKET, prefix: "audit/AWSLogs/" });
    expect(us.gaps).toEqual([]);
    expect(us.events).toHaveLength(2);
    expect(us.finding.status).toBe("pass");
  }, 120_000);

  it("takes the prefix from the trail when only the bucket is configured", async () => {
    const us = await readRegion("us-east-1", RANGE, { bucket: US_BUCKET });
    expect(us.gaps).toEqual([]);
    expect(us.events).toHaveLength(2);
    expect(us.logging.usageLogLocation?.configured).toEqual({ bucket: US_BUCKET });
    expect(us.finding.status).toBe("pass");
  }, 120_000);

  it("warns, naming both, when the configured location is not the trail's, and names each empty prefix", async () => {
    const us = await readRegion("us-east-1", RANGE, { bucket: US_BUCKET, prefix: "elsewhere" });
    expect(us.finding.status).toBe("warn");
    expect(us.finding.message).toContain(`s3://${US_BUCKET}/elsewhere/`);
    expect(us.finding.message).toContain(`s3://${US_BUCKET}/audit/ of trail ${US_TRAIL_ARN}`);
    // Nothing was read, and the extract says exactly which prefixes were listed.
    expect(us.events).toEqual([]);
    expect(us.gaps.map((gap) => [gap.object, gap.code])).toEqual([
      [`s3://${US_BUCKET}/${folder("elsewhere/", "us-east-1", "2026-07-01")}`, "NoLogObjects"],
      [`s3://${US_BUCKET}/${folder("elsewhere/", "us-east-1", "2026-07-02")}`, "NoLogObjects"],
    ]);
  }, 120_000);

  it("reports a day of the range whose folder at the trail's own location holds no object", async () => {
    const us = await readRegion("us-east-1", parseRange("2026-07-01", "2026-07-03"));
    expect(us.events).toHaveLength(2);
    expect(us.gaps).toEqual([
      {
        source: "aws-trails",
        location: "us-east-1",
        object: `s3://${US_BUCKET}/${folder("audit/", "us-east-1", "2026-07-03")}`,
        code: "NoLogObjects",
        message: expect.stringContaining("no CloudTrail log object"),
      },
    ]);
  }, 120_000);
});

describe("CloudTrail location without a logging trail", () => {
  it("expects no objects where no trail logs: empty folders are silent, usage-log-present judges the rest", async () => {
    const cloudTrail = new CloudTrailClient(arrangeConfig("eu-west-1"));
    await cloudTrail.send(new StopLoggingCommand({ Name: EU_TRAIL }));
    try {
      const empty = parseRange("2026-07-03", "2026-07-04");
      const configured = await readRegion("eu-west-1", empty, { bucket: EU_BUCKET, prefix: "" });
      expect(configured).toMatchObject({ method: "cloudtrail-s3", events: [], gaps: [] });
      expect(configured.finding.status).toBe("not-applicable");
      // Nothing configured and no logging trail: LookupEvents (moto lacks it: its failure is a gap).
      const unset = await readRegion("eu-west-1", empty);
      expect(unset.method).toBe("cloudtrail-lookup-events");
      expect(unset.logging.usageLogLocation).toEqual({ configured: {} });
    } finally {
      await cloudTrail.send(new StartLoggingCommand({ Name: EU_TRAIL }));
      cloudTrail.destroy();
    }
  }, 180_000);
});

describe("CloudTrail log object size bound", () => {
  const day = "2026-07-05";
  const range = parseRange(day, day);
  const bombKey = objectKey("audit/", "us-east-1", day, "bomb");
  const incompressibleKey = objectKey("audit/", "us-east-1", day, "incompressible");
  const normalKey = objectKey("audit/", "us-east-1", day, "normal");

  beforeAll(async () => {
    // A valid log document padded with 48 MiB of whitespace: about 50 KB stored, 48 MiB inflated.
    const bomb = gzipSync(
      Buffer.concat([
        Buffer.from(`{"Records":[${JSON.stringify(decryptRecord("us-east-1", day, "bomb"))}`),
        Buffer.alloc(48 * MIB, " "),
        Buffer.from("]}"),
      ]),
      { level: 9 },
    );
    expect(bomb.length).toBeLessThan(MIB);
    await putLogObject(US_BUCKET, bombKey, bomb);
    await putLogObject(US_BUCKET, incompressibleKey, randomBytes(5 * MIB));
    await putLogObject(
      US_BUCKET,
      normalKey,
      gzipSync(JSON.stringify({ Records: [decryptRecord("us-east-1", day, "normal")] })),
    );
  }, 120_000);

  it("abandons an object over cloudtrail.maxObjectBytes as LogObjectTooLarge, and reads the rest", async () => {
    const us = await readRegion("us-east-1", range, { maxObjectBytes: 4 * MIB });
    expect(us.gaps.map((gap) => [gap.object, gap.code])).toEqual([
      [`s3://${US_BUCKET}/${bombKey}`, "LogObjectTooLarge"],
      [`s3://${US_BUCKET}/${incompressibleKey}`, "LogObjectTooLarge"],
    ]);
    expect(us.gaps[0]?.message).toContain(
      "decompressed size passed cloudtrail.maxObjectBytes (4194304 bytes)",
    );
    // The incompressible one is refused from its listed size, before any download.
    expect(us.gaps[1]?.message).toContain("listed size");
    expect(us.events.map((event) => event.origin)).toEqual([bombKey, normalKey]);
  }, 120_000);

  it("reads the same objects under the default bound (1 GiB): only the non-gzip one is a gap", async () => {
    const us = await readRegion("us-east-1", range);
    expect(us.gaps.map((gap) => [gap.object, gap.code])).toEqual([
      [`s3://${US_BUCKET}/${incompressibleKey}`, "InvalidGzip"],
    ]);
    expect(us.events.map((event) => event.origin)).toEqual([bombKey, normalKey]);
  }, 120_000);
});
