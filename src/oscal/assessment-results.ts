import type { CheckMetadata } from "../checks/check.ts";
import { KeyproofError } from "../errors/errors.ts";
import { FINDINGS_FILE, PROCEDURE_APPROVAL_FILE } from "../evidence/paths.ts";
import type { Finding } from "../model/finding.ts";
import { KEY_MANAGEMENT_PROCEDURE_PATH } from "../render/artifact-paths.ts";
import type { KeyRecord } from "../model/key.ts";
import type { Snapshot } from "../model/snapshot.ts";
import { uuidV5 } from "./deterministic-uuid.ts";

/**
 * An OSCAL 1.0.6 assessment-results document built from one run: what an auditor's GRC tooling imports
 * instead of reading PDFs. Pure: the same run (findings, snapshot, file digests) gives the same bytes.
 *
 * Mapping (README "OSCAL assessment results"):
 * - the run is one `result`; its `start`/`end` are the evidence period (`from`, exclusive `toExclusive`);
 * - every key of the snapshot is a subject (`local-definitions.inventory-items`), with or without findings;
 *   a finding about something else (a trail, a vault, an inventory entry, the organization) gets an
 *   inventory item for its resource, so every observation has a subject;
 * - every check result (finding, any status) is an `observation` (method TEST: an automated test of the
 *   live configuration), pointing at its evidence files;
 * - every `fail` or `error` result is also an OSCAL `finding` targeting the first SOC 2 criterion of the
 *   check (all criteria are listed as props) with `not-satisfied`; `warn` stays an observation, as the
 *   check's verdict is "could not be shown either way" rather than an exception;
 * - `reviewed-controls` lists every SOC 2 criterion the checks map to, lower-cased as OSCAL control ids are
 *   (`cc6.1`);
 * - `back-matter.resources` lists the bundle's files with their SHA-256 (the manifest's digests), and one
 *   resource standing for the assessment plan that `import-ap` points at.
 */

export const OSCAL_VERSION = "1.0.6";
/** Namespace of keyproof's own props: OSCAL reserves un-namespaced prop names for itself. */
export const KEYPROOF_OSCAL_NAMESPACE = "urn:keyproof:oscal";

export interface OscalProperty {
  name: string;
  value: string;
  ns?: string;
}

export interface OscalHash {
  algorithm: "SHA-256";
  value: string;
}

export interface OscalResourceLink {
  href: string;
  "media-type"?: string;
  hashes?: OscalHash[];
}

export interface OscalResource {
  uuid: string;
  title?: string;
  description?: string;
  props?: OscalProperty[];
  rlinks?: OscalResourceLink[];
}

export interface OscalInventoryItem {
  uuid: string;
  description: string;
  props?: OscalProperty[];
}

export interface OscalSubjectReference {
  "subject-uuid": string;
  type: "inventory-item";
  title?: string;
}

export interface OscalRelevantEvidence {
  href: string;
  description: string;
}

export interface OscalObservation {
  uuid: string;
  title: string;
  description: string;
  props: OscalProperty[];
  methods: Array<"TEST">;
  subjects: OscalSubjectReference[];
  "relevant-evidence": OscalRelevantEvidence[];
  collected: string;
}

export interface OscalFinding {
  uuid: string;
  title: string;
  description: string;
  props: OscalProperty[];
  target: {
    type: "objective-id";
    "target-id": string;
    description: string;
    status: { state: "not-satisfied"; reason: "fail" | "other"; remarks?: string };
  };
  "related-observations": Array<{ "observation-uuid": string }>;
}

export interface OscalResult {
  uuid: string;
  title: string;
  description: string;
  props: OscalProperty[];
  start: string;
  end: string;
  "local-definitions"?: { "inventory-items": OscalInventoryItem[] };
  "reviewed-controls": {
    description: string;
    "control-selections": Array<{ description: string; "include-controls": Array<{ "control-id": string }> }>;
  };
  observations?: OscalObservation[];
  findings?: OscalFinding[];
}

