import { describe, expect, it } from "vitest";
import accessDenied from "../../../test/fixtures/aws/cloudtrail-records/kms-decrypt-access-denied.json" with { type: "json" };
import decryptAssumedRole from "../../../test/fixtures/aws/cloudtrail-records/kms-decrypt-assumed-role.json" with { type: "json" };
import encryptByService from "../../../test/fixtures/aws/cloudtrail-records/kms-encrypt-request-key-only.json" with { type: "json" };
import generateWithAlias from "../../../test/fixtures/aws/cloudtrail-records/kms-generate-data-key-alias.json" with { type: "json" };
import rotateKey from "../../../test/fixtures/aws/cloudtrail-records/kms-rotate-key-service-event.json" with { type: "json" };
import describeInstances from "../../../test/fixtures/aws/cloudtrail-records/ec2-describe-instances.json" with { type: "json" };
import { keyIdOfReference, mapCloudTrailRecord } from "./cloudtrail-record.mapper.ts";

const CONTEXT = {
  source: "aws-prod",
  location: "us-east-1",
  origin: "AWSLogs/111122223333/CloudTrail/us-east-1/2026/07/14/file.json.gz",
};
const KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab";

describe("keyIdOfReference", () => {
  it.each([
    [`arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`, KEY_ID],
    [KEY_ID, KEY_ID],
    ["mrk-1234abcd12ab34cd56ef1234567890ab", "mrk-1234abcd12ab34cd56ef1234567890ab"],
    ["alias/payments-db", undefined],
    ["arn:aws:kms:us-east-1:111122223333:alias/payments-db", undefined],
  ])("%s → %s", (reference, expected) => {
    expect(keyIdOfReference(reference)).toBe(expected);
  });
});

describe("mapCloudTrailRecord", () => {
  it("maps a Decrypt by an assumed role, taking the key from resources[]", () => {
    expect(mapCloudTrailRecord(decryptAssumedRole, CONTEXT)).toEqual({
      kind: "event",
      event: {
        time: "2026-07-14T09:21:37.000Z",
        source: "aws-prod",
        location: "us-east-1",
        keyId: KEY_ID,
        keyReference: `arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`,
        action: "Decrypt",
        principal: "arn:aws:sts::111122223333:assumed-role/payments-app/i-0123456789abcdef0",
        sourceAddress: "10.0.12.7",
        userAgent: "aws-sdk-java/2.25.40 Linux/5.10 OpenJDK_64-Bit_Server_VM/17.0.10",
        outcome: "success",
        eventId: "abcde202-ba1a-467c-b4ba-f729d45ae521",
        origin: CONTEXT.origin,
      },
    });
  });

  it("prefers the resolved key ARN over an alias in requestParameters", () => {
    const mapped = mapCloudTrailRecord(generateWithAlias, CONTEXT);
    expect(mapped.kind === "event" && [mapped.event.keyId, mapped.event.principal]).toEqual([
      KEY_ID,
      "arn:aws:iam::111122223333:user/alice",
    ]);
  });

  it("falls back to requestParameters.keyId and to invokedBy for AWS services", () => {
    const mapped = mapCloudTrailRecord(encryptByService, { ...CONTEXT, location: "eu-west-1" });
    expect(mapped.kind === "event" && mapped.event).toMatchObject({
      keyId: "mrk-1234abcd12ab34cd56ef1234567890ab",
      keyReference: "mrk-1234abcd12ab34cd56ef1234567890ab",
      principal: "secretsmanager.amazonaws.com",
      location: "eu-west-1",
      time: "2026-07-15T00:00:00.000Z",
    });
  });

  it("records a failed call as a failure with its error code", () => {
    const mapped = mapCloudTrailRecord(accessDenied, CONTEXT);
    expect(mapped.kind === "event" && [mapped.event.outcome, mapped.event.errorCode]).toEqual([
      "failure",
      "AccessDeniedException",
    ]);
  });

  it("keeps automatic rotation, a service event without a caller ARN", () => {
    const mapped = mapCloudTrailRecord(rotateKey, CONTEXT);
    expect(mapped.kind === "event" && mapped.event).toMatchObject({
      action: "RotateKey",
      principal: "kms.amazonaws.com",
      keyId: KEY_ID,
      outcome: "success",
    });
    expect(mapped.kind === "event" && mapped.event).not.toHaveProperty("errorCode");
  });

  it("skips other services' records", () => {
    expect(mapCloudTrailRecord(describeInstances, CONTEXT)).toEqual({ kind: "other-service" });
  });

  it("reports KMS records it cannot read", () => {
    expect(mapCloudTrailRecord("text", CONTEXT)).toEqual({
      kind: "invalid",
      reason: "record is not a JSON object",
    });
    expect(mapCloudTrailRecord({ ...decryptAssumedRole, eventTime: "yesterday" }, CONTEXT)).toMatchObject({
      kind: "invalid",
    });
    expect(mapCloudTrailRecord({ ...decryptAssumedRole, eventName: undefined }, CONTEXT)).toEqual({
      kind: "invalid",
      reason: "record has no eventName",
    });
  });

  it("leaves keyId out when the record names only an alias, and names the principal unknown without identity", () => {
    const bare: Record<string, unknown> = { ...generateWithAlias };
    delete bare.resources;
    delete bare.userIdentity;
    const mapped = mapCloudTrailRecord(bare, CONTEXT);
    expect(mapped.kind === "event" && mapped.event).toMatchObject({
      keyReference: "alias/payments-db",
      principal: "unknown",
    });
    expect(mapped.kind === "event" && mapped.event).not.toHaveProperty("keyId");
  });

  it("keeps the logged request parameters of an administrative event, the new key policy included", () => {
    const policy = '{"Version":"2012-10-17","Statement":[]}';
    const putKeyPolicy = {
      ...decryptAssumedRole,
      eventName: "PutKeyPolicy",
      requestParameters: {
        keyId: KEY_ID,
        policyName: "default",
        policy,
        bypassPolicyLockoutSafetyCheck: false,
      },
    };
    const mapped = mapCloudTrailRecord(putKeyPolicy, CONTEXT);
    expect(mapped.kind === "event" && mapped.event).toMatchObject({
      action: "PutKeyPolicy",
      keyId: KEY_ID,
      requestParameters: {
        keyId: KEY_ID,
        policyName: "default",
        policy,
        bypassPolicyLockoutSafetyCheck: false,
      },
    });
  });

  it("leaves request parameters out of usage events (a Decrypt's encryption context is not configuration)", () => {
    const mapped = mapCloudTrailRecord(decryptAssumedRole, CONTEXT);
    expect(mapped.kind === "event" && mapped.event).not.toHaveProperty("requestParameters");
  });

  it("keeps a logged null as null, and leaves absent parameters out", () => {
    const disable = { ...decryptAssumedRole, eventName: "DisableKeyRotation", requestParameters: null };
    const mappedNull = mapCloudTrailRecord(disable, CONTEXT);
    expect(mappedNull.kind === "event" && mappedNull.event.requestParameters).toBeNull();
    const bare: Record<string, unknown> = { ...disable };
    delete bare.requestParameters;
    const mappedAbsent = mapCloudTrailRecord(bare, CONTEXT);
    expect(mappedAbsent.kind === "event" && mappedAbsent.event).not.toHaveProperty("requestParameters");
  });
});
