import { describe, expect, it } from "vitest";
import { toCollectionError } from "./aws-error.ts";

/** Shaped like the SDK's ServiceException subclasses (name, $fault, $metadata, optional $retryable). */
function serviceError(name: string, status: number, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${name} happened`), {
    name,
    $fault: status >= 500 ? "server" : "client",
    $metadata: { httpStatusCode: status },
    ...extra,
  });
}

describe("toCollectionError", () => {
  it("keeps the call, the AWS code and the message; access denied is not retryable", () => {
    expect(toCollectionError("kms:GetKeyPolicy", serviceError("AccessDeniedException", 400))).toEqual({
      call: "kms:GetKeyPolicy",
      code: "AccessDeniedException",
      message: "AccessDeniedException happened",
      retryable: false,
    });
  });

  it("marks throttling, 5xx and the SDK's $retryable as retryable", () => {
    expect(toCollectionError("kms:ListKeys", serviceError("ThrottlingException", 400)).retryable).toBe(true);
    expect(toCollectionError("kms:ListKeys", serviceError("SomethingNew", 429)).retryable).toBe(true);
    expect(toCollectionError("kms:ListKeys", serviceError("KMSInternalException", 500)).retryable).toBe(true);
    expect(
      toCollectionError("kms:ListKeys", serviceError("Odd", 400, { $retryable: { throttling: false } }))
        .retryable,
    ).toBe(true);
    expect(toCollectionError("kms:ListKeys", serviceError("NotFoundException", 400)).retryable).toBe(false);
  });

  it("uses Node's errno code for network failures", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
    expect(toCollectionError("sts:GetCallerIdentity", refused)).toEqual({
      call: "sts:GetCallerIdentity",
      code: "ECONNREFUSED",
      message: "connect ECONNREFUSED 127.0.0.1:1",
      retryable: true,
    });
  });

  it("survives values that are not errors", () => {
    expect(toCollectionError("s3:GetObject", "boom")).toEqual({
      call: "s3:GetObject",
      code: "UnknownError",
      message: "boom",
      retryable: false,
    });
    expect(toCollectionError("s3:GetObject", { $metadata: { httpStatusCode: 403 } })).toEqual({
      call: "s3:GetObject",
      code: "UnknownError",
      message: "HTTP 403 without an error message",
      retryable: false,
    });
  });
});
