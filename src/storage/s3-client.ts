import { S3Client } from "@aws-sdk/client-s3";
import type { S3ClientConfig } from "@aws-sdk/client-s3";

export interface S3ClientOptions {
  region?: string;
  endpoint?: string;
  /** Defaults to the SDK's provider chain (env, SSO, profile, container or instance role). */
  credentials?: S3ClientConfig["credentials"];
}

/**
 * One S3 client shape for storing and for verifying. An explicit endpoint (emulator, VPC endpoint, or
 * AWS_ENDPOINT_URL[_S3] in the environment) serves one host, so bucket-in-hostname addressing is turned off.
 */
export function createS3Client(options: S3ClientOptions): S3Client {
  const endpointFromEnvironment =
    (process.env["AWS_ENDPOINT_URL_S3"] ?? process.env["AWS_ENDPOINT_URL"] ?? "") !== "";
  return new S3Client({
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    forcePathStyle: options.endpoint !== undefined || endpointFromEnvironment,
    // A bucket in another region than configured answers 301: follow it instead of failing.
    followRegionRedirects: true,
  });
}
