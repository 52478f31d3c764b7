import type { KeyRecord, SourceType } from "../../model/key.ts";
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
import { tallyOf, type FindingIndex, type VerdictTally } from "./verdicts.ts";

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
};

/** The capture date plus one year (UTC); 29 February rolls to 1 March, as Date.UTC does. */
export function reviewDateOf(capturedAt: string): string {
  const captured = new Date(capturedAt);
  return new Date(Date.UTC(captured.getUTCFullYear() + 1, captured.getUTCMonth(), captured.getUTCDate()))
    .toISOString()
    .slice(0, 10);
}

type LifecyclePhase = "create" | "rotate" | "revoke" | "delete";

/** How each phase is carried out with each tool; `{max}` is the configured maximum rotation interval in days. */
const TOOL_PROCEDURES: Record<SourceType, Record<LifecyclePhase, string>> = {
  "aws-kms": {
    create:
      "Create a customer managed key (console: Key Management Service > Customer managed keys > Create key; API: CreateKey) with key spec SYMMETRIC_DEFAULT (AES-256-GCM) unless an approved asymmetric spec is required, key material origin AWS_KMS, an alias (CreateAlias) and tags naming the owner.",
    rotate:
      "Enable automatic rotation (EnableKeyRotation with RotationPeriodInDays of at most {max} days). Keys that cannot rotate automatically (asymmetric, imported material, custom key stores) are rotated by creating a new key and moving the alias (UpdateAlias) on a documented schedule of at most {max} days; RotateKeyOnDemand is used after a suspected compromise.",
    revoke:
      "Remove the principal from the key policy (PutKeyPolicy), retire or revoke its grants (RetireGrant, RevokeGrant) and remove IAM permissions; stop all use of the key at once by disabling it (DisableKey).",
    delete:
      "After CloudTrail shows the key is no longer used, schedule deletion (ScheduleKeyDeletion) with a waiting period of 7 to 30 days; cancel it (CancelKeyDeletion) if any use appears during the waiting period.",
  },
  "azure-key-vault": {
    create:
      "Generate the key in the approved vault (portal: Key Vaults > vault > Keys > Generate/Import; API: Create Key) as RSA of 2048 bits or more, or EC P-256/P-384, HSM-backed where required, tagged with its owner.",
    rotate:
      "Attach a key rotation policy whose Rotate lifetime action fires at most {max} days after creation, with an expiry; Rotate Key creates a new version on demand.",
    revoke:
      "Remove the principal's role assignment (e.g. Key Vault Crypto User) or access-policy entry; disable the key (enabled = false) to stop all cryptographic use.",
    delete:
      "Delete the key; with soft-delete and purge protection on, it stays recoverable for the vault's retention period and cannot be purged early.",
  },
  "hashicorp-vault": {
    create:
      "Create a named key on the transit mount (vault write -f <mount>/keys/<name> type=aes256-gcm96, or rsa-2048 / ecdsa-p256 where an asymmetric key is required).",
    rotate:
      "Set auto_rotate_period of at most {max} days (vault write <mount>/keys/<name>/config auto_rotate_period=<n>d) or rotate manually (vault write -f <mount>/keys/<name>/rotate); rewrap stored ciphertext and raise min_decryption_version to retire old versions.",
    revoke:
      "Remove the key's paths from the ACL policies of the principal, revoke the tokens and leases it holds, and raise min_decryption_version to revoke old key versions.",
    delete:
      "Set deletion_allowed=true on the key's config, then delete it (vault delete <mount>/keys/<name>); deletion is irreversible, so it follows the same approval as revocation.",
  },
};

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

const PHASES: Array<{ phase: LifecyclePhase; title: string; summary: string }> = [
  {
    phase: "create",
    title: "Creating keys",
    summary:
      "Keys are created only in the approved key management systems below, with approved algorithms and platform-generated key material where possible, and are added to the key inventory with an owner before use.",
  },
  {
    phase: "rotate",
    title: "Rotating keys",
    summary:
      "Automatic rotation is enabled wherever the platform supports it; otherwise a manual rotation schedule is kept. No key goes longer than the policy's maximum interval between rotations.",
  },
  {
    phase: "revoke",
    title: "Revoking access and keys",
    summary:
      "Access is revoked when a person or service no longer needs it (found at the annual review or on a role change); a key suspected of compromise is disabled at once and rotated.",
  },
  {
    phase: "delete",
    title: "Deleting keys",
    summary:
      "A key is deleted only after its data has been re-encrypted or destroyed, its usage log shows no recent use, and the key owner has approved; platforms' waiting periods are used, never bypassed.",
  },
];

