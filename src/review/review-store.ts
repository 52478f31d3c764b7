import type { Cluster, Redis } from "ioredis";
import { z } from "zod";
import type { Config } from "../config/config.schema.ts";
import { redisKeys } from "../jobs/queue/redis-keys.ts";
import {
  REVIEW_DECISION_VALUES,
  REVIEW_ITEM_KINDS,
  type ReviewDecision,
  type ReviewItem,
  type ReviewRecord,
  type ReviewSignOff,
  type SignedReviewFact,
} from "../model/review.ts";

/**
 * Reviews live in the service's Redis (one hash per review), like runs and tokens: every API process and
 * every CLI on the deployment sees the same review, and concurrent writes are decided by Redis, atomically.
 *
 * Decisions are one hash field per item (`d:<itemId>`), each with a revision. A write names the revision it
 * was based on; a Lua script compares and writes all items of a request or none, so two browsers (or a
 * browser and `review import`) never overwrite each other silently. The script also refuses every write
 * once the review is signed, so the 409 after sign-off does not depend on the caller checking first.
 */

export type ReviewStatus = "open" | "signed";

export const ReviewEvidenceSchema = z.discriminatedUnion("state", [
  z.object({
    state: z.literal("sealed"),
    runId: z.string(),
    manifestSha256: z.string(),
    location: z.string().optional(),
  }),
  z.object({ state: z.literal("failed"), message: z.string(), at: z.string() }),
  z.object({ state: z.literal("pending"), requestedAt: z.string() }),
]);
export type ReviewEvidence = z.infer<typeof ReviewEvidenceSchema>;

/**
 * What sealing a signed review needs besides the review: the service's config (signer, storage, scope) and
 * where to write, recorded at sign-off like a run's plan, so the render worker that seals needs nothing else.
 */
export interface SealContext {
  config: Config;
  configDirectory: string;
  outDirectory: string;
}

export interface StoredReview {
  record: ReviewRecord;
  status: ReviewStatus;
  /** Increments with every accepted write; sign-off names the version it read. */
  version: number;
  evidence?: ReviewEvidence;
}

export interface DecisionWrite {
  itemId: string;
  /** The item's revision the writer saw: 0 when it saw no decision. */
  revision: number;
  decision: Omit<ReviewDecision, "revision">;
}

export type DecideOutcome =
  | { result: "saved"; version: number; decisions: Record<string, ReviewDecision> }
  | { result: "conflict"; conflicts: Array<{ itemId: string; current: ReviewDecision | null }> }
  | { result: "signed" }
  | { result: "missing" };

export type SignOutcome = { result: "signed" } | { result: "changed" | "already-signed" | "missing" };

const DecisionSchema = z.object({
  decision: z.enum(REVIEW_DECISION_VALUES),
  note: z.string(),
  ticketUrl: z.string().optional(),
  decidedBy: z.string(),
  decidedAt: z.string(),
  revision: z.number().int().nonnegative(),
});

const GrantSubjectSchema = z.object({
  principal: z.string(),
  principalType: z.string(),
  actions: z.array(z.string()),
  effect: z.enum(["allow", "deny"]),
  via: z.string(),
  reference: z.string(),
});

const ItemSchema = z.object({
  id: z.string(),
  kind: z.enum(REVIEW_ITEM_KINDS),
  source: z.string(),
  location: z.string().optional(),
  keyId: z.string().optional(),
  resource: z.string(),
  title: z.string(),
  status: z.string(),
  checkId: z.string().optional(),
  grant: GrantSubjectSchema.optional(),
  evidence: z.array(z.string()),
});

const MetaSchema = z.object({
  format: z.literal("keyproof-review/1"),
  id: z.string(),
  year: z.number().int(),
  organization: z.string(),
  sources: z.array(z.string()),
  bundle: z.object({
    runId: z.string(),
    manifestSha256: z.string(),
    location: z.string(),
    period: z.object({ label: z.string(), from: z.string(), to: z.string() }),
    capturedAt: z.string(),
  }),
  createdAt: z.string(),
  createdBy: z.string(),
});

const SignOffSchema = z.object({
  name: z.string(),
  title: z.string(),
  signedAt: z.string(),
  identity: z.object({ tokenName: z.string(), role: z.string(), tokenId: z.string() }),
  decisionsSha256: z.string(),
});

/** Compare-and-write of every decision of one request, or none. Returns JSON. */
const DECIDE_SCRIPT = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return cjson.encode({result = 'missing'}) end
if status ~= 'open' then return cjson.encode({result = 'signed'}) end
local writes = cjson.decode(ARGV[1])
local conflicts = {}
for _, write in ipairs(writes) do
  local current = redis.call('HGET', KEYS[1], 'd:' .. write.itemId)
  local revision = 0
  if current then revision = cjson.decode(current).revision end
  if revision ~= write.revision then
    table.insert(conflicts, {itemId = write.itemId, current = current or false})
  end
end
if #conflicts > 0 then return cjson.encode({result = 'conflict', conflicts = conflicts}) end
for _, write in ipairs(writes) do
  redis.call('HSET', KEYS[1], 'd:' .. write.itemId, write.stored)
end
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
return cjson.encode({result = 'saved', version = version})
`;

/** Signs only the version the signer read (nothing decided since) of an open review. */
const SIGN_SCRIPT = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
if status ~= 'open' then return 'already-signed' end
if redis.call('HGET', KEYS[1], 'version') ~= ARGV[1] then return 'changed' end
redis.call('HSET', KEYS[1], 'status', 'signed', 'signOff', ARGV[2])
return 'signed'
`;

