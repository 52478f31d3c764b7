/**
 * Which ACL policy reaches which transit key, with Vault's own matching rules. Pure: no I/O.
 *
 * Matching follows vault/acl.go (`NewACL`, `AllowOperation`, `CheckAllowedFromNonExactPaths`) for one policy:
 * rules with the same pattern merge (capabilities union, `deny` wins); an exact rule beats everything; else the
 * longest `*` prefix rule and every matching `+` rule compete by priority (later first wildcard, non-prefix,
 * fewer `+`, longer, lexicographically greater). Each policy is evaluated on its own because which policies a
 * token combines is not known from the policy list; a `deny` in another policy is therefore not applied here
 * and shows up as a separate `deny` grant.
 */
import type { AccessGrant, UndeterminedAccess } from "../model/key.ts";
import type { PolicyPathRule } from "./vault-policy.parser.ts";

interface Permissions {
  capabilities: Set<string>;
  /** Patterns as written that merged into this entry (usually one). */
  patterns: string[];
  conditions: Array<Record<string, unknown>>;
}

interface SegmentRule {
  /** The pattern with its trailing `*` removed when `isPrefix`. */
  path: string;
  isPrefix: boolean;
  permissions: Permissions;
}

/** One policy compiled the way Vault compiles it. */
export interface CompiledPolicy {
  name: string;
  exact: Map<string, Permissions>;
  prefix: Map<string, Permissions>;
  segment: Map<string, SegmentRule>;
  /** Rules with templated segments (`{{identity.entity.name}}`): Vault fills them per token. */
  templated: PolicyPathRule[];
}

/** A Vault policy template, e.g. `{{identity.entity.metadata.team}}`. */
const TEMPLATE = /\{\{[^}]*\}\}/g;

function mergeInto(existing: Permissions | undefined, rule: PolicyPathRule): Permissions {
  const conditions = Object.keys(rule.conditions).length > 0 ? [rule.conditions] : [];
  if (existing === undefined) {
    return { capabilities: new Set(rule.capabilities), patterns: [rule.pattern], conditions };
  }
  existing.patterns = [...new Set([...existing.patterns, rule.pattern])];
  existing.conditions.push(...conditions);
  if (existing.capabilities.has("deny")) return existing;
  if (rule.capabilities.includes("deny")) {
    existing.capabilities = new Set(["deny"]);
    return existing;
  }
  for (const capability of rule.capabilities) existing.capabilities.add(capability);
  return existing;
}

/** vault/policy.go: `+` as a whole segment makes a segment-wildcard rule; a trailing `*` otherwise makes a prefix rule. */
function hasSegmentWildcards(pattern: string): boolean {
  return pattern === "+" || pattern.includes("/+") || pattern.startsWith("+/");
}

export function compilePolicy(name: string, rules: readonly PolicyPathRule[]): CompiledPolicy {
  const compiled: CompiledPolicy = {
    name,
    exact: new Map(),
    prefix: new Map(),
    segment: new Map(),
    templated: [],
  };
  for (const rule of rules) {
    const pattern = rule.pattern;
    if (pattern.match(TEMPLATE) !== null) {
      // Compiled literally (as Vault would before templating) too, but its reach is judged separately.
      compiled.templated.push(rule);
    }
    if (hasSegmentWildcards(pattern)) {
      const isPrefix = pattern.endsWith("*");
      const path = isPrefix ? pattern.slice(0, -1) : pattern;
      const existing = compiled.segment.get(pattern);
      compiled.segment.set(pattern, { path, isPrefix, permissions: mergeInto(existing?.permissions, rule) });
    } else if (pattern.endsWith("*")) {
      const path = pattern.slice(0, -1);
      compiled.prefix.set(path, mergeInto(compiled.prefix.get(path), rule));
    } else {
      compiled.exact.set(pattern, mergeInto(compiled.exact.get(pattern), rule));
    }
  }
  return compiled;
}

interface Candidate {
  firstWildcard: number;
  isPrefix: boolean;
  wildcards: number;
  path: string;
  permissions: Permissions;
}

