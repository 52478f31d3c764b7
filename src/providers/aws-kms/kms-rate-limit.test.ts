import { describe, expect, it } from "vitest";
import { KMSClient, ListGrantsCommand } from "@aws-sdk/client-kms";
import type { TokenBucketRequest } from "./kms-rate-limit.ts";
import {
  KMS_RATE_LIMITED_APIS,
  KMS_REQUEST_QUOTAS,
  applyKmsRateLimit,
  createKmsRateLimiter,
  kmsApiOfCommand,
} from "./kms-rate-limit.ts";

/** A factory that records what it was asked to build; its buckets never wait. */
function recordingFactory() {
  const built: TokenBucketRequest[] = [];
  const taken: string[] = [];
  return {
    built,
    taken,
    factory: (request: TokenBucketRequest) => {
      built.push(request);
      return {
        take: async () => {
          taken.push(request.bucket);
        },
      };
    },
  };
}

describe("createKmsRateLimiter", () => {
  it("sizes each API's bucket from AWS's documented quota unless overridden", () => {
    const recorder = recordingFactory();
    const limiter = createKmsRateLimiter({ factory: recorder.factory, rateLimits: { GetKeyPolicy: 500 } });
    for (const api of KMS_RATE_LIMITED_APIS) limiter.bucketFor("111122223333", "us-east-1", `${api}Command`);
    const rates = Object.fromEntries(
      recorder.built.map((request) => [request.bucket.split(":").at(-1), request.ratePerSecond]),
    );
    expect(rates).toEqual({ ...KMS_REQUEST_QUOTAS, GetKeyPolicy: 500 });
    expect(rates.ListGrants).toBe(100);
    expect(limiter.rateOf("ListGrants")).toBe(100);
  });

  it("keeps one bucket per (account, region, API) and reuses it", () => {
    const recorder = recordingFactory();
    const limiter = createKmsRateLimiter({ factory: recorder.factory });
    const first = limiter.bucketFor("111122223333", "us-east-1", "ListGrantsCommand");
    expect(limiter.bucketFor("111122223333", "us-east-1", "ListGrantsCommand")).toBe(first);
    expect(limiter.bucketFor("111122223333", "eu-west-1", "ListGrantsCommand")).not.toBe(first);
    expect(limiter.bucketFor("444455556666", "us-east-1", "ListGrantsCommand")).not.toBe(first);
    expect(limiter.bucketFor("111122223333", "us-east-1", "DescribeKeyCommand")).not.toBe(first);
    expect(recorder.built.map((request) => request.bucket)).toEqual([
      "aws:111122223333:us-east-1:kms:ListGrants",
      "aws:111122223333:eu-west-1:kms:ListGrants",
      "aws:444455556666:us-east-1:kms:ListGrants",
      "aws:111122223333:us-east-1:kms:DescribeKey",
    ]);
  });

  it("leaves commands outside the read APIs unthrottled", () => {
    const recorder = recordingFactory();
    const limiter = createKmsRateLimiter({ factory: recorder.factory });
    expect(limiter.bucketFor("111122223333", "us-east-1", "SignCommand")).toBeUndefined();
    expect(limiter.bucketFor("111122223333", "us-east-1", "toString")).toBeUndefined();
    expect(recorder.built).toEqual([]);
  });

  it("names the API of an SDK command", () => {
    expect(kmsApiOfCommand("ListResourceTagsCommand")).toBe("ListResourceTags");
    expect(kmsApiOfCommand("ListGrants")).toBe("ListGrants");
  });
});

describe("applyKmsRateLimit", () => {
  it("takes a token of the request's bucket before each attempt, once per client", async () => {
    const recorder = recordingFactory();
    const limiter = createKmsRateLimiter({ factory: recorder.factory });
    // Port 9 (discard) refuses at once: each attempt fails after the middleware ran.
    const client = new KMSClient({
      region: "us-east-1",
      endpoint: "http://127.0.0.1:9",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      maxAttempts: 2,
    });
    try {
      applyKmsRateLimit(client, limiter, "us-east-1", async () => "111122223333");
      applyKmsRateLimit(client, limiter, "us-east-1", async () => "111122223333");
      await expect(client.send(new ListGrantsCommand({ KeyId: "k" }))).rejects.toThrow();
      // Two attempts (maxAttempts 2), one token each; the second apply added nothing.
      expect(recorder.taken).toEqual([
        "aws:111122223333:us-east-1:kms:ListGrants",
        "aws:111122223333:us-east-1:kms:ListGrants",
      ]);
    } finally {
      client.destroy();
    }
  });
});
