import type { KeyRecord } from "../../model/key.ts";
import type { LoggingSink } from "../../model/logging.ts";
import type { Snapshot, SourceSnapshot } from "../../model/snapshot.ts";
import { captureWindowOf } from "../../model/snapshot.ts";
import { describeCaptureWindow } from "./capture-banner.view-model.ts";
import { buildReportHeader, type ReportHeaderView } from "./report-header.view-model.ts";
import {
  CONSOLE_STYLES,
  compareText,
  formatDay,
  formatInstant,
  plural,
  row,
  sortedCounts,
  type Row,
} from "./format.ts";
import { tallyOf, verdictOf, type DisplayVerdict, type FindingIndex, type VerdictTally } from "./verdicts.ts";
import { ORGANIZATION_SOURCE } from "../../model/finding.ts";
import {
  PHASES,
  ROLES,
  procedureStepsOf,
  sourceTypesInOrder,
  toolProcedureText,
  type LifecyclePhase,
  type ProcedureInput,
} from "../../procedure/procedure-text.ts";

/**
 * The key-management procedure document the mission asks for ("how keys are created, rotated, revoked,
 * and deleted, including references to the specific tools used ... reviewed annually"). It is generated:
 * the steps and roles come from the procedure, the tools from the sources actually configured, and every
 * "observed" line from this run's snapshot, so the document cannot drift from what is deployed.
 */

export type LifecyclePhaseView = {
  phase: string;
  summary: string;
  tools: Array<{ product: string; text: string }>;
  observed: Array<{ text: string }>;
};

export type ProcedureStepView = {
  number: number;
  title: string;
  role: string;
  description: string;
  output: string;
  evidence: string;
};

/**
 * The approval block (procedure step 6): the latest approval as recorded, and the verdict of the
 * procedure-approved-current finding (whether it is of this text and current is the check's call, not ours).
 */
export type ProcedureApprovalView = {
  /** This run's procedure version and the SHA-256 of its normative text. */
  version: string;
  textSha256: string;
  /**
   * The latest approval as recorded: one entry, or none when none was recorded or none could be read (a
   * list, not an optional field: the template refuses fields the view lacks).
   */
  approved: Array<{ version: string; name: string; title: string; date: string; textSha256: string }>;
  /** "Not approved", or that approvals could not be read; "" when an approval is shown. */
  absence: string;
  verdict: DisplayVerdict;
};

export type KeyManagementProcedureView = {
  report: ReportHeaderView;
  reviewDate: string;
  signer: string;
  scope: string;
  tools: Array<{ name: string; detail: string }>;
  policyRows: Row[];
  observed: Array<{ source: string; product: string; rows: Row[] }>;
  steps: ProcedureStepView[];
  lifecycle: LifecyclePhaseView[];
  roles: Array<{ role: string; duties: string }>;
  approval: ProcedureApprovalView;
};

function approvalViewOf(
  snapshot: Pick<Snapshot, "governance" | "procedure">,
  verdicts: FindingIndex,
): ProcedureApprovalView {
  const verdict = verdictOf(verdicts, { source: ORGANIZATION_SOURCE }, "procedure-approved-current", {
    pass: "Approved, current",
    fail: "Not current",
    warn: "Not checked",
  });
  const view: ProcedureApprovalView = {
    version: snapshot.procedure.version,
    textSha256: snapshot.procedure.textSha256,
    approved: [],
    absence: "",
    verdict,
  };
  const { governance } = snapshot;
  if (governance.state === "unavailable") view.absence = "Approvals could not be read";
  else if (governance.latestApproval === undefined) view.absence = "Not approved";
  else {
    const latest = governance.latestApproval;
    view.approved = [
      {
        version: latest.version,
        name: latest.name,
        title: latest.title,
        date: formatDay(latest.approvedAt),
        textSha256: latest.textSha256,
      },
    ];
  }
  return view;
}

