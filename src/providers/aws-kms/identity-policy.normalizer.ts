import type {
  IdentityPolicy,
  IdentityPolicyAttachment,
  IdentityPolicyStatement,
} from "../../model/identity.ts";
import type { AccessGrant } from "../../model/key.ts";
import type { ClassifiedPrincipal, PolicyStatement } from "./key-policy.normalizer.ts";
import {
  actionsOf,
  classifyAwsPrincipal,
  conditionsOf,
  effectOf,
  referenceOf,
  statementsOf,
} from "./key-policy.normalizer.ts";

/**
 * Pure: which IAM users and roles get KMS permissions from identity policies (inline, attached managed,
 * and — for users — those of their groups), read from `iam:GetAccountAuthorizationDetails` pages.
 * A key only honours these when its key policy enables IAM policies for the account (see
 * `keyPolicyEnablesIamPolicies`); `identityGrantsForKey` then keeps the statements whose Resource covers it.
 */

/** The fields of `GetAccountAuthorizationDetails` this module reads (structurally the SDK's output types). */
export interface InlinePolicy {
  PolicyName?: string | undefined;
  PolicyDocument?: string | undefined;
}
export interface AttachedPolicyReference {
  PolicyName?: string | undefined;
  PolicyArn?: string | undefined;
}
export interface UserDetails {
  UserName?: string | undefined;
  Arn?: string | undefined;
  UserPolicyList?: InlinePolicy[] | undefined;
  AttachedManagedPolicies?: AttachedPolicyReference[] | undefined;
  GroupList?: string[] | undefined;
}
export interface RoleDetails {
  RoleName?: string | undefined;
  Arn?: string | undefined;
  RolePolicyList?: InlinePolicy[] | undefined;
  AttachedManagedPolicies?: AttachedPolicyReference[] | undefined;
}
export interface GroupDetails {
  GroupName?: string | undefined;
  Arn?: string | undefined;
  GroupPolicyList?: InlinePolicy[] | undefined;
  AttachedManagedPolicies?: AttachedPolicyReference[] | undefined;
}
export interface ManagedPolicyDetails {
  PolicyName?: string | undefined;
  Arn?: string | undefined;
  DefaultVersionId?: string | undefined;
  PolicyVersionList?:
    | Array<{
        Document?: string | undefined;
        VersionId?: string | undefined;
        IsDefaultVersion?: boolean | undefined;
      }>
    | undefined;
}
export interface AuthorizationDetails {
  users: UserDetails[];
  roles: RoleDetails[];
  groups: GroupDetails[];
  policies: ManagedPolicyDetails[];
}

/** One identity-policy statement granting KMS actions to one principal, with the resources it names. */
export interface IdentityKmsStatement {
  grant: AccessGrant;
  /** Resource patterns (`*`, key ARNs, ARN wildcards); empty with `notResource` set when NotResource is used. */
  resources: string[];
  /** NotResource statements apply to every resource except the listed ones. */
  notResources?: string[];
  /** Name of the policy document for the export, and the document itself (parsed). */
  documentName: string;
  document: unknown;
}

/**
 * IAM returns policy documents URL-encoded (RFC 3986) in GetAccountAuthorizationDetails and Get*Policy;
 * some emulators and older SDKs return them decoded. Try both; undefined when neither parses.
 */
export function decodePolicyDocument(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  for (const candidate of [text, safeDecode(text)]) {
    if (candidate === undefined) continue;
    try {
      return JSON.parse(candidate) as unknown;
    } catch {
      // try the next form
    }
  }
  return undefined;
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replace(/\+/g, "%20"));
  } catch {
    return undefined;
  }
}

function toStringList(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.filter((entry): entry is string => typeof entry === "string");
  return [];
}

/** `kms:Decrypt`, `kms:*`, `kms:Get*` and `*` concern KMS; `s3:GetObject` does not. */
export function isKmsAction(action: string): boolean {
  const lower = action.toLowerCase();
  return lower === "*" || lower.startsWith("kms:");
}

/**
 * IAM wildcard match of an ARN against a Resource pattern (`*` any run, `?` one character). ARNs are
 * case-sensitive, so the match is too.
 */
export function resourceMatches(pattern: string, arn: string): boolean {
  if (pattern === "*") return true;
  const expression = pattern
    .split("")
    .map((character) =>
      character === "*" ? ".*" : character === "?" ? "." : character.replace(/[.+^${}()|[\]\\/]/g, "\\$&"),
    )
    .join("");
  return new RegExp(`^${expression}$`).test(arn);
}

interface PolicySource {
  /** Label of the document, e.g. `user/alice inline-policy kms-decrypt`. */
  documentName: string;
  document: unknown;
}

