import { z } from "zod";

/**
 * `deliver:`: where each sealed run's evidence goes besides the bundle store (issue 14). Each target is
 * independent: its own queued job, retries and outcome. Credentials are never in the config: each target
 * names the environment variables that hold them (`*Env`), read by the worker that delivers.
 */

const EnvNameSchema = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]*$/,
    "must be an environment variable name, e.g. KEYPROOF_VANTA_CLIENT_SECRET",
  );

/** Globs over bundle-relative paths (`reports/*.pdf`, `screenshots/**\/*.png`), picomatch syntax. */
const ArtifactGlobsSchema = z
  .array(z.string().min(1))
  .min(1, "name at least one artifact glob, e.g. reports/*.pdf");

const TargetNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, "must be 1-40 lowercase letters, digits or dashes (it names the job)");

const HttpsUrlSchema = z.url({ protocol: /^https?$/, message: "must be an http(s) URL" });

export const VantaTargetSchema = z.strictObject({
  name: TargetNameSchema,
  type: z.literal("vanta"),
  /** The document (evidence request) to upload to: a slug for Vanta's documents, an id for custom ones. */
  documentId: z.string().min(1),
  artifacts: ArtifactGlobsSchema,
  /** Submit the document for review after the uploads (`POST /v1/documents/{id}/submit`). */
  submit: z.boolean().default(false),
  clientIdEnv: EnvNameSchema.default("KEYPROOF_VANTA_CLIENT_ID"),
  clientSecretEnv: EnvNameSchema.default("KEYPROOF_VANTA_CLIENT_SECRET"),
  /** `https://api.vanta.com` (Vanta for Gov: `https://api.vanta-gov.com`; tests: a local fake). */
  baseUrl: HttpsUrlSchema.default("https://api.vanta.com"),
});

export const DrataTargetSchema = z.strictObject({
  name: TargetNameSchema,
  type: z.literal("drata"),
  workspaceId: z.number().int().positive(),
  controlIds: z.array(z.number().int().positive()).default([]),
  /** The Drata user id that owns the evidence. */
  ownerId: z.number().int().positive(),
  artifacts: ArtifactGlobsSchema,
  apiKeyEnv: EnvNameSchema.default("KEYPROOF_DRATA_API_KEY"),
  /** `https://public-api.drata.com` (EU/APAC hosts exist; tests: a local fake). */
  baseUrl: HttpsUrlSchema.default("https://public-api.drata.com"),
});

export const SecureframeTargetSchema = z.strictObject({
  name: TargetNameSchema,
  type: z.literal("secureframe"),
  testId: z.string().min(1),
  artifacts: ArtifactGlobsSchema,
  /** `Authorization: <API_KEY> <API_SECRET>` (Secureframe's own scheme, not Bearer). */
  apiKeyEnv: EnvNameSchema.default("KEYPROOF_SECUREFRAME_API_KEY"),
  apiSecretEnv: EnvNameSchema.default("KEYPROOF_SECUREFRAME_API_SECRET"),
  /** `https://api.secureframe.com` (UK: `https://api-uk.secureframe.com`; tests: a local fake). */
  baseUrl: HttpsUrlSchema.default("https://api.secureframe.com"),
});

export const WebhookTargetSchema = z.strictObject({
  name: TargetNameSchema,
  type: z.literal("webhook"),
  url: HttpsUrlSchema,
  /** The HMAC-SHA256 secret signing `timestamp.body`. */
  secretEnv: EnvNameSchema,
});

export const DeliveryTargetSchema = z.discriminatedUnion("type", [
  VantaTargetSchema,
  DrataTargetSchema,
  SecureframeTargetSchema,
  WebhookTargetSchema,
]);
export type DeliveryTargetConfig = z.infer<typeof DeliveryTargetSchema>;
export type VantaTargetConfig = z.infer<typeof VantaTargetSchema>;
export type DrataTargetConfig = z.infer<typeof DrataTargetSchema>;
export type SecureframeTargetConfig = z.infer<typeof SecureframeTargetSchema>;
export type WebhookTargetConfig = z.infer<typeof WebhookTargetSchema>;

export const DeliverSchema = z.array(DeliveryTargetSchema).superRefine((targets, context) => {
  const seen = new Map<string, number>();
  targets.forEach((target, index) => {
    const first = seen.get(target.name);
    if (first === undefined) seen.set(target.name, index);
    else
      context.addIssue({
        code: "custom",
        path: [index, "name"],
        message: `duplicate target name "${target.name}" (first used at deliver[${first}])`,
      });
  });
});
