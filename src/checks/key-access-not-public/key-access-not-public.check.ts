import type { Check } from "../check.ts";
import { makeFinding } from "../check.ts";
import { parseCheckMetadata } from "../check-metadata.schema.ts";
import {
  accessPolicyEvidence,
  customerManaged,
  describeCollectionError,
  keyFindingBase,
  keyPopulationGapFindings,
  sourcesOf,
  summarizeList,
  ineligibleStatus,
} from "../eligibility.ts";
import type { Finding } from "../../model/finding.ts";
import type { AccessGrant, KeyRecord } from "../../model/key.ts";
import rawMetadata from "./key-access-not-public.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

function isWildcard(grant: AccessGrant): boolean {
  return grant.principalKind === "wildcard" || grant.principal === "*" || grant.principalAccount === "*";
}

function isConditional(grant: AccessGrant): boolean {
  return grant.conditions !== undefined && Object.keys(grant.conditions).length > 0;
}

/** `arn:aws:kms:<region>:<account>:key/<id>` → account; the fallback when the source account is unknown. */
function accountOfArn(arn: string): string | undefined {
  return /^arn:aws[a-z-]*:kms:[^:]*:(\d{12}):/.exec(arn)?.[1];
}

/** `StringEquals kms:CallerAccount`: IAM condition blocks are operator → { key: value }; name the keys. */
function describeConditions(conditions: Record<string, unknown>): string {
  return Object.entries(conditions)
    .map(([operator, block]) =>
      typeof block === "object" && block !== null ? `${operator} ${Object.keys(block).join("/")}` : operator,
    )
    .join(", ");
}

function describeGrant(grant: AccessGrant): string {
  const condition = isConditional(grant) ? `; condition ${describeConditions(grant.conditions ?? {})}` : "";
  return `${grant.principal} via ${grant.via} "${grant.reference}" (${grant.actions.join(", ")}${condition})`;
}

/**
 * Judges one key. `ownerAccount` is the account the key belongs to; cross-account principals are an
 * AWS notion (account ids), so for other source types only wildcard principals are judged.
 */
export function judgeKeyExposure(key: KeyRecord, ownerAccount: string | undefined): Finding {
  const base = { ...keyFindingBase(key), evidence: accessPolicyEvidence(key) };
  const managed = customerManaged(key);
  if (!managed.eligible)
    return makeFinding(metadata, { ...base, status: ineligibleStatus(managed), message: managed.reason });
  if (!key.access.ok) {
    return makeFinding(metadata, {
      ...base,
      status: "error",
      message: `access policy unknown: ${describeCollectionError(key.access.error)}`,
    });
  }
  const exposed: AccessGrant[] = [];
  const undecided: AccessGrant[] = [];
  for (const grant of key.access.value.grants) {
    if (grant.effect !== "allow") continue;
    if (isWildcard(grant)) {
      exposed.push(grant);
    } else if (key.sourceType === "aws-kms" && grant.principalAccount !== undefined) {
      if (ownerAccount === undefined) undecided.push(grant);
      else if (grant.principalAccount !== ownerAccount) exposed.push(grant);
    }
  }
  const unconditional = exposed.filter((grant) => !isConditional(grant));
  if (unconditional.length > 0) {
    return makeFinding(metadata, {
      ...base,
      status: "fail",
      message: `key is open without conditions to ${summarizeList(unconditional.map(describeGrant))}`,
    });
  }
  if (undecided.length > 0) {
    return makeFinding(metadata, {
      ...base,
      status: "error",
      message: `the key's account is unknown, so cross-account access cannot be judged for ${summarizeList(undecided.map(describeGrant))}`,
    });
  }
  if (exposed.length > 0) {
    // Conditions (kms:CallerAccount, aws:PrincipalOrgID...) usually narrow a wildcard to the organization;
    // a reviewer has to read them, which is a warning, not the critical exposure of an open statement.
    return makeFinding(metadata, {
      ...base,
      status: "warn",
      severity: "medium",
      message: `key is open to ${summarizeList(exposed.map(describeGrant))}; review that the conditions restrict it to intended callers`,
    });
  }
  const scope = ownerAccount === undefined ? "" : ` outside account ${ownerAccount}`;
  return makeFinding(metadata, {
    ...base,
    status: "pass",
    message: `no allow statement or grant is open to a wildcard principal or to principals${scope}`,
  });
}

/** Key policies and grants must not allow `*` or another account unconditionally. */
export const check: Check = {
  metadata,
  run(snapshot) {
    const keyFindings = sourcesOf(snapshot, metadata.sourceTypes).flatMap((source) =>
      source.locations.flatMap((location) =>
        location.keys.map((key) =>
          judgeKeyExposure(
            key,
            source.type === "aws-kms" ? (source.account ?? accountOfArn(key.arn)) : source.account,
          ),
        ),
      ),
    );
    return [...keyFindings, ...keyPopulationGapFindings(metadata, snapshot)];
  },
};
