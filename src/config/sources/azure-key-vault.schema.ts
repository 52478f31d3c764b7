import { z } from "zod";
import { EndpointSchema, SourceIdSchema } from "../common.schema.ts";

/**
 * An Azure Key Vault source in `keyproof.yaml`. Unknown fields are errors (`strictObject`), which also keeps
 * credentials out of the file: authentication goes through `@azure/identity` (DefaultAzureCredential:
 * environment, workload identity, managed identity, Azure CLI...), never through this config.
 */

const VaultUrlSchema = z
  .url({ protocol: /^https$/, message: "must be an https URL such as https://acme-prod.vault.azure.net" })
  // The vault URL names a location (bundle folder, finding location): a path or query would make two
  // spellings of one vault look like two vaults.
  .refine((value) => {
    const url = new URL(value);
    return (url.pathname === "/" || url.pathname === "") && url.search === "" && url.hash === "";
  }, "must be the vault's base URL without a path, e.g. https://acme-prod.vault.azure.net");

const SubscriptionIdSchema = z.guid({ message: "must be a subscription id (a GUID)" });

const VaultFilterSchema = z
  .string()
  .min(1)
  .refine(
    (value) =>
      /^[A-Za-z0-9*-]+$/.test(value) ||
      /^https:\/\/[^/]+\/?$/i.test(value) ||
      /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/?$/i.test(value),
    "must be a vault name (with * wildcards), a vault URL or /subscriptions/<id>/resourceGroups/<name>",
  );

export const AzureKeyVaultSourceSchema = z
  .strictObject({
    id: SourceIdSchema,
    type: z.literal("azure-key-vault"),
    /**
     * The subscription the listed vaults live in; ARM lookups (vault properties, role assignments, alert rules)
     * are scoped to it. Required with a list of vaults; with `vaults: all` it names the one subscription to
     * discover, or give `subscriptions` instead.
     */
    subscriptionId: SubscriptionIdSchema.optional(),
    /**
     * Data-plane URLs of the vaults to collect, e.g. `https://acme-prod.vault.azure.net`, or `all`: every Key
     * Vault of the subscriptions (`subscriptions`, else `subscriptionId`), discovered through Resource Manager
     * at the start of each run (issue 15).
     */
    vaults: z.union([
      z.literal("all"),
      z.array(VaultUrlSchema).min(1, "list at least one vault URL, or all"),
    ]),
    /** With `vaults: all`: the subscriptions whose vaults are discovered (Reader on each is enough to list). */
    subscriptions: z
      .array(SubscriptionIdSchema)
      .min(1, "list at least one subscription id")
      .refine(
        (ids) => new Set(ids.map((id) => id.toLowerCase())).size === ids.length,
        "lists a subscription twice",
      )
      .optional(),
    /**
     * With `vaults: all`: only discovered vaults that match one of these are collected; the others are
     * recorded in discovery.json as excluded. An entry is a vault name (`*` matches any run of characters,
     * e.g. `kv-prod-*`), a vault URL, or a resource group's id (`/subscriptions/<id>/resourceGroups/<name>`).
     */
    include: z.array(VaultFilterSchema).min(1).optional(),
    /** With `vaults: all`: discovered vaults that match one of these (same forms as `include`) are left out. */
    exclude: z.array(VaultFilterSchema).min(1).optional(),
    /**
     * The Log Analytics workspace id (the GUID called "Workspace ID" / `customerId`, not the ARM resource id)
     * that receives the vaults' AuditEvent logs. Without it, usage events are not collected (recorded as a gap).
     */
    logAnalyticsWorkspaceId: z.guid({ message: "must be the workspace GUID (customerId)" }).optional(),
    /** Endpoint overrides for sovereign clouds, private endpoints and emulators. */
    endpoints: z
      .strictObject({
        /**
         * Data-plane origin used instead of the vault URL (a private endpoint name or an emulator). The vault URL
         * stays the location the evidence names. Only meaningful with one listed vault (see the refinement
         * below), and refused with `vaults: all`, whose vaults are reached at the vaultUri ARM reports.
         */
        keyVault: EndpointSchema.optional(),
        /** Azure Resource Manager, default `https://management.azure.com`. */
        resourceManager: EndpointSchema.optional(),
        /** Log Analytics query API including its version path, default `https://api.loganalytics.io/v1`. */
        logAnalytics: EndpointSchema.optional(),
      })
      .optional(),
    /**
     * Policy: keys of this source must be HSM-backed (`RSA-HSM`, `EC-HSM`, `oct-HSM`). Software keys (`RSA`,
     * `EC`) and `oct` keys outside an HSM are then judged as not approved.
     */
    requireHsm: z.boolean().optional(),
    /**
     * PEM bundle of extra TLS trust anchors (an emulator's self-signed certificate, a TLS-inspecting proxy's
     * CA), relative to the config file. Public CAs stay trusted.
     */
    tlsCaFile: z.string().min(1).optional(),
  })
  .superRefine((source, context) => {
    if (source.vaults === "all") {
      refineDiscovery(source, context);
      return;
    }
    if (source.subscriptionId === undefined) {
      context.addIssue({
        code: "custom",
        path: ["subscriptionId"],
        message: "is required with a list of vaults (the subscription they live in)",
      });
    }
    for (const field of ["subscriptions", "include", "exclude"] as const) {
      if (source[field] !== undefined) {
        context.addIssue({
          code: "custom",
          path: [field],
          message: `is only used with vaults: all; listed vaults are found in subscriptionId`,
        });
      }
    }
    if (source.endpoints?.keyVault !== undefined && source.vaults.length > 1) {
      context.addIssue({
        code: "custom",
        path: ["endpoints", "keyVault"],
        message:
          "redirects the data plane of every vault to one origin, so it needs exactly one vault; give each vault its own URL instead",
      });
    }
    const seen = new Set<string>();
    source.vaults.forEach((vault, index) => {
      const normalized = normalizeVaultUrl(vault);
      if (seen.has(normalized)) {
        context.addIssue({
          code: "custom",
          path: ["vaults", index],
          message: `duplicate vault ${normalized}`,
        });
      }
      seen.add(normalized);
    });
  });

