import type { FlowJob, FlowJobNode, JobsOptions } from "bullmq";
import { CHILD_JOB_OPTIONS, JOB_OPTIONS } from "./job-options.ts";
import { batchJobId, jobIdFor, locationJobId, screenshotBatchJobId } from "./job-ids.ts";
import { validatePayload, type JobPayloads } from "./job-payloads.ts";
import type { JobName } from "./job-names.ts";
import { JOB_REGISTRY } from "./job-registry.ts";
import type { RunPlan } from "./run-plan.ts";
import { keyBatchTarget } from "./run-store.ts";

/**
 * A run as one BullMQ flow (children run first, a parent when all its children completed):
 *
 *   deliver-run                         deliver queue
 *   └─ seal-bundle                      seal queue
 *      └─ render-evidence               render queue    (absent when the run does not render)
 *         ├─ render-screenshot-batch ×K render queue   (added by render-evidence when the run has more
 *         │                                             screenshots than queue.screenshotBatchSize)
 *         └─ judge-run                  seal queue      (fan-in)
 *            ├─ collect-location ×N     collect queue   (fan-out: one per source and location)
 *            │  └─ collect-key-batch ×M collect queue   (added by collect-location once it has listed a
 *            │                                           location with more keys than queue.keyBatchSize)
 *            └─ extract-usage ×N        collect queue
 * Every job id is deterministic (job-ids.ts), so adding the same flow twice is a no-op.
 */
export function buildRunFlow(plan: RunPlan): FlowJob {
  const { runId } = plan;
  const leaves: FlowJobNode[] = plan.sources.flatMap((source) =>
    source.locations.flatMap((location) => [
      node(
        "collect-location",
        { runId, source: source.id, location },
        locationJobId(runId, "collect-location", source.id, location),
      ),
      node(
        "extract-usage",
        { runId, source: source.id, location },
        locationJobId(runId, "extract-usage", source.id, location),
      ),
    ]),
  );
  const judge: FlowJobNode = {
    ...node("judge-run", { runId }, jobIdFor(runId, "judge-run")),
    children: leaves,
  };
  const beforeSeal: FlowJobNode = plan.render
    ? { ...node("render-evidence", { runId }, jobIdFor(runId, "render-evidence")), children: [judge] }
    : judge;
  const seal: FlowJobNode = {
    ...node("seal-bundle", { runId }, jobIdFor(runId, "seal-bundle")),
    children: [beforeSeal],
  };
  return { ...node("deliver-run", { runId }, jobIdFor(runId, "deliver-run"), false), children: [seal] };
}

interface FlowNodeBase {
  name: JobName;
  queueName: string;
  data: unknown;
  opts: JobsOptions;
}

function node<Name extends JobName>(
  name: Name,
  data: JobPayloads[Name],
  jobId: string,
  child = true,
): FlowNodeBase {
  return {
    name,
    queueName: JOB_REGISTRY[name].queue,
    data: validatePayload(name, data),
    opts: { ...JOB_OPTIONS[name], ...(child ? CHILD_JOB_OPTIONS : {}), jobId },
  };
}

/**
 * Every job of a run with its step, for progress: the same ids the flow uses. Key batches are known only
 * once their location has been listed; `keyBatches` (from the run record) adds them.
 */
export function runJobsOf(
  plan: RunPlan,
  keyBatches: Readonly<Record<string, number>> = {},
  screenshotBatches = 0,
): Array<{ step: RunStep; name: JobName; jobId: string; target: string }> {
  const { runId } = plan;
  const jobs: Array<{ step: RunStep; name: JobName; jobId: string; target: string }> = [];
  for (const source of plan.sources) {
    for (const location of source.locations) {
      jobs.push({
        step: "collect",
        name: "collect-location",
        jobId: locationJobId(runId, "collect-location", source.id, location),
        target: `${source.id}/${location}`,
      });
      // One batch is described inside the location's own job; only more than one become jobs.
      const batches = keyBatches[keyBatchTarget(source.id, location)] ?? 0;
      for (let batch = 0; batches > 1 && batch < batches; batch += 1) {
        jobs.push({
          step: "collect",
          name: "collect-key-batch",
          jobId: batchJobId(runId, source.id, location, batch),
          target: `${source.id}/${location} batch ${batch + 1} of ${batches}`,
        });
      }
    }
  }
  for (const source of plan.sources) {
    for (const location of source.locations) {
      jobs.push({
        step: "usage",
        name: "extract-usage",
        jobId: locationJobId(runId, "extract-usage", source.id, location),
        target: `${source.id}/${location}`,
      });
    }
  }
  jobs.push({ step: "judge", name: "judge-run", jobId: jobIdFor(runId, "judge-run"), target: "all" });
  if (plan.render) {
    jobs.push({
      step: "render",
      name: "render-evidence",
      jobId: jobIdFor(runId, "render-evidence"),
      target: "screenshots and reports",
    });
    for (let batch = 0; batch < screenshotBatches; batch += 1) {
      jobs.push({
        step: "render",
        name: "render-screenshot-batch",
        jobId: screenshotBatchJobId(runId, batch),
        target: `screenshots batch ${batch + 1} of ${screenshotBatches}`,
      });
    }
  }
  jobs.push({ step: "seal", name: "seal-bundle", jobId: jobIdFor(runId, "seal-bundle"), target: "bundle" });
  jobs.push({
    step: "deliver",
    name: "deliver-run",
    jobId: jobIdFor(runId, "deliver-run"),
    target: "bundle",
  });
  return jobs;
}

export const RUN_STEPS = ["collect", "usage", "judge", "render", "seal", "deliver"] as const;
export type RunStep = (typeof RUN_STEPS)[number];
