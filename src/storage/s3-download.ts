import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { Transform } from "node:stream";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import type { S3Client } from "@aws-sdk/client-s3";
import type { S3Location } from "./s3-location.ts";

export interface DownloadedObject {
  versionId?: string;
  /** SHA-256 hex of the bytes written. */
  sha256: string;
  bytes: number;
}

/** Streams one object version to `file`, hashing on the way (bundles can be gigabytes). */
export async function downloadS3Object(
  client: S3Client,
  location: S3Location,
  file: string,
): Promise<DownloadedObject> {
  const response = await client.send(
    new GetObjectCommand({
      Bucket: location.bucket,
      Key: location.key,
      ...(location.versionId === undefined ? {} : { VersionId: location.versionId }),
    }),
  );
  const body = response.Body as Readable | undefined;
  if (body === undefined) throw new Error(`s3://${location.bucket}/${location.key} returned no body`);
  const hash = createHash("sha256");
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  await pipeline(body, tap, createWriteStream(file, { flags: "wx" }));
  return {
    ...(response.VersionId === undefined ? {} : { versionId: response.VersionId }),
    sha256: hash.digest("hex"),
    bytes,
  };
}
