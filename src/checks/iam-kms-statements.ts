import type { IdentityPolicyStatement } from "../model/identity.ts";
import { actionMatches, arnMatches } from "./eligibility.ts";

/**
 * Pure matching of one IAM identity-policy statement against "allows `kms:*` or `kms:Decrypt` on every
 * KMS key" (iam-kms-wildcard). IAM rules followed (IAM User Guide, policy elements reference):
 * - action names are case-insensitive and `*` / `?` wildcard them, so `KMS:De*`, `kms:*crypt` and `*` all
 *   allow `kms:Decrypt`;
 * - `NotAction` allows every action it does not list, so `NotAction: ["iam:*"]` allows `kms:*`;
 * - resources are case-sensitive ARN patterns; `*`, `arn:aws:kms:*` and `arn:aws:kms:*:<account>:key/*`
 *   cover every key of the account; `NotResource` allows every resource it does not list, so
 *   `NotResource: [<one key>]` still covers every other key and counts as "every key".
 * Deny statements are not weighed against allows (neither in the same policy nor across policies): a
 * broad Allow is reported as written, as Prowler does, and the auditor reads the document.
 */

/** What a broad statement lets its principals do on every key. */
export interface KmsWildcardGrant {
  /** `kms:*` when it allows every KMS action, else `kms:Decrypt`. */
  grants: "kms:*" | "kms:Decrypt";
  /** The elements that make it broad, as written: `Action kms:* on Resource *`. */
  written: string;
  /** Condition keys the statement is subject to; absent when it is unconditional. */
  conditionKeys?: string[];
}

/** Two action names no real KMS action equals: a pattern matching both covers every KMS action. */
const ANY_KMS_ACTION = ["kms:", "kms:\u0001any-action\u0002"] as const;
const DECRYPT = "kms:Decrypt";

const PARTITIONS = ["aws", "aws-cn", "aws-us-gov"] as const;
/** A stand-in account when the source's account is unknown: any account-specific pattern then misses it. */
const UNKNOWN_ACCOUNT = "000000000000";

/** Two unrelated key ARNs per partition: a pattern matching both (or excluding neither) covers every key. */
function sampleKeyArns(partition: string, account: string): string[] {
  return [
    `arn:${partition}:kms:us-east-1:${account}:key/\u0001sample-key\u0002`,
    `arn:${partition}:kms:ap-southeast-2:${account}:key/mrk-\u0001any-key\u0002`,
  ];
}

/** A pattern that may match some KMS action: its service part (before `:`) matches `kms`, or it has none. */
function touchesKms(pattern: string): boolean {
  const colon = pattern.indexOf(":");
  // Without a service part only `*` is a valid action pattern, and it matches every KMS action.
  return colon === -1
    ? actionMatches(pattern, ANY_KMS_ACTION[1])
    : actionMatches(pattern.slice(0, colon), "kms");
}

function whichKmsGrant(statement: IdentityPolicyStatement): "kms:*" | "kms:Decrypt" | undefined {
  if (statement.actions !== undefined) {
    const patterns = statement.actions;
    if (patterns.some((pattern) => ANY_KMS_ACTION.every((action) => actionMatches(pattern, action))))
      return "kms:*";
    return patterns.some((pattern) => actionMatches(pattern, DECRYPT)) ? "kms:Decrypt" : undefined;
  }
  if (statement.notActions !== undefined) {
    const excluded = statement.notActions;
    if (!excluded.some(touchesKms)) return "kms:*";
    return excluded.some((pattern) => actionMatches(pattern, DECRYPT)) ? undefined : "kms:Decrypt";
  }
  return undefined;
}

/**
 * The account's partition is not in the snapshot, so patterns are read for every partition at once: a
 * Resource covers every key when it does so in some partition, a NotResource when it excludes no key in
 * any partition (`NotResource: arn:aws:kms:*` excludes the commercial partition's keys: not broad).
 */
function coversEveryKey(statement: IdentityPolicyStatement, account: string | undefined): boolean {
  const samples = PARTITIONS.map((partition) => sampleKeyArns(partition, account ?? UNKNOWN_ACCOUNT));
  if (statement.resources !== undefined) {
    const patterns = statement.resources;
    return patterns.some((pattern) => samples.some((arns) => arns.every((arn) => arnMatches(pattern, arn))));
  }
  if (statement.notResources !== undefined) {
    const excluded = statement.notResources;
    return samples.every((arns) =>
      arns.every((arn) => !excluded.some((pattern) => arnMatches(pattern, arn))),
    );
  }
  // An identity-policy statement without Resource or NotResource is refused by IAM: it grants nothing.
  return false;
}

function describeList(element: string, values: readonly string[]): string {
  return `${element} ${values.join(", ")}`;
}

/**
 * The broad grant a statement makes, or undefined when it is a Deny, does not allow `kms:*` /
 * `kms:Decrypt`, or does not reach every key. `account` is the source's AWS account (for
 * account-specific ARN patterns); undefined when unknown.
 */
export function judgeKmsWildcardStatement(
  statement: IdentityPolicyStatement,
  account: string | undefined,
): KmsWildcardGrant | undefined {
  if (statement.effect !== "allow") return undefined;
  const grants = whichKmsGrant(statement);
  if (grants === undefined || !coversEveryKey(statement, account)) return undefined;
  const action =
    statement.actions === undefined
      ? describeList("NotAction", statement.notActions ?? [])
      : describeList("Action", statement.actions);
  const resource =
    statement.resources === undefined
      ? describeList("NotResource", statement.notResources ?? [])
      : describeList("Resource", statement.resources);
  const conditionKeys = Object.values(statement.conditions ?? {}).flatMap((block) =>
    typeof block === "object" && block !== null ? Object.keys(block) : [],
  );
  return {
    grants,
    written: `${action} on ${resource}`,
    ...(statement.conditions === undefined ? {} : { conditionKeys: [...new Set(conditionKeys)] }),
  };
}
