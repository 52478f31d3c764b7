import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseRange } from "../time/date-range.ts";
import type { UsageEvent, UsageItem } from "../model/usage.ts";
import { BundleWriter } from "./bundle-writer.ts";
import { usageExtractPath } from "./paths.ts";
import { PRINCIPALS_COUNTED_EXACTLY } from "./principal-counter.ts";
import { CSV_GAPS_NAMED, NO_KEY, csvCell, writeUsageExtract } from "./usage-extract.writer.ts";
import type { UsageExtractTarget } from "./usage-extract.writer.ts";

let workspace: string;
let writer: BundleWriter;
beforeEach(async () => {
  workspace = await mkdtemp(join(tmpdir(), "keyproof-usage-"));
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
    time: "2026-07-02T10:00:00Z",
    source: "aws-prod",
    location: "eu-west-1",
    keyId: "1234abcd",
    keyReference: "arn:aws:kms:eu-west-1:111122223333:key/1234abcd",
    action: "Decrypt",
    principal: "arn:aws:iam::111122223333:role/app",
    sourceAddress: "10.0.0.1",
    outcome: "success",
    eventId: "e-1",
    origin: "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/07/02/a.json.gz",
    ...overrides,
  };
}

async function* stream(items: UsageItem[]): AsyncGenerator<UsageItem> {
  for (const item of items) yield item;
}

async function files(): Promise<{ ndjson: string; csv: string }> {
  return {
    ndjson: await readFile(
      join(writer.directory, usageExtractPath("aws-prod", "eu-west-1", "ndjson")),
      "utf8",
    ),
    csv: await readFile(join(writer.directory, usageExtractPath("aws-prod", "eu-west-1", "csv")), "utf8"),
  };
}

describe("csvCell", () => {
  it("quotes per RFC 4180", () => {
    expect(csvCell(undefined)).toBe("");
    expect(csvCell("plain")).toBe("plain");
    expect(csvCell("a,b")).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell("two\nlines")).toBe('"two\nlines"');
  });

  it("defuses cells a spreadsheet would run as formulas", () => {
    expect(csvCell('=HYPERLINK("http://x")')).toBe('"\'=HYPERLINK(""http://x"")"');
    expect(csvCell("+1")).toBe("'+1");
    expect(csvCell("-2+3")).toBe("'-2+3");
    expect(csvCell("@SUM(A1)")).toBe("'@SUM(A1)");
    expect(csvCell("\tx")).toBe("'\tx");
    expect(csvCell("a=b")).toBe("a=b");
  });
});

