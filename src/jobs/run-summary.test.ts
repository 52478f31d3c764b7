import { describe, expect, it } from "vitest";
import type { Finding } from "../model/finding.ts";
import {
  makeGap,
  makeKey,
  makeLocation,
  makeSource,
  makeSnapshot,
  makeUsageGap,
  makeUsageSummary,
  notCollected,
} from "../../test/factories/index.ts";
import { runStateOf } from "./queue/run-store.ts";
import { formatRunSummary, summarizeRun } from "./run-summary.ts";

function finding(overrides: Partial<Finding>): Finding {
  return {
    checkId: "key-rotation-enabled",
    status: "pass",
    severity: "high",
    source: "aws-prod",
    resource: "arn:aws:kms:us-east-1:111122223333:key/x",
    message: "ok",
    evidence: [],
    ...overrides,
  };
}

const bundle = { directory: "/out/run", archive: "/out/run.tar.gz" };

describe("summarizeRun", () => {
  it("a complete run with nothing to judge is complete and lists no gap", () => {
    const summary = summarizeRun(makeSnapshot(), []);
    expect(summary).toMatchObject({ complete: true, gaps: 0, gapDetails: [] });
    expect(formatRunSummary(summary, bundle)).toContain("Evidence complete");
    expect(formatRunSummary(summary, bundle)).not.toContain("INCOMPLETE");
  });

  it("counts a location's gaps in its source: source, location and run totals agree", () => {
    const key = makeKey({
      source: "aws-prod",
      location: "us-east-1",
      rotation: notCollected("kms:GetKeyRotationStatus"),
    });
    const snapshot = makeSnapshot({
      sources: [
        makeSource({
          source: "aws-prod",
          locations: [
            makeLocation({
              source: "aws-prod",
              location: "us-east-1",
              keys: [key],
              gaps: [makeGap({ source: "aws-prod", location: "us-east-1" })],
            }),
          ],
          usage: [
            makeUsageSummary({
              source: "aws-prod",
              location: "us-east-1",
              gaps: [makeUsageGap({ source: "aws-prod", location: "us-east-1" })],
            }),
          ],
          // A planned location whose collection never reported.
          gaps: [
            makeGap({
              source: "aws-prod",
              location: "eu-west-1",
              error: { call: "collect", code: "NotCollected", message: "did not complete", retryable: true },
            }),
          ],
        }),
      ],
    });
    const summary = summarizeRun(snapshot, []);
    const source = summary.sources[0];
    expect(source?.locations).toEqual([
      { location: "us-east-1", keys: 1, usageEvents: 42, gaps: 3 },
      { location: "eu-west-1", keys: 0, usageEvents: 0, gaps: 1 },
    ]);
    expect(source?.gaps).toBe(4);
    expect(summary.gaps).toBe(4);
    expect(summary.complete).toBe(false);
  });

  it("lists every gap first on screen with call, cause and fix; identical causes are one line with a count", () => {
    const denied = {
      call: "kms:GetKeyPolicy",
      code: "AccessDeniedException",
      message: "not authorized",
      retryable: false,
    };
    const keys = ["k1", "k2", "k3"].map((keyId) =>
      makeKey({ keyId, source: "aws-prod", location: "us-east-1", errors: [denied] }),
    );
    const snapshot = makeSnapshot({
      keys,
      gaps: [
        makeGap({
          source: "aws-prod",
          location: "us-east-1",
          error: {
            call: "kms:ListKeys",
            code: "CredentialsProviderError",
            message: "Could not load credentials from any providers",
            retryable: false,
          },
        }),
      ],
    });
    const summary = summarizeRun(snapshot, []);
    expect(summary.gaps).toBe(4);
    expect(summary.gapDetails).toHaveLength(2);
    expect(summary.gapDetails[1]).toMatchObject({
      call: "kms:GetKeyPolicy",
      count: 3,
      keyIds: ["k1", "k2", "k3"],
    });
    const text = formatRunSummary(summary, bundle);
    expect(text.indexOf("INCOMPLETE EVIDENCE")).toBe(0);
    expect(text.indexOf("kms:ListKeys failed")).toBeLessThan(text.indexOf("Bundle:"));
    expect(text).toContain("aws-prod / us-east-1: kms:ListKeys failed: CredentialsProviderError");
    expect(text).toContain("fix: no AWS credentials: set AWS_PROFILE");
    expect(text).toContain("kms:GetKeyPolicy failed (3×): AccessDeniedException");
    expect(text).toContain("fix: the identity may not call kms:GetKeyPolicy");
  });

  it("an error finding alone makes the evidence incomplete", () => {
    const summary = summarizeRun(makeSnapshot(), [finding({ status: "error" })]);
    expect(summary).toMatchObject({ complete: false, gaps: 0 });
    expect(runStateOf("completed", summary)).toBe("completed-with-gaps");
    expect(runStateOf("running", summary)).toBe("running");
  });

  it("names each error finding no gap explains, with its cause, after the gaps", () => {
    const deniedKey = makeKey({
      keyId: "denied",
      access: notCollected("kms:GetKeyPolicy", { code: "AccessDeniedException" }),
    });
    const snapshot = makeSnapshot({
      sources: [makeSource({ locations: [makeLocation({ keys: [deniedKey] })] })],
    });
    const findings = [
      // Explained by the GetKeyPolicy gap of key "denied": on screen once, as that gap.
      finding({ status: "error", location: "eu-west-1", keyId: "denied", checkId: "key-access-not-public" }),
      // No gap behind these: the check could not judge what was collected.
      ...["k1", "k2", "k3"].map((keyId) =>
        finding({
          status: "error",
          location: "eu-west-1",
          keyId,
          resource: `arn:aws:kms:us-east-1:111122223333:key/${keyId}`,
          checkId: "key-access-not-public",
          message: "the key's account is unknown",
        }),
      ),
    ];
    const summary = summarizeRun(snapshot, findings);
    expect(summary.errorDetails).toEqual([
      {
        checkId: "key-access-not-public",
        message: "the key's account is unknown",
        count: 3,
        resources: ["k1", "k2", "k3"].map((keyId) => `arn:aws:kms:us-east-1:111122223333:key/${keyId}`),
      },
    ]);
    const text = formatRunSummary(summary, bundle);
    expect(text).toContain("Findings that could not be judged (check: cause):");
    expect(text).toContain("  key-access-not-public (3×): the key's account is unknown");
    expect(text.indexOf("could not be judged")).toBeGreaterThan(text.indexOf("kms:GetKeyPolicy failed"));
    expect(text.indexOf("could not be judged")).toBeLessThan(text.indexOf("Bundle:"));
  });
});
