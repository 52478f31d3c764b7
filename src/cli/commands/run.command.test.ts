import { describe, expect, it } from "vitest";
import { summarizeRun, hasFailAtOrAbove } from "../../jobs/run-summary.ts";
import { runStateOf } from "../../jobs/queue/run-store.ts";
import type { Finding } from "../../model/finding.ts";
import { makeGap, makeSnapshot } from "../../../test/factories/index.ts";
import { EXIT_CODES } from "../exit-codes.ts";
import { main, type CliIo } from "../main.ts";
import { runExitCode } from "./run.command.ts";

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

describe("exit codes and --fail-on", () => {
  const failing = [
    finding({ status: "fail", severity: "high" }),
    finding({ status: "warn", severity: "critical" }),
  ];

  it("gates on fails at or above the threshold only (warns never gate)", () => {
    const summary = summarizeRun(makeSnapshot(), failing);
    expect(hasFailAtOrAbove(summary, "critical")).toBe(false);
    expect(hasFailAtOrAbove(summary, "high")).toBe(true);
    expect(hasFailAtOrAbove(summary, "low")).toBe(true);
    expect(runExitCode(summary, undefined)).toBe(EXIT_CODES.OK);
    expect(runExitCode(summary, "high")).toBe(EXIT_CODES.FAIL_ON);
    expect(runExitCode(summary, "critical")).toBe(EXIT_CODES.OK);
    expect(runStateOf("completed", summary)).toBe("completed");
  });

  it("an error finding alone exits 3", () => {
    expect(runExitCode(summarizeRun(makeSnapshot(), [finding({ status: "error" })]), undefined)).toBe(
      EXIT_CODES.INCOMPLETE,
    );
  });

  it("a deliver: target failed for good is 3, over --fail-on; one still retrying after the wait is not", () => {
    const summary = summarizeRun(makeSnapshot(), failing);
    expect(runExitCode(summary, "high", [{ state: "delivered" }, { state: "failed" }])).toBe(
      EXIT_CODES.INCOMPLETE,
    );
    expect(runExitCode(summary, undefined, [{ state: "retrying" }, { state: "pending" }])).toBe(
      EXIT_CODES.OK,
    );
  });

  it("incomplete evidence (3) wins over --fail-on (4)", () => {
    const summary = summarizeRun(makeSnapshot({ gaps: [makeGap()] }), failing);
    expect(runExitCode(summary, "high")).toBe(EXIT_CODES.INCOMPLETE);
  });
});

describe("keyproof run --help", () => {
  it("documents the exit codes and --fail-on, as the README does", async () => {
    let stdout = "";
    const io: CliIo = { stdout: (text) => (stdout += text), stderr: () => undefined, isTty: false };
    expect(await main(["node", "keyproof", "run", "--help"], io)).toBe(EXIT_CODES.OK);
    expect(stdout).toContain("--fail-on <severity>");
    expect(stdout.replace(/\s+/g, " ")).toContain(`(choices: "low", "medium", "high", "critical")`);
    expect(stdout).toMatch(/3 {2}a bundle was sealed but the evidence is incomplete/);
    expect(stdout).toMatch(/4 {2}with --fail-on/);
    expect(stdout).toContain("--delivery-wait <seconds>");
    expect(stdout).toContain("or a deliver: target failed for good (queued runs: within --delivery-wait)");
  });

  it("rejects a --delivery-wait that is not a whole number of seconds (exit 2)", async () => {
    const io: CliIo = { stdout: () => undefined, stderr: () => undefined, isTty: false };
    for (const wait of ["-1", "1.5", "soon"]) {
      expect(
        await main(
          ["node", "keyproof", "run", "-c", "x.yaml", "--period", "2026-Q3", "--delivery-wait", wait],
          io,
        ),
      ).toBe(EXIT_CODES.BAD_INPUT);
    }
  });

  it("rejects a --fail-on severity that is not one of the four (exit 2)", async () => {
    const io: CliIo = { stdout: () => undefined, stderr: () => undefined, isTty: false };
    expect(
      await main(["node", "keyproof", "run", "-c", "x.yaml", "--period", "2026-Q3", "--fail-on", "info"], io),
    ).toBe(EXIT_CODES.BAD_INPUT);
  });
});
