import { describe, expect, it } from "vitest";
import { parseLogGroupArn } from "./key-event-alerting.collector.ts";
import { kmsActionsOfEventPattern, kmsActionsOfFilterPattern } from "./key-event-patterns.ts";

const CIS_PATTERN =
  "{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion))}";

describe("kmsActionsOfFilterPattern", () => {
  it("reads the CIS AWS Foundations pattern", () => {
    expect(kmsActionsOfFilterPattern(CIS_PATTERN)).toEqual(["DisableKey", "ScheduleKeyDeletion"]);
  });

  it("reads spacing and quoting variants", () => {
    expect(
      kmsActionsOfFilterPattern(
        '{ ( $.eventSource = "kms.amazonaws.com" ) && ( ( $.eventName = "DisableKey" ) || ( $.eventName = "ScheduleKeyDeletion" ) ) }',
      ),
    ).toEqual(["DisableKey", "ScheduleKeyDeletion"]);
    expect(kmsActionsOfFilterPattern("{$.eventName=DisableKey}")).toEqual(["DisableKey"]);
    expect(kmsActionsOfFilterPattern("  {$.eventSource=kms*&&$.eventName=Disable*}  ")).toEqual(["Disable*"]);
  });

  it("returns only the names stated with =, never exclusions", () => {
    expect(
      kmsActionsOfFilterPattern(
        "{($.eventSource = kms.amazonaws.com) && ($.eventName != Decrypt) && ($.eventName = ScheduleKeyDeletion)}",
      ),
    ).toEqual(["ScheduleKeyDeletion"]);
  });

  it("matches nothing for another service, a pattern naming no event, or a non-JSON pattern", () => {
    expect(
      kmsActionsOfFilterPattern("{($.eventSource = ec2.amazonaws.com) && ($.eventName = DisableKey)}"),
    ).toEqual([]);
    expect(kmsActionsOfFilterPattern("{$.eventSource = kms.amazonaws.com}")).toEqual([]);
    // Without an event source, only KMS's own administrative calls are KMS events.
    expect(
      kmsActionsOfFilterPattern('{ ($.eventName = "ConsoleLogin") || ($.eventName = Disable*) }'),
    ).toEqual([]);
    expect(
      kmsActionsOfEventPattern(
        JSON.stringify({ detail: { eventName: ["ConsoleLogin", "ScheduleKeyDeletion"] } }),
      ),
    ).toEqual(["ScheduleKeyDeletion"]);
    expect(kmsActionsOfFilterPattern('"DisableKey"')).toEqual([]);
    expect(kmsActionsOfFilterPattern("")).toEqual([]);
  });
});

describe("kmsActionsOfEventPattern", () => {
  it("reads the CloudTrail API-call rule on KMS", () => {
    expect(
      kmsActionsOfEventPattern(
        JSON.stringify({
          source: ["aws.kms"],
          "detail-type": ["AWS API Call via CloudTrail"],
          detail: { eventSource: ["kms.amazonaws.com"], eventName: ["DisableKey", "ScheduleKeyDeletion"] },
        }),
      ),
    ).toEqual(["DisableKey", "ScheduleKeyDeletion"]);
  });

  it("reads prefix and wildcard filters as wildcards and skips other content filters", () => {
    expect(
      kmsActionsOfEventPattern(
        JSON.stringify({
          source: ["aws.kms"],
          detail: {
            eventName: [{ prefix: "Disable" }, { wildcard: "Schedule*" }, { "anything-but": "Decrypt" }],
          },
        }),
      ),
    ).toEqual(["Disable*", "Schedule*"]);
  });

  it("returns KMS service events by detail-type", () => {
    expect(
      kmsActionsOfEventPattern(JSON.stringify({ source: ["aws.kms"], "detail-type": ["KMS CMK Deletion"] })),
    ).toEqual(["KMS CMK Deletion"]);
  });

  it("matches nothing for other sources, other event sources, service events only, or invalid JSON", () => {
    expect(
      kmsActionsOfEventPattern(
        JSON.stringify({ source: ["aws.ec2"], detail: { eventName: ["DisableKey"] } }),
      ),
    ).toEqual([]);
    expect(
      kmsActionsOfEventPattern(
        JSON.stringify({ detail: { eventSource: ["iam.amazonaws.com"], eventName: ["DisableKey"] } }),
      ),
    ).toEqual([]);
    // A rule on KMS service events does not see API calls, whatever eventName it states.
    expect(
      kmsActionsOfEventPattern(
        JSON.stringify({
          source: ["aws.kms"],
          "detail-type": ["KMS CMK Rotation"],
          detail: { eventName: ["DisableKey"] },
        }),
      ),
    ).toEqual(["KMS CMK Rotation"]);
    expect(kmsActionsOfEventPattern("{not json")).toEqual([]);
    expect(kmsActionsOfEventPattern("[]")).toEqual([]);
  });
});

describe("parseLogGroupArn", () => {
  it("reads the region and name from a trail's log group ARN, with or without :*", () => {
    expect(parseLogGroupArn("arn:aws:logs:us-east-1:111122223333:log-group:CloudTrail/kms:*")).toEqual({
      arn: "arn:aws:logs:us-east-1:111122223333:log-group:CloudTrail/kms",
      region: "us-east-1",
      name: "CloudTrail/kms",
    });
    expect(parseLogGroupArn("arn:aws-us-gov:logs:us-gov-west-1:111122223333:log-group:trail")?.region).toBe(
      "us-gov-west-1",
    );
    expect(parseLogGroupArn("not-an-arn")).toBeUndefined();
  });
});