export type AzureKeyVaultSourceConfig = z.infer<typeof AzureKeyVaultSourceSchema>;

function refineDiscovery(
  source: {
    subscriptionId?: string | undefined;
    subscriptions?: string[] | undefined;
    endpoints?: { keyVault?: string | undefined } | undefined;
  },
  context: z.core.$RefinementCtx,
): void {
  if (source.subscriptionId === undefined && source.subscriptions === undefined) {
    context.addIssue({
      code: "custom",
      path: ["subscriptions"],
      message: "vaults: all needs the subscriptions to discover: list them here (or give subscriptionId)",
    });
  }
  if (source.subscriptionId !== undefined && source.subscriptions !== undefined) {
    context.addIssue({
      code: "custom",
      path: ["subscriptionId"],
      message: "give either subscriptionId or subscriptions with vaults: all, not both",
    });
  }
  if (source.endpoints?.keyVault !== undefined) {
    context.addIssue({
      code: "custom",
      path: ["endpoints", "keyVault"],
      message:
        "redirects one vault's data plane, so it cannot be used with vaults: all (each discovered vault is reached at the vaultUri Resource Manager reports)",
    });
  }
}

/** The subscriptions a source covers: `subscriptions` with `vaults: all`, else the one `subscriptionId`. */
export function subscriptionsOf(config: AzureKeyVaultSourceConfig): string[] {
  if (config.subscriptions !== undefined) return [...config.subscriptions];
  return config.subscriptionId === undefined ? [] : [config.subscriptionId];
}

/** Configured vault URLs, normalized; none with `vaults: all` (those are discovered). */
export function configuredVaults(config: AzureKeyVaultSourceConfig): string[] {
  return config.vaults === "all" ? [] : config.vaults.map(normalizeVaultUrl);
}

/**
 * `https://Acme.vault.azure.net:443/` → `https://acme.vault.azure.net`: the one spelling used as location,
 * and the form ARM's `vaultUri` is compared in (ARM returns a trailing slash, users often omit it).
 */
export function normalizeVaultUrl(vaultUrl: string): string {
  const url = new URL(vaultUrl);
  return `${url.protocol}//${url.host.toLowerCase()}`;
}
