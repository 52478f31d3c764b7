import { z } from "zod";

/**
 * The schema of the user's `keyproof.yaml`. Unknown fields are errors everywhere (`strict`), so a typo
 * never silently turns a setting off. Credentials never appear here: AWS uses its provider chain.
 */

export const SourceIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be lowercase letters, digits and dashes (it names bundle folders)");

export const EndpointSchema = z.url({ message: "must be a URL such as http://127.0.0.1:5000" });

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
    })
    .optional(),
  roleArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, "must be an IAM role ARN")
    .optional(),
  externalId: z.string().min(2).optional(),
  cloudtrail: z
    .strictObject({
      bucket: z.string().min(3),
      prefix: z.string().default(""),
      /** Region of the trail bucket; defaults to the source's first region. */
      region: z.string().optional(),
    })
    .optional(),
});

export const SourceSchema = z.discriminatedUnion("type", [AwsKmsSourceSchema]);

export const KEY_USAGES = ["data-at-rest", "data-in-transit", "application"] as const;

export const InventoryEntrySchema = z.strictObject({
  source: SourceIdSchema,
  /** Alias, key id or ARN (AWS). */
  match: z.string().min(1),
  owner: z.string().min(1, "name the key owner"),
  usage: z.enum(KEY_USAGES),
  systems: z.array(z.string().min(1)).min(1, "list the systems the key protects"),
  notes: z.string().optional(),
});

export const DEFAULT_APPROVED_KEY_SPECS = [
  "SYMMETRIC_DEFAULT",
  "RSA_2048",
  "RSA_3072",
  "RSA_4096",
  "ECC_NIST_P256",
  "ECC_NIST_P384",
];

export const PolicySchema = z.strictObject({
  maxRotationDays: z.number().int().positive().default(365),
  logRetentionDays: z.number().int().positive().default(365),
  approvedKeySpecs: z.array(z.string().min(1)).min(1).default(DEFAULT_APPROVED_KEY_SPECS),
});

export const SigningSchema = z.strictObject({
  /** Ed25519 PKCS#8 PEM, relative to the config file. `keyproof keygen` writes one. */
  localKeyFile: z.string().min(1),
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
    }),
    signing: SigningSchema,
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
export type InventoryEntry = z.infer<typeof InventoryEntrySchema>;
export type KeyUsage = (typeof KEY_USAGES)[number];
