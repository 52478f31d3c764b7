import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseRange } from "../time/date-range.ts";
import type { UsageEvent, UsageItem } from "../model/usage.ts";
import { BundleWriter } from "./bundle-writer.ts";
import { ChangeSummaryBuilder } from "./change-summary.ts";
import { changesExtractPath, usageExtractPath } from "./paths.ts";
import type { UsageExtractTarget } from "./usage-extract.writer.ts";
import { writeUsageAndChangeExtracts } from "./usage-extract.writer.ts";

let workspace: string;
let writer: BundleWriter;
beforeEach(async () => {
  workspace = await mkdtemp(join(tmpdir(), "keyproof-changes-"));
  writer = await BundleWriter.open(join(workspace, "run"));
});
afterEach(async () => {
  await rm(workspace, { recursive: true, force: true });
});

const target: UsageExtractTarget = {
  source: "aws-prod",
  sourceType: "aws-kms",
  location: "eu-west-1",
  method: "cloudtrail-s3",
  range: parseRange("2026-07-01", "2026-09-30"),
  generatedAt: "2026-10-01T08:00:00.000Z",
};

function event(overrides: Partial<UsageEvent> = {}): UsageEvent {
  return {
    time: "2026-07-02T10:00:00.000Z",
    source: "aws-prod",
    location: "eu-west-1",
    keyId: "1234abcd",
    action: "Decrypt",
    principal: "arn:aws:iam::111122223333:role/app",
    sourceAddress: "10.0.0.1",
    outcome: "success",
    eventId: "e-1",
    origin: "AWSLogs/a.json.gz",
    ...overrides,
  };
}

const items = (events: UsageEvent[]): UsageItem[] => events.map((value) => ({ kind: "event", event: value }));

async function read(path: string): Promise<string> {
  return readFile(join(writer.directory, path), "utf8");
}

describe("writeUsageAndChangeExtracts", () => {
  it("tees administrative events into changes.ndjson/csv with their request parameters, usage stays whole", async () => {
    const disable = event({
      time: "2026-08-01T12:00:00.000Z",
      action: "DisableKeyRotation",
      principal: "arn:aws:iam::111122223333:user/mallory",
      eventId: "e-2",
      requestParameters: { keyId: "1234abcd" },
    });
    const denied = event({
      time: "2026-08-02T12:00:00.000Z",
      action: "PutKeyPolicy",
      outcome: "failure",
      errorCode: "AccessDeniedException",
      eventId: "e-3",
      requestParameters: { keyId: "1234abcd", policy: '{"Statement":[]}' },
    });
    const { usage, changes } = await writeUsageAndChangeExtracts(
      writer,
      items([event(), disable, denied]),
      target,
    );
    expect(usage.eventCount).toBe(3);
    expect(
      (await read(usageExtractPath("aws-prod", "eu-west-1", "ndjson"))).trimEnd().split("\n"),
    ).toHaveLength(3);
    const ndjson = (await read(changesExtractPath("aws-prod", "eu-west-1", "ndjson"))).trimEnd().split("\n");
    expect(ndjson.map((line) => JSON.parse(line) as UsageEvent)).toEqual([disable, denied]);
    const csv = (await read(changesExtractPath("aws-prod", "eu-west-1", "csv"))).split("\r\n");
    expect(csv[0]).toBe("# keyproof key-configuration history (administrative events)");
    expect(csv).toContain("# complete: yes (no part of the range failed to read)");
    const header = csv.findIndex((line) => line.startsWith("time,"));
    expect(csv[header]).toBe(
      "time,key_id,key_reference,action,principal,source_address,outcome,error_code,event_id,origin,request_parameters",
    );
    expect(csv[header + 1]).toBe(
      '2026-08-01T12:00:00.000Z,1234abcd,,DisableKeyRotation,arn:aws:iam::111122223333:user/mallory,10.0.0.1,success,,e-2,AWSLogs/a.json.gz,"{""keyId"":""1234abcd""}"',
    );
    expect(csv[header + 2]).toContain(",failure,AccessDeniedException,e-3,");
    // The denied PutKeyPolicy is in the files but changed nothing: the summary lists only what took effect.
    expect(changes).toEqual({
      source: "aws-prod",
      location: "eu-west-1",
      changeCount: 2,
      byAction: { DisableKeyRotation: 1, PutKeyPolicy: 1 },
      keys: [
        {
          key: "1234abcd",
          rotationToggles: [
            {
              time: "2026-08-01T12:00:00.000Z",
              action: "DisableKeyRotation",
              principal: "arn:aws:iam::111122223333:user/mallory",
              sourceAddress: "10.0.0.1",
              eventId: "e-2",
              rotationState: "disabled",
            },
          ],
          rotationTogglesOmitted: 0,
          rotationDisabledCount: 1,
          rotationUnknownCount: 0,
          accessChanges: [],
          accessChangesOmitted: 0,
        },
      ],
      locationAccessChanges: [],
      locationAccessChangesOmitted: 0,
    });
  });

  it("writes empty change files with the usage extract's completeness when the log has gaps", async () => {
    const { changes } = await writeUsageAndChangeExtracts(
      writer,
      [
        { kind: "event", event: event() },
        {
          kind: "gap",
          gap: {
            source: "aws-prod",
            location: "eu-west-1",
            object: "x.json.gz",
            code: "AccessDenied",
            message: "denied",
          },
        },
      ],
      target,
    );
    expect(changes.changeCount).toBe(0);
    expect(await read(changesExtractPath("aws-prod", "eu-west-1", "ndjson"))).toBe("");
    const csv = await read(changesExtractPath("aws-prod", "eu-west-1", "csv"));
    expect(csv).toContain("# complete: NO, 1 gap(s)");
    expect(csv).toContain("# gap: x.json.gz: AccessDenied: denied");
  });

  it("keeps whatever range edges the provider delivered: the provider's isInRange decides, both files agree", async () => {
    // Providers yield [from, toExclusive) only (cloudtrail-s3.usage.ts isInRange); the writer adds no filter,
    // so the change file is always a subset of the usage file.
    const start = event({ time: target.range.from, action: "EnableKeyRotation", eventId: "start" });
    const { usage, changes } = await writeUsageAndChangeExtracts(writer, items([start]), target);
    expect(usage.eventCount).toBe(1);
    expect(changes.keys[0]?.rotationToggles[0]?.time).toBe(target.range.from);
  });
});