export class ReviewStore {
  readonly #keys: ReturnType<typeof redisKeys>;

  constructor(
    readonly redis: Redis | Cluster,
    prefix: string,
  ) {
    this.#keys = redisKeys(prefix);
  }

  async create(record: Omit<ReviewRecord, "signOff">): Promise<void> {
    const { items, ...meta } = record;
    const bare = items.map(({ decision: _decision, ...item }) => item);
    await this.redis
      .multi()
      .hset(this.#keys.review(record.id), {
        meta: JSON.stringify(meta),
        items: JSON.stringify(bare),
        status: "open",
        version: "0",
      })
      .zadd(this.#keys.reviewIndex, Date.parse(record.createdAt), record.id)
      .exec();
  }

  async get(id: string): Promise<StoredReview | undefined> {
    const fields = await this.redis.hgetall(this.#keys.review(id));
    if (fields.meta === undefined || fields.items === undefined) return undefined;
    const meta = MetaSchema.parse(JSON.parse(fields.meta));
    const items = z.array(ItemSchema).parse(JSON.parse(fields.items)) as ReviewItem[];
    const decided = items.map((item) => {
      const stored = fields[`d:${item.id}`];
      if (stored === undefined) return item;
      return { ...item, decision: parseDecision(stored) };
    });
    const signOff =
      fields.signOff === undefined
        ? undefined
        : (SignOffSchema.parse(JSON.parse(fields.signOff)) as ReviewSignOff);
    const evidence =
      fields.evidence === undefined ? undefined : ReviewEvidenceSchema.parse(JSON.parse(fields.evidence));
    return {
      record: { ...meta, items: decided, ...(signOff === undefined ? {} : { signOff }) },
      status: fields.status === "signed" ? "signed" : "open",
      version: Number(fields.version ?? "0"),
      ...(evidence === undefined ? {} : { evidence }),
    };
  }

  /** Newest first. */
  async list(): Promise<StoredReview[]> {
    const ids = await this.redis.zrevrange(this.#keys.reviewIndex, 0, -1);
    const reviews: StoredReview[] = [];
    for (const id of ids) {
      const review = await this.get(id);
      if (review !== undefined) reviews.push(review);
    }
    return reviews;
  }

  async decide(id: string, writes: readonly DecisionWrite[]): Promise<DecideOutcome> {
    const decisions: Record<string, ReviewDecision> = {};
    const payload = writes.map((write) => {
      const decision: ReviewDecision = { ...write.decision, revision: write.revision + 1 };
      decisions[write.itemId] = decision;
      return { itemId: write.itemId, revision: write.revision, stored: JSON.stringify(decision) };
    });
    const raw = (await this.redis.eval(
      DECIDE_SCRIPT,
      1,
      this.#keys.review(id),
      JSON.stringify(payload),
    )) as string;
    const answer = JSON.parse(raw) as {
      result: "saved" | "conflict" | "signed" | "missing";
      version?: number;
      conflicts?: Array<{ itemId: string; current: string | false }>;
    };
    switch (answer.result) {
      case "saved":
        return { result: "saved", version: answer.version ?? 0, decisions };
      case "conflict":
        return {
          result: "conflict",
          conflicts: (answer.conflicts ?? []).map((conflict) => ({
            itemId: conflict.itemId,
            current: conflict.current === false ? null : parseDecision(conflict.current),
          })),
        };
      default:
        return { result: answer.result };
    }
  }

  async sign(id: string, expectedVersion: number, signOff: ReviewSignOff): Promise<SignOutcome> {
    const result = (await this.redis.eval(
      SIGN_SCRIPT,
      1,
      this.#keys.review(id),
      String(expectedVersion),
      JSON.stringify(signOff),
    )) as string;
    return { result: result as SignOutcome["result"] };
  }

  /** Records how to seal and marks the evidence pending; returns the request number (1, 2, ...), for the job id. */
  async requestSeal(id: string, context: SealContext, now = new Date()): Promise<number> {
    const pending: ReviewEvidence = { state: "pending", requestedAt: now.toISOString() };
    const results = await this.redis
      .multi()
      .hset(this.#keys.review(id), { sealWith: JSON.stringify(context), evidence: JSON.stringify(pending) })
      .hincrby(this.#keys.review(id), "sealRequests", 1)
      .exec();
    const count = results?.[1]?.[1];
    return typeof count === "number" ? count : 1;
  }

  async sealContext(id: string): Promise<SealContext | undefined> {
    const raw = await this.redis.hget(this.#keys.review(id), "sealWith");
    return raw === null ? undefined : (JSON.parse(raw) as SealContext);
  }

  async recordEvidence(id: string, evidence: ReviewEvidence): Promise<void> {
    await this.redis.hset(this.#keys.review(id), "evidence", JSON.stringify(evidence));
  }

  /** What later runs judge review coverage by (src/jobs/governance-facts.ts reads it). */
  async recordSignedFact(fact: SignedReviewFact): Promise<void> {
    await this.redis.hset(this.#keys.signedReviewFacts, fact.id, JSON.stringify(fact));
  }
}

function parseDecision(stored: string): ReviewDecision {
  const parsed = DecisionSchema.parse(JSON.parse(stored));
  return {
    decision: parsed.decision,
    note: parsed.note,
    ...(parsed.ticketUrl === undefined ? {} : { ticketUrl: parsed.ticketUrl }),
    decidedBy: parsed.decidedBy,
    decidedAt: parsed.decidedAt,
    revision: parsed.revision,
  };
}