/** The capture date plus one year (UTC); 29 February rolls to 1 March, as Date.UTC does. */
export function reviewDateOf(capturedAt: string): string {
  const captured = new Date(capturedAt);
  return new Date(Date.UTC(captured.getUTCFullYear() + 1, captured.getUTCMonth(), captured.getUTCDate()))
    .toISOString()
    .slice(0, 10);
}

const SINK_TOOL: Record<LoggingSink["kind"], string> = {
  "cloudtrail-trail": "AWS CloudTrail",
  "azure-diagnostic-setting": "Azure Monitor diagnostic settings",
  "vault-audit-device": "Vault audit devices",
};

const USAGE_METHODS: Record<string, string> = {
  "cloudtrail-s3": "CloudTrail log files in Amazon S3",
  "cloudtrail-lookup-events": "CloudTrail LookupEvents",
  "log-analytics": "Azure Log Analytics (AuditEvent)",
  "vault-audit-file": "Vault file audit log",
};

function keysOfSource(source: SourceSnapshot): KeyRecord[] {
  return source.locations.flatMap((location) => location.keys);
}

function sinksOfSource(source: SourceSnapshot): LoggingSink[] {
  return source.locations.flatMap((location) => location.logging.sinks);
}

function describeTools(
  snapshot: Pick<Snapshot, "sources">,
  signer: string,
): Array<{ name: string; detail: string }> {
  const tools: Array<{ name: string; detail: string }> = [];
  for (const source of snapshot.sources) {
    const style = CONSOLE_STYLES[source.type];
    const locations = source.locations.map((location) => location.location);
    tools.push({
      name: style.productName,
      detail: `Source "${source.source}"${source.account === undefined ? "" : `, ${style.accountLabel.toLowerCase()} ${source.account}`}; ${style.locationLabel.toLowerCase()}s: ${locations.length > 0 ? locations.join(", ") : "none collected"}`,
    });
    const sinks = sinksOfSource(source);
    const byTool = new Map<string, string[]>();
    for (const sink of sinks)
      byTool.set(SINK_TOOL[sink.kind], [...(byTool.get(SINK_TOOL[sink.kind]) ?? []), sink.name]);
    for (const [name, names] of byTool)
      tools.push({
        name,
        detail: `Source "${source.source}": ${[...new Set(names)].sort(compareText).join(", ")}`,
      });
    const methods = [
      ...new Set(source.usage.map((summary) => summary.method).filter((method) => method !== "none")),
    ];
    for (const method of methods)
      tools.push({
        name: USAGE_METHODS[method] ?? method,
        detail: `Key usage log read for source "${source.source}"`,
      });
  }
  tools.push({
    name: "keyproof",
    detail: `Evidence collection, checks and signed bundles; signer: ${signer}`,
  });
  return tools;
}

/**
 * A fact about a source's keys or locations, marked by how the check that judges it came out over that
 * source: colour from the worst status, the counts in the note. The fact itself is never judged here.
 */
function tallyRow(label: string, value: string, tally: VerdictTally, options: { mono?: boolean } = {}): Row {
  return {
    ...row(label, value, options),
    tone: tally.tone,
    note: tally.text,
    checkId: tally.checkId,
    status: tally.worst,
  };
}

