/**
 * Rotation of AWS multi-Region keys is judged on the primary. A primary and its replicas share key
 * material and "automatic key rotation status" (AWS KMS synchronizes them; ReplicateKey docs), and rotation
 * can be enabled, disabled or started only on the primary. Judging each replica on its own reported values
 * could let a replica contradict its primary (moto, for one, reports a replica's rotation as off while its
 * primary's is on), so every rotation check asks this module which facts to judge.
 */
import type { KeyRecord } from "../model/key.ts";
import type { Snapshot } from "../model/snapshot.ts";

export interface RotationSubject {
  /**
   * The key to judge: the key itself, or for a replica whose primary is in the snapshot, the replica with
   * its primary's rotation facts and creation date (the age of the shared material counts from the
   * primary). Identity fields (source, location, key id, ARN, state) stay the replica's own.
   */
  key: KeyRecord;
  /** Appended to the finding's message: names the primary, or that it was not collected. Empty otherwise. */
  note: string;
}

function primaryKeyOf(snapshot: Snapshot, replica: KeyRecord, primaryArn: string): KeyRecord | undefined {
  // Any location of the same source: the primary lives in another region of the same account.
  const source = snapshot.sources.find((candidate) => candidate.source === replica.source);
  for (const location of source?.locations ?? []) {
    const primary = location.keys.find((key) => key.arn === primaryArn);
    if (primary !== undefined) return primary;
  }
  return undefined;
}

/** What the replica itself reports, when it disagrees with its primary: said, never judged. */
function disagreement(replica: KeyRecord, primary: KeyRecord): string {
  if (!replica.rotation.ok || !primary.rotation.ok) return "";
  if (replica.rotation.value.enabled === primary.rotation.value.enabled) return "";
  const own = replica.rotation.value.enabled ? "on" : "off";
  return `; the replica itself reports automatic rotation ${own}, but rotation is set on the primary only`;
}

/** The facts a rotation check judges for `key`, and the words that say where they came from. */
export function rotationSubjectOf(snapshot: Snapshot, key: KeyRecord): RotationSubject {
  const configuration = key.multiRegionConfiguration;
  if (configuration?.role !== "replica") return { key, note: "" };
  const { primaryArn, primaryRegion } = configuration;
  const primary = primaryKeyOf(snapshot, key, primaryArn);
  if (primary === undefined) {
    return {
      key,
      note: ` (multi-Region replica of ${primaryArn}: its primary in ${primaryRegion} was not collected, so the replica's own reported rotation facts are judged; add ${primaryRegion} to the source's regions to judge the primary)`,
    };
  }
  const judged: KeyRecord = { ...key, rotation: primary.rotation };
  if (primary.createdAt === undefined) delete judged.createdAt;
  else judged.createdAt = primary.createdAt;
  return {
    key: judged,
    note: ` (multi-Region replica: judged on its primary ${primaryArn} in ${primaryRegion}, which holds the shared key material and its rotation${disagreement(key, primary)})`,
  };
}
