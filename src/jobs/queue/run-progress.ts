import type { QueueName } from "./job-names.ts";
import { JOB_REGISTRY } from "./job-registry.ts";
import { RUN_STEPS, runJobsOf, type RunStep } from "./run-flow.ts";
import type { RunPlan } from "./run-plan.ts";
import type { QueueClient } from "./queue-client.ts";

export interface StepProgress {
  step: RunStep;
  total: number;
  completed: number;
  failed: number;
  active: number;
  /** Waiting, delayed (backoff) or waiting for children. */
  pending: number;
  /** Jobs gone from Redis (removed after their retention): counted apart, never as done. */
  unknown: number;
}

/** Per step, how many of the run's jobs are in which state. Reads each deterministic job id's state. */
export async function readRunProgress(
  client: Pick<QueueClient, "queue">,
  plan: RunPlan,
  keyBatches: Readonly<Record<string, number>> = {},
  screenshotBatches = 0,
): Promise<StepProgress[]> {
  const jobs = runJobsOf(plan, keyBatches, screenshotBatches);
  const states = await Promise.all(
    jobs.map((job) => client.queue(JOB_REGISTRY[job.name].queue as QueueName).getJobState(job.jobId)),
  );
  return RUN_STEPS.map((step) => {
    const progress: StepProgress = {
      step,
      total: 0,
      completed: 0,
      failed: 0,
      active: 0,
      pending: 0,
      unknown: 0,
    };
    jobs.forEach((job, index) => {
      if (job.step !== step) return;
      progress.total += 1;
      const state = states[index];
      if (state === "completed") progress.completed += 1;
      else if (state === "failed") progress.failed += 1;
      else if (state === "active") progress.active += 1;
      else if (state === "unknown" || state === undefined) progress.unknown += 1;
      else progress.pending += 1;
    });
    return progress;
  });
}
