import type { KeyProvider } from "../../providers/key-provider.ts";

/**
 * Providers hold SDK clients with socket pools; a worker creates one per job and closes it after. Its own
 * module because the provider cache, the run starter and the handlers all need it, and none of them may
 * import job-context.ts's neighbours back.
 */
export function closeProvider(provider: KeyProvider): void {
  const closable = provider as KeyProvider & { close?: () => void };
  if (typeof closable.close === "function") closable.close();
}
