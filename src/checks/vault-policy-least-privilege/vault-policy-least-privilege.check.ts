import type { Check } from "../check.ts";
import { keysOf, makeFinding } from "../check.ts";
import { parseCheckMetadata } from "../check-metadata.schema.ts";
import {
  accessPolicyEvidence,
  describeCollectionError,
  keyFindingBase,
  keyPopulationGapFindings,
  summarizeList,
} from "../eligibility.ts";
import type { AccessGrant, KeyRecord } from "../../model/key.ts";
// Pure path matching (src/policy, no I/O): the same Vault glob rules the provider used to find the grants.
import { patternMatchesPath, transitOperations } from "../../policy/vault-acl.ts";
import rawMetadata from "./vault-policy-least-privilege.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

/** Vault attaches `default` to every token unless the token is created with `no_default_policy`. */
const DEFAULT_POLICY = "default";

/** A name no real key or mount has, to ask "would this pattern also match another key?". */
const OTHER = "keyproof-other";

function splitKeyId(keyId: string): { mount: string; name: string } {
  const slash = keyId.lastIndexOf("/");
  return { mount: keyId.slice(0, slash), name: keyId.slice(slash + 1) };
}

/**
 * Whether a pattern that reaches this key also reaches other keys: some key path it matches still matches
 * with the key name replaced, or with one segment of the mount replaced (a glob above the key name spans
 * the same-named keys of other mounts).
 */
export function patternSpansKeys(pattern: string, keyId: string): boolean {
  if (!pattern.includes("*") && !pattern.includes("+")) return false;
  const { mount, name } = splitKeyId(keyId);
  const mountSegments = mount.split("/");
  const otherMounts = mountSegments.map((_, index) =>
    mountSegments.map((segment, position) => (position === index ? OTHER : segment)).join("/"),
  );
  return transitOperations({ mount, name }).some((operation) =>
    operation.paths.some((path) => {
      if (!patternMatchesPath(pattern, path)) return false;
      const suffix = path.slice(mount.length + 1);
      const renamed = suffix
        .split("/")
        .map((segment) => (segment === name ? `${name}-${OTHER}` : segment))
        .join("/");
      return (
        patternMatchesPath(pattern, `${mount}/${renamed}`) ||
        otherMounts.some((otherMount) => patternMatchesPath(pattern, `${otherMount}/${suffix}`))
      );
    }),
  );
}

function transitActions(grant: AccessGrant): string[] {
  return grant.actions.filter((action) => action.startsWith("transit:"));
}

/** What is too broad about one allow grant on this key, in an auditor's words; empty when nothing is. */
function problemsOf(grant: AccessGrant, keyId: string): string[] {
  const problems: string[] = [];
  const actions = transitActions(grant);
  if (grant.principal === DEFAULT_POLICY && actions.length > 0) {
    problems.push(
      `the default policy (attached to every token) grants ${actions.join(", ")} via path "${grant.reference}"`,
    );
  }
  const spanning = grant.reference.split(" | ").filter((pattern) => patternSpansKeys(pattern, keyId));
  if (spanning.length > 0) {
    problems.push(
      `policy ${grant.principal} reaches the key through wildcard path "${spanning.join('", "')}", which matches other keys too`,
    );
  }
  if (grant.actions.includes("sudo")) {
    problems.push(`policy ${grant.principal} holds sudo on "${grant.reference}"`);
  }
  if (actions.includes("transit:delete-key")) {
    problems.push(`policy ${grant.principal} may delete the key via "${grant.reference}"`);
  }
  return problems;
}

function judge(key: KeyRecord) {
  const base = { ...keyFindingBase(key), evidence: accessPolicyEvidence(key) };
  if (!key.access.ok) {
    return makeFinding(metadata, {
      ...base,
      status: "error",
      message: `policies reaching the key unknown: ${describeCollectionError(key.access.error)}`,
    });
  }
  const allows = key.access.value.grants.filter(
    (grant) => grant.effect === "allow" && grant.via === "acl-policy",
  );
  // The policies are the key's namespace's, their paths relative to it: match `<mount>/<name>` there, not the
  // key id, which carries the namespace below the source's as a prefix.
  const transit = key.vaultTransitKey;
  const pathKeyId = transit === undefined ? key.keyId : `${transit.mount}/${transit.name}`;
  const problems = allows.flatMap((grant) => problemsOf(grant, pathKeyId));
  if (problems.length > 0) {
    // Problems contain commas, so they are joined with semicolons (summarizeList joins with commas).
    const more = problems.length > 4 ? `; and ${problems.length - 4} more` : "";
    return makeFinding(metadata, {
      ...base,
      status: "fail",
      message: `access is broader than least privilege: ${problems.slice(0, 4).join("; ")}${more}`,
    });
  }
  const undetermined = key.access.value.undetermined ?? [];
  if (undetermined.length > 0) {
    // Unknown is a warn, never a pass or a fail: someone must read these rules against the identities.
    return makeFinding(metadata, {
      ...base,
      status: "warn",
      message: `whether ${undetermined.length === 1 ? "a policy rule reaches" : `${undetermined.length} policy rules reach`} the key depends on the token's identity: ${undetermined
        .slice(0, 4)
        .map((entry) => `policy ${entry.principal}: ${entry.reason}`)
        .join(
          "; ",
        )}${undetermined.length > 4 ? `; and ${undetermined.length - 4} more` : ""}; review who can hold a token that matches`,
    });
  }
  const policies = [...new Set(allows.map((grant) => grant.principal))];
  return makeFinding(metadata, {
    ...base,
    status: "pass",
    message:
      policies.length === 0
        ? "no ACL policy grants access to the key (only root tokens can use it)"
        : `${policies.length} ${policies.length === 1 ? "policy names" : "policies name"} the key explicitly without sudo or delete: ${summarizeList(policies)}`,
  });
}

/**
 * Judges every Vault transit key on the ACL grants the provider computed: transit capabilities in `default`,
 * wildcards spanning keys, and `sudo`/`delete` on the key fail. The built-in `root` policy is not an ACL and
 * is never a grant; root tokens are a separate control.
 */
export const check: Check = {
  metadata,
  run(snapshot) {
    const findings = keysOf(snapshot, metadata.sourceTypes).map(judge);
    return [...findings, ...keyPopulationGapFindings(metadata, snapshot)];
  },
};
