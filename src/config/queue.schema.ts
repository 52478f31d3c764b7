import { CronExpressionParser } from "cron-parser";
import { z } from "zod";

/** A name of an environment variable: secrets are read from the environment, never from the file. */
const EnvironmentVariableNameSchema = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]{0,127}$/,
    "must be the name of an environment variable (letters, digits, _)",
  );

const RedisEndpointSchema = z.strictObject({
  host: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[^\s,/@?#]+$/, "must be a host name or address"),
  port: z.number().int().min(1).max(65535),
});

/**
 * TLS towards Redis (and the sentinels). `tls: {}` turns TLS on with the system's CAs; `caFile` trusts a
 * private CA (self-signed certificates); `certFile` + `keyFile` present a client certificate.
 */
export const RedisTlsSchema = z
  .strictObject({
    caFile: z.string().min(1).optional(),
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    /** The name the server's certificate is checked against, when it differs from the host connected to. */
    servername: z.string().min(1).max(255).optional(),
  })
  .refine((tls) => (tls.certFile === undefined) === (tls.keyFile === undefined), {
    message: "certFile and keyFile go together (a client certificate needs its key)",
  });

/**
 * `queue.redis`: how to reach Redis when a URL is not enough. Exactly one of `url`, `sentinels` (with
 * `name`) or `cluster`. Passwords only as names of environment variables (`passwordEnv`).
 */
export const RedisSettingsSchema = z
  .strictObject({
    /** `redis://host:port[/db]` or `rediss://` (TLS); a password in it is taken as is. */
    url: z
      .string()
      .regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL")
      .optional(),
    /** Sentinels to ask for the current master of `name` (ioredis `sentinels`); three is the usual. */
    sentinels: z.array(RedisEndpointSchema).min(1).max(32).optional(),
    /** The master group name the sentinels monitor (`sentinel monitor <name> ...`). */
    name: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,128}$/, "must be the sentinels' master name (letters, digits, . _ -)")
      .optional(),
    /** Redis Cluster: some of its nodes (the rest are discovered). The queue prefix is hash-tagged. */
    cluster: z.strictObject({ nodes: z.array(RedisEndpointSchema).min(1).max(64) }).optional(),
    /** ACL user of the Redis nodes (not a secret). */
    username: z.string().min(1).max(128).optional(),
    /** Environment variable holding the Redis password (the data nodes' `requirepass` / ACL password). */
    passwordEnv: EnvironmentVariableNameSchema.optional(),
    /** ACL user of the sentinels, when they require one. */
    sentinelUsername: z.string().min(1).max(128).optional(),
    /** Environment variable holding the sentinels' password (`requirepass` of the sentinels). */
    sentinelPasswordEnv: EnvironmentVariableNameSchema.optional(),
    /** Database number (not with `cluster`: a cluster has only database 0). */
    db: z.number().int().min(0).max(1023).optional(),
    tls: RedisTlsSchema.optional(),
  })
  .superRefine((redis, context) => {
    const kinds = (["url", "sentinels", "cluster"] as const).filter((kind) => redis[kind] !== undefined);
    if (kinds.length !== 1) {
      context.addIssue({
        code: "custom",
        message:
          kinds.length === 0
            ? "needs one of url, sentinels (with name) or cluster"
            : `takes one of url, sentinels or cluster, not ${kinds.join(" and ")}`,
      });
    }
    if (redis.sentinels !== undefined && redis.name === undefined) {
      context.addIssue({
        code: "custom",
        path: ["name"],
        message: "is required with sentinels (the master name)",
      });
    }
    if (redis.name !== undefined && redis.sentinels === undefined) {
      context.addIssue({ code: "custom", path: ["name"], message: "only goes with sentinels" });
    }
    for (const field of ["sentinelUsername", "sentinelPasswordEnv"] as const) {
      if (redis[field] !== undefined && redis.sentinels === undefined) {
        context.addIssue({ code: "custom", path: [field], message: "only goes with sentinels" });
      }
    }
    if (redis.db !== undefined && redis.cluster !== undefined) {
      context.addIssue({ code: "custom", path: ["db"], message: "a Redis Cluster has only database 0" });
    }
    if (redis.db !== undefined && redis.url !== undefined) {
      context.addIssue({ code: "custom", path: ["db"], message: "goes in the URL (redis://host:port/<db>)" });
    }
  });
