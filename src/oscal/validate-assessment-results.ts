import { readFileSync } from "node:fs";
import path from "node:path";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { KeyproofError } from "../errors/errors.ts";
import { PACKAGE_ROOT } from "../package-root.ts";

/**
 * NIST's OSCAL 1.0.6 assessment-results JSON Schema (draft-07), shipped in the package under schemas/ as
 * published (byte-identical to test/fixtures/oscal/, which a test asserts), so the document is validated
 * where it is written: an invalid document fails the run here rather than at the auditor's import.
 */
export const ASSESSMENT_RESULTS_SCHEMA_PATH = path.join(
  PACKAGE_ROOT,
  "schemas/oscal/oscal_assessment-results_schema-1.0.6.json",
);

/**
 * ajv-formats is CommonJS whose typings declare `export default`; under NodeNext the default import is the
 * module object, whose `default` is the plugin (at runtime too: the plugin is its own `default`).
 */
const addFormats = addFormatsModule.default;

let compiled: ValidateFunction | undefined;

/** Compiled once per process: compiling the 150 kB schema takes far longer than validating a document. */
function validator(): ValidateFunction {
  if (compiled !== undefined) return compiled;
  const schema = JSON.parse(readFileSync(ASSESSMENT_RESULTS_SCHEMA_PATH, "utf8")) as Record<string, unknown>;
  // allErrors: a report of every problem at once; the schema's `date-time`, `uri` and `uri-reference`
  // formats are asserted (ajv only annotates formats it does not know), hence ajv-formats.
  const ajv = new Ajv({ allErrors: true });
  addFormats(ajv);
  compiled = ajv.compile(schema);
  return compiled;
}

function describeProblem(error: ErrorObject): string {
  return `${error.instancePath === "" ? "/" : error.instancePath}: ${error.message ?? error.keyword}`;
}

/** Problems of a document against the OSCAL 1.0.6 assessment-results schema; empty when it is valid. */
export function assessmentResultsProblems(document: unknown): string[] {
  const validate = validator();
  if (validate(document)) return [];
  return (validate.errors ?? []).map(describeProblem);
}

/** Throws INTERNAL naming the first problems: a document keyproof wrote that its own schema refuses is a bug. */
export function assertValidAssessmentResults(document: unknown): void {
  const problems = assessmentResultsProblems(document);
  if (problems.length === 0) return;
  throw new KeyproofError(
    "INTERNAL",
    `the OSCAL assessment-results document does not validate against the OSCAL 1.0.6 schema: ${problems.slice(0, 5).join("; ")}` +
      (problems.length > 5 ? ` (and ${problems.length - 5} more)` : ""),
  );
}
