import { z } from "zod";
import { EndpointSchema, SourceIdSchema } from "./common.schema.ts";
import { AzureKeyVaultSourceSchema } from "./sources/azure-key-vault.schema.ts";
import { HashicorpVaultSourceSchema } from "./sources/hashicorp-vault.schema.ts";
import { DeliverSchema } from "./deliver.schema.ts";
import { QueueSettingsSchema, SchedulesSchema } from "./queue.schema.ts";
import { KEY_USAGES, type InventoryEntry } from "../model/inventory.ts";
import { DEFAULT_MAX_RANGE_DAYS } from "../time/date-limits.ts";

/**
 * The schema of the user's `keyproof.yaml`. Unknown fields are errors everywhere (`strict`), so a typo
 * never silently turns a setting off. Credentials never appear here: AWS uses its provider chain.
 */

export { SourceIdSchema, EndpointSchema } from "./common.schema.ts";
// The inventory's shape is the model's (src/model/inventory.ts); re-exported for config readers.
export { KEY_USAGES, type InventoryEntry, type KeyUsage } from "../model/inventory.ts";

export const AwsKmsSourceSchema = z.strictObject({
  id: SourceIdSchema,
  type: z.literal("aws-kms"),
  regions: z
    .array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, "is not an AWS region name"))
    .min(1, "list at least one region"),
  /** One endpoint for every AWS service of this source (emulators, VPC endpoints). */
  endpoint: EndpointSchema.optional(),
  /** Per-service overrides, winning over `endpoint`. */
  endpoints: z
    .strictObject({
      kms: EndpointSchema.optional(),
      cloudtrail: EndpointSchema.optional(),
      s3: EndpointSchema.optional(),
      iam: EndpointSchema.optional(),
      sts: EndpointSchema.optional(),
      /** CloudWatch Logs (metric filters on the trail's log group). */
      logs: EndpointSchema.optional(),
      /** CloudWatch (alarms on those filters' metrics). */
      cloudwatch: EndpointSchema.optional(),
      /** EventBridge (rules on KMS events). */
      events: EndpointSchema.optional(),
      /** AWS Organizations (`organization:` discovery). */
      organizations: EndpointSchema.optional(),
    })
    .optional(),
  roleArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, "must be an IAM role ARN")
    .optional(),
  externalId: z.string().min(2).optional(),
  /**
   * Collect every active account of the AWS Organization (issue 15): the caller (management or
   * delegated-administrator account) lists the accounts, assumes `roleName` in each and collects every
   * configured region; locations become `<account>/<region>`. An account whose role cannot be assumed is
   * a gap naming it. `include`/`exclude` take OU ids (`ou-...`, a root `r-...`, child OUs walked) or
   * 12-digit account ids.
   */
  organization: z
    .strictObject({
      roleName: z.string().regex(/^[\w+=,.@/-]{1,64}$/, "must be an IAM role name"),
      externalId: z.string().min(2).optional(),
      include: z
        .array(
          z
            .string()
            .regex(/^(\d{12}|ou-[a-z0-9]+-[a-z0-9]+|r-[a-z0-9]+)$/, "is not an account id, OU id or root id"),
        )
        .optional(),
      exclude: z
        .array(
          z
            .string()
            .regex(/^(\d{12}|ou-[a-z0-9]+-[a-z0-9]+|r-[a-z0-9]+)$/, "is not an account id, OU id or root id"),
        )
        .optional(),
    })
    .optional(),
  /**
   * Requests per second per KMS API (per account and region), overriding AWS's documented default quotas
   * (kms-rate-limit.ts): lower them when other tenants of the account need part of the quota.
   */
  rateLimits: z
    .strictObject({
      ListKeys: z.number().positive().optional(),
      ListAliases: z.number().positive().optional(),
      DescribeKey: z.number().positive().optional(),
      GetKeyPolicy: z.number().positive().optional(),
      GetKeyRotationStatus: z.number().positive().optional(),
      ListKeyRotations: z.number().positive().optional(),
      ListGrants: z.number().positive().optional(),
      ListResourceTags: z.number().positive().optional(),
    })
    .optional(),
  /**
   * Where the usage log files are read. Every field is optional: an unset bucket or prefix is taken from
   * the trail that logs the region's KMS events (DescribeTrails `S3BucketName`, `S3KeyPrefix`); with no
   * such trail, usage comes from LookupEvents (last 90 days only).
   */
  cloudtrail: z
    .strictObject({
      bucket: z.string().min(3).optional(),
      /**
       * The trail's S3KeyPrefix: the key prefix before `AWSLogs/` ("" for none). The path form copied from
       * the bucket (`AWSLogs/`, `audit/AWSLogs/`) is understood as the part before `AWSLogs/`.
       */
      prefix: z.string().optional(),
      /** Region of the trail bucket; defaults to the trail's home region, else the source's first region. */
      region: z.string().optional(),
      /**
       * Bound on each log object's size in bytes, compressed and decompressed, enforced while streaming; an
       * object over it becomes a `LogObjectTooLarge` gap. Default 1073741824 (1 GiB).
       */
      maxObjectBytes: z.number().int().positive().optional(),
    })
    .refine((cloudtrail) => cloudtrail.prefix === undefined || cloudtrail.bucket !== undefined, {
      message:
        "a prefix needs its bucket: set cloudtrail.bucket too, or drop cloudtrail.prefix to use the trail's",
      path: ["prefix"],
    })
    .optional(),
});

