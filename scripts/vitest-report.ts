/**
 * `tsx scripts/vitest-report.ts <report.json> [slowest]` (scripts/test.sh): prints
 * `passed failed skipped unloaded-files` on stdout for the closing line, and the `slowest` (default 10)
 * tests on stderr, where the test script's other log lines go. A missing report counts as nothing run.
 */
import { existsSync, readFileSync } from "node:fs";
import {
  countTests,
  formatSlowestTests,
  slowestTests,
  VitestReportSchema,
  type VitestReport,
} from "./lib/vitest-report.ts";

const [file, slowestArgument = "10"] = process.argv.slice(2);
const slowest = Number(slowestArgument);
if (file === undefined || !Number.isInteger(slowest) || slowest < 0) {
  process.stderr.write("usage: tsx scripts/vitest-report.ts <report.json> [slowest]\n");
  process.exit(2);
}

/** Reads the report; a file vitest did not write or did not finish is reported, then counts as nothing run. */
function readReport(reportFile: string): VitestReport | undefined {
  if (!existsSync(reportFile)) return undefined;
  try {
    return VitestReportSchema.parse(JSON.parse(readFileSync(reportFile, "utf8")));
  } catch (error) {
    process.stderr.write(`test: ${reportFile} is not a vitest JSON report: ${String(error)}\n`);
    return undefined;
  }
}

const report = readReport(file);
if (report === undefined) {
  process.stdout.write("0 0 0 0\n");
} else {
  const tests = slowestTests(report, process.cwd(), slowest);
  if (tests.length > 0) {
    const lines = formatSlowestTests(tests).map((line) => `test:   ${line}`);
    process.stderr.write(`test: slowest ${tests.length} tests:\n${lines.join("\n")}\n`);
  }
  const counts = countTests(report);
  process.stdout.write(`${counts.passed} ${counts.failed} ${counts.skipped} ${counts.unloadedFiles}\n`);
}