describe("writeUsageExtract", () => {
  it("writes an empty extract with its preamble when there is nothing to report", async () => {
    const summary = await writeUsageExtract(writer, stream([]), { ...target, method: "none" });
    expect(summary).toEqual({
      source: "aws-prod",
      location: "eu-west-1",
      method: "none",
      eventCount: 0,
      byKey: {},
      byAction: {},
      byPrincipal: {},
      principalCounting: { method: "exact", capacity: PRINCIPALS_COUNTED_EXACTLY },
      byDay: {},
      gaps: [],
    });
    const { ndjson, csv } = await files();
    expect(ndjson).toBe("");
    expect(csv).toBe(
      [
        "# keyproof key-usage extract",
        "# source: aws-prod (aws-kms)",
        "# location: eu-west-1",
        "# range: 2026-07-01 .. 2026-09-30 (UTC, inclusive)",
        "# method: none",
        "# generated: 2026-10-01T08:00:00.000Z",
        "# complete: NO, usage events are not collected for this source (method none)",
        "time,key_id,key_reference,action,principal,source_address,outcome,error_code,event_id,origin",
        "",
      ].join("\r\n"),
    );
  });

  it("writes each event to both files, keeps gaps out of them and summarises", async () => {
    const gap = {
      source: "aws-prod",
      location: "eu-west-1",
      object: "AWSLogs/x.json.gz",
      code: "AccessDenied",
      message: "denied",
    };
    const keyless: UsageEvent = {
      time: "2026-07-01T00:00:00.000Z",
      source: "aws-prod",
      location: "eu-west-1",
      action: "ListKeys",
      principal: "arn:aws:iam::111122223333:role/admin",
      outcome: "success",
      eventId: "e-4",
      origin: "a.json.gz",
    };
    const items: UsageItem[] = [
      { kind: "event", event: event({ time: "2026-08-01T00:00:00Z", eventId: "e-2" }) },
      { kind: "gap", gap },
      {
        kind: "event",
        event: event({
          action: "Encrypt",
          principal: "=cmd|' /C calc'!A0",
          eventId: "e-3",
          outcome: "failure",
          errorCode: "AccessDeniedException",
        }),
      },
      { kind: "event", event: keyless },
    ];

    const summary = await writeUsageExtract(writer, stream(items), target);
    expect(summary).toEqual({
      source: "aws-prod",
      location: "eu-west-1",
      method: "cloudtrail-s3",
      eventCount: 3,
      byKey: { [NO_KEY]: 1, "1234abcd": 2 },
      byAction: { Decrypt: 1, Encrypt: 1, ListKeys: 1 },
      byPrincipal: {
        "=cmd|' /C calc'!A0": 1,
        "arn:aws:iam::111122223333:role/admin": 1,
        "arn:aws:iam::111122223333:role/app": 1,
      },
      principalCounting: { method: "exact", capacity: PRINCIPALS_COUNTED_EXACTLY },
      byDay: { "2026-07-01": 1, "2026-07-02": 1, "2026-08-01": 1 },
      firstEventAt: "2026-07-01T00:00:00.000Z",
      lastEventAt: "2026-08-01T00:00:00.000Z",
      gaps: [gap],
    });

    const { ndjson, csv } = await files();
    const lines = ndjson.trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[1] ?? "")).toMatchObject({ principal: "=cmd|' /C calc'!A0", eventId: "e-3" });
    const rows = csv.split("\r\n");
    expect(rows[6]).toBe(
      "# complete: NO, 1 gap(s): events in the parts named below are missing from this file",
    );
    expect(rows[7]).toBe(`# gap: ${gap.object}: ${gap.code}: ${gap.message}`);
    expect(rows[8]).toMatch(/^time,key_id,/);
    rows.splice(0, 2);
    expect(rows[7]).toBe(
      "2026-08-01T00:00:00Z,1234abcd,arn:aws:kms:eu-west-1:111122223333:key/1234abcd,Decrypt,arn:aws:iam::111122223333:role/app,10.0.0.1,success,,e-2,AWSLogs/111122223333/CloudTrail/eu-west-1/2026/07/02/a.json.gz",
    );
    expect(rows[8]).toContain(",Encrypt,'=cmd|' /C calc'!A0,10.0.0.1,failure,AccessDeniedException,e-3,");
    expect(rows[9]).toMatch(/^2026-07-01T00:00:00.000Z,,,ListKeys,/);
    expect(csv).not.toContain("AccessDenied,denied");
  });

  it("keeps preamble values on their line", async () => {
    await writeUsageExtract(writer, stream([]), { ...target, location: 'vault "primary"\nsecond line' });
    const csv = await readFile(
      join(writer.directory, usageExtractPath("aws-prod", 'vault "primary"\nsecond line', "csv")),
      "utf8",
    );
    expect(csv.split("\r\n")[2]).toBe("# location: vault 'primary' second line");
    expect(csv.split("\r\n")[6]).toBe("# complete: yes (no part of the range failed to read)");
    expect(csv.split("\r\n")[7]).toMatch(/^time,key_id/);
  });

  it("accepts a synchronous iterable", async () => {
    const summary = await writeUsageExtract(writer, [{ kind: "event", event: event() }], target);
    expect(summary.eventCount).toBe(1);
  });

  it("turns a failing event source into a gap and keeps what was read", async () => {
    async function* failing(): AsyncGenerator<UsageItem> {
      yield { kind: "event", event: event() };
      throw Object.assign(new Error("connection reset"), { code: "ECONNRESET" });
    }
    const summary = await writeUsageExtract(writer, failing(), target);
    expect(summary.eventCount).toBe(1);
    expect(summary.gaps).toEqual([
      {
        source: "aws-prod",
        location: "eu-west-1",
        object: "usage event stream",
        code: "ECONNRESET",
        message: "reading stopped after 1 events: connection reset",
      },
    ]);
    expect((await files()).ndjson.split("\n")).toHaveLength(2);
  });

  it("says in the CSV header that the range is incomplete and names the gaps, at most CSV_GAPS_NAMED", async () => {
    const gaps: UsageItem[] = Array.from({ length: CSV_GAPS_NAMED + 2 }, (_, index) => ({
      kind: "gap",
      gap: {
        source: "aws-prod",
        location: "eu-west-1",
        object: `AWSLogs/${index}.json.gz`,
        code: "AccessDenied",
        message: "denied",
      },
    }));
    await writeUsageExtract(writer, stream([{ kind: "event", event: event() }, ...gaps]), target);
    const rows = (await files()).csv.split("\r\n");
    expect(rows[6]).toBe(
      `# complete: NO, ${CSV_GAPS_NAMED + 2} gap(s): events in the parts named below are missing from this file`,
    );
    expect(rows[7]).toBe("# gap: AWSLogs/0.json.gz: AccessDenied: denied");
    expect(rows[7 + CSV_GAPS_NAMED]).toBe("# gap: … 2 more in usage-summary.json");
    expect(rows[8 + CSV_GAPS_NAMED]).toMatch(/^time,key_id,/);
    expect(rows[9 + CSV_GAPS_NAMED]).toMatch(/^2026-07-02T10:00:00Z,1234abcd,/);
  });

  it("refuses to write the same location twice", async () => {
    await writeUsageExtract(writer, stream([]), target);
    await expect(writeUsageExtract(writer, stream([]), target)).rejects.toMatchObject({ code: "INTERNAL" });
  });
});
