import type { Check } from "../check.ts";
import { makeFinding } from "../check.ts";
import { parseCheckMetadata } from "../check-metadata.schema.ts";
import {
  describeCollectionError,
  judgedLocations,
  locationFindingBase,
  loggingEvidence,
  missingLocationFinding,
  summarizeList,
} from "../eligibility.ts";
import type { JudgedLocation } from "../eligibility.ts";
import { judgeKmsWildcardStatement } from "../iam-kms-statements.ts";
import type { KmsWildcardGrant } from "../iam-kms-statements.ts";
import type { Finding } from "../../model/finding.ts";
import type { IdentityPolicy } from "../../model/identity.ts";
import type { LocationSnapshot, SourceSnapshot } from "../../model/snapshot.ts";
import rawMetadata from "./iam-kms-wildcard.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

/** One broad statement found in one policy. */
interface BroadStatement {
  policy: IdentityPolicy;
  reference: string;
  grant: KmsWildcardGrant;
}

function describePolicy(policy: IdentityPolicy): string {
  const kind = policy.kind === "inline" ? "inline policy" : "customer-managed policy";
  const attached = policy.attachments.map((attachment) => `${attachment.kind}/${attachment.name}`);
  const where =
    policy.kind === "inline" ? `on ${attached.join(", ")}` : `attached to ${summarizeList(attached)}`;
  return `${kind} ${policy.name} (${policy.reference === policy.name ? "" : `${policy.reference}, `}${where})`;
}

function describeStatement({ policy, reference, grant }: BroadStatement): string {
  const condition =
    grant.conditionKeys === undefined
      ? ""
      : ` only under its Condition (${grant.conditionKeys.join(", ") || "empty keys"})`;
  return `${describePolicy(policy)}: statement ${reference} allows ${grant.grants} on every key${condition} (${grant.written})`;
}

function broadStatementsOf(
  policies: readonly IdentityPolicy[],
  account: string | undefined,
): BroadStatement[] {
  return policies.flatMap((policy) =>
    policy.statements.flatMap((statement) => {
      const grant = judgeKmsWildcardStatement(statement, account);
      return grant === undefined ? [] : [{ policy, reference: statement.reference, grant }];
    }),
  );
}

/**
 * Fail on an unconditional broad statement in an attached policy; warn when the only broad statements are
 * conditional (keyproof does not evaluate conditions: unknown is not fail) or an attached policy's document
 * could not be read; pass otherwise. Unattached broad policies grant nothing and are named for information.
 */
function judgePolicies(
  location: LocationSnapshot,
  account: string | undefined,
  policies: IdentityPolicy[],
): Finding {
  const base = { ...locationFindingBase(location), evidence: loggingEvidence(location) };
  const attached = policies.filter((policy) => policy.attachments.length > 0);
  const broad = broadStatementsOf(attached, account);
  const unconditional = broad.filter((entry) => entry.grant.conditionKeys === undefined);
  const conditional = broad.filter((entry) => entry.grant.conditionKeys !== undefined);
  const unreadable = attached.filter((policy) => policy.unreadable !== undefined);
  const unattached = broadStatementsOf(
    policies.filter((policy) => policy.attachments.length === 0),
    account,
  );
  const notes = [
    ...conditional.map((entry) => `conditional: ${describeStatement(entry)}`),
    ...unreadable.map((policy) => `unread: ${describePolicy(policy)}: ${policy.unreadable ?? ""}`),
    ...(unattached.length === 0
      ? []
      : [
          `not a grant, attached to no principal: ${unattached.map((entry) => `${entry.policy.name} statement ${entry.reference}`).join(", ")}`,
        ]),
  ];
  const withNotes = (message: string) => (notes.length === 0 ? message : `${message}; ${notes.join("; ")}`);
  if (unconditional.length > 0) {
    return makeFinding(metadata, {
      ...base,
      status: "fail",
      message: withNotes(unconditional.map(describeStatement).join("; ")),
    });
  }
  if (conditional.length > 0 || unreadable.length > 0) {
    return makeFinding(metadata, {
      ...base,
      status: "warn",
      message: withNotes("no attached policy allows kms:* or kms:Decrypt on every key unconditionally"),
    });
  }
  const managed = attached.filter((policy) => policy.kind === "customer-managed").length;
  return makeFinding(metadata, {
    ...base,
    status: "pass",
    message: withNotes(
      `none of the ${managed} attached customer-managed and ${attached.length - managed} inline IAM policies allows kms:* or kms:Decrypt on every key (AWS-managed policies not judged)`,
    ),
  });
}

/** The location of the source that carries its IAM policies (one per source), if any does. */
function iamLocationOf(source: SourceSnapshot): LocationSnapshot | undefined {
  return source.locations.find((location) => location.logging.identityPolicies !== undefined);
}

function judgeLocation(judged: Extract<JudgedLocation, { kind: "collected" }>): Finding | undefined {
  const { source, location } = judged;
  const base = { ...locationFindingBase(location), evidence: loggingEvidence(location) };
  const identity = location.logging.identityPolicies;
  if (identity === undefined) {
    const home = iamLocationOf(source);
    if (home !== undefined) {
      return makeFinding(metadata, {
        ...base,
        status: "not-applicable",
        message: `IAM is account-wide: its policies are judged once, on ${home.source}/${home.location}`,
      });
    }
    // No location carries IAM facts (a bundle collected before they were): unknown, said once per source.
    if (source.locations[0] !== location) return undefined;
    return makeFinding(metadata, {
      ...base,
      status: "warn",
      message:
        "the account's IAM policies were not collected with this snapshot, so broad KMS grants are unknown",
    });
  }
  if (!identity.ok) {
    return makeFinding(metadata, {
      ...base,
      status: "error",
      message: `the account's IAM policies could not be read, so broad KMS grants are unknown: ${describeCollectionError(identity.error)}`,
    });
  }
  return judgePolicies(location, source.account, identity.value);
}

/**
 * Customer-managed and inline IAM policies attached to a principal must not allow `kms:*` or `kms:Decrypt`
 * on every key. One finding per AWS source on the location that carries the account's IAM policies;
 * its other locations are not-applicable, pointing there; uncollected locations are errors.
 */
export const check: Check = {
  metadata,
  run(snapshot) {
    return judgedLocations(snapshot, metadata.sourceTypes).flatMap((judged) => {
      if (judged.kind === "missing") return [missingLocationFinding(metadata, judged.gap, "IAM policies")];
      const finding = judgeLocation(judged);
      return finding === undefined ? [] : [finding];
    });
  },
};
