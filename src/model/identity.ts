/**
 * An account's IAM identity policies as facts: what each policy says, statement by statement, and who it is
 * attached to. AWS only (`iam:GetAccountAuthorizationDetails`); IAM is account-wide, so the policies are
 * carried once per source, on the location whose collector read IAM (see `LoggingStatus.identityPolicies`).
 * Checks judge them (iam-kms-wildcard); nothing here decides what a statement means.
 */

/** An IAM principal a policy is attached to (managed) or embedded in (inline). */
export interface IdentityPolicyAttachment {
  kind: "user" | "group" | "role";
  /** User, group or role name. */
  name: string;
  arn: string;
}

/**
 * One statement of a policy document as written. Action/NotAction and Resource/NotResource are kept apart
 * because they mean opposite things; a list is absent when the statement does not use that element.
 */
export interface IdentityPolicyStatement {
  /** The statement's Sid, or `Statement[<index>]` when it has none: the pointer an auditor follows. */
  reference: string;
  effect: "allow" | "deny";
  actions?: string[];
  notActions?: string[];
  resources?: string[];
  notResources?: string[];
  /** The raw Condition block; absent when the statement is unconditional. */
  conditions?: Record<string, unknown>;
}

/**
 * A customer-managed policy or an inline policy. AWS-managed policies (`arn:aws:iam::aws:policy/...`) are
 * not carried: AWS writes and changes them, and the checks that read these facts leave them out (as
 * Prowler's `iam_policy_no_full_access_to_kms` does); the per-key access picture still includes them.
 */
export interface IdentityPolicy {
  kind: "customer-managed" | "inline";
  /** Policy name as IAM stores it. */
  name: string;
  /** Customer-managed: the policy ARN; inline: `<user|group|role>/<owner> inline-policy <name>`. */
  reference: string;
  /**
   * Who the policy applies to. Inline: exactly its owner. Customer-managed: every user, group and role it
   * is attached to; empty when it is attached to none (then it grants nothing).
   */
  attachments: IdentityPolicyAttachment[];
  /** Statements of the document (the default version of a managed policy), in document order. */
  statements: IdentityPolicyStatement[];
  /**
   * Why the document could not be read (not JSON, default version missing): its statements are then
   * unknown, not absent. Absent when the document was read.
   */
  unreadable?: string;
}