export interface AssessmentResultsDocument {
  "assessment-results": {
    uuid: string;
    metadata: {
      title: string;
      "last-modified": string;
      version: string;
      "oscal-version": typeof OSCAL_VERSION;
      props: OscalProperty[];
    };
    "import-ap": { href: string; remarks: string };
    results: [OscalResult];
    "back-matter": { resources: OscalResource[] };
  };
}

/** A bundle file with its digest, as the manifest lists it. */
export interface DigestedFile {
  path: string;
  sha256: string;
  bytes: number;
}

export interface AssessmentResultsInput {
  snapshot: Pick<Snapshot, "runId" | "organization" | "range" | "capturedAt" | "sources" | "procedure">;
  findings: readonly Finding[];
  /** Metadata of every check that ran (the registry's): titles and SOC 2 mappings. */
  checks: ReadonlyArray<Pick<CheckMetadata, "id" | "title" | "soc2" | "procedureStep">>;
  /** The bundle's files at the time of writing, with their SHA-256, sorted by path. */
  files: readonly DigestedFile[];
  keyproofVersion: string;
}

const MEDIA_TYPES: Record<string, string> = {
  json: "application/json",
  ndjson: "application/x-ndjson",
  csv: "text/csv",
  pdf: "application/pdf",
  png: "image/png",
  html: "text/html",
  md: "text/markdown",
  pem: "application/x-pem-file",
  txt: "text/plain",
};

/**
 * Bundle paths are slugs (paths.ts), already valid URI references; encodeURI keeps them as they are and
 * would escape a space or bracket a future path might hold, which the schema's `uri-reference` refuses.
 */
function hrefOf(path: string): string {
  return encodeURI(path);
}

function mediaTypeOf(path: string): string {
  const extension = /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase();
  return (extension === undefined ? undefined : MEDIA_TYPES[extension]) ?? "application/octet-stream";
}

/**
 * OSCAL string datatypes refuse leading or trailing whitespace and line breaks in prop values; an
 * organization name or a key description may have either, so values are folded to one trimmed line.
 */
function prop(name: string, value: string): OscalProperty {
  const folded = value.replace(/\s+/g, " ").trim();
  return { name, value: folded === "" ? "(empty)" : folded, ns: KEYPROOF_OSCAL_NAMESPACE };
}

/** `CC6.1` → `cc6.1`: OSCAL control ids are lower case (as in NIST's catalogs and community SOC 2 ones). */
export function controlIdOf(criterion: string): string {
  return criterion.toLowerCase();
}

/** cc2.1 < cc6.1 < cc6.10: numeric order of the criterion's parts, so the list reads like the TSC. */
function byCriterion(left: string, right: string): number {
  const parts = (id: string) => id.match(/\d+/g)?.map(Number) ?? [];
  const [a, b] = [parts(left), parts(right)];
  for (let index = 0; index < Math.max(a.length, b.length); index++) {
    const difference = (a[index] ?? -1) - (b[index] ?? -1);
    if (difference !== 0) return difference;
  }
  return left < right ? -1 : left > right ? 1 : 0;
}

function keyName(source: string, location: string | undefined, keyId: string): string {
  return JSON.stringify(["key", source, location ?? "", keyId]);
}

function resourceName(finding: Finding): string {
  return JSON.stringify(["resource", finding.source, finding.location ?? "", finding.resource]);
}

