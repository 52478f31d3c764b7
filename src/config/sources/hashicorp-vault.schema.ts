import { z } from "zod";
import { EndpointSchema, SourceIdSchema } from "../common.schema.ts";

/**
 * A HashiCorp Vault (or OpenBao) source in `keyproof.yaml`. Unknown fields are errors (`strictObject`), which
 * also keeps a token out of the file: the token comes from `VAULT_TOKEN` or from `tokenFile`, never from here.
 * Relative file paths resolve beside the config file.
 */

/** `admin/` or `admin/team-a/`: segments of letters, digits, `_`, `-` and `.`, as Vault namespace names allow. */
const NamespaceSchema = z
  .string()
  .regex(
    /^\/?[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*\/?$/,
    "must be a Vault namespace path such as admin/ or admin/team-a/",
  );

/** A transit mount path as `sys/mounts` lists it, with or without the trailing slash: `transit`, `team-a/transit/`. */
const MountPathSchema = z
  .string()
  .regex(
    /^[^/\s*+][^\s*+]*$/,
    "must be a mount path such as transit or team-a/transit (no leading /, no globs)",
  );

export const HashicorpVaultSourceSchema = z
  .strictObject({
    id: SourceIdSchema,
    type: z.literal("hashicorp-vault"),
    /** Vault API address, e.g. `https://vault.acme.internal:8200`; `/v1` is added by the client. */
    address: EndpointSchema.refine((value) => /^https?:\/\//i.test(value), {
      message: "must be an http:// or https:// URL such as https://vault.acme.internal:8200",
    }),
    /**
     * Enterprise/OpenBao namespace the source covers; sent as `X-Vault-Namespace`. With `namespaces: all` it is
     * where the walk starts (default: the root namespace).
     */
    namespace: NamespaceSchema.optional(),
    /**
     * `all`: `namespace` (or the root namespace) and every namespace below it, found at each run by walking
     * `LIST sys/namespaces`; each namespace is a location, and one the token cannot read is a gap. A list:
     * exactly these namespaces, as full paths from the root namespace (then `namespace` is not set).
     */
    namespaces: z
      .union([z.literal("all"), z.array(NamespaceSchema).min(1, "list at least one namespace, or use all")])
      .optional(),
    /** A file audit device's output (JSON lines), read for usage events. Without it usage is not collected. */
    auditLogFile: z.string().min(1).optional(),
    /** File holding the Vault token; without it the token comes from the `VAULT_TOKEN` environment variable. */
    tokenFile: z.string().min(1).optional(),
    /** Restrict collection to these transit mounts; by default every `type: transit` mount is collected. */
    mounts: z.array(MountPathSchema).min(1, "list at least one mount, or omit the field").optional(),
    /** PEM bundle of the CA that signed Vault's TLS certificate, when it is not a public CA. */
    tlsCaFile: z.string().min(1).optional(),
  })
  .superRefine((source, context) => {
    if (Array.isArray(source.namespaces) && source.namespace !== undefined) {
      context.addIssue({
        code: "custom",
        path: ["namespaces"],
        message:
          "a list of namespaces names full paths: drop namespace, or use namespaces: all to walk below it",
      });
    }
  });

export type HashicorpVaultSourceConfig = z.infer<typeof HashicorpVaultSourceSchema>;
