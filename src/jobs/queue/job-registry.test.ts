import { describe, expect, it } from "vitest";
import { jobIdFor, locationJobId } from "./job-ids.ts";
import { JOB_NAMES, QUEUE_NAMES } from "./job-names.ts";
import { deliveryBackoff, JOB_OPTIONS, MAX_RETRY_AFTER_MS } from "./job-options.ts";
import { PayloadError, validatePayload } from "./job-payloads.ts";
import { JOB_REGISTRY, jobsOfQueues, runIdOf } from "./job-registry.ts";
import { isUnrecoverable, toJobError } from "./job-errors.ts";
import { KeyproofError } from "../../errors/errors.ts";

describe("job registry", () => {
  it("defines every job with a queue, a payload schema, a handler and options", () => {
    for (const name of JOB_NAMES) {
      const definition = JOB_REGISTRY[name];
      expect(QUEUE_NAMES, name).toContain(definition.queue);
      expect(typeof definition.handle, name).toBe("function");
      expect(JOB_OPTIONS[name].attempts, name).toBeGreaterThanOrEqual(1);
      // Deliveries back off exponentially too, but never sooner than a platform's Retry-After.
      expect(JOB_OPTIONS[name].backoff, name).toMatchObject({
        type: name === "deliver-target" ? "delivery" : "exponential",
      });
    }
    expect(jobsOfQueues(["collect"])).toEqual(["collect-location", "collect-key-batch", "extract-usage"]);
    expect(jobsOfQueues(["seal"])).toEqual(["judge-run", "seal-bundle"]);
  });

  it("backs deliveries off exponentially, waiting at least a platform's Retry-After (capped)", () => {
    expect(deliveryBackoff(1, "delivery")).toBe(2000);
    expect(deliveryBackoff(3, "delivery")).toBe(8000);
    const throttled = Object.assign(new Error("429"), { retryAfterMs: 30_000 });
    expect(deliveryBackoff(1, "delivery", throttled)).toBe(30_000);
    expect(deliveryBackoff(1, "delivery", Object.assign(new Error("429"), { retryAfterMs: 9e9 }))).toBe(
      MAX_RETRY_AFTER_MS,
    );
    expect(deliveryBackoff(5, "delivery", Object.assign(new Error("429"), { retryAfterMs: 10 }))).toBe(
      32_000,
    );
  });

  it("validates payloads on enqueue, naming the field", () => {
    expect(
      validatePayload("collect-location", { runId: "kp-1", source: "aws", location: "us-east-1" }),
    ).toEqual({ runId: "kp-1", source: "aws", location: "us-east-1" });
    expect(() => validatePayload("collect-location", { runId: "kp-1", source: "aws" })).toThrow(PayloadError);
    expect(() => validatePayload("collect-location", { runId: "kp-1", source: "aws" })).toThrow(/location/);
    // Nothing beyond the declared fields travels in job data (no room for a credential).
    expect(() => validatePayload("judge-run", { runId: "kp-1", secretAccessKey: "x" })).toThrow(
      /Unrecognized key/,
    );
    expect(() => validatePayload("judge-run", { runId: "../etc" })).toThrow(/runId/);
  });

  it("builds deterministic, unambiguous job ids without colons", () => {
    expect(locationJobId("kp-1", "collect-location", "aws", "us-east-1")).toBe(
      "kp-1/collect-location/aws/us-east-1",
    );
    expect(locationJobId("kp-1", "collect-location", "aws", "us-east-1")).toBe(
      locationJobId("kp-1", "collect-location", "aws", "us-east-1"),
    );
    const vault = locationJobId("kp-1", "extract-usage", "azure", "https://vault-a.vault.azure.net:443/");
    expect(vault).not.toContain(":");
    expect(locationJobId("kp-1", "collect-location", "a/b", "c")).not.toBe(
      locationJobId("kp-1", "collect-location", "a", "b/c"),
    );
    expect(jobIdFor("kp-1", "seal-bundle")).toBe("kp-1/seal-bundle");
  });

  it("reads the run id of run-scoped payloads only", () => {
    expect(runIdOf({ runId: "kp-1" })).toBe("kp-1");
    expect(runIdOf({ schedule: "quarterly" })).toBeUndefined();
    expect(runIdOf(null)).toBeUndefined();
  });

  it("maps non-retryable errors to UnrecoverableError and keeps others retryable", () => {
    const denied = toJobError(
      new KeyproofError("SOURCE_ACCESS_DENIED", "kms:ListKeys denied", { remediation: "grant kms:ListKeys" }),
    );
    expect(isUnrecoverable(denied)).toBe(true);
    expect(denied.message).toBe("SOURCE_ACCESS_DENIED: kms:ListKeys denied (fix: grant kms:ListKeys)");
    expect(isUnrecoverable(toJobError(new KeyproofError("SOURCE_UNAVAILABLE", "timeout")))).toBe(false);
    expect(isUnrecoverable(toJobError(new PayloadError("judge-run", "runId: missing")))).toBe(true);
    const network = Object.assign(new Error("connect ECONNRESET"), { code: "ECONNRESET" });
    expect(isUnrecoverable(toJobError(network))).toBe(false);
  });
});