/** vault/acl.go `less`: true when `a` has lower priority than `b`. */
function lowerPriority(a: Candidate, b: Candidate): number {
  if (a.firstWildcard !== b.firstWildcard) return a.firstWildcard < b.firstWildcard ? -1 : 1;
  if (a.isPrefix !== b.isPrefix) return a.isPrefix ? -1 : 1;
  if (a.wildcards !== b.wildcards) return a.wildcards > b.wildcards ? -1 : 1;
  if (a.path.length !== b.path.length) return a.path.length < b.path.length ? -1 : 1;
  if (a.path !== b.path) return a.path < b.path ? -1 : 1;
  return 0;
}

function matchSegmentRule(rule: SegmentRule, pathParts: string[]): { wildcards: number } | undefined {
  const ruleParts = rule.path.split("/");
  if (pathParts.length < ruleParts.length) return undefined;
  if (!rule.isPrefix && ruleParts.length !== pathParts.length) return undefined;
  let wildcards = 0;
  for (let index = 0; index < ruleParts.length; index++) {
    const rulePart = ruleParts[index] ?? "";
    const pathPart = pathParts[index] ?? "";
    if (rulePart === "+") {
      wildcards += 1;
    } else if (rulePart === pathPart) {
      continue;
    } else if (rule.isPrefix && index === ruleParts.length - 1 && pathPart.startsWith(rulePart)) {
      continue;
    } else {
      return undefined;
    }
  }
  return { wildcards };
}

/** The permissions one policy gives on a concrete request path, or undefined when no rule matches. */
export function evaluatePath(policy: CompiledPolicy, requestPath: string): Permissions | undefined {
  const path = requestPath.replace(/^\/+/, "");
  const exact = policy.exact.get(path);
  if (exact !== undefined) return exact;

  let longest: { prefix: string; permissions: Permissions } | undefined;
  for (const [prefix, permissions] of policy.prefix) {
    if (path.startsWith(prefix) && (longest === undefined || prefix.length > longest.prefix.length)) {
      longest = { prefix, permissions };
    }
  }
  if (policy.segment.size === 0) return longest?.permissions;

  const candidates: Candidate[] = [];
  if (longest !== undefined) {
    candidates.push({
      firstWildcard: longest.prefix.length,
      isPrefix: true,
      wildcards: 0,
      path: longest.prefix,
      permissions: longest.permissions,
    });
  }
  const pathParts = path.split("/");
  for (const [pattern, rule] of policy.segment) {
    const match = matchSegmentRule(rule, pathParts);
    if (match === undefined) continue;
    candidates.push({
      firstWildcard: pattern.indexOf("+"),
      isPrefix: rule.isPrefix,
      wildcards: match.wildcards,
      path: rule.path,
      permissions: rule.permissions,
    });
  }
  candidates.sort(lowerPriority);
  return candidates[candidates.length - 1]?.permissions;
}

