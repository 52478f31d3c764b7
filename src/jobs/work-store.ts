import { mkdir, readFile, readdir, writeFile, rename } from "node:fs/promises";
import path from "node:path";

/**
 * Intermediate results of a run (location snapshots, usage summaries) between steps. Kept outside the
 * bundle directory: they are inputs to judging, not evidence. Writes are atomic (temp + rename) so a step
 * killed mid-write leaves either the old value or the new one, and a retried step simply overwrites.
 */
export class WorkStore {
  constructor(readonly directory: string) {}

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

  /** Names under a prefix folder, e.g. `list("locations")`. */
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
    if (name.includes("..")) throw new Error(`work item name ${name} must not contain ..`);
    return path.join(this.directory, `${name}.json`);
  }
}
