import type { Cluster, Redis } from "ioredis";
import { z } from "zod";
import { KeyproofError } from "../errors/errors.ts";
import { redisKeys } from "../jobs/queue/redis-keys.ts";
import type { ProcedureApproval, ProcedureIdentity } from "../model/review.ts";

/**
 * Approvals of the key-management procedure text (procedure step 6), kept in the service's Redis as a list,
 * newest first. An approval is never edited or removed: a changed procedure needs a new one, and the old
 * ones stay as the history an auditor may ask for.
 */

export const ProcedureApprovalSchema = z.strictObject({
  version: z.string().min(1),
  textSha256: z.string().regex(/^[0-9a-f]{64}$/),
  name: z.string(),
  title: z.string(),
  approvedAt: z.string(),
  recordedBy: z.string().min(1),
}) satisfies z.ZodType<ProcedureApproval>;

/** Most approvals `listApprovals` returns when not told otherwise. */
export const DEFAULT_APPROVAL_LIST_LIMIT = 100;
export const MAX_APPROVER_FIELD_LENGTH = 200;

/**
 * A name or title as a signature shows it: printable (no control or format characters, which could hide
 * or reorder text), not blank, at most 200 characters. `field` names the flag or body field in the error.
 */
export function validateApproverField(field: string, value: string): string {
  const trimmed = value.trim();
  if (trimmed.length === 0) throw new KeyproofError("ARGUMENT_INVALID", `${field}: must not be empty`);
  if ([...trimmed].length > MAX_APPROVER_FIELD_LENGTH)
    throw new KeyproofError(
      "ARGUMENT_INVALID",
      `${field}: at most ${MAX_APPROVER_FIELD_LENGTH} characters (got ${[...trimmed].length})`,
    );
  if (/\p{C}/u.test(trimmed))
    throw new KeyproofError(
      "ARGUMENT_INVALID",
      `${field}: printable characters only (no control characters)`,
    );
  return trimmed;
}

function parseApproval(text: string, key: string): ProcedureApproval {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new KeyproofError("INTERNAL", `${key} holds an entry that is not JSON`, { cause: error });
  }
  const result = ProcedureApprovalSchema.safeParse(parsed);
  if (!result.success)
    throw new KeyproofError(
      "INTERNAL",
      `${key} holds an entry that is not an approval: ${result.error.message}`,
    );
  return result.data;
}

export class ProcedureApprovalStore {
  readonly #key: string;

  constructor(
    readonly redis: Redis | Cluster,
    prefix: string,
  ) {
    this.#key = redisKeys(prefix).procedureApprovals;
  }

  /** Records an approval of `procedure` (the current text's identity) by a person; `now` is the approval time. */
  async recordApproval(input: {
    procedure: ProcedureIdentity;
    name: string;
    title: string;
    recordedBy: string;
    now?: Date;
    /** How errors name the two fields: the CLI flags by default, the body fields for the API. */
    fieldNames?: { name: string; title: string };
  }): Promise<ProcedureApproval> {
    const fields = input.fieldNames ?? { name: "--name", title: "--title" };
    const approval: ProcedureApproval = {
      version: input.procedure.version,
      textSha256: input.procedure.textSha256,
      name: validateApproverField(fields.name, input.name),
      title: validateApproverField(fields.title, input.title),
      approvedAt: (input.now ?? new Date()).toISOString(),
      recordedBy: input.recordedBy,
    };
    await this.redis.lpush(this.#key, JSON.stringify(approval));
    return approval;
  }

  async latestApproval(): Promise<ProcedureApproval | undefined> {
    const text = await this.redis.lindex(this.#key, 0);
    return text === null ? undefined : parseApproval(text, this.#key);
  }

  /** Newest first. */
  async listApprovals(limit = DEFAULT_APPROVAL_LIST_LIMIT): Promise<ProcedureApproval[]> {
    const texts = await this.redis.lrange(this.#key, 0, Math.max(0, limit - 1));
    return texts.map((text) => parseApproval(text, this.#key));
  }
}
