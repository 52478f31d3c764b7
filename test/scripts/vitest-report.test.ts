/** The reader behind scripts/test.sh's closing line and its slowest-tests listing. */
import { describe, expect, it } from "vitest";
import {
  countTests,
  formatSlowestTests,
  slowestTests,
  VitestReportSchema,
  type VitestReport,
} from "../../scripts/lib/vitest-report.ts";

const ROOT = "/work/keyproof";

function assertion(
  title: string,
  duration: number | null | undefined,
  status = "passed",
  ancestors = ["suite"],
) {
  return { ancestorTitles: ancestors, title, status, duration, fullName: title, failureMessages: [] };
}

/** The shape vitest's JSON reporter writes, with the extra fields it carries that the reader ignores. */
function makeReport(): VitestReport {
  return VitestReportSchema.parse({
    numPassedTests: 3,
    numFailedTests: 1,
    numPendingTests: 1,
    numTodoTests: 1,
    numTotalTests: 6,
    success: false,
    snapshot: {},
    testResults: [
      {
        name: `${ROOT}/test/integration/queue-run.test.ts`,
        status: "failed",
        message: "",
        assertionResults: [
          assertion("runs a queued period", 41_240),
          assertion("times out under load", 60_003, "failed", ["queue", "load"]),
          assertion("is skipped", null, "skipped"),
        ],
      },
      {
        name: `${ROOT}/src/checks/registry.test.ts`,
        status: "passed",
        message: "",
        assertionResults: [assertion("ids match folders", 12), assertion("todo", undefined, "todo")],
      },
      {
        name: `${ROOT}/test/integration/broken.test.ts`,
        status: "failed",
        message: "import",
        assertionResults: [],
      },
    ],
  });
}

describe("countTests", () => {
  it("counts skipped and todo together and files that ran no test", () => {
    expect(countTests(makeReport())).toEqual({ passed: 3, failed: 1, skipped: 2, unloadedFiles: 1 });
  });

  it("counts nothing in a report without results", () => {
    expect(countTests(VitestReportSchema.parse({}))).toEqual({
      passed: 0,
      failed: 0,
      skipped: 0,
      unloadedFiles: 0,
    });
  });
});

describe("slowestTests", () => {
  it("lists the slowest first with paths relative to the checkout, leaving out tests that did not run", () => {
    expect(slowestTests(makeReport(), ROOT, 10)).toEqual([
      {
        file: "test/integration/queue-run.test.ts",
        name: "queue > load > times out under load",
        durationMs: 60_003,
        status: "failed",
      },
      {
        file: "test/integration/queue-run.test.ts",
        name: "suite > runs a queued period",
        durationMs: 41_240,
        status: "passed",
      },
      {
        file: "src/checks/registry.test.ts",
        name: "suite > ids match folders",
        durationMs: 12,
        status: "passed",
      },
    ]);
  });

  it("keeps only as many as asked", () => {
    expect(slowestTests(makeReport(), ROOT, 1).map((timed) => timed.durationMs)).toEqual([60_003]);
    expect(slowestTests(makeReport(), ROOT, 0)).toEqual([]);
  });

  it("formats seconds aligned and marks a failed test", () => {
    expect(formatSlowestTests(slowestTests(makeReport(), ROOT, 3))).toEqual([
      "  60.0 s  test/integration/queue-run.test.ts > queue > load > times out under load (failed)",
      "  41.2 s  test/integration/queue-run.test.ts > suite > runs a queued period",
      "   0.0 s  src/checks/registry.test.ts > suite > ids match folders",
    ]);
  });
});
