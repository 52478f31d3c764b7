import { createHash } from "node:crypto";
import { realpathSync } from "node:fs";

/**
 * Names that make one checkout's demo its own on a shared machine: two clones running scripts/demo.sh
 * against the same emulators and Redis must never chain to each other's bundles, share an evidence
 * bucket, take each other's queue jobs or repoint each other's Vault audit device. Everything is derived from the demo's state directory (by
 * default `<checkout>/.keyproof/demo`), so the same checkout keeps its chain across demo runs.
 */
export interface DemoIdentity {
  /** 10 hex digits of SHA-256 over the state directory's real path. */
  id: string;
  /** `storage.scope`: the chain the demo's bundles link in. */
  scope: string;
  /** The Object-Locked evidence bucket (a valid S3 bucket name, at most 63 characters). */
  bucket: string;
  /** BullMQ key prefix for the demo's queues and in-process workers. */
  queuePrefix: string;
  /** The Vault namespace the demo seeds (OpenBao/Vault namespaces are per server, so per machine). */
  vaultNamespace: string;
  /** The Vault file audit device's path (root namespace), so one clone never repoints another's device. */
  vaultAuditDevice: string;
}

export function demoIdentity(stateDirectory: string): DemoIdentity {
  let resolved = stateDirectory;
  try {
    // The same checkout reached through a symlink is still the same demo.
    resolved = realpathSync(stateDirectory);
  } catch {
    // Not created yet: the path as given (the caller creates it before running).
  }
  const id = createHash("sha256").update(resolved).digest("hex").slice(0, 10);
  return {
    id,
    scope: `acme-demo-${id}`,
    bucket: `keyproof-demo-evidence-${id}`,
    queuePrefix: `keyproof-demo-${id}`,
    vaultNamespace: `keyproof-demo-${id}`,
    vaultAuditDevice: `keyproof-demo-${id}`,
  };
}