export const SourceSchema = z.discriminatedUnion("type", [
  AwsKmsSourceSchema,
  AzureKeyVaultSourceSchema,
  HashicorpVaultSourceSchema,
]);

export const InventoryEntrySchema = z.strictObject({
  source: SourceIdSchema,
  /** Alias, key id or ARN (AWS). */
  match: z.string().min(1),
  owner: z.string().min(1, "name the key owner"),
  usage: z.enum(KEY_USAGES),
  systems: z.array(z.string().min(1)).min(1, "list the systems the key protects"),
  notes: z.string().optional(),
}) satisfies z.ZodType<InventoryEntry>;

/**
 * Approved algorithms per the procedure ("e.g. AES-256, RSA-2048"), in each source's own vocabulary:
 * AWS KMS key specs, Azure Key Vault normalized specs, HashiCorp Vault transit key types.
 */
export const DEFAULT_APPROVED_KEY_SPECS = [
  // AWS KMS
  "SYMMETRIC_DEFAULT",
  "RSA_2048",
  "RSA_3072",
  "RSA_4096",
  "ECC_NIST_P256",
  "ECC_NIST_P384",
  // Azure Key Vault (RSA_* shared with AWS above)
  "EC_P256",
  "EC_P384",
  "EC_P521",
  "OCT_256",
  // HashiCorp Vault transit
  "aes256-gcm96",
  "chacha20-poly1305",
  "rsa-2048",
  "rsa-3072",
  "rsa-4096",
  "ecdsa-p256",
  "ecdsa-p384",
  "ed25519",
];

export const PolicySchema = z.strictObject({
  maxRotationDays: z.number().int().positive().default(365),
  logRetentionDays: z.number().int().positive().default(365),
  approvedKeySpecs: z.array(z.string().min(1)).min(1).default(DEFAULT_APPROVED_KEY_SPECS),
  /**
   * Longest range, in days, a run or an API request may cover (default 400). Collection grows with length
   * (CloudTrail: one S3 listing per day and region), so a mistyped decade is refused before any call.
   */
  maxRangeDays: z.number().int().positive().default(DEFAULT_MAX_RANGE_DAYS),
  /**
   * Days a signed access review (procedure step 7) and an approval of the procedure (step 6) stay current
   * (default 365: "reviewed annually"). Checks fail a source or the procedure once the latest is older.
   */
  reviewIntervalDays: z.number().int().positive().default(365),
  /**
   * Monitoring the sources' APIs cannot show: a SIEM that reads a trail's bucket, a shipper that forwards
   * Vault's audit file. Declared here, named in the findings as declared (not observed).
   */
  monitoring: z
    .strictObject({
      destinations: z
        .array(
          z.strictObject({
            source: SourceIdSchema,
            name: z.string().min(1, "name the destination, e.g. Splunk Cloud"),
            kind: z.enum(["siem", "shipper", "alert"]).default("siem"),
          }),
        )
        .default([]),
    })
    .default({ destinations: [] }),
});

const AwsRegionSchema = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, "is not an AWS region name");

