import type { CheckMetadata } from "../../checks/check.ts";
import { keyAccessPolicyPath } from "../../evidence/paths.ts";
import type { Finding } from "../../model/finding.ts";
import type { AccessGrant } from "../../model/key.ts";
import {
  buildConsoleFrame,
  type ConsoleFrameView,
  type KeyViewInput,
} from "./key-configuration.view-model.ts";
import { STATUS_TEXT, compareText, describeCollectionError, isAttentionStatus } from "./format.ts";
import { findingsOfKey, stripMarkdown } from "./verdicts.ts";

export type FindingBadgeView = {
  status: string;
  statusClass: string;
  severity: string;
  checkId: string;
  checkTitle: string;
  message: string;
  attention: boolean;
};

export type GrantView = {
  principal: string;
  principalKind: string;
  account: string;
  effect: string;
  effectClass: string;
  actions: string;
  conditions: string;
  via: string;
  reference: string;
  flagged: boolean;
};

export type AccessPolicyView = ConsoleFrameView & {
  findings: FindingBadgeView[];
  attentionCount: number;
  accessError: string;
  principals: Array<{
    principal: string;
    kind: string;
    effects: string;
    actionCount: number;
    flagged: boolean;
  }>;
  statements: GrantView[];
  grants: GrantView[];
  documents: Array<{ name: string; text: string; truncated: boolean }>;
};

export interface AccessPolicyViewInput extends KeyViewInput {
  checksById: ReadonlyMap<string, CheckMetadata>;
}

/** Policy documents longer than this are cut in the picture; the JSON export always has them whole. */
const DOCUMENT_LINE_LIMIT = 120;

const VIA_TEXT: Record<AccessGrant["via"], string> = {
  "key-policy": "Key policy",
  grant: "Grant",
  "identity-policy": "IAM identity policy",
  "rbac-role": "Azure RBAC role assignment",
  "access-policy": "Key Vault access policy",
  "acl-policy": "Vault ACL policy",
};

function describeConditions(conditions: Record<string, unknown> | undefined): string {
  if (conditions === undefined || Object.keys(conditions).length === 0) return "None";
  return JSON.stringify(conditions);
}

/**
 * A grant is flagged when a finding that needs attention names its principal or its reference. The
 * Finding model points at a resource (the key), not at a statement, so the message is the only link;
 * matching is exact substring and skips the bare wildcard, which would match any `kms:*` action text.
 */
function isFlagged(grant: AccessGrant, attention: readonly Finding[]): boolean {
  return attention.some((finding) => {
    const text = `${finding.message} ${finding.resource}`;
    return (
      (grant.principal.length > 1 && text.includes(grant.principal)) ||
      (grant.reference.length > 3 && text.includes(grant.reference))
    );
  });
}

function toGrantView(grant: AccessGrant, attention: readonly Finding[]): GrantView {
  return {
    principal: grant.principal,
    principalKind: grant.principalKind,
    account: grant.principalAccount ?? "",
    effect: grant.effect === "allow" ? "Allow" : "Deny",
    effectClass: grant.effect,
    actions: grant.actions.join(", "),
    conditions: describeConditions(grant.conditions),
    via: VIA_TEXT[grant.via],
    reference: grant.reference,
    flagged: isFlagged(grant, attention),
  };
}

const STATUS_ORDER = ["fail", "error", "warn", "pass", "not-applicable"] as const;

/** Pure: what the access-policy screenshot shows: who may do what, under which conditions, and what was found. */
export function buildAccessPolicyView(input: AccessPolicyViewInput): AccessPolicyView {
  const { key } = input;
  const frame = buildConsoleFrame(
    input,
    keyAccessPolicyPath(key.source, key.location, key.keyId),
    "Key policy and access",
  );
  const sortedFindings = [
    ...findingsOfKey(input.verdicts, { source: key.source, location: key.location, keyId: key.keyId }),
  ].sort(
    (left, right) =>
      STATUS_ORDER.indexOf(left.status) - STATUS_ORDER.indexOf(right.status) ||
      compareText(left.checkId, right.checkId),
  );
  const attention = sortedFindings.filter((finding) => isAttentionStatus(finding.status));
  const findings = sortedFindings.map((finding) => ({
    status: STATUS_TEXT[finding.status],
    statusClass: finding.status,
    severity: finding.severity,
    checkId: finding.checkId,
    checkTitle: stripMarkdown(input.checksById.get(finding.checkId)?.title ?? finding.checkId),
    message: stripMarkdown(finding.message),
    attention: isAttentionStatus(finding.status),
  }));

  if (!key.access.ok) {
    return {
      ...frame,
      findings,
      attentionCount: attention.length,
      accessError: describeCollectionError(key.access.error),
      principals: [],
      statements: [],
      grants: [],
      documents: [],
    };
  }

  const access = key.access.value;
  const ordered = [...access.grants].sort(
    (left, right) => compareText(left.via, right.via) || compareText(left.reference, right.reference),
  );
  const grantViews = ordered.map((grant) => ({ grant, view: toGrantView(grant, attention) }));

  const principals = new Map<
    string,
    { kind: string; effects: Set<string>; actions: Set<string>; flagged: boolean }
  >();
  for (const { grant, view } of grantViews) {
    const entry = principals.get(grant.principal) ?? {
      kind: grant.principalKind,
      effects: new Set(),
      actions: new Set(),
      flagged: false,
    };
    entry.effects.add(view.effect);
    for (const action of grant.actions) entry.actions.add(action);
    entry.flagged ||= view.flagged;
    principals.set(grant.principal, entry);
  }

  return {
    ...frame,
    findings,
    attentionCount: attention.length,
    accessError: "",
    principals: [...principals.entries()]
      .sort(([left], [right]) => compareText(left, right))
      .map(([principal, entry]) => ({
        principal,
        kind: entry.kind,
        effects: [...entry.effects].join(" / "),
        actionCount: entry.actions.size,
        flagged: entry.flagged,
      })),
    statements: grantViews.filter(({ grant }) => grant.via !== "grant").map(({ view }) => view),
    grants: grantViews.filter(({ grant }) => grant.via === "grant").map(({ view }) => view),
    documents: access.documents.map((document) => {
      const text =
        typeof document.document === "string"
          ? document.document
          : JSON.stringify(document.document, null, 2);
      const lines = text.split("\n");
      return {
        name: document.name,
        text: lines.slice(0, DOCUMENT_LINE_LIMIT).join("\n"),
        truncated: lines.length > DOCUMENT_LINE_LIMIT,
      };
    }),
  };
}