function statementsGrantingKms(
  principal: string,
  classified: ClassifiedPrincipal,
  source: PolicySource,
): IdentityKmsStatement[] {
  const result: IdentityKmsStatement[] = [];
  statementsOf(source.document).forEach((statement: PolicyStatement, index) => {
    const effect = effectOf(statement);
    if (effect === undefined) return;
    const { actions, notAction } = actionsOf(statement);
    let kmsActions: string[];
    if (notAction) {
      // Everything except the NotAction list: KMS is concerned unless the list itself excludes all of KMS.
      const excluded = toStringList(statement.NotAction).map((action) => action.toLowerCase());
      if (excluded.includes("kms:*") || excluded.includes("*")) return;
      kmsActions = actions;
    } else {
      kmsActions = actions.filter(isKmsAction);
    }
    if (kmsActions.length === 0) return;
    const conditions = conditionsOf(statement);
    const suffix = notAction ? " (NotAction)" : "";
    const grant: AccessGrant = {
      principal,
      principalKind: classified.kind,
      ...(classified.account === undefined ? {} : { principalAccount: classified.account }),
      effect,
      actions: kmsActions,
      ...(conditions === undefined ? {} : { conditions }),
      via: "identity-policy",
      reference: `${source.documentName}#${referenceOf(statement, index)}${suffix}`,
    };
    const notResources =
      statement.NotResource === undefined ? undefined : toStringList(statement.NotResource);
    result.push({
      grant,
      resources: notResources === undefined ? toStringList(statement.Resource) : [],
      ...(notResources === undefined ? {} : { notResources }),
      documentName: source.documentName,
      document: source.document,
    });
  });
  return result;
}

/** The document text of the policy's default version (the one IAM enforces). */
function defaultVersionText(policy: ManagedPolicyDetails): string | undefined {
  const versions = policy.PolicyVersionList ?? [];
  const chosen =
    versions.find((version) => version.IsDefaultVersion === true) ??
    versions.find(
      (version) => version.VersionId !== undefined && version.VersionId === policy.DefaultVersionId,
    );
  return chosen?.Document;
}

function defaultVersionDocument(policy: ManagedPolicyDetails): unknown {
  return decodePolicyDocument(defaultVersionText(policy));
}

/**
 * Every identity-policy statement that grants or denies KMS actions to an IAM user or role. Managed
 * policies referenced but absent from the details (e.g. an AWS-managed policy not returned) yield nothing:
 * the caller asks for AWS-managed policies too.
 */
export function collectIdentityKmsStatements(details: AuthorizationDetails): IdentityKmsStatement[] {
  const managed = new Map<string, ManagedPolicyDetails>();
  for (const policy of details.policies) if (policy.Arn !== undefined) managed.set(policy.Arn, policy);
  const groups = new Map<string, GroupDetails>();
  for (const group of details.groups) if (group.GroupName !== undefined) groups.set(group.GroupName, group);

  function sourcesOf(
    owner: string,
    inline: InlinePolicy[] | undefined,
    attached: AttachedPolicyReference[] | undefined,
  ): PolicySource[] {
    const sources: PolicySource[] = [];
    for (const policy of inline ?? []) {
      sources.push({
        documentName: `${owner} inline-policy ${policy.PolicyName ?? "(unnamed)"}`,
        document: decodePolicyDocument(policy.PolicyDocument),
      });
    }
    for (const reference of attached ?? []) {
      const policy = reference.PolicyArn === undefined ? undefined : managed.get(reference.PolicyArn);
      if (policy === undefined) continue;
      sources.push({
        documentName: `${owner} managed-policy ${policy.Arn ?? ""}`,
        document: defaultVersionDocument(policy),
      });
    }
    return sources;
  }

  const statements: IdentityKmsStatement[] = [];
  for (const user of details.users) {
    if (user.Arn === undefined) continue;
    const classified = classifyAwsPrincipal(user.Arn);
    const owner = `user/${user.UserName ?? user.Arn}`;
    const sources = sourcesOf(owner, user.UserPolicyList, user.AttachedManagedPolicies);
    for (const groupName of user.GroupList ?? []) {
      const group = groups.get(groupName);
      if (group === undefined) continue;
      sources.push(...sourcesOf(`group/${groupName}`, group.GroupPolicyList, group.AttachedManagedPolicies));
    }
    for (const source of sources) statements.push(...statementsGrantingKms(user.Arn, classified, source));
  }
  for (const role of details.roles) {
    if (role.Arn === undefined) continue;
    const classified = classifyAwsPrincipal(role.Arn);
    const owner = `role/${role.RoleName ?? role.Arn}`;
    for (const source of sourcesOf(owner, role.RolePolicyList, role.AttachedManagedPolicies)) {
      statements.push(...statementsGrantingKms(role.Arn, classified, source));
    }
  }
  return statements;
}

