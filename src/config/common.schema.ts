import { z } from "zod";

/**
 * Schema parts shared by the top-level config and the per-provider source schemas. Kept apart from
 * config.schema.ts because that file imports every provider's schema: importing back from it would be a
 * cycle that crashes at module initialisation.
 */

export const SourceIdSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]{0,62}$/,
    "must be lowercase letters, digits and dashes (it names bundle folders)",
  );

export const EndpointSchema = z.url({ message: "must be a URL such as http://127.0.0.1:5000" });
