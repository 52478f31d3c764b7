import type { Check } from "../check.ts";
import { makeFinding } from "../check.ts";
import { parseCheckMetadata } from "../check-metadata.schema.ts";
import {
  describeCollectionError,
  judgedLocations,
  locationFindingBase,
  loggingEvidence,
  missingLocationFinding,
  summarizeList,
} from "../eligibility.ts";
import { declaredDestinations, describeDeclared } from "../monitoring.ts";
import type { Finding } from "../../model/finding.ts";
import type { CollectionError } from "../../model/key.ts";
import type { KeyEventAlert } from "../../model/logging.ts";
import type { LocationSnapshot, Snapshot } from "../../model/snapshot.ts";
import rawMetadata from "./azure-key-deletion-alerted.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

/**
 * The Key Vault AuditEvent operation of deleting a key. It is what covers "key deletion": a rule firing on it
 * notifies while the deleted key can still be recovered (soft delete). `KeyPurge` alone comes after the
 * deletion, when recovery is no longer possible; `Microsoft.KeyVault/vaults/delete` (activity log) fires only
 * when the whole vault goes, never for one key, because the activity log holds no data-plane operation.
 */
const KEY_DELETE = "KeyDelete";
const KEY_PURGE = "KeyPurge";
const VAULT_DELETE = "microsoft.keyvault/vaults/delete";

function describeRule(alert: KeyEventAlert): string {
  return `${alert.kind === "azure-activity-log-alert" ? "activity-log alert" : "log search alert"} ${alert.name}`;
}

/** `action group ops-oncall`: the last segment of an action group id is its name. */
function describeNotified(alert: KeyEventAlert): string {
  return alert.notifies.map((id) => `action group ${id.slice(id.lastIndexOf("/") + 1) || id}`).join(", ");
}

/** Why a rule that names something about deletion does not count, for the fail message; undefined when unrelated. */
function describeShortfall(alert: KeyEventAlert): string | undefined {
  if (alert.actions.includes(KEY_DELETE)) {
    if (alert.enabled === false) return `${describeRule(alert)} fires on ${KEY_DELETE} but is disabled`;
    if (alert.notifies.length === 0)
      return `${describeRule(alert)} fires on ${KEY_DELETE} but notifies no action group`;
    return undefined;
  }
  if (alert.actions.includes(KEY_PURGE))
    return `${describeRule(alert)} fires on ${KEY_PURGE} only, after the deletion, when the key can no longer be recovered`;
  if (alert.actions.some((action) => action.toLowerCase() === VAULT_DELETE))
    return `${describeRule(alert)} fires when the vault is deleted, not a key (key deletion is a data-plane operation the activity log does not record)`;
  return undefined;
}

/** Errors by their text, once: the alerting errors are also in `LoggingStatus.errors`. */
function distinctErrors(errors: readonly CollectionError[]): CollectionError[] {
  const seen = new Set<string>();
  return errors.filter((error) => {
    const text = describeCollectionError(error);
    if (seen.has(text)) return false;
    seen.add(text);
    return true;
  });
}

/**
 * Per vault: an enabled rule firing on KeyDelete that notifies an action group passes (observed); a declared
 * alert (a Sentinel analytics rule, a SIEM rule) passes, saying it is declared; then, with nothing found, a
 * failed read is an error (a denied listing or unknown workspaces may hide the rule); a rule whose enabled state
 * is not reported is a warn; otherwise fail, naming the rules that come close and why they do not count.
 * A failed listing is `error`, not `warn`, as in every check (a call that failed hides facts; `warn` is kept for
 * a fact Azure does not report), and only when nothing covering was found: one list answering with a covering
 * rule is proof whatever the other list did.
 */
export function judgeKeyDeletionAlerting(snapshot: Snapshot, location: LocationSnapshot): Finding {
  const base = { ...locationFindingBase(location), evidence: loggingEvidence(location) };
  const alerting = location.logging.keyEventAlerting;
  const alerts = alerting?.alerts ?? [];
  const ready = alerts.filter(
    (alert) => alert.actions.includes(KEY_DELETE) && alert.enabled === true && alert.notifies.length > 0,
  );
  if (ready.length > 0) {
    return makeFinding(metadata, {
      ...base,
      status: "pass",
      message: `key deletion is alerted: ${summarizeList(ready.map((alert) => `${describeRule(alert)} fires on ${alert.actions.join(", ")} and notifies ${describeNotified(alert)}`))}`,
    });
  }
  const declared = declaredDestinations(snapshot, location.source, ["alert"]);
  if (declared.length > 0) {
    return makeFinding(metadata, {
      ...base,
      status: "pass",
      message: `key deletion is alerted by ${describeDeclared(declared)} (declared in policy.monitoring, not read from Azure)`,
    });
  }
  // Diagnostic settings errors count too: the workspaces they name relate workspace-scoped rules to the vault.
  const errors = distinctErrors([...(alerting?.errors ?? []), ...location.logging.errors]);
  if (errors.length > 0) {
    return makeFinding(metadata, {
      ...base,
      status: "error",
      message: `the alert rules on this vault could not all be read, so a rule on key deletion may be missed: ${errors.map(describeCollectionError).join("; ")}`,
    });
  }
  if (alerting === undefined) {
    return makeFinding(metadata, {
      ...base,
      status: "warn",
      message:
        "the source did not report the vault's alert rules (collected by a keyproof without alert collection): key deletion alerting is unknown",
    });
  }
  const unknownState = alerts.filter(
    (alert) => alert.actions.includes(KEY_DELETE) && alert.enabled === undefined && alert.notifies.length > 0,
  );
  if (unknownState.length > 0) {
    return makeFinding(metadata, {
      ...base,
      status: "warn",
      message: `${summarizeList(unknownState.map(describeRule))} fires on ${KEY_DELETE}, but Azure does not say whether it is enabled`,
    });
  }
  const shortfalls = alerts.map(describeShortfall).filter((text): text is string => text !== undefined);
  return makeFinding(metadata, {
    ...base,
    status: "fail",
    message: `no enabled alert rule notifies anyone when a key of this vault is deleted (${KEY_DELETE})${shortfalls.length > 0 ? `: ${summarizeList(shortfalls)}` : ""}; create a log search alert on ${KEY_DELETE} over the vault's AuditEvent, or declare the equivalent rule in policy.monitoring as kind alert`,
  });
}

/** An Azure vault's key deletions must notify someone, through an Azure Monitor alert rule or a declared one. */
export const check: Check = {
  metadata,
  run(snapshot) {
    return judgedLocations(snapshot, metadata.sourceTypes).map((judged) =>
      judged.kind === "missing"
        ? missingLocationFinding(metadata, judged.gap, "key deletion alerting")
        : judgeKeyDeletionAlerting(snapshot, judged.location),
    );
  },
};