function observedRows(source: SourceSnapshot, verdicts: FindingIndex): Row[] {
  const keys = keysOfSource(source);
  const customer = keys.filter((key) => key.manager === "customer");
  const rotationKnown = customer.filter((key) => key.rotation.ok);
  const rotating = rotationKnown.filter((key) => key.rotation.ok && key.rotation.value.enabled);
  const periods = new Set(
    rotating.flatMap((key) =>
      key.rotation.ok && key.rotation.value.periodDays !== undefined ? [key.rotation.value.periodDays] : [],
    ),
  );
  const specs = sortedCounts(Object.fromEntries(countBy(keys, (key) => key.keySpec)));
  const sinks = sinksOfSource(source);
  const covering = sinks.filter((sink) => sink.active === true && sink.coversKeyEvents);
  const ofSource = (checkId: string): VerdictTally =>
    tallyOf(verdicts, checkId, (finding) => finding.source === source.source);
  return [
    row("Keys found", `${plural(keys.length, "key")} (${customer.length} customer-managed)`),
    tallyRow(
      "State",
      sortedCounts(Object.fromEntries(countBy(keys, (key) => key.state)))
        .map(([state, count]) => `${state}: ${count}`)
        .join(", ") || "none",
      ofSource("key-state-active"),
    ),
    tallyRow(
      "Key specs in use",
      specs.map(([spec, count]) => `${spec} (${count})`).join(", ") || "none",
      ofSource("key-spec-approved"),
      { mono: true },
    ),
    tallyRow(
      "Automatic rotation",
      `on for ${rotating.length} of ${customer.length} customer-managed keys${rotationKnown.length < customer.length ? ` (${customer.length - rotationKnown.length} not readable)` : ""}`,
      ofSource("key-rotation-enabled"),
    ),
    tallyRow(
      "Rotation periods configured",
      periods.size === 0
        ? "None reported"
        : [...periods]
            .sort((left, right) => left - right)
            .map((days) => plural(days, "day"))
            .join(", "),
      ofSource("key-rotation-period"),
    ),
    tallyRow(
      "Documented owners",
      `${plural(keys.length, "key")} in this source`,
      ofSource("key-owner-documented"),
    ),
    tallyRow(
      "Logging",
      `${covering.length} of ${sinks.length} sinks active and recording key events`,
      ofSource("key-usage-logging-enabled"),
    ),
    tallyRow(
      "Log retention",
      `${plural(source.locations.length, "location")}`,
      ofSource("log-retention-sufficient"),
    ),
  ];
}

function countBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(keyOf(item), (counts.get(keyOf(item)) ?? 0) + 1);
  return counts;
}

function observedForPhase(
  phase: LifecyclePhase,
  keys: readonly KeyRecord[],
  maxRotationDays: number,
  verdicts: FindingIndex,
): Array<{ text: string }> {
  const customer = keys.filter((key) => key.manager === "customer");
  switch (phase) {
    case "create": {
      const origins = sortedCounts(Object.fromEntries(countBy(customer, (key) => key.origin)));
      const newest = [...customer]
        .filter((key) => key.createdAt !== undefined)
        .sort((left, right) => compareText(right.createdAt ?? "", left.createdAt ?? ""))[0];
      return [
        {
          text: `Key material origin of customer-managed keys: ${origins.map(([origin, count]) => `${origin} (${count})`).join(", ") || "no keys"}.`,
        },
        ...(newest === undefined
          ? []
          : [{ text: `Most recently created key: ${newest.keyId}, on ${formatDay(newest.createdAt)}.` }]),
      ];
    }
    case "rotate": {
      const enabled = tallyOf(verdicts, "key-rotation-enabled", () => true);
      const period = tallyOf(verdicts, "key-rotation-period", () => true);
      return [
        {
          text: `Automatic rotation, as judged: ${enabled.text}. Keys that fail need rotation enabled or a documented manual schedule; not applicable keys (asymmetric, imported, provider-managed) follow the manual schedule.`,
        },
        { text: `Rotation period of at most ${maxRotationDays} days, as judged: ${period.text}.` },
      ];
    }
    case "revoke": {
      const disabled = keys.filter((key) => key.state === "disabled");
      const grants = keys.reduce(
        (sum, key) =>
          sum + (key.access.ok ? key.access.value.grants.filter((grant) => grant.via === "grant").length : 0),
        0,
      );
      return [
        { text: `${plural(disabled.length, "key")} currently disabled.` },
        {
          text: `${plural(grants, "grant")} in force across all keys (each names a grantee to revoke if no longer needed).`,
        },
      ];
    }
    case "delete": {
      const pending = keys.filter((key) => key.state === "pending-deletion");
      return pending.length === 0
        ? [{ text: "No key is pending deletion." }]
        : pending.map((key) => ({
            text: `${key.keyId} is pending deletion, scheduled for ${formatInstant(key.deletionDate)}.`,
          }));
    }
  }
}

