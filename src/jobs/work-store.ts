import { mkdir, readFile, readdir, writeFile, rename } from "node:fs/promises";
import path from "node:path";

/**
 * Intermediate results of a run (location snapshots, usage summaries) between steps: inputs to judging,
 * not evidence, so kept outside the bundle. One port, two places: a local directory (inline runs, queued
 * runs on a shared volume) or S3 (queued runs with `storage.s3`, src/storage/s3-work-store.ts). Every put
 * replaces the item whole (a step killed mid-write leaves the old value or the new one), so a retried step
 * simply overwrites.
 */
export interface WorkStore {
  /** Where the items live, to name in errors: a directory or an `s3://` prefix. */
  readonly location: string;
  put(name: string, value: unknown): Promise<void>;
  get<T>(name: string): Promise<T | undefined>;
  /** Names under a prefix folder, e.g. `list("locations")`, sorted. */
  list(prefix: string): Promise<string[]>;
}

/** Rejects names that could leave the run's own place. */
export function assertWorkItemName(name: string): void {
  if (name.includes("..")) throw new Error(`work item name ${name} must not contain ..`);
}

/** Work items as JSON files in one directory; writes are atomic (temp + rename). */
export class LocalWorkStore implements WorkStore {
  constructor(readonly directory: string) {}

  get location(): string {
    return this.directory;
  }

  async put(name: string, value: unknown): Promise<void> {
    const file = this.#file(name);
    await mkdir(path.dirname(file), { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(value)}\n`);
    await rename(temporary, file);
  }

  async get<T>(name: string): Promise<T | undefined> {
    try {
      return JSON.parse(await readFile(this.#file(name), "utf8")) as T;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  async list(prefix: string): Promise<string[]> {
    try {
      const entries = await readdir(path.join(this.directory, prefix));
      return entries
        .filter((entry) => entry.endsWith(".json"))
        .map((entry) => `${prefix}/${entry.slice(0, -5)}`)
        .sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
  }

  #file(name: string): string {
    assertWorkItemName(name);
    return path.join(this.directory, `${name}.json`);
  }
}