/** Builds the document; throws INTERNAL on a finding of a check the metadata does not know. */
export function buildAssessmentResults(input: AssessmentResultsInput): AssessmentResultsDocument {
  const { snapshot, findings, files } = input;
  const { runId, range } = snapshot;
  // Every uuid is a name under the run: deterministic for the run, distinct across runs.
  const uuidOf = (name: string): string => uuidV5(`${runId}\n${name}`);
  const metadataById = new Map(input.checks.map((check) => [check.id, check]));
  const checkOf = (finding: Finding) => {
    const metadata = metadataById.get(finding.checkId);
    if (metadata === undefined) {
      throw new KeyproofError(
        "INTERNAL",
        `OSCAL assessment results: finding of check ${finding.checkId}, which has no metadata`,
      );
    }
    return metadata;
  };

  // Subjects: every key first (a key with no findings is still assessed), then other judged resources.
  const subjects = new Map<string, { item: OscalInventoryItem; title: string }>();
  const keys: KeyRecord[] = snapshot.sources.flatMap((source) =>
    source.locations.flatMap((location) => location.keys),
  );
  for (const key of keys) {
    const name = keyName(key.source, key.location, key.keyId);
    if (subjects.has(name)) continue;
    subjects.set(name, {
      title: key.arn,
      item: {
        uuid: uuidOf(`subject ${name}`),
        description: `${key.sourceType} key ${key.arn} (source ${key.source}, location ${key.location})`,
        props: [
          prop("subject-kind", "key"),
          prop("source", key.source),
          prop("source-type", key.sourceType),
          prop("location", key.location),
          prop("key-id", key.keyId),
          prop("resource", key.arn),
          ...key.aliases.map((alias) => prop("alias", alias)),
        ],
      },
    });
  }
  const subjectOf = (finding: Finding) => {
    const byKey =
      finding.keyId === undefined
        ? undefined
        : subjects.get(keyName(finding.source, finding.location, finding.keyId));
    if (byKey !== undefined) return byKey;
    const name = resourceName(finding);
    const existing = subjects.get(name);
    if (existing !== undefined) return existing;
    const created = {
      title: finding.resource,
      item: {
        uuid: uuidOf(`subject ${name}`),
        description:
          `${finding.resource} (source ${finding.source}` +
          (finding.location === undefined ? ")" : `, location ${finding.location})`),
        props: [
          prop("subject-kind", finding.keyId === undefined ? "resource" : "key"),
          prop("source", finding.source),
          ...(finding.location === undefined ? [] : [prop("location", finding.location)]),
          ...(finding.keyId === undefined ? [] : [prop("key-id", finding.keyId)]),
          prop("resource", finding.resource),
        ],
      },
    };
    subjects.set(name, created);
    return created;
  };

  const observations: OscalObservation[] = [];
  const oscalFindings: OscalFinding[] = [];
  findings.forEach((finding, index) => {
    const check = checkOf(finding);
    const subject = subjectOf(finding);
    const criteria = check.soc2.map((criterion) => prop("soc2-criterion", criterion));
    const observationUuid = uuidOf(`observation ${index}`);
    observations.push({
      uuid: observationUuid,
      title: check.title,
      description: finding.message,
      props: [
        prop("check-id", finding.checkId),
        prop("status", finding.status),
        prop("severity", finding.severity),
        ...criteria,
        ...(finding.date === undefined ? [] : [prop("verdict-date", finding.date)]),
      ],
      methods: ["TEST"],
      subjects: [{ "subject-uuid": subject.item.uuid, type: "inventory-item", title: subject.title }],
      "relevant-evidence": [
        {
          href: FINDINGS_FILE,
          description: `The verdict: entry ${index} of ${FINDINGS_FILE} (${finding.checkId}, ${finding.status}).`,
        },
        ...finding.evidence.map((path) => ({
          href: hrefOf(path),
          description: `Evidence the ${finding.checkId} verdict rests on.`,
        })),
      ],
      collected: snapshot.capturedAt,
    });
    if (finding.status !== "fail" && finding.status !== "error") return;
    const primary = check.soc2[0];
    if (primary === undefined) {
      throw new KeyproofError("INTERNAL", `check ${check.id} maps to no SOC 2 criterion`);
    }
    oscalFindings.push({
      uuid: uuidOf(`finding ${index}`),
      title: `${check.title}: ${finding.status === "fail" ? "not met" : "could not be judged"} for ${subject.title}`,
      description: finding.message,
      props: [
        prop("check-id", finding.checkId),
        prop("status", finding.status),
        prop("severity", finding.severity),
        ...criteria,
      ],
      target: {
        type: "objective-id",
        "target-id": controlIdOf(primary),
        description: `SOC 2 ${check.soc2.join(", ")}: ${check.procedureStep}`,
        status:
          finding.status === "fail"
            ? { state: "not-satisfied", reason: "fail" }
            : {
                state: "not-satisfied",
                reason: "other",
                // An error is not a failed control: the facts could not be collected, so the objective is
                // not shown satisfied. Said here so an importer does not count it as an exception.
                remarks:
                  "The check could not judge this resource because its data could not be collected; the objective is not shown satisfied.",
              },
      },
      "related-observations": [{ "observation-uuid": observationUuid }],
    });
  });

  const controlIds = [
    ...new Set(input.checks.flatMap((check) => check.soc2.map((criterion) => controlIdOf(criterion)))),
  ].sort(byCriterion);
  const counts = new Map<string, number>();
  for (const finding of findings) counts.set(finding.status, (counts.get(finding.status) ?? 0) + 1);
  const tally = [...counts].map(([status, count]) => `${count} ${status}`).join(", ");

  const fileByPath = new Map(files.map((file) => [file.path, file]));
  const linkTo = (path: string): OscalResourceLink => {
    const file = fileByPath.get(path);
    return {
      href: hrefOf(path),
      "media-type": mediaTypeOf(path),
      ...(file === undefined ? {} : { hashes: [{ algorithm: "SHA-256", value: file.sha256 }] }),
    };
  };
  const planUuid = uuidOf("assessment-plan");
  const planLinks = [PROCEDURE_APPROVAL_FILE, KEY_MANAGEMENT_PROCEDURE_PATH]
    .filter((path) => fileByPath.has(path))
    .map(linkTo);
  const planResource: OscalResource = {
    uuid: planUuid,
    title: "Assessment plan: the encryption-key-management procedure",
    description:
      "keyproof has no separate OSCAL assessment plan: the plan is the organization's encryption-key-management " +
      "procedure (SOC 2 CC6), generated from the configuration, whose steps the checks evidence (each " +
      "observation's check names its procedure step). Its approval record and the rendered procedure are linked.",
    props: [
      prop("procedure-version", snapshot.procedure.version),
      prop("procedure-text-sha256", snapshot.procedure.textSha256),
    ],
    ...(planLinks.length === 0 ? {} : { rlinks: planLinks }),
  };

  const subjectItems = [...subjects.values()].map((subject) => subject.item);
  const result: OscalResult = {
    uuid: uuidOf("result"),
    title: `Encryption key management, ${range.label}: keyproof run ${runId}`,
    description:
      `Automated assessment of ${keys.length} key(s) in ${snapshot.sources.length} source(s) against the ` +
      `encryption-key-management procedure, for the period ${range.label} (${range.from} to ${range.toExclusive}, ` +
      `exclusive). Check results: ${tally === "" ? "none" : tally}.`,
    props: [
      prop("run-id", runId),
      prop("period-label", range.label),
      prop("period-last-day", range.to),
      prop("captured-at", snapshot.capturedAt),
    ],
    start: range.from,
    end: range.toExclusive,
    ...(subjectItems.length === 0 ? {} : { "local-definitions": { "inventory-items": subjectItems } }),
    "reviewed-controls": {
      description: "The SOC 2 common criteria the checks of this run map to (each check's metadata).",
      "control-selections": [
        {
          description: "SOC 2 Trust Services Criteria, common criteria (control ids lower-cased).",
          "include-controls": controlIds.map((id) => ({ "control-id": id })),
        },
      ],
    },
    ...(observations.length === 0 ? {} : { observations }),
    ...(oscalFindings.length === 0 ? {} : { findings: oscalFindings }),
  };

  return {
    "assessment-results": {
      uuid: uuidOf("assessment-results"),
      metadata: {
        title: `Encryption key management assessment results: ${snapshot.organization}, ${range.label}`,
        "last-modified": snapshot.capturedAt,
        // The run id names this document's one version: a later run is a new document, never a revision.
        version: runId,
        "oscal-version": OSCAL_VERSION,
        props: [prop("organization", snapshot.organization), prop("keyproof-version", input.keyproofVersion)],
      },
      "import-ap": {
        href: `#${planUuid}`,
        remarks:
          "No OSCAL assessment plan is published: this points at the back-matter resource describing the plan (the approved key-management procedure).",
      },
      results: [result],
      "back-matter": {
        resources: [
          planResource,
          ...files.map((file) => ({
            uuid: uuidOf(`file ${file.path}`),
            title: file.path,
            props: [prop("bytes", String(file.bytes))],
            rlinks: [linkTo(file.path)],
          })),
        ],
      },
    },
  };
}
