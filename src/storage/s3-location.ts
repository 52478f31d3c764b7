/** `s3://bucket/key[?versionId=…]`, the form keyproof records and `keyproof verify` accepts. */
export interface S3Location {
  bucket: string;
  key: string;
  versionId?: string;
}

export function isS3Url(value: string): boolean {
  return value.startsWith("s3://");
}

/**
 * Parses without URL-decoding the key (S3 keys are taken literally, as the aws CLI does); only the
 * version id is percent-decoded. Undefined when there is no bucket.
 */
export function parseS3Url(value: string): S3Location | undefined {
  if (!isS3Url(value)) return undefined;
  const rest = value.slice("s3://".length);
  const queryStart = rest.indexOf("?");
  const path = queryStart === -1 ? rest : rest.slice(0, queryStart);
  const query = queryStart === -1 ? "" : rest.slice(queryStart + 1);
  const slash = path.indexOf("/");
  const bucket = slash === -1 ? path : path.slice(0, slash);
  const key = slash === -1 ? "" : path.slice(slash + 1);
  if (bucket === "") return undefined;
  const versionId = new URLSearchParams(query).get("versionId") ?? undefined;
  return { bucket, key, ...(versionId === undefined || versionId === "" ? {} : { versionId }) };
}

export function formatS3Url(location: S3Location): string {
  const base = `s3://${location.bucket}/${location.key}`;
  return location.versionId === undefined
    ? base
    : `${base}?versionId=${encodeURIComponent(location.versionId)}`;
}
