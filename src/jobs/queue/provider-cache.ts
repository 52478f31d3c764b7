import type { KeyProvider } from "../../providers/key-provider.ts";
import { closeProvider } from "./close-provider.ts";

/**
 * The providers of the runs a worker process is working on, one per (run, source), shared by that process's
 * jobs of the run. Why: providers read location-wide facts once per instance (AWS IAM authorization
 * details, Azure role assignments, Vault ACL policies); a new provider per key batch would read them again
 * for every batch. Per run, because the run's plan fixes the source's config.
 *
 * A job that fails with its provider discards it, so the retry (here or anywhere) starts from a fresh
 * instance and a throttled or failed read is never reused. Providers are closed when evicted (least
 * recently used beyond `limit`) or discarded, once no job uses them any more, and when the worker closes.
 */
interface Entry {
  provider: KeyProvider;
  users: number;
  retired: boolean;
}

export class ProviderCache {
  readonly #entries = new Map<string, Entry>();

  constructor(readonly limit = 16) {}

  async use<T>(
    target: { runId: string; source: string },
    build: () => KeyProvider,
    work: (provider: KeyProvider) => Promise<T>,
  ): Promise<T> {
    const name = `${target.runId}\u0000${target.source}`;
    let entry = this.#entries.get(name);
    if (entry === undefined) {
      entry = { provider: build(), users: 0, retired: false };
    } else {
      this.#entries.delete(name);
    }
    this.#entries.set(name, entry);
    this.#evictBeyondLimit();
    entry.users += 1;
    try {
      return await work(entry.provider);
    } catch (error) {
      this.#retire(name, entry);
      throw error;
    } finally {
      entry.users -= 1;
      if (entry.retired && entry.users === 0) closeProvider(entry.provider);
    }
  }

  /** Closes every provider no job uses; those in use close when their job ends. */
  close(): void {
    for (const [name, entry] of this.#entries) this.#retire(name, entry);
  }

  get size(): number {
    return this.#entries.size;
  }

  #retire(name: string, entry: Entry): void {
    if (this.#entries.get(name) === entry) this.#entries.delete(name);
    if (entry.retired) return;
    entry.retired = true;
    if (entry.users === 0) closeProvider(entry.provider);
  }

  #evictBeyondLimit(): void {
    for (const [name, entry] of this.#entries) {
      if (this.#entries.size <= this.limit) return;
      this.#retire(name, entry);
    }
  }
}
