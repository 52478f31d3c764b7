import { GetObjectCommand } from "@aws-sdk/client-s3";
import type { S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { S3Location } from "./s3-location.ts";

export interface PresignedDownload {
  url: string;
  expiresAt: string;
  versionId?: string;
}

/**
 * A GetObject URL for one object version that anyone holding it can fetch until it expires, signed with the
 * credentials of `client` (no S3 call is made). Pinning the version id keeps the URL on the retained,
 * sealed version even if a newer object was put under the same key.
 */
export async function presignS3Download(
  client: S3Client,
  location: S3Location,
  options: { expiresInSeconds: number; fileName?: string; now?: Date },
): Promise<PresignedDownload> {
  const now = options.now ?? new Date();
  const url = await getSignedUrl(
    client,
    new GetObjectCommand({
      Bucket: location.bucket,
      Key: location.key,
      ...(location.versionId === undefined ? {} : { VersionId: location.versionId }),
      ...(options.fileName === undefined
        ? {}
        : { ResponseContentDisposition: `attachment; filename="${options.fileName.replace(/"/g, "")}"` }),
    }),
    { expiresIn: options.expiresInSeconds, signingDate: now },
  );
  return {
    url,
    expiresAt: new Date(now.getTime() + options.expiresInSeconds * 1000).toISOString(),
    ...(location.versionId === undefined ? {} : { versionId: location.versionId }),
  };
}
