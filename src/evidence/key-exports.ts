import type { KeyRecord } from "../model/key.ts";
import type { LoggingStatus } from "../model/logging.ts";
import type { DateRange } from "../model/snapshot.ts";

/**
 * The per-key and per-location JSON exports an auditor reads: each stamped with the capture time and
 * the source API calls it came from. Pure builders; the bundle writer puts them on disk.
 */

export interface ExportHeader {
  kind: "key-configuration" | "key-access-policy" | "logging-configuration";
  runId: string;
  organization: string;
  source: string;
  sourceType: string;
  location: string;
  /** UTC ISO-8601 of the run; each call below carries its own capture time too. */
  capturedAt: string;
  period: { label: string; from: string; to: string };
}

export interface ExportContext {
  runId: string;
  organization: string;
  capturedAt: string;
  range: DateRange;
}

function header(
  kind: ExportHeader["kind"],
  context: ExportContext,
  key: Pick<KeyRecord, "source" | "sourceType" | "location">,
): ExportHeader {
  return {
    kind,
    runId: context.runId,
    organization: context.organization,
    source: key.source,
    sourceType: key.sourceType,
    location: key.location,
    capturedAt: context.capturedAt,
    period: { label: context.range.label, from: context.range.from.slice(0, 10), to: context.range.to },
  };
}

/** Key configuration: identity, spec, state, rotation, tags, and every raw API response behind them. */
export function buildKeyConfigurationExport(key: KeyRecord, context: ExportContext): Record<string, unknown> {
  const { access: _access, raw, ...configuration } = key;
  return {
    ...header("key-configuration", context, key),
    keyId: key.keyId,
    arn: key.arn,
    configuration,
    apiCalls: raw,
  };
}

/** Access policy: the raw documents (key policy, grants, role assignments, ACLs) and the normalized grants. */
export function buildKeyAccessPolicyExport(key: KeyRecord, context: ExportContext): Record<string, unknown> {
  const base = { ...header("key-access-policy", context, key), keyId: key.keyId, arn: key.arn };
  if (!key.access.ok) {
    return { ...base, collected: false, capturedAtCall: key.access.capturedAt, error: key.access.error };
  }
  return {
    ...base,
    collected: true,
    call: key.access.call,
    capturedAtCall: key.access.capturedAt,
    documents: key.access.value.documents,
    grants: key.access.value.grants,
  };
}

export function buildLoggingExport(
  logging: LoggingStatus,
  sourceType: string,
  context: ExportContext,
): Record<string, unknown> {
  return {
    ...header("logging-configuration", context, {
      source: logging.source,
      sourceType: sourceType as KeyRecord["sourceType"],
      location: logging.location,
    }),
    capturedAtCall: logging.capturedAt,
    sinks: logging.sinks,
    errors: logging.errors,
    // The account's IAM policies, on the one location that carries them: the evidence of iam-kms-wildcard.
    ...(logging.identityPolicies === undefined ? {} : { identityPolicies: logging.identityPolicies }),
    // A Vault child namespace: why its (root-namespace) audit devices are unknown, the logging checks' warn.
    ...(logging.auditDevicesOutOfReach === undefined
      ? {}
      : { auditDevicesOutOfReach: logging.auditDevicesOutOfReach }),
  };
}
