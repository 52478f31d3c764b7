import type { Check } from "../check.ts";
import { keysOf, makeFinding } from "../check.ts";
import { parseCheckMetadata } from "../check-metadata.schema.ts";
import {
  configurationEvidence,
  describeCollectionError,
  keyFindingBase,
  keyPopulationGapFindings,
} from "../eligibility.ts";
import type { KeyRecord } from "../../model/key.ts";
import rawMetadata from "./vault-key-exportable.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

/**
 * The provider keeps each transit key read as raw evidence under its call name,
 * `vault:GET <mount>/keys/<name>` (keyId is `<mount>/<name>`); the two flags are judged from that response.
 */
export function transitKeyReadCall(key: Pick<KeyRecord, "keyId">): string {
  const slash = key.keyId.lastIndexOf("/");
  return `vault:GET ${key.keyId.slice(0, slash)}/keys/${key.keyId.slice(slash + 1)}`;
}

type Flags = { ok: true; exportable: boolean; plaintextBackup: boolean } | { ok: false; reason: string };

function readFlags(key: KeyRecord): Flags {
  const call = transitKeyReadCall(key);
  const collected = key.raw[call];
  if (collected === undefined)
    return { ok: false, reason: `the key configuration (${call}) was not collected` };
  if (!collected.ok) return { ok: false, reason: describeCollectionError(collected.error) };
  const value = collected.value;
  const data = typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  const exportable = data["exportable"];
  const plaintextBackup = data["allow_plaintext_backup"];
  if (typeof exportable !== "boolean" || typeof plaintextBackup !== "boolean") {
    return {
      ok: false,
      reason: `${call} answered without boolean exportable and allow_plaintext_backup fields`,
    };
  }
  return { ok: true, exportable, plaintextBackup };
}

/** Transit keys flagged `exportable` or `allow_plaintext_backup` can leave Vault as raw key material. */
export const check: Check = {
  metadata,
  run(snapshot) {
    const keyFindings = keysOf(snapshot, metadata.sourceTypes).map((key) => {
      const base = { ...keyFindingBase(key), evidence: configurationEvidence(key) };
      const flags = readFlags(key);
      if (!flags.ok) {
        return makeFinding(metadata, {
          ...base,
          status: "error",
          message: `export settings unknown: ${flags.reason}`,
        });
      }
      const problems: string[] = [];
      if (flags.exportable)
        problems.push("exportable (raw key material can be read through <mount>/export/...)");
      if (flags.plaintextBackup)
        problems.push("allow_plaintext_backup (<mount>/backup returns the key unencrypted)");
      if (problems.length > 0) {
        return makeFinding(metadata, {
          ...base,
          status: "fail",
          message: `key material can leave Vault: ${problems.join("; ")}; neither flag can be turned off, replace the key`,
        });
      }
      return makeFinding(metadata, {
        ...base,
        status: "pass",
        message: "key is neither exportable nor backed up in plaintext: its material stays in Vault",
      });
    });
    return [...keyFindings, ...keyPopulationGapFindings(metadata, snapshot)];
  },
};
