import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { loadConfig } from "./load-config.ts";
import {
  CronPatternRuleSchema,
  CronPatternSchema,
  QueueSettingsSchema,
  ScheduleSchema,
  cronPatternRule,
} from "./queue.schema.ts";

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

describe("cron pattern rules (the API's messages)", () => {
  it("refuses what the config schema refuses, without quoting the pattern", () => {
    expect(cronPatternRule("99 99 99 99 99")).toBe(
      "is not a valid cron pattern: a value is outside the range 0-59 of its field",
    );
    for (const cron of [
      "77 6 * * *",
      "0 6 * JAN-QQQ *",
      "0 6 * * MONX",
      "0 6 40-45 * *",
      "0 6 * * */0",
      "0 6 1 1,4,7,777 *",
      "x y z w v",
    ]) {
      const rule = CronPatternRuleSchema.safeParse(cron);
      expect(rule.success, cron).toBe(false);
      expect(CronPatternSchema.safeParse(cron).success, cron).toBe(false);
      const message = rule.error?.issues[0]?.message ?? "";
      expect(message, cron).toMatch(/^is not a valid cron pattern: /);
      // No field of the pattern that is not a plain number or * is read back (numbers like 6 are
      // also the rule's bounds, so only the distinctive parts are checked).
      for (const part of ["77", "QQQ", "MONX", "40-45", "*/0", "777", "x y"]) {
        if (cron.includes(part)) expect(message, cron).not.toContain(part);
      }
    }
    expect(cronPatternRule("0 6 1 1,4,7,10 *")).toBeUndefined();
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
