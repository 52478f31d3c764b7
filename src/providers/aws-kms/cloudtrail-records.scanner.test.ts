import { describe, expect, it } from "vitest";
import { CloudTrailRecordScanner, TrailScanError } from "./cloudtrail-records.scanner.ts";
import type { CandidateRecord } from "./cloudtrail-records.scanner.ts";

/** Feeds `text` in chunks of `size` bytes; returns the candidates, the record count, or the scan error. */
function scan(text: string, size: number): { candidates: CandidateRecord[]; records: number } {
  const scanner = new CloudTrailRecordScanner();
  const bytes = Buffer.from(text, "utf8");
  const candidates: CandidateRecord[] = [];
  for (let offset = 0; offset < bytes.length; offset += size)
    candidates.push(...scanner.push(bytes.subarray(offset, offset + size)));
  scanner.end();
  return { candidates, records: scanner.recordCount };
}

function scanError(text: string): { code: string; message: string } {
  try {
    scan(text, 5);
  } catch (error) {
    expect(error).toBeInstanceOf(TrailScanError);
    return { code: (error as TrailScanError).code, message: (error as TrailScanError).message };
  }
  throw new Error("the scan did not fail");
}

const CHUNK_SIZES = [1, 2, 3, 5, 7, 64, 1 << 20];

const TRICKY = [
  '{"eventSource":"kms.amazonaws.com","eventName":"Decrypt","note":"a \\"quoted\\" }{ ][ value"}',
  // Not a KMS event, but its parameters name KMS: handed over, the mapper excludes it.
  '{"eventSource":"s3.amazonaws.com","requestParameters":{"x-amz-server-side-encryption-context":"kms.amazonaws.com"}}',
  '{"eventSource":"ec2.amazonaws.com","requestParameters":{"path":"C:\\\\temp\\\\","q":"\\\\\\""}}',
  '{ "eventSource" : "kms.amazonaws.com" ,\n  "eventName": "Encrypt" }',
  // The event source spelled with a JSON escape: still a KMS event.
  '{"eventSource":"kms\\u002eamazonaws.com","eventName":"GenerateDataKey"}',
  '{"eventSource":"sts.amazonaws.com","nested":[[{"a":[]}],{}],"n":-1.5e3,"t":true,"f":false,"z":null}',
  "42",
  '"a string"',
  "[1,2]",
  '{"eventSource":"kms.amazonaws.com","eventName":"Décrypt ✓","unicode":"日本"}',
];

describe("CloudTrailRecordScanner", () => {
  it.each(CHUNK_SIZES)(
    "hands over exactly the elements that may be KMS events (chunks of %i bytes)",
    (size) => {
      const document = `{"eventVersion":"x","Records":[${TRICKY.join(",")}],"trailer":{"Records":[]}}`;
      const { candidates, records } = scan(document, size);
      expect(records).toBe(TRICKY.length);
      expect(candidates.map((candidate) => candidate.index)).toEqual([0, 1, 3, 4, 6, 7, 8, 9]);
      for (const candidate of candidates) expect(candidate.text).toBe(TRICKY[candidate.index]);
    },
  );

  it("reads pretty-printed documents and an escaped Records key", () => {
    const document = JSON.stringify({ Records: TRICKY.map((text) => JSON.parse(text) as unknown) }, null, 2);
    const pretty = scan(document, 3);
    expect(pretty.records).toBe(TRICKY.length);
    expect(pretty.candidates.map((candidate) => JSON.parse(candidate.text) as unknown)).toEqual(
      [0, 1, 3, 4, 6, 7, 8, 9].map((index) => JSON.parse(TRICKY[index] as string) as unknown),
    );
    expect(scan('{"Rec\\u006frds":[{"eventSource":"kms.amazonaws.com"}]}', 4).records).toBe(1);
  });

  it("keeps a record that spans many chunks whole", () => {
    const big = JSON.stringify({ eventSource: "kms.amazonaws.com", padding: 'x\\"'.repeat(100_000) });
    const { candidates } = scan(`{"Records":[{"eventSource":"s3.amazonaws.com"},${big}]}`, 16 * 1024);
    expect(candidates).toEqual([{ index: 1, text: big }]);
  });

  it("finds nothing in an empty Records array", () => {
    expect(scan('{"Records":[]}', 2)).toEqual({ candidates: [], records: 0 });
    expect(scan(' { "Records" : [ ] } \n', 1)).toEqual({ candidates: [], records: 0 });
  });

  it.each([
    ['{"records": []}', "NoRecordsArray", 'no "Records" array'],
    ['{"Records": {}}', "NoRecordsArray", "is not an array"],
    ['{"Records": "x"}', "NoRecordsArray", "is not an array"],
    ["[]", "NoRecordsArray", 'no "Records" array'],
    ['{"Records": [', "InvalidJson", "ends before"],
    ['{"Records": [{"a":"b', "InvalidJson", "ends before"],
    ['{"Records": [}', "InvalidJson", "unexpected '}'"],
    ["not json", "InvalidJson", "unexpected character"],
    ['{"Records": []} {"Records": []}', "InvalidJson", "after the end"],
    ["", "InvalidJson", "ends before"],
  ])("%j fails as %s", (text, code, message) => {
    const error = scanError(text);
    expect(error.code).toBe(code);
    expect(error.message).toContain(message);
  });
});