export type RedisSettings = z.infer<typeof RedisSettingsSchema>;

/** `name`, or `{name}`: a hash-tagged prefix, which Redis Cluster needs (one slot for all of a queue's keys). */
export const QUEUE_PREFIX_PATTERN = /^(?:[A-Za-z0-9_-]{1,64}|\{[A-Za-z0-9_-]{1,64}\})$/;

/**
 * Settings of the queued service: the `queue:` section of keyproof.yaml (the config schema embeds this
 * schema). Environment variables win over it: `REDIS_URL`, `KEYPROOF_QUEUE_PREFIX`, `KEYPROOF_DATA_DIR`.
 */
export const QueueSettingsSchema = z.strictObject({
  /**
   * `redis://[user:password@]host:port[/db]`; `rediss://` for TLS; `redis+sentinel://` and
   * `redis+cluster://` (see `redis`, which spells the same out field by field).
   */
  redisUrl: z
    .string()
    .regex(
      /^rediss?(?:\+sentinel|\+cluster)?:\/\//,
      "must be a redis://, rediss://, redis+sentinel:// or redis+cluster:// URL",
    )
    .optional(),
  /** Sentinel, Cluster, TLS files and passwords from the environment; instead of `redisUrl`. */
  redis: RedisSettingsSchema.optional(),
  /**
   * BullMQ key prefix and the namespace of keyproof's own Redis keys. Two deployments (or two tests)
   * sharing one Redis must use different prefixes. With a Redis Cluster it is hash-tagged (`{keyproof}`)
   * automatically, so BullMQ's and keyproof's multi-key scripts find all their keys in one slot.
   */
  prefix: z
    .string()
    .regex(
      QUEUE_PREFIX_PATTERN,
      "must be letters, digits, _ or - (it names Redis keys), optionally in braces ({keyproof})",
    )
    .default("keyproof"),
  /**
   * Where bundles (`<dataDirectory>/<runId>`) and intermediate work (`<dataDirectory>/.work/<runId>`) live.
   * Every worker must see this directory at the same path (a shared volume): jobs of one run may execute
   * on different machines. Relative paths resolve against the config file's directory.
   */
  dataDirectory: z.string().min(1).optional(),
  /**
   * Keys per collection batch. A location (region, vault, Vault cluster) with more keys than this is
   * listed once and then described in batches of this many keys, each its own job that any collect worker
   * may take, so more workers finish a large region sooner. Default 250.
   */
  keyBatchSize: z.number().int().min(1).max(100_000).optional(),
  /**
   * Collect jobs of one source and location that may call the provider at the same time, across every
   * worker of the deployment (listing, batches, and other runs over the same location). Provider quotas
   * are per account and region (KMS ListGrants and ListAliases: 100 requests per second per account and
   * region), so this bounds the request rate of a location however many workers join. Default 4.
   */
  locationConcurrency: z.number().int().min(1).max(64).optional(),
  /**
   * Screenshots per render job. A run with more PNGs than this (two per key, one per location) renders
   * them in slices of this many, one `render-screenshot-batch` job each on any render worker, then the
   * reports and the evidence index. Default 500.
   */
  screenshotBatchSize: z.number().int().min(1).max(1_000_000).optional(),
  /**
   * Seconds after an API-requested run completed during which an identical request (same sources, keys and
   * period) answers with that run (200, `existing: true`) instead of starting another. 0 turns it off; a
   * failed run is never reused. Default 300.
   */
  dedupeWindowSeconds: z
    .number()
    .int()
    .min(0)
    .max(7 * 24 * 3600)
    .optional(),
  /**
   * API-requested runs that may be queued or running per source at once; one more answers 429
   * `too_many_requests`. Each source a run covers counts it (one run over two sources counts for both),
   * so varying the key list or the period does not get around the bound. Default 3.
   */
  maxQueuedRunsPerSource: z.number().int().min(1).max(1000).optional(),
  /**
   * API requests per minute per bearer token (unauthenticated requests: per client address), counted in
   * Redis so every API process of a deployment shares the budget; one more answers 429 with Retry-After.
   * Default 120.
   */
  apiRequestsPerMinute: z.number().int().min(1).max(100_000).optional(),
  /**
   * Failed authentications (no token, or an unknown or revoked one) per minute per client address,
   * counted in Redis across every API process. Once an address has used them up, every request of it to
   * an authenticated route answers 429 with Retry-After until the minute is over, before its token is
   * looked at: otherwise a right guess would still be told apart from the wrong ones. Default 20.
   */
  apiAuthFailuresPerMinute: z.number().int().min(1).max(100_000).optional(),
});
export type QueueSettings = z.infer<typeof QueueSettingsSchema>;