/** The statements that apply to one key: a Resource pattern matches its ARN (or NotResource does not exclude it). */
export function identityStatementsForKey(
  statements: readonly IdentityKmsStatement[],
  keyArn: string,
): IdentityKmsStatement[] {
  return statements.filter((statement) =>
    statement.notResources === undefined
      ? statement.resources.some((pattern) => resourceMatches(pattern, keyArn))
      : !statement.notResources.some((pattern) => resourceMatches(pattern, keyArn)),
  );
}

/** `arn:aws:iam::aws:policy/...` (any partition): written and changed by AWS, not by the customer. */
export function isAwsManagedPolicyArn(arn: string): boolean {
  return /^arn:aws[a-z-]*:iam::aws:policy\//.test(arn);
}

function statementFactsOf(document: unknown): IdentityPolicyStatement[] {
  const facts: IdentityPolicyStatement[] = [];
  statementsOf(document).forEach((statement, index) => {
    const effect = effectOf(statement);
    // IAM refuses a document without a valid Effect; such a statement grants nothing.
    if (effect === undefined) return;
    const conditions = conditionsOf(statement);
    facts.push({
      reference: referenceOf(statement, index),
      effect,
      ...(statement.Action === undefined ? {} : { actions: toStringList(statement.Action) }),
      ...(statement.NotAction === undefined ? {} : { notActions: toStringList(statement.NotAction) }),
      ...(statement.Resource === undefined ? {} : { resources: toStringList(statement.Resource) }),
      ...(statement.NotResource === undefined ? {} : { notResources: toStringList(statement.NotResource) }),
      ...(conditions === undefined ? {} : { conditions }),
    });
  });
  return facts;
}

function policyFacts(
  base: Pick<IdentityPolicy, "kind" | "name" | "reference" | "attachments">,
  text: string | undefined,
): IdentityPolicy {
  const document = decodePolicyDocument(text);
  if (document === undefined) {
    return {
      ...base,
      statements: [],
      unreadable: text === undefined ? "IAM returned no policy document" : "policy document is not JSON",
    };
  }
  return { ...base, statements: statementFactsOf(document) };
}

/**
 * The account's customer-managed policies (each with every user, group and role it is attached to, none
 * when unattached) and every inline policy with its owner, from `GetAccountAuthorizationDetails`. AWS-managed
 * policies are left out (see `IdentityPolicy`).
 */
export function collectCustomerIdentityPolicies(details: AuthorizationDetails): IdentityPolicy[] {
  const attachments = new Map<string, IdentityPolicyAttachment[]>();
  const inline: IdentityPolicy[] = [];
  const owners: Array<{
    kind: IdentityPolicyAttachment["kind"];
    name: string | undefined;
    arn: string | undefined;
    inline: InlinePolicy[] | undefined;
    attached: AttachedPolicyReference[] | undefined;
  }> = [
    ...details.users.map((user) => ({
      kind: "user" as const,
      name: user.UserName,
      arn: user.Arn,
      inline: user.UserPolicyList,
      attached: user.AttachedManagedPolicies,
    })),
    ...details.groups.map((group) => ({
      kind: "group" as const,
      name: group.GroupName,
      arn: group.Arn,
      inline: group.GroupPolicyList,
      attached: group.AttachedManagedPolicies,
    })),
    ...details.roles.map((role) => ({
      kind: "role" as const,
      name: role.RoleName,
      arn: role.Arn,
      inline: role.RolePolicyList,
      attached: role.AttachedManagedPolicies,
    })),
  ];
  for (const owner of owners) {
    if (owner.arn === undefined) continue;
    const attachment: IdentityPolicyAttachment = {
      kind: owner.kind,
      name: owner.name ?? owner.arn,
      arn: owner.arn,
    };
    for (const policy of owner.inline ?? []) {
      const name = policy.PolicyName ?? "(unnamed)";
      inline.push(
        policyFacts(
          {
            kind: "inline",
            name,
            reference: `${owner.kind}/${attachment.name} inline-policy ${name}`,
            attachments: [attachment],
          },
          policy.PolicyDocument,
        ),
      );
    }
    for (const reference of owner.attached ?? []) {
      if (reference.PolicyArn === undefined) continue;
      const list = attachments.get(reference.PolicyArn) ?? [];
      list.push(attachment);
      attachments.set(reference.PolicyArn, list);
    }
  }
  const managed = details.policies
    .filter((policy) => policy.Arn !== undefined && !isAwsManagedPolicyArn(policy.Arn))
    .map((policy) => {
      const arn = policy.Arn ?? "";
      return policyFacts(
        {
          kind: "customer-managed",
          // moto leaves PolicyName out of this call's Policies; the ARN ends in the name (after any path).
          name: policy.PolicyName ?? arn.slice(arn.lastIndexOf("/") + 1),
          reference: arn,
          attachments: attachments.get(arn) ?? [],
        },
        defaultVersionText(policy),
      );
    });
  return [...managed, ...inline];
}
