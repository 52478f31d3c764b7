import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { loadConfig } from "./load-config.ts";
import { QueueSettingsSchema, ScheduleSchema } from "./queue.schema.ts";

const directories: string[] = [];
afterAll(async () => {
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

async function configWith(extra: Record<string, unknown>): Promise<string> {
  const directory = await mkdtemp(path.join(tmpdir(), "keyproof-queue-schema-"));
  directories.push(directory);
  const file = path.join(directory, "keyproof.yaml");
  await writeFile(
    file,
    stringify({
      organization: "Schema Test",
      sources: [{ id: "vault", type: "hashicorp-vault", address: "http://127.0.0.1:8200" }],
      signing: { localKeyFile: "./signing.pem" },
      ...extra,
    }),
  );
  return file;
}

describe("schedule cron patterns", () => {
  it("refuses 99 99 99 99 99 with cron-parser's reason, naming the field", () => {
    const parsed = ScheduleSchema.safeParse({ name: "x", cron: "99 99 99 99 99", period: "previous-month" });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({
      path: ["cron"],
      message: expect.stringMatching(/is not a valid cron pattern: .*expected range 0-59/),
    });
  });

  it("accepts the documented patterns", () => {
    for (const cron of ["0 6 1 1,4,7,10 *", "0 7 1 * *", "*/15 * * * *"]) {
      expect(ScheduleSchema.safeParse({ name: "x", cron, period: "previous-quarter" }).success, cron).toBe(
        true,
      );
    }
  });

  it("names schedules[0].cron in keyproof.yaml", async () => {
    const file = await configWith({
      schedules: [{ name: "quarterly", cron: "99 99 99 99 99", period: "previous-quarter" }],
    });
    await expect(loadConfig(file)).rejects.toThrow(/schedules.*0.*cron.*not a valid cron pattern/);
  });
});

describe("queue limits of the API", () => {
  it("accepts the three limits and refuses nonsense by field", () => {
    expect(
      QueueSettingsSchema.safeParse({
        dedupeWindowSeconds: 0,
        maxQueuedRunsPerSource: 3,
        apiRequestsPerMinute: 120,
        apiAuthFailuresPerMinute: 20,
      }).success,
    ).toBe(true);
    for (const [field, value] of [
      ["dedupeWindowSeconds", -1],
      ["maxQueuedRunsPerSource", 0],
      ["apiRequestsPerMinute", 1.5],
      ["apiAuthFailuresPerMinute", 0],
    ] as const) {
      const parsed = QueueSettingsSchema.safeParse({ [field]: value });
      expect(parsed.error?.issues[0]?.path, field).toEqual([field]);
    }
  });
});
