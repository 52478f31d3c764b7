import { hostname } from "node:os";
import { KeyproofError } from "../../errors/errors.ts";
import { WorkStore } from "../work-store.ts";
import { workDirectoryOf, type RunPlan } from "./run-plan.ts";

/**
 * The run's marker in its work directory, written by whoever starts the run, before any job is queued.
 *
 * Why: jobs of one run may execute on different machines and all write into the run's data directory, so
 * every worker must mount the same directory at the same path. A worker that does not (a missing volume,
 * another path) would otherwise create an empty directory of its own and write half the evidence where
 * the sealing worker never looks. With the marker, such a worker fails the run at once, naming the path.
 */
const MARKER = "run";

interface RunMarker {
  runId: string;
  createdAt: string;
  /** The machine that started the run, to name in the error. */
  host: string;
}

export async function writeRunMarker(plan: RunPlan, now = new Date()): Promise<void> {
  const marker: RunMarker = { runId: plan.runId, createdAt: now.toISOString(), host: hostname() };
  await new WorkStore(workDirectoryOf(plan)).put(MARKER, marker);
}

export async function assertRunVisible(plan: RunPlan): Promise<void> {
  const directory = workDirectoryOf(plan);
  const marker = await new WorkStore(directory).get<RunMarker>(MARKER);
  if (marker?.runId === plan.runId) return;
  throw new KeyproofError(
    "DATA_DIRECTORY_UNAVAILABLE",
    `run ${plan.runId}: its data directory ${plan.outDirectory} is not visible on this worker (${hostname()}): ${directory}/${MARKER}.json is missing`,
    {
      remediation:
        "mount the shared data directory (queue.dataDirectory / KEYPROOF_DATA_DIR) on every worker at the same path",
    },
  );
}
