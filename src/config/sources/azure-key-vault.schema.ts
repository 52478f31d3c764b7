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

export const AzureKeyVaultSourceSchema = z
  .strictObject({
    id: SourceIdSchema,
    type: z.literal("azure-key-vault"),
    /** The subscription the vaults live in; ARM lookups (vault properties, role assignments) are scoped to it. */
    subscriptionId: z.guid({ message: "must be a subscription id (a GUID)" }),
    /** Data-plane URLs of the vaults to collect, e.g. `https://acme-prod.vault.azure.net`. */
    vaults: z.array(VaultUrlSchema).min(1, "list at least one vault URL"),
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
         * stays the location the evidence names. Only meaningful with one vault: see the refinement below.
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

/**
 * `https://Acme.vault.azure.net:443/` → `https://acme.vault.azure.net`: the one spelling used as location,
 * and the form ARM's `vaultUri` is compared in (ARM returns a trailing slash, users often omit it).
 */
export function normalizeVaultUrl(vaultUrl: string): string {
  const url = new URL(vaultUrl);
  return `${url.protocol}//${url.host.toLowerCase()}`;
}
