import type { z } from "zod";
import type { JobContext } from "./job-context.ts";
import { JOB_NAMES, type JobName, type QueueName } from "./job-names.ts";
import { JOB_PAYLOAD_SCHEMAS, PayloadError, type JobPayloads } from "./job-payloads.ts";
import { handleCollectKeyBatch } from "./handlers/collect-key-batch.handler.ts";
import { handleCollectLocation } from "./handlers/collect-location.handler.ts";
import { handleDeliverRun } from "./handlers/deliver-run.handler.ts";
import { handleDeliverTarget } from "./handlers/deliver-target.handler.ts";
import { handleExtractUsage } from "./handlers/extract-usage.handler.ts";
import { handleJudgeRun } from "./handlers/judge-run.handler.ts";
import { handleRenderEvidence, handleRenderScreenshotBatch } from "./handlers/render-evidence.handler.ts";
import { handleSealBundle } from "./handlers/seal-bundle.handler.ts";
import { handleStartScheduledRun } from "./handlers/start-scheduled-run.handler.ts";
import { handleSealReview } from "./handlers/seal-review.handler.ts";

/** One job: where it runs, what its data must look like, what does the work. Options live in job-options.ts. */
export interface JobDefinition<Payload> {
  queue: QueueName;
  payloadSchema: z.ZodType<Payload>;
  /** Short target description for progress and logs. */
  describe: (payload: Payload) => string;
  handle: (payload: Payload, context: JobContext) => Promise<unknown>;
  /**
   * False for jobs after the run completed (delivery): failing for good is recorded on the job and in the
   * run's delivery, never as a failed run. Default true.
   */
  failsRun?: boolean;
}

/**
 * The one registry. A mapped type over every job name: a job without a definition, or a definition
 * whose payload type disagrees with its schema, does not compile.
 */
export const JOB_REGISTRY: { [Name in JobName]: JobDefinition<JobPayloads[Name]> } = {
  "collect-location": {
    queue: "collect",
    payloadSchema: JOB_PAYLOAD_SCHEMAS["collect-location"],
    describe: (payload) => `${payload.source}/${payload.location}`,
    handle: handleCollectLocation,
  },
  "collect-key-batch": {
    queue: "collect",
    payloadSchema: JOB_PAYLOAD_SCHEMAS["collect-key-batch"],
    describe: (payload) => `${payload.source}/${payload.location} batch ${payload.batch}`,
    handle: handleCollectKeyBatch,
  },
  "extract-usage": {
    queue: "collect",
    payloadSchema: JOB_PAYLOAD_SCHEMAS["extract-usage"],
    describe: (payload) => `${payload.source}/${payload.location}`,
    handle: handleExtractUsage,
  },
  "judge-run": {
    queue: "seal",
    payloadSchema: JOB_PAYLOAD_SCHEMAS["judge-run"],
    describe: (payload) => payload.runId,
    handle: handleJudgeRun,
  },
  "render-evidence": {
    queue: "render",
    payloadSchema: JOB_PAYLOAD_SCHEMAS["render-evidence"],
    describe: (payload) => payload.runId,
    handle: handleRenderEvidence,
  },
  "render-screenshot-batch": {
    queue: "render",
    payloadSchema: JOB_PAYLOAD_SCHEMAS["render-screenshot-batch"],
    describe: (payload) => `${payload.runId} screenshots batch ${payload.batch}`,
    handle: handleRenderScreenshotBatch,
  },
  "seal-bundle": {
    queue: "seal",
    payloadSchema: JOB_PAYLOAD_SCHEMAS["seal-bundle"],
    describe: (payload) => payload.runId,
    handle: handleSealBundle,
  },
  "deliver-run": {
    queue: "deliver",
    payloadSchema: JOB_PAYLOAD_SCHEMAS["deliver-run"],
    describe: (payload) => payload.runId,
    handle: handleDeliverRun,
  },
  "deliver-target": {
    queue: "deliver",
    payloadSchema: JOB_PAYLOAD_SCHEMAS["deliver-target"],
    describe: (payload) => `${payload.runId} → ${payload.target}`,
    handle: handleDeliverTarget,
    failsRun: false,
  },
  "start-scheduled-run": {
    queue: "schedule",
    payloadSchema: JOB_PAYLOAD_SCHEMAS["start-scheduled-run"],
    describe: (payload) => `${payload.schedule} (${payload.period})`,
    handle: handleStartScheduledRun,
  },
  // The render queue: the review's PDF needs the browser, which only render workers launch.
  "seal-review": {
    queue: "render",
    payloadSchema: JOB_PAYLOAD_SCHEMAS["seal-review"],
    describe: (payload) => payload.reviewId,
    handle: handleSealReview,
  },
};

/** Job names served by a set of queues: what a worker for those queues must be able to handle. */
export function jobsOfQueues(queues: readonly QueueName[]): JobName[] {
  return JOB_NAMES.filter((name) => queues.includes(JOB_REGISTRY[name].queue));
}

/**
 * Validates the data a worker dequeued and runs the handler. The payload is checked again here because
 * the producer may have been another keyproof version; a mismatch is a PayloadError (not retried).
 */
export async function dispatchJob(name: string, data: unknown, context: JobContext): Promise<unknown> {
  if (!(JOB_NAMES as readonly string[]).includes(name))
    throw new PayloadError(name, "no job of this name is registered");
  return runDefinition(name as JobName, data, context);
}

async function runDefinition<Name extends JobName>(
  name: Name,
  data: unknown,
  context: JobContext,
): Promise<unknown> {
  const definition = JOB_REGISTRY[name] as JobDefinition<JobPayloads[Name]>;
  const parsed = definition.payloadSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PayloadError(name, `${issue?.path.join(".") || "(payload)"}: ${issue?.message ?? "invalid"}`);
  }
  return definition.handle(parsed.data, context);
}

/** A run id carried by a payload, when the job belongs to a run: used to fail the run when the job fails for good. */
export function runIdOf(data: unknown): string | undefined {
  if (typeof data !== "object" || data === null || !("runId" in data)) return undefined;
  return typeof data.runId === "string" ? data.runId : undefined;
}
