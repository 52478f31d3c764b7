/**
 * The source namespace's ACL policies (`LIST sys/policies/acl`, `GET sys/policies/acl/<name>`), parsed and
 * compiled once per provider instance, and the grants they give on one transit key. Matching itself is the
 * pure src/policy/vault-acl.ts, which the least-privilege check shares.
 */
import type { AccessPolicy, Collected, CollectionError, UndeterminedAccess } from "../../model/key.ts";
import {
  compilePolicy,
  grantsForKey,
  undeterminedRulesForKey,
  type CompiledPolicy,
} from "../../policy/vault-acl.ts";
import { parseVaultPolicy, PolicyParseError } from "../../policy/vault-policy.parser.ts";
import { mapWithConcurrency } from "../shared/concurrency.ts";
import type { KeyNamesRead } from "./mount-table.collector.ts";
import { dataOf, type VaultApi } from "./vault-client.ts";
import { setupError, toVaultCollectionError } from "./vault-error.ts";
import { vaultCall } from "./vault-paths.ts";

export type PolicyCollection =
  | {
      ok: true;
      policies: Array<{ name: string; text: string; compiled: CompiledPolicy }>;
      capturedAt: string;
    }
  | { ok: false; errors: CollectionError[]; capturedAt: string };

/** Every readable ACL policy, compiled; any policy that cannot be read or parsed makes access unknown. */
export async function collectAclPolicies(
  api: VaultApi,
  options: { now: () => string; concurrency: number },
): Promise<PolicyCollection> {
  const { now, concurrency } = options;
  let names: string[];
  try {
    names = await api.list("sys/policies/acl");
  } catch (error) {
    return {
      ok: false,
      errors: [toVaultCollectionError(vaultCall("LIST", "sys/policies/acl"), error)],
      capturedAt: now(),
    };
  }
  const errors: CollectionError[] = [];
  const policies: Array<{ name: string; text: string; compiled: CompiledPolicy }> = [];
  // `root` is built in, has no rules and allows everything; it is not an ACL to evaluate (see the check's docs).
  const readable = names.filter((name) => name !== "root").sort();
  await mapWithConcurrency(readable, concurrency, async (name) => {
    const call = vaultCall("GET", `sys/policies/acl/${name}`);
    try {
      const text = dataOf(await api.read(`sys/policies/acl/${name}`))["policy"];
      if (typeof text !== "string") {
        errors.push({
          call,
          code: "UnexpectedResponse",
          message: "response has no data.policy text",
          retryable: false,
        });
        return;
      }
      const parsed = parseVaultPolicy(text);
      policies.push({ name, text, compiled: compilePolicy(name, parsed.rules) });
    } catch (error) {
      errors.push(
        error instanceof PolicyParseError
          ? { call, code: "PolicyUnparsable", message: error.message, retryable: false }
          : toVaultCollectionError(call, error),
      );
    }
  });
  if (errors.length > 0) return { ok: false, errors, capturedAt: now() };
  return { ok: true, policies: policies.sort((a, b) => a.name.localeCompare(b.name)), capturedAt: now() };
}

/** The grants the policies give on one key, with the policy texts that grant them as documents. Pure. */
export function accessForKey(
  policies: PolicyCollection,
  names: KeyNamesRead,
  target: { mount: string; name: string; latestVersion?: number },
): Collected<AccessPolicy> {
  if (!policies.ok) {
    const [first, ...rest] = policies.errors;
    const error =
      first ?? setupError(vaultCall("LIST", "sys/policies/acl"), "Unknown", "policies not collected");
    const more =
      rest.length === 0 ? "" : ` (and ${rest.length} more: ${rest.map((entry) => entry.call).join(", ")})`;
    return {
      ok: false,
      error: { ...error, message: `${error.message}${more}` },
      capturedAt: policies.capturedAt,
    };
  }
  // `byok-export/<destination>/<key>` names another key of the mount: without the mount's key names the
  // grants would silently miss those paths, so access is unknown rather than incomplete.
  if (!names.ok) return { ok: false, error: names.error, capturedAt: names.capturedAt };
  const documents: AccessPolicy["documents"] = [];
  const undetermined: UndeterminedAccess[] = [];
  const grants = policies.policies.flatMap((policy) => {
    const fullTarget = { ...target, siblingNames: names.names };
    const found = grantsForKey(policy.compiled, fullTarget);
    const templated = undeterminedRulesForKey(policy.compiled, fullTarget);
    undetermined.push(...templated);
    if (found.length > 0 || templated.length > 0)
      documents.push({ name: policy.name, document: policy.text });
    return found;
  });
  return {
    ok: true,
    value: { documents, grants, ...(undetermined.length === 0 ? {} : { undetermined }) },
    call: vaultCall("LIST", "sys/policies/acl"),
    capturedAt: policies.capturedAt,
  };
}