/**
 * A cron pattern BullMQ can schedule: five fields (minute hour day-of-month month day-of-week), or six with
 * seconds first. Checked with cron-parser, the parser BullMQ itself uses, so a pattern accepted here is one
 * the scheduler accepts (`99 99 99 99 99` used to pass a field-count check and fail inside BullMQ).
 */
function cronPatternSchema(problemOf: (pattern: string) => string | undefined) {
  return z
    .string()
    .max(200)
    .regex(/^\S+(\s+\S+){4,5}$/, 'must be a cron pattern with five fields, e.g. "0 6 1 1,4,7,10 *"')
    .superRefine((pattern, context) => {
      const problem = problemOf(pattern);
      if (problem !== undefined) context.addIssue({ code: "custom", message: problem });
    });
}
export const CronPatternSchema = cronPatternSchema(cronPatternProblem);
/**
 * The same patterns refused, with messages that never quote the pattern (cron-parser's do: "got value 99"):
 * for the API, whose answers do not read the request back.
 */
export const CronPatternRuleSchema = cronPatternSchema(cronPatternRule);

const CRON_FIELDS_RULE =
  "five fields, minute (0-59) hour (0-23) day-of-month (1-31) month (1-12 or JAN-DEC) day-of-week (0-7 or SUN-SAT), each a value, range, list or step; or six with seconds (0-59) first";

/** Why a pattern is refused, as a rule: only the bounds cron-parser expected are kept from its message. */
export function cronPatternRule(pattern: string): string | undefined {
  const problem = cronPatternProblem(pattern);
  if (problem === undefined) return undefined;
  const expected = /expected range (\d+)-(\d+)/.exec(problem);
  if (expected !== null) {
    return `is not a valid cron pattern: a value is outside the range ${expected[1]}-${expected[2]} of its field`;
  }
  const outside = /outside the (\d+)-(\d+) range of the ([a-zA-Z ]+) field/.exec(problem);
  if (outside !== null) {
    return `is not a valid cron pattern: a range is outside ${outside[1]}-${outside[2]}, the range of the ${outside[3]} field`;
  }
  return `is not a valid cron pattern: ${CRON_FIELDS_RULE}`;
}

/** Why cron-parser refuses a pattern (`Constraint error, got value 99 expected range 0-59`), or undefined. */
export function cronPatternProblem(pattern: string): string | undefined {
  try {
    CronExpressionParser.parse(pattern, { tz: "UTC" });
    return undefined;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return `is not a valid cron pattern: ${reason}`;
  }
}

export const SCHEDULE_PERIODS = ["previous-quarter", "previous-month", "previous-year"] as const;
export type SchedulePeriod = (typeof SCHEDULE_PERIODS)[number];

/** One entry of the proposed `schedules:` config section. */
export const ScheduleSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be lowercase letters, digits and dashes"),
  /** Five-field cron pattern (minute hour day-of-month month day-of-week), evaluated in `tz`. */
  cron: CronPatternSchema,
  /** IANA time zone of the cron pattern. */
  tz: z
    .string()
    .default("UTC")
    .refine((zone) => isTimeZone(zone), { message: "is not an IANA time zone (e.g. UTC, Europe/Berlin)" }),
  period: z.enum(SCHEDULE_PERIODS),
});
export type Schedule = z.infer<typeof ScheduleSchema>;

export const SchedulesSchema = z.array(ScheduleSchema).superRefine((schedules, context) => {
  const seen = new Set<string>();
  schedules.forEach((schedule, index) => {
    if (seen.has(schedule.name)) {
      context.addIssue({
        code: "custom",
        path: [index, "name"],
        message: `duplicate schedule name "${schedule.name}"`,
      });
    }
    seen.add(schedule.name);
  });
});

/** 06:00 UTC on the first day of January, April, July and October, covering the quarter that just ended. */
export const DEFAULT_SCHEDULES: Schedule[] = [
  { name: "quarterly", cron: "0 6 1 1,4,7,10 *", tz: "UTC", period: "previous-quarter" },
];

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
