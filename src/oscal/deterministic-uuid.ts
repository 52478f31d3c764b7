import { createHash } from "node:crypto";

/**
 * keyproof's UUIDv5 namespace (a fixed random UUID, never to change): every OSCAL uuid is a name in it, so
 * the same run renders the same document, and two runs never share a uuid.
 */
export const KEYPROOF_UUID_NAMESPACE = "4f0c6a52-8d1e-4b6f-9a43-7c2e5d9b1f08";

/**
 * RFC 4122 §4.3 name-based UUID, version 5 (SHA-1), written out because node:crypto only has randomUUID and
 * one function does not justify a dependency. Lowercase, as the OSCAL UUID datatype's pattern accepts.
 */
export function uuidV5(name: string, namespace: string = KEYPROOF_UUID_NAMESPACE): string {
  const namespaceBytes = Buffer.from(namespace.replaceAll("-", ""), "hex");
  if (namespaceBytes.length !== 16) throw new RangeError(`not a UUID namespace: ${namespace}`);
  const hash = createHash("sha1").update(namespaceBytes).update(name, "utf8").digest();
  const bytes = hash.subarray(0, 16);
  // Version 5 in the high nibble of byte 6, the RFC 4122 variant (10xx) in the high bits of byte 8.
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