describe("ChangeSummaryBuilder", () => {
  it("keeps each key's changes in time order even when the log delivers them out of order", () => {
    const builder = new ChangeSummaryBuilder("aws-prod", "eu-west-1");
    builder.add(event({ time: "2026-08-03T00:00:00.000Z", action: "EnableKeyRotation", eventId: "c" }), {
      kind: "rotation",
      scope: "key",
      rotationState: "enabled",
    });
    builder.add(event({ time: "2026-08-01T00:00:00.000Z", action: "DisableKeyRotation", eventId: "a" }), {
      kind: "rotation",
      scope: "key",
      rotationState: "disabled",
    });
    builder.add(event({ time: "2026-08-02T00:00:00.000Z", action: "CreateGrant", eventId: "b" }), {
      kind: "access",
      scope: "key",
    });
    builder.add(event({ time: "2026-08-02T00:00:00.000Z", action: "TagResource", eventId: "d" }), {
      kind: "other",
      scope: "key",
    });
    builder.add(event({ keyId: "other-key", action: "PutKeyPolicy", eventId: "e" }), {
      kind: "access",
      scope: "key",
    });
    const summary = builder.build();
    expect(summary.changeCount).toBe(5);
    expect(summary.keys.map((key) => key.key)).toEqual(["1234abcd", "other-key"]);
    expect(summary.keys[0]?.rotationToggles.map((change) => change.eventId)).toEqual(["a", "c"]);
    expect(summary.keys[0]?.accessChanges.map((change) => change.eventId)).toEqual(["b"]);
  });

  it("caps each list per key, keeping the earliest, and counts the rest; disables are always counted", () => {
    const builder = new ChangeSummaryBuilder("aws-prod", "eu-west-1", 3);
    for (let day = 9; day >= 1; day--) {
      builder.add(
        event({ time: `2026-08-0${day}T00:00:00.000Z`, action: "DisableKeyRotation", eventId: `d${day}` }),
        { kind: "rotation", scope: "key", rotationState: "disabled" },
      );
      builder.add(
        event({ time: `2026-08-0${day}T00:00:00.000Z`, action: "CreateGrant", eventId: `g${day}` }),
        { kind: "access", scope: "key" },
      );
    }
    const [history] = builder.build().keys;
    expect(history?.rotationToggles.map((change) => change.eventId)).toEqual(["d1", "d2", "d3"]);
    expect(history?.rotationTogglesOmitted).toBe(6);
    expect(history?.rotationDisabledCount).toBe(9);
    expect(history?.accessChanges.map((change) => change.eventId)).toEqual(["g1", "g2", "g3"]);
    expect(history?.accessChangesOmitted).toBe(6);
  });

  it("puts a change that names no key on no key, but counts it", () => {
    const builder = new ChangeSummaryBuilder("aws-prod", "eu-west-1");
    const bare = event({ action: "CreateGrant" });
    delete bare.keyId;
    builder.add(bare, { kind: "access", scope: "key" });
    expect(builder.build()).toMatchObject({ changeCount: 1, keys: [] });
  });

  it("keeps a location-wide access change once, on the location, never on a key, capped like the key lists", () => {
    const builder = new ChangeSummaryBuilder("vault-prod", "https://vault.example", 2);
    for (const id of ["p3", "p1", "p2"]) {
      const write = event({
        time: `2026-08-0${id.slice(1)}T00:00:00.000Z`,
        action: "sys/policy-write",
        eventId: id,
      });
      delete write.keyId;
      builder.add(write, { kind: "access", scope: "location" });
    }
    const summary = builder.build();
    expect(summary.keys).toEqual([]);
    expect(summary.locationAccessChanges.map((change) => change.eventId)).toEqual(["p1", "p2"]);
    expect(summary.locationAccessChangesOmitted).toBe(1);
    expect(summary.changeCount).toBe(3);
  });

  it("counts a rotation change whose resulting state is unknown apart from disables", () => {
    const builder = new ChangeSummaryBuilder("azure-prod", "https://kv.vault.azure.net");
    builder.add(event({ action: "KeyRotationPolicySet", eventId: "r1" }), { kind: "rotation", scope: "key" });
    const [history] = builder.build().keys;
    expect(history).toMatchObject({ rotationDisabledCount: 0, rotationUnknownCount: 1 });
    expect(history?.rotationToggles[0]?.rotationState).toBe("unknown");
  });
});
