import { z } from "zod";
import type { CollectionError } from "./key.ts";

/** A `CollectionError` read back from JSON another process wrote (a work item, a key reference). */
export const CollectionErrorSchema = z.object({
  call: z.string(),
  code: z.string(),
  message: z.string(),
  retryable: z.boolean(),
}) satisfies z.ZodType<CollectionError>;