/** What both signers share. */
interface SigningCommon {
  /**
   * The trust file this organization publishes (`keyproof signer export`), relative to the config file. Its
   * keys are accepted, besides the configured signer, on this service's own earlier bundles: the previous
   * bundle a run compares with (changes-since-previous.json) and the bundle an annual review reviews. Set it
   * after `keyproof signer rotate` and the switch, so bundles signed by the earlier key still count.
   */
  trustFile?: string;
}

export interface LocalSigningConfig extends SigningCommon {
  /** Ed25519 PKCS#8 PEM, relative to the config file. `keyproof keygen` writes one. */
  localKeyFile: string;
}

export interface KmsSigningConfig extends SigningCommon {
  /** Key id, key ARN, alias (`alias/keyproof-signing`) or alias ARN of an asymmetric SIGN_VERIFY key. */
  kmsKeyId: string;
  /** Defaults to the region of an ARN, then to AWS_REGION / the profile. */
  region?: string;
  endpoint?: string;
}

/**
 * Exactly one signer: a local Ed25519 key file or an AWS KMS key. Written as one object with a refinement
 * (not a zod union) so a mistake is reported as one plain sentence at the right field.
 */
export const SigningSchema = z
  .strictObject({
    /** Ed25519 PKCS#8 PEM, relative to the config file. `keyproof keygen` writes one. */
    localKeyFile: z.string().min(1).optional(),
    kmsKeyId: z.string().min(1).optional(),
    region: AwsRegionSchema.optional(),
    endpoint: EndpointSchema.optional(),
    trustFile: z.string().min(1).optional(),
  })
  .superRefine((signing, context) => {
    if (signing.localKeyFile !== undefined && signing.kmsKeyId !== undefined) {
      context.addIssue({
        code: "custom",
        path: ["kmsKeyId"],
        message: "set either localKeyFile or kmsKeyId, not both",
      });
    } else if (signing.localKeyFile === undefined && signing.kmsKeyId === undefined) {
      context.addIssue({
        code: "custom",
        path: [],
        message: "set localKeyFile (a key from `keyproof keygen`) or kmsKeyId (an AWS KMS signing key)",
      });
    }
    if (signing.kmsKeyId === undefined) {
      for (const field of ["region", "endpoint"] as const) {
        if (signing[field] !== undefined) {
          context.addIssue({ code: "custom", path: [field], message: `${field} applies to kmsKeyId only` });
        }
      }
    }
  })
  .transform((signing): SigningConfig => {
    const trustFile = signing.trustFile === undefined ? {} : { trustFile: signing.trustFile };
    if (signing.kmsKeyId === undefined) return { localKeyFile: signing.localKeyFile ?? "", ...trustFile };
    return {
      ...trustFile,
      kmsKeyId: signing.kmsKeyId,
      ...(signing.region === undefined ? {} : { region: signing.region }),
      ...(signing.endpoint === undefined ? {} : { endpoint: signing.endpoint }),
    };
  });
export type SigningConfig = LocalSigningConfig | KmsSigningConfig;

/** S3 bucket naming rules (3-63 lowercase letters, digits, dots, dashes; starts and ends alphanumeric). */
const BucketNameSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    "is not an S3 bucket name (3-63 lowercase letters, digits, dots, dashes)",
  );

export const S3StorageSchema = z.strictObject({
  /** Must have Object Lock enabled (and therefore versioning); keyproof refuses any other bucket. */
  bucket: BucketNameSchema,
  /** Key prefix, `""` or ending in `/`. Bundles go to `<prefix><scope>/<stored-at>-<runId>.tar.gz`. */
  prefix: z
    .string()
    .regex(/^$|^[^/].*\/$/, "must be empty or end with / (and not start with /)")
    .default("keyproof/"),
  region: AwsRegionSchema,
  endpoint: EndpointSchema.optional(),
  /**
   * Applied explicitly to every bundle version (ObjectLockMode + RetainUntilDate). COMPLIANCE only: it is the
   * mode nobody, root included, can shorten or lift. 2555 days = 7 years.
   */
  retention: z
    .strictObject({
      mode: z.literal("COMPLIANCE", {
        message: "must be COMPLIANCE: GOVERNANCE retention can be lifted by an administrator",
      }),
      days: z.number().int().min(1).max(36_500),
    })
    .default({ mode: "COMPLIANCE", days: 2555 }),
  /** SSE-KMS key for the stored objects; S3's default encryption applies when unset. */
  kmsKeyId: z.string().min(1).optional(),
  /**
   * Default `keyproof-work/`. Queued runs keep their work items and the bundle being assembled at `<workPrefix><runId>/` (no shared
   * disk between workers). Written without retention; set a lifecycle rule on it (README, "S3 work store").
   */
  workPrefix: z
    .string()
    .regex(/^[^/].*\/$/, "must end with / (and not start with /)")
    .optional(),
  /**
   * Bucket for the work prefix when not `bucket`: required when the evidence bucket has a default Object
   * Lock retention, which would lock every overwritten work object for years.
   */
  workBucket: BucketNameSchema.optional(),
});

