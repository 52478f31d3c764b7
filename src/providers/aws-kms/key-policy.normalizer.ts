import type { AccessGrant, PrincipalKind } from "../../model/key.ts";

/**
 * Pure translation of AWS KMS access documents (key policies, grants) into `AccessGrant`s. No judging:
 * a wildcard or a human user is recorded as written; checks decide what it means.
 * IAM policy grammar: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
 */

export interface PolicyStatement {
  Sid?: unknown;
  Effect?: unknown;
  Principal?: unknown;
  NotPrincipal?: unknown;
  Action?: unknown;
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
  Condition?: unknown;
}

export interface ClassifiedPrincipal {
  kind: PrincipalKind;
  account?: string;
}

const ACCOUNT_ID = /^\d{12}$/;
/** `arn:<partition>:<service>:<region>:<account>:<resource>`; IAM and STS ARNs have an empty region. */
const ARN = /^arn:aws[a-z-]*:([a-z0-9-]+):[a-z0-9-]*:(\d{12}):(.+)$/;

/**
 * Classifies one AWS principal string as written in a policy or grant.
 * Unique ids stand in for deleted or renamed principals: AWS shows `AIDA…` (user) and `AROA…` (role)
 * when the ARN it stored no longer resolves.
 */
export function classifyAwsPrincipal(principal: string): ClassifiedPrincipal {
  if (principal === "*") return { kind: "wildcard" };
  if (ACCOUNT_ID.test(principal)) return { kind: "account-root", account: principal };
  const arn = ARN.exec(principal);
  if (arn !== null) {
    const [, service, account = "", resource = ""] = arn;
    if (service === "iam" && resource === "root") return { kind: "account-root", account };
    if (service === "iam" && resource.startsWith("user/")) return { kind: "human-user", account };
    if (service === "iam" && resource.startsWith("role/")) return { kind: "role", account };
    if (service === "sts" && resource.startsWith("assumed-role/")) return { kind: "role", account };
    if (service === "iam" && resource.startsWith("group/")) return { kind: "group", account };
    return { kind: "unknown", account };
  }
  if (/^AIDA[A-Z0-9]{8,}$/.test(principal)) return { kind: "human-user" };
  if (/^AROA[A-Z0-9]{8,}$/.test(principal)) return { kind: "role" };
  // Grants name service principals bare (`dynamodb.us-east-1.amazonaws.com`).
  if (/\.amazonaws\.com(\.cn)?$/.test(principal)) return { kind: "service" };
  return { kind: "unknown" };
}

function toStringList(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.filter((entry): entry is string => typeof entry === "string");
  return [];
}

interface PrincipalEntry {
  principal: string;
  classified: ClassifiedPrincipal;
}

/** `"*"`, `{ AWS: … }`, `{ Service: … }`, `{ Federated: … }`, `{ CanonicalUser: … }` → one entry per principal. */
export function expandPrincipals(principal: unknown): PrincipalEntry[] {
  if (principal === "*") return [{ principal: "*", classified: { kind: "wildcard" } }];
  if (typeof principal !== "object" || principal === null || Array.isArray(principal)) return [];
  const entries: PrincipalEntry[] = [];
  for (const [type, value] of Object.entries(principal)) {
    for (const name of toStringList(value)) {
      if (type === "AWS") entries.push({ principal: name, classified: classifyAwsPrincipal(name) });
      else if (type === "Service") entries.push({ principal: name, classified: { kind: "service" } });
      // Web identity / SAML federation: who is behind it is decided by the identity provider, not here.
      else entries.push({ principal: name, classified: { kind: "unknown" } });
    }
  }
  return entries;
}

export function statementsOf(document: unknown): PolicyStatement[] {
  if (typeof document !== "object" || document === null) return [];
  const statement = (document as { Statement?: unknown }).Statement;
  const list = Array.isArray(statement) ? statement : statement === undefined ? [] : [statement];
  return list.filter((entry): entry is PolicyStatement => typeof entry === "object" && entry !== null);
}

export function effectOf(statement: PolicyStatement): "allow" | "deny" | undefined {
  if (typeof statement.Effect !== "string") return undefined;
  const effect = statement.Effect.toLowerCase();
  return effect === "allow" || effect === "deny" ? effect : undefined;
}

export function referenceOf(statement: PolicyStatement, index: number): string {
  return typeof statement.Sid === "string" && statement.Sid.length > 0
    ? statement.Sid
    : `Statement[${index}]`;
}

/** A non-empty Condition block, or undefined (unconditional). */
export function conditionsOf(statement: PolicyStatement): Record<string, unknown> | undefined {
  const condition = statement.Condition;
  if (typeof condition !== "object" || condition === null || Array.isArray(condition)) return undefined;
  return Object.keys(condition).length === 0 ? undefined : (condition as Record<string, unknown>);
}

