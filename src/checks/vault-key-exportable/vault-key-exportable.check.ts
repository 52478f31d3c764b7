import type { Check } from "../check.ts";
import { keysOf, makeFinding } from "../check.ts";
import { parseCheckMetadata } from "../check-metadata.schema.ts";
import {
  configurationEvidence,
  customerManaged,
  ineligibleStatus,
  keyFindingBase,
  keyPopulationGapFindings,
} from "../eligibility.ts";
import type { KeyRecord } from "../../model/key.ts";
import rawMetadata from "./vault-key-exportable.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

/** `vault read <mount>/keys/<name>`: where an auditor confirms a flag the source did not report. */
function readCommand(key: Pick<KeyRecord, "keyId">): string {
  const slash = key.keyId.lastIndexOf("/");
  return `vault read ${key.keyId.slice(0, slash)}/keys/${key.keyId.slice(slash + 1)}`;
}

function judge(key: KeyRecord) {
  const base = { ...keyFindingBase(key), evidence: configurationEvidence(key) };
  // A key whose read failed has no facts at all (spec UNKNOWN): `error` with the cause, never a guess.
  const managed = customerManaged(key);
  if (!managed.eligible)
    return makeFinding(metadata, { ...base, status: ineligibleStatus(managed), message: managed.reason });
  const problems: string[] = [];
  if (key.exportable === true)
    problems.push("exportable (raw key material can be read through <mount>/export/...)");
  if (key.allowPlaintextBackup === true)
    problems.push("allow_plaintext_backup (<mount>/backup returns the key unencrypted)");
  if (problems.length > 0) {
    return makeFinding(metadata, {
      ...base,
      status: "fail",
      message: `key material can leave Vault: ${problems.join("; ")}; neither flag can be turned off, replace the key`,
    });
  }
  const unreported = [
    ...(key.exportable === undefined ? ["exportable"] : []),
    ...(key.allowPlaintextBackup === undefined ? ["allow_plaintext_backup"] : []),
  ];
  if (unreported.length > 0) {
    return makeFinding(metadata, {
      ...base,
      status: "warn",
      message: `Vault did not report ${unreported.join(" or ")} for this key; confirm ${unreported.length === 1 ? "it is" : "both are"} false with \`${readCommand(key)}\``,
    });
  }
  return makeFinding(metadata, {
    ...base,
    status: "pass",
    message: "key is neither exportable nor backed up in plaintext: its material stays in Vault",
  });
}

/** Transit keys flagged `exportable` or `allow_plaintext_backup` can leave Vault as raw key material. */
export const check: Check = {
  metadata,
  run(snapshot) {
    return [
      ...keysOf(snapshot, metadata.sourceTypes).map(judge),
      ...keyPopulationGapFindings(metadata, snapshot),
    ];
  },
};
