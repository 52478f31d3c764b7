import type { Cluster, Redis } from "ioredis";
import { z } from "zod";
import { redisKeys } from "./redis-keys.ts";

/**
 * Every API access (who, what, when) goes to a Redis list; the next run to seal claims the whole list
 * and writes it into its bundle as `api-access-log.json`. The claim is a RENAME to a per-run key, done
 * once: a retried seal reads the same entries again, and accesses made meanwhile wait for the next run.
 */

export const API_ACCESS_LOG_FILE = "api-access-log.json";

export const AccessEntrySchema = z.object({
  /** UTC ISO-8601 */
  at: z.string(),
  /** Token name and role; `anonymous` when no valid token was shown. */
  actor: z.string(),
  role: z.string(),
  method: z.string(),
  /** Path without query string: query values may be user input, never logged verbatim. */
  path: z.string(),
  status: z.number().int(),
  /** The run the request was about, when there is one. */
  runId: z.string().optional(),
  remoteAddress: z.string().optional(),
});
export type AccessEntry = z.infer<typeof AccessEntrySchema>;

/** Bounded so an API hammered between two runs cannot fill Redis (noeviction would then refuse writes). */
const MAX_PENDING_ENTRIES = 100_000;
const CLAIMED_TTL_SECONDS = 30 * 24 * 3600;

/** KEYS: pending list, run list. ARGV: ttl. */
const CLAIM = `
if redis.call('EXISTS', KEYS[2]) == 0 then
  if redis.call('EXISTS', KEYS[1]) == 1 then
    redis.call('RENAME', KEYS[1], KEYS[2])
  else
    redis.call('RPUSH', KEYS[2], '')
  end
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[1]))
end
return redis.call('LRANGE', KEYS[2], 0, -1)
`;

export async function appendAccessEntry(
  redis: Redis | Cluster,
  prefix: string,
  entry: AccessEntry,
): Promise<void> {
  const key = redisKeys(prefix).accessLog;
  await redis.multi().rpush(key, JSON.stringify(entry)).ltrim(key, -MAX_PENDING_ENTRIES, -1).exec();
}

/** Pending entries, oldest first, without claiming them. */
export async function readPendingAccessEntries(
  redis: Redis | Cluster,
  prefix: string,
): Promise<AccessEntry[]> {
  return parseEntries(await redis.lrange(redisKeys(prefix).accessLog, 0, -1));
}

export async function claimAccessEntries(
  redis: Redis | Cluster,
  prefix: string,
  runId: string,
): Promise<AccessEntry[]> {
  const keys = redisKeys(prefix);
  const raw = (await redis.eval(
    CLAIM,
    2,
    keys.accessLog,
    keys.runAccessLog(runId),
    String(CLAIMED_TTL_SECONDS),
  )) as string[];
  return parseEntries(raw);
}

function parseEntries(raw: string[]): AccessEntry[] {
  const entries: AccessEntry[] = [];
  for (const line of raw) {
    // The empty marker records "claimed, nothing pending" so a retry does not claim later accesses.
    if (line === "") continue;
    const parsed = AccessEntrySchema.safeParse(safeJson(line));
    // An entry another keyproof version wrote differently is still evidence: kept, marked, never dropped.
    entries.push(
      parsed.success
        ? parsed.data
        : { at: "", actor: "(unreadable entry)", role: "", method: "", path: line.slice(0, 500), status: 0 },
    );
  }
  return entries;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