export const StorageSchema = z
  .strictObject({
    /**
     * Names the hash chain: each bundle links to the previous one stored under the same scope. Defaults to
     * `<organization slug>/<sorted source ids joined by +>`, so a changed source set starts a new chain.
     */
    scope: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$/,
        "must be letters, digits, dots, dashes, underscores or + (max 100)",
      )
      .optional(),
    s3: S3StorageSchema.optional(),
    /** A directory (relative to the config file) that keeps a copy of every bundle, chained like S3. */
    local: z.string().min(1).optional(),
  })
  .refine((storage) => storage.s3 !== undefined || storage.local !== undefined, {
    message: "set s3, local or both",
  });

export const ConfigSchema = z
  .strictObject({
    organization: z.string().min(1),
    sources: z.array(SourceSchema).min(1, "configure at least one source"),
    keys: z.array(InventoryEntrySchema).default([]),
    policy: PolicySchema.default({
      maxRotationDays: 365,
      logRetentionDays: 365,
      approvedKeySpecs: DEFAULT_APPROVED_KEY_SPECS,
      maxRangeDays: DEFAULT_MAX_RANGE_DAYS,
      reviewIntervalDays: 365,
      monitoring: { destinations: [] },
    }),
    signing: SigningSchema,
    /** Where sealed bundles are kept besides the run's output directory. */
    storage: StorageSchema.optional(),
    /** The queued service: `{ redisUrl?, prefix, dataDirectory?, keyBatchSize?, locationConcurrency? }`; env REDIS_URL etc. win. */
    queue: QueueSettingsSchema.optional(),
    /** Evidence runs on a cron; absent = quarterly, 06:00 UTC on 1 Jan/Apr/Jul/Oct, previous quarter. */
    schedules: SchedulesSchema.optional(),
    /** Where each sealed run's evidence is delivered (Vanta, Drata, Secureframe, a signed webhook). */
    deliver: DeliverSchema.default([]),
  })
  .superRefine((config, context) => {
    const seen = new Map<string, number>();
    config.sources.forEach((source, index) => {
      const first = seen.get(source.id);
      if (first !== undefined) {
        context.addIssue({
          code: "custom",
          path: ["sources", index, "id"],
          message: `duplicate source id "${source.id}" (first used at sources[${first}])`,
        });
      } else {
        seen.set(source.id, index);
      }
    });
    config.policy.monitoring.destinations.forEach((destination, index) => {
      if (!seen.has(destination.source)) {
        context.addIssue({
          code: "custom",
          path: ["policy", "monitoring", "destinations", index, "source"],
          message: `unknown source "${destination.source}"; configured sources: ${[...seen.keys()].join(", ")}`,
        });
      }
    });
    config.keys.forEach((entry, index) => {
      if (!seen.has(entry.source)) {
        context.addIssue({
          code: "custom",
          path: ["keys", index, "source"],
          message: `unknown source "${entry.source}"; configured sources: ${[...seen.keys()].join(", ")}`,
        });
      }
    });
  });

export type Config = z.infer<typeof ConfigSchema>;
export type SourceConfig = z.infer<typeof SourceSchema>;
export type AwsKmsSourceConfig = z.infer<typeof AwsKmsSourceSchema>;
export type StorageConfig = z.infer<typeof StorageSchema>;
export type S3StorageConfig = z.infer<typeof S3StorageSchema>;