/** True when the pattern (as written in a policy) matches the concrete path on its own. */
export function patternMatchesPath(pattern: string, requestPath: string): boolean {
  const compiled = compilePolicy("", [{ pattern, capabilities: ["read"], conditions: {}, line: 0 }]);
  return evaluatePath(compiled, requestPath) !== undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Transit operations on one key

/** Hash algorithms transit accepts as a URL suffix on sign/verify/hmac (`sign/<key>/sha2-256`). */
const URL_ALGORITHMS = [
  "sha1",
  "sha2-224",
  "sha2-256",
  "sha2-384",
  "sha2-512",
  "sha3-224",
  "sha3-256",
  "sha3-384",
  "sha3-512",
  "none",
];

const SECRET_EXPORT_TYPES = ["encryption-key", "signing-key", "hmac-key"];
const PUBLIC_EXPORT_TYPES = ["public-key", "certificate-chain"];

/** A transit operation on a key: the request paths that perform it and the capabilities any one of which allows it. */
export interface TransitOperation {
  action: string;
  paths: string[];
  capabilities: string[];
}

export interface TransitKeyTarget {
  /** Mount path without the trailing slash: `transit`, `team-a/transit`. */
  mount: string;
  name: string;
  latestVersion?: number;
  /** Other key names of the same mount: `byok-export/<destination>/<key>` names one of them. */
  siblingNames?: readonly string[];
}

const WRITE = ["create", "update"];

/**
 * Every request path (transit API as listed by `bao path-help transit/`) through which a token can use,
 * manage or extract one key. Open-ended suffixes (hash algorithm, export version, BYOK destination) are
 * enumerated from the values transit accepts, so a rule naming one of them is seen.
 */
export function transitOperations(target: TransitKeyTarget): TransitOperation[] {
  const base = target.mount.replace(/\/+$/, "");
  const key = target.name;
  const withAlgorithms = (operation: string): string[] => [
    `${base}/${operation}/${key}`,
    ...URL_ALGORITHMS.map((algorithm) => `${base}/${operation}/${key}/${algorithm}`),
  ];
  const versions = [
    "latest",
    ...Array.from({ length: target.latestVersion ?? 1 }, (_, index) => String(index + 1)),
  ];
  const exportPaths = (types: string[]): string[] =>
    types.flatMap((type) => [
      `${base}/export/${type}/${key}`,
      ...versions.map((version) => `${base}/export/${type}/${key}/${version}`),
    ]);
  const destinations = [...new Set([...(target.siblingNames ?? []), key])];
  return [
    { action: "transit:encrypt", paths: [`${base}/encrypt/${key}`], capabilities: WRITE },
    { action: "transit:decrypt", paths: [`${base}/decrypt/${key}`], capabilities: ["update"] },
    { action: "transit:rewrap", paths: [`${base}/rewrap/${key}`], capabilities: ["update"] },
    {
      action: "transit:generate-data-key",
      paths: [`${base}/datakey/plaintext/${key}`, `${base}/datakey/wrapped/${key}`],
      capabilities: ["update"],
    },
    { action: "transit:sign", paths: withAlgorithms("sign"), capabilities: ["update"] },
    { action: "transit:verify", paths: withAlgorithms("verify"), capabilities: ["update"] },
    { action: "transit:hmac", paths: withAlgorithms("hmac"), capabilities: ["update"] },
    { action: "transit:derive-key", paths: [`${base}/derive-key/${key}`], capabilities: ["update"] },
    { action: "transit:read-key", paths: [`${base}/keys/${key}`], capabilities: ["read"] },
    { action: "transit:create-key", paths: [`${base}/keys/${key}`], capabilities: WRITE },
    { action: "transit:delete-key", paths: [`${base}/keys/${key}`], capabilities: ["delete"] },
    { action: "transit:configure-key", paths: [`${base}/keys/${key}/config`], capabilities: WRITE },
    { action: "transit:rotate-key", paths: [`${base}/keys/${key}/rotate`], capabilities: WRITE },
    { action: "transit:trim-key", paths: [`${base}/keys/${key}/trim`], capabilities: WRITE },
    {
      action: "transit:import-key",
      paths: [`${base}/keys/${key}/import`, `${base}/keys/${key}/import_version`],
      capabilities: WRITE,
    },
    {
      action: "transit:soft-delete-key",
      paths: [`${base}/keys/${key}/soft-delete`, `${base}/keys/${key}/soft-delete-restore`],
      capabilities: WRITE,
    },
    {
      action: "transit:manage-certificate",
      paths: [`${base}/keys/${key}/csr`, `${base}/keys/${key}/set-certificate`],
      capabilities: WRITE,
    },
    { action: "transit:export-key", paths: exportPaths(SECRET_EXPORT_TYPES), capabilities: ["read"] },
    { action: "transit:export-public-key", paths: exportPaths(PUBLIC_EXPORT_TYPES), capabilities: ["read"] },
    {
      action: "transit:byok-export-key",
      paths: destinations.flatMap((destination) => [
        `${base}/byok-export/${destination}/${key}`,
        ...versions.map((version) => `${base}/byok-export/${destination}/${key}/${version}`),
      ]),
      capabilities: ["read"],
    },
    { action: "transit:backup-key", paths: [`${base}/backup/${key}`], capabilities: ["read"] },
    // `restore` without a name takes it from the backup; with `force` it overwrites an existing key.
    {
      action: "transit:restore-key",
      paths: [`${base}/restore/${key}`, `${base}/restore`],
      capabilities: WRITE,
    },
  ];
}

/** Capabilities that change nothing on their own but are kept on a grant (sudo widens `sys/` paths, list names keys). */
const KEPT_CAPABILITY_ORDER = [
  "create",
  "read",
  "update",
  "patch",
  "delete",
  "list",
  "sudo",
  "deny",
  "recover",
  "subscribe",
  "scan",
  "stream",
];

function sortCapabilities(capabilities: Iterable<string>): string[] {
  return [...new Set(capabilities)].sort(
    (a, b) => KEPT_CAPABILITY_ORDER.indexOf(a) - KEPT_CAPABILITY_ORDER.indexOf(b) || a.localeCompare(b),
  );
}

/**
 * The grants one policy gives on one key: one per winning rule and effect. `actions` lists the transit
 * operations the rule allows (or denies) on the key, then the rule's raw capabilities; `reference` is the
 * pattern as written, `conditions` the rule's parameter constraints when it has some.
 */
export function grantsForKey(policy: CompiledPolicy, target: TransitKeyTarget): AccessGrant[] {
  const byRule = new Map<Permissions, { allowed: Set<string>; denied: Set<string> }>();
  for (const operation of transitOperations(target)) {
    for (const path of operation.paths) {
      const permissions = evaluatePath(policy, path);
      if (permissions === undefined) continue;
      const entry = byRule.get(permissions) ?? { allowed: new Set<string>(), denied: new Set<string>() };
      byRule.set(permissions, entry);
      if (permissions.capabilities.has("deny")) entry.denied.add(operation.action);
      else if (operation.capabilities.some((capability) => permissions.capabilities.has(capability))) {
        entry.allowed.add(operation.action);
      }
    }
  }
  const grants: AccessGrant[] = [];
  for (const [permissions, entry] of byRule) {
    const reference = permissions.patterns.join(" | ");
    const conditions =
      permissions.conditions.length === 0
        ? undefined
        : permissions.conditions.length === 1
          ? permissions.conditions[0]
          : { merged: permissions.conditions };
    for (const [effect, actions] of [
      ["allow", entry.allowed],
      ["deny", entry.denied],
    ] as const) {
      if (actions.size === 0) continue;
      const grant: AccessGrant = {
        principal: policy.name,
        principalKind: "policy",
        effect,
        actions: [...[...actions].sort(), ...sortCapabilities(permissions.capabilities)],
        via: "acl-policy",
        reference,
      };
      if (conditions !== undefined) grant.conditions = conditions;
      grants.push(grant);
    }
  }
  return grants.sort((a, b) => a.reference.localeCompare(b.reference) || a.effect.localeCompare(b.effect));
}

/**
 * Templated rules of the policy that reach the key for some token: a template may become any segment text,
 * so whether the rule applies depends on who holds the token, which the policy list cannot tell. Deny rules
 * are left out (they only narrow access). Pure.
 */
export function undeterminedRulesForKey(
  policy: CompiledPolicy,
  target: TransitKeyTarget,
): UndeterminedAccess[] {
  const paths = transitOperations(target).flatMap((operation) => operation.paths);
  return policy.templated
    .filter((rule) => !rule.capabilities.includes("deny") && rule.capabilities.length > 0)
    .filter((rule) => {
      const expression = templatedPatternExpression(rule.pattern);
      return paths.some((path) => expression.test(path));
    })
    .map((rule) => ({
      principal: policy.name,
      reference: rule.pattern,
      reason: `templated path "${rule.pattern}" (${sortCapabilities(rule.capabilities).join(", ")}) resolves per token identity and may reach this key`,
    }));
}

/** The pattern as a regular expression: each template any text within a segment, `+` one segment, a trailing `*` any suffix. */
function templatedPatternExpression(pattern: string): RegExp {
  const isPrefix = pattern.endsWith("*");
  const body = isPrefix ? pattern.slice(0, -1) : pattern;
  const source = body
    .split("/")
    .map((segment) =>
      segment === "+"
        ? "[^/]+"
        : segment
            .split(TEMPLATE)
            .map((literal) => literal.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
            .join("[^/]*"),
    )
    .join("/");
  return new RegExp(`^${source}${isPrefix ? ".*" : ""}$`);
}