/** Pure: the procedure document for this organisation's configuration and observed settings. */
export function buildKeyManagementProcedureView(input: {
  snapshot: Pick<
    Snapshot,
    | "organization"
    | "range"
    | "runId"
    | "capturedAt"
    | "sources"
    | "policy"
    | "inventory"
    | "governance"
    | "procedure"
  >;
  /** The signer as a person may read it: key id and fingerprint, never a local file path. */
  signerDescription: string;
  /** The run's findings: every ok/bad mark in the observed settings comes from them. */
  verdicts: FindingIndex;
  generatedAt: Date;
}): KeyManagementProcedureView {
  const { snapshot } = input;
  const maximum = snapshot.policy.maxRotationDays;
  const procedureInput: ProcedureInput = {
    organization: snapshot.organization,
    policy: snapshot.policy,
    sourceTypes: snapshot.sources.map((source) => source.type),
  };
  const typesInUse = sourceTypesInOrder(procedureInput.sourceTypes);
  const allKeys = snapshot.sources.flatMap(keysOfSource);
  const products = typesInUse.map((type) => CONSOLE_STYLES[type].productName);
  const reviewDate = reviewDateOf(snapshot.capturedAt);
  const sinkTools = [...new Set(snapshot.sources.flatMap(sinksOfSource).map((sink) => SINK_TOOL[sink.kind]))];

  // The normative steps (what an approval covers), each followed by what this run observed.
  const observedByStep: Record<number, string> = {
    1: `It currently has ${plural(snapshot.inventory.length, "entry", "entries")}.`,
    5: `Logging observed: ${sinkTools.length > 0 ? sinkTools.join(", ") : "no logging sink was observed"}.`,
    6: `Next review due ${reviewDate}.`,
  };
  const steps: ProcedureStepView[] = procedureStepsOf(procedureInput).map((step) => {
    const observed = observedByStep[step.number];
    return observed === undefined ? step : { ...step, description: `${step.description} ${observed}` };
  });

  return {
    report: buildReportHeader(snapshot, "Encryption key management procedure", input.generatedAt),
    reviewDate,
    signer: input.signerDescription,
    scope: `This procedure covers ${plural(allKeys.length, "key")} in ${plural(snapshot.sources.length, "source")} (${snapshot.sources.map((source) => source.source).join(", ") || "none"}) managed with ${products.join(", ") || "no key management system"}, as observed on ${describeCaptureWindow(captureWindowOf(snapshot))}.`,
    tools: describeTools(snapshot, input.signerDescription),
    policyRows: [
      row("Maximum interval between rotations", plural(maximum, "day")),
      row("Minimum log retention", plural(snapshot.policy.logRetentionDays, "day")),
      row("Approved key specs", snapshot.policy.approvedKeySpecs.join(", "), { mono: true }),
    ],
    observed: snapshot.sources.map((source) => ({
      source: source.source,
      product: CONSOLE_STYLES[source.type].productName,
      rows: observedRows(source, input.verdicts),
    })),
    steps,
    lifecycle: PHASES.map(({ phase, title, summary }) => ({
      phase: title,
      summary,
      tools: typesInUse.map((type) => ({
        product: CONSOLE_STYLES[type].productName,
        text: toolProcedureText(type, phase, maximum),
      })),
      observed: observedForPhase(phase, allKeys, maximum, input.verdicts),
    })),
    roles: ROLES.map((role) => ({ ...role })),
    approval: approvalViewOf(snapshot, input.verdicts),
  };
}
