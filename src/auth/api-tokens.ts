import { createHash, randomBytes } from "node:crypto";
import type { Cluster, Redis } from "ioredis";
import { z } from "zod";
import { KeyproofError } from "../errors/errors.ts";
import { redisKeys } from "../jobs/queue/redis-keys.ts";

/**
 * Bearer tokens for the HTTP API. A token is 32 random bytes shown once at creation; Redis keeps only
 * its SHA-256, so a Redis dump does not hand out API access. Lookup is by digest (no secret comparison
 * happens, so there is nothing to time). Revoking deletes the digest: the next request is refused.
 */

export const API_ROLES = ["auditor", "operator", "reviewer"] as const;
export type ApiRole = (typeof API_ROLES)[number];

/**
 * What each role may do. Auditors request and download evidence and read signed reviews; operators also
 * manage schedules and the queue dashboard. Reviewers (the Security Analyst of procedure step 7, the
 * approver of step 6) open, decide and sign reviews and approve the procedure; nobody else may, so a
 * signature on a review always names a reviewer token.
 */
export const ROLE_PERMISSIONS = {
  auditor: ["request-evidence", "read-runs", "download", "read-signed-reviews"],
  operator: [
    "request-evidence",
    "read-runs",
    "download",
    "manage-schedules",
    "view-queues",
    "read-signed-reviews",
  ],
  reviewer: [
    "read-runs",
    "download",
    "read-signed-reviews",
    "read-reviews",
    "decide-reviews",
    "approve-procedure",
  ],
} as const satisfies Record<ApiRole, readonly string[]>;
export type Permission = (typeof ROLE_PERMISSIONS)[ApiRole][number];

export function roleAllows(role: ApiRole, permission: Permission): boolean {
  return (ROLE_PERMISSIONS[role] as readonly string[]).includes(permission);
}

const TokenRecordSchema = z.object({
  /** First 12 hex characters of the digest: enough to name a token in lists and logs, useless to authenticate. */
  id: z.string(),
  name: z.string(),
  role: z.enum(API_ROLES),
  createdAt: z.string(),
});
export type TokenRecord = z.infer<typeof TokenRecordSchema>;

export const TOKEN_PREFIX = "kpt_";
/**
 * A person's name and role read as such ("Ana (Security Analyst)"): the reviewer's token name is the identity
 * a signed review records. Printable characters only, no leading or trailing space, at most 100.
 */
export const TokenNameSchema = z
  .string()
  .regex(
    /^[^\s\p{C}](?:[^\p{C}]{0,98}[^\s\p{C}])?$/u,
    "must be 1-100 printable characters, not starting or ending with a space",
  );

export function digestToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

export class ApiTokenStore {
  readonly #key: string;

  constructor(
    readonly redis: Redis | Cluster,
    prefix: string,
  ) {
    this.#key = redisKeys(prefix).tokens;
  }

  /** Returns the token itself exactly once; only its digest is stored. Names are unique among live tokens. */
  async create(
    input: { name: string; role: ApiRole },
    now = new Date(),
  ): Promise<{ token: string; record: TokenRecord }> {
    const name = TokenNameSchema.safeParse(input.name);
    if (!name.success)
      throw new KeyproofError("ARGUMENT_INVALID", `--name: ${name.error.issues[0]?.message ?? "invalid"}`);
    if (!(API_ROLES as readonly string[]).includes(input.role)) {
      throw new KeyproofError("ARGUMENT_INVALID", `--role: must be one of ${API_ROLES.join(", ")}`);
    }
    if ((await this.list()).some((record) => record.name === input.name)) {
      throw new KeyproofError("ARGUMENT_INVALID", `--name: a token named "${input.name}" exists`, {
        remediation: `revoke it first (keyproof token revoke ${input.name}) or choose another name`,
      });
    }
    const token = `${TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
    const digest = digestToken(token);
    const record: TokenRecord = {
      id: digest.slice(0, 12),
      name: input.name,
      role: input.role,
      createdAt: now.toISOString(),
    };
    await this.redis.hset(this.#key, digest, JSON.stringify(record));
    return { token, record };
  }

  /** The token's record, or undefined for an unknown, revoked or malformed token. */
  async verify(token: string): Promise<TokenRecord | undefined> {
    if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return undefined;
    const raw = await this.redis.hget(this.#key, digestToken(token));
    if (raw === null) return undefined;
    const parsed = TokenRecordSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  }

  async list(): Promise<TokenRecord[]> {
    const all = await this.redis.hvals(this.#key);
    return all
      .map((raw) => TokenRecordSchema.safeParse(JSON.parse(raw)))
      .flatMap((parsed) => (parsed.success ? [parsed.data] : []))
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name));
  }

  /** Revokes by name or id. Returns the revoked record, or undefined when none matched. */
  async revoke(nameOrId: string): Promise<TokenRecord | undefined> {
    const entries = await this.redis.hgetall(this.#key);
    for (const [digest, raw] of Object.entries(entries)) {
      const parsed = TokenRecordSchema.safeParse(JSON.parse(raw));
      if (!parsed.success) continue;
      if (parsed.data.name === nameOrId || parsed.data.id === nameOrId) {
        await this.redis.hdel(this.#key, digest);
        return parsed.data;
      }
    }
    return undefined;
  }
}

/** `Authorization: Bearer <token>` → the token, or undefined. */
export function bearerTokenOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
