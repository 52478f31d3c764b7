/**
 * `keyproof run --inline` delivers after sealing, in process: against a real receiver, one webhook target
 * refusing with 400 (permanent: one request, recorded) and one accepting; the refused target makes the run's
 * outcome exit 3 while the other is delivered; delivery.json lies beside the bundle. The estate is the demo
 * estate seeded into moto; the ledger is in the real Redis under a unique prefix.
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runExitCode } from "../../src/cli/commands/run.command.ts";
import { deliveryRecordPath, type DeliveryRecord } from "../../src/delivery/delivery-record.ts";
import { runInline } from "../../src/jobs/run-inline.ts";
import {
  REDIS_URL,
  TEST_RANGE,
  cleanupPrefix,
  prepareEstate,
  removeDirectory,
  uniquePrefix,
  type TestEstate,
} from "./queue-harness.ts";
import { startTestReceiver, type TestReceiver } from "../support/webhook-receiver.ts";

const prefix = uniquePrefix("helper-delivery-inline");
const SECRET = `whsec-${randomBytes(16).toString("hex")}`;
const SECRET_ENV = "KEYPROOF_TEST_INLINE_WEBHOOK_SECRET";
let setup: TestEstate;
let receiver: TestReceiver;

beforeAll(async () => {
  receiver = await startTestReceiver({ secret: SECRET });
  receiver.script("/refuses", { status: 400 });
  setup = await prepareEstate({
    configExtra: {
      deliver: [
        { name: "refuses", type: "webhook", url: `${receiver.url}/refuses`, secretEnv: SECRET_ENV },
        { name: "accepts", type: "webhook", url: `${receiver.url}/accepts`, secretEnv: SECRET_ENV },
      ],
    },
  });
  process.env[SECRET_ENV] = SECRET;
}, 120_000);

afterAll(async () => {
  delete process.env[SECRET_ENV];
  await receiver?.close();
  await cleanupPrefix(REDIS_URL, prefix);
  await removeDirectory(setup?.directory);
});

describe("run --inline with deliver:", () => {
  it("records a permanent failure without failing the run, delivers the other target, and exits 3", async () => {
    const result = await runInline({
      loaded: setup.loaded,
      range: TEST_RANGE,
      outDirectory: path.join(setup.directory, "out"),
      render: false,
      queueOverrides: { redisUrl: REDIS_URL, prefix },
    });
    expect(result.delivery?.map((delivery) => [delivery.target, delivery.state])).toEqual([
      ["refuses", "failed"],
      ["accepts", "delivered"],
    ]);
    expect(result.delivery?.[0]?.outcomes[0]).toMatchObject({ path: "(finish)", httpStatus: 400 });
    expect([receiver.countFor("/refuses"), receiver.countFor("/accepts")]).toEqual([1, 1]);
    // Exit 3 for the failed target alone (the demo estate also has a gap, which is 3 on its own).
    const complete = { ...result.summary, complete: true, gaps: 0 };
    expect(runExitCode(complete, undefined, result.delivery)).toBe(3);
    expect(runExitCode(complete, undefined, result.delivery?.slice(1))).toBe(0);

    const onDisk = await readFile(deliveryRecordPath(result.bundle.directory), "utf8");
    const record = JSON.parse(onDisk) as DeliveryRecord;
    expect(record.runId).toBe(result.runId);
    expect(record.targets["accepts"]?.state).toBe("delivered");
    expect(onDisk).not.toContain(SECRET);
  }, 240_000);
});