/** Pure: the procedure document for this organisation's configuration and observed settings. */
export function buildKeyManagementProcedureView(input: {
  snapshot: Pick<
    Snapshot,
    "organization" | "range" | "runId" | "capturedAt" | "sources" | "policy" | "inventory"
  >;
  /** The signer as a person may read it: key id and fingerprint, never a local file path. */
  signerDescription: string;
  /** The run's findings: every ok/bad mark in the observed settings comes from them. */
  verdicts: FindingIndex;
  generatedAt: Date;
}): KeyManagementProcedureView {
  const { snapshot } = input;
  const maximum = snapshot.policy.maxRotationDays;
  const typesInUse = [...new Set(snapshot.sources.map((source) => source.type))];
  const allKeys = snapshot.sources.flatMap(keysOfSource);
  const products = typesInUse.map((type) => CONSOLE_STYLES[type].productName);
  const reviewDate = reviewDateOf(snapshot.capturedAt);
  const sinkTools = [...new Set(snapshot.sources.flatMap(sinksOfSource).map((sink) => SINK_TOOL[sink.kind]))];

  const steps: ProcedureStepView[] = [
    {
      number: 1,
      title: "Define key ownership and scope",
      role: "Engineering Lead",
      description: `Identify the systems, databases and services that need encryption keys and assign a named owner to each key, recording whether it protects data at rest, data in transit or application-level data. The inventory lives in keyproof.yaml (keys:) and currently has ${plural(snapshot.inventory.length, "entry", "entries")}.`,
      output: "Approved key inventory with owners and usage",
      evidence: "reports/key-inventory.pdf, inventory.json",
    },
    {
      number: 2,
      title: "Create encryption keys in the approved key management system",
      role: "Engineering Lead",
      description: `Create keys with ${products.join(", ")} using approved algorithms (${snapshot.policy.approvedKeySpecs.join(", ")}) and platform-managed key material where possible. See "Creating keys" below.`,
      output: "New keys with unique identifiers",
      evidence: "screenshots/**/key-configuration.png, sources/**/configuration.json",
    },
    {
      number: 3,
      title: "Configure key access controls",
      role: "Engineering Lead",
      description:
        "Restrict key use to approved services and users with least privilege; prefer service roles and managed identities over human users.",
      output: "Enforced IAM or policy-based access restrictions on each key",
      evidence: "screenshots/**/access-policy.png, sources/**/access-policy.json",
    },
    {
      number: 4,
      title: "Enable key rotation settings",
      role: "Engineering Lead",
      description: `Enable automatic rotation where supported, at least every ${maximum} days; define a manual schedule where it is not. See "Rotating keys" below.`,
      output: "Documented and configured rotation settings",
      evidence: "screenshots/**/key-configuration.png, reports/findings-report.pdf",
    },
    {
      number: 5,
      title: "Log and monitor key usage",
      role: "Security Analyst",
      description: `Keep logging of encrypt, decrypt and administrative events on (${sinkTools.length > 0 ? sinkTools.join(", ") : "no logging sink was observed"}) with at least ${snapshot.policy.logRetentionDays} days of retention, integrated with central logging or SIEM.`,
      output: "Auditable logs of key access and usage",
      evidence:
        "screenshots/**/logging-configuration.png, sources/**/usage-events.*, reports/usage-summary.pdf",
    },
    {
      number: 6,
      title: "Document key management procedures",
      role: "Engineering Lead",
      description: `This document, regenerated at each evidence run from the configuration and the observed settings, stored in the policy repository and reviewed annually (next review due ${reviewDate}).`,
      output: "Approved key management procedure document",
      evidence: "reports/key-management-procedure.pdf",
    },
    {
      number: 7,
      title: "Perform annual access and configuration review",
      role: "Security Analyst",
      description:
        "At least annually, review key access permissions, rotation status and logging configuration using this bundle's findings report; remediate and document every misconfiguration.",
      output: "Completed annual review record with findings and remediation notes",
      evidence: "reports/findings-report.pdf, findings.json",
    },
  ];

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
        text: TOOL_PROCEDURES[type][phase].replaceAll("{max}", String(maximum)),
      })),
      observed: observedForPhase(phase, allKeys, maximum, input.verdicts),
    })),
    roles: [
      {
        role: "Engineering Lead",
        duties:
          "Owns the key inventory, creates keys, configures access and rotation, maintains this procedure.",
      },
      {
        role: "Security Analyst",
        duties:
          "Monitors key usage logs, performs the annual access and configuration review, records findings and remediation.",
      },
      {
        role: "Key owner",
        duties:
          "Named per key in the inventory; approves access, revocation and deletion of the keys they own.",
      },
    ],
  };
}