/**
 * Actions as written. `NotAction` allows (or denies) everything except the listed actions: it is recorded
 * as `*`, the broadest reading, and the reference says so; the raw document keeps the exact list.
 */
export function actionsOf(statement: PolicyStatement): { actions: string[]; notAction: boolean } {
  if (statement.Action !== undefined) return { actions: toStringList(statement.Action), notAction: false };
  if (statement.NotAction !== undefined) return { actions: ["*"], notAction: true };
  return { actions: [], notAction: false };
}

function grantOf(
  entry: PrincipalEntry,
  effect: "allow" | "deny",
  actions: string[],
  conditions: Record<string, unknown> | undefined,
  via: AccessGrant["via"],
  reference: string,
): AccessGrant {
  return {
    principal: entry.principal,
    principalKind: entry.classified.kind,
    ...(entry.classified.account === undefined ? {} : { principalAccount: entry.classified.account }),
    effect,
    actions,
    ...(conditions === undefined ? {} : { conditions }),
    via,
    reference,
  };
}

/**
 * Every Allow/Deny statement × principal of a key policy. A `NotPrincipal` statement applies to everyone
 * but the listed principals, so it is recorded as a wildcard grant (reference marked `NotPrincipal`).
 */
export function normalizeKeyPolicy(document: unknown): AccessGrant[] {
  const grants: AccessGrant[] = [];
  statementsOf(document).forEach((statement, index) => {
    const effect = effectOf(statement);
    if (effect === undefined) return;
    const { actions, notAction } = actionsOf(statement);
    const conditions = conditionsOf(statement);
    let reference = referenceOf(statement, index);
    let principals: PrincipalEntry[];
    if (statement.Principal !== undefined) {
      principals = expandPrincipals(statement.Principal);
    } else if (statement.NotPrincipal !== undefined) {
      principals = [{ principal: "*", classified: { kind: "wildcard" } }];
      reference = `${reference} (NotPrincipal)`;
    } else {
      principals = [];
    }
    if (notAction) reference = `${reference} (NotAction)`;
    for (const entry of principals)
      grants.push(grantOf(entry, effect, actions, conditions, "key-policy", reference));
  });
  return grants;
}

/** The fields of a KMS `ListGrants` entry this module reads (structurally the SDK's GrantListEntry). */
export interface KmsGrantEntry {
  GrantId?: string | undefined;
  Name?: string | undefined;
  GranteePrincipal?: string | undefined;
  Operations?: string[] | undefined;
  Constraints?: object | undefined;
}

/**
 * Grants always allow; `Constraints` (encryption-context subset/equals) are their only condition.
 * Grant operations are bare names (`Decrypt`); they get the `kms:` prefix key policies use, so a check
 * matches one action vocabulary whichever mechanism grants it.
 */
export function normalizeKmsGrants(grants: readonly KmsGrantEntry[]): AccessGrant[] {
  return grants.map((grant, index) => {
    const principal = grant.GranteePrincipal ?? "unknown";
    const constraints =
      grant.Constraints !== undefined && Object.keys(grant.Constraints).length > 0
        ? (grant.Constraints as Record<string, unknown>)
        : undefined;
    return grantOf(
      { principal, classified: classifyAwsPrincipal(principal) },
      "allow",
      (grant.Operations ?? []).map((operation) =>
        operation.startsWith("kms:") ? operation : `kms:${operation}`,
      ),
      constraints,
      "grant",
      grant.GrantId ?? `Grants[${index}]`,
    );
  });
}

function resourceCoversKey(resource: unknown, keyArn: string): boolean {
  return toStringList(resource).some((entry) => entry === "*" || entry === keyArn);
}

/**
 * Whether the key policy lets IAM identity policies of the key's own account grant access: an Allow
 * statement for the account root (`arn:aws:iam::<account>:root` or the bare id) on `*` or this key.
 * Without it, IAM policies in the account have no effect on the key (AWS "Default key policy").
 */
export function keyPolicyEnablesIamPolicies(document: unknown, keyArn: string): boolean {
  const account = ARN.exec(keyArn)?.[2];
  if (account === undefined) return false;
  return statementsOf(document).some((statement) => {
    if (effectOf(statement) !== "allow" || statement.Principal === undefined) return false;
    const enablesRoot = expandPrincipals(statement.Principal).some(
      (entry) => entry.classified.kind === "account-root" && entry.classified.account === account,
    );
    return enablesRoot && resourceCoversKey(statement.Resource, keyArn);
  });
}

/** Account id of an ARN, when it has one. */
export function accountOfArn(arn: string): string | undefined {
  return ARN.exec(arn)?.[2];
}
