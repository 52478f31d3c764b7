import { configuredDiscovery, type SourceDiscovery } from "../model/discovery.ts";
import type { KeyProvider } from "./key-provider.ts";

/**
 * The population a run collects from one provider: what `discover()` finds for a source configured to
 * find it, else the configured locations. Called once per run at planning time (inline run, run starter).
 */
export async function discoverSource(
  provider: KeyProvider,
  now: () => Date = () => new Date(),
): Promise<SourceDiscovery> {
  if (provider.discover !== undefined) return provider.discover();
  return configuredDiscovery({
    source: provider.sourceId,
    type: provider.type,
    locations: provider.listLocations(),
    at: now().toISOString(),
  });
}
