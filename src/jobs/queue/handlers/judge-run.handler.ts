import { readGovernanceFacts } from "../../governance-facts.ts";
import { matchInventory } from "../../../inventory/match-inventory.ts";
import type { RunSummary } from "../../run-summary.ts";
import { judgeStep, loadCollectedState } from "../../steps/judge.step.ts";
import { changesSincePreviousStep } from "../../steps/changes.step.ts";
import { createSigner } from "../../../signing/create-signer.ts";
import { describeError } from "../../../errors/errors.ts";
import type { JobContext } from "../job-context.ts";
import type { RunPayload } from "../job-payloads.ts";
import { withRunScope } from "./run-context.ts";
import { withoutExtracts } from "../run-workspace.ts";

/**
 * Fan-in after every location's collection and usage: assembles the snapshot from the work store, runs
 * the checks, writes findings, inventory, gaps and summary. A location whose jobs never completed is a
 * `NotCollected` gap (judge.step), so the population stays complete even then.
 */
export async function handleJudgeRun(payload: RunPayload, job: JobContext): Promise<RunSummary> {
  return withRunScope(payload.runId, job, { hydrate: withoutExtracts }, async ({ plan, writer, work }) => {
    let config = plan.config;
    if (plan.keys !== undefined) {
      // A key-scoped request judges only the inventory entries of the keys in scope; the others would
      // otherwise show up as documented keys that were "not found".
      const state = await loadCollectedState(work, plan.sources);
      const keys = [...state.locations.values()].flatMap((item) => item.snapshot.keys);
      const matched = new Set(matchInventory(config.keys, keys).entryByKey.values());
      config = { ...config, keys: config.keys.filter((entry) => matched.has(entry)) };
    }
    // The worker's own Redis holds the reviews and approvals; a failing read becomes an `error` finding.
    const governance = await readGovernanceFacts(job.redis, job.prefix);
    const judged = await judgeStep({
      runId: plan.runId,
      config,
      range: plan.range,
      capturedAt: plan.capturedAt,
      sources: plan.sources,
      writer,
      work,
      governance,
    });
    // changes-since-previous.json here, after judging and before the render job, as the inline run orders it:
    // judge → diff → render → seal. The previous bundle is verified against this run's signer.
    // A signer that cannot be loaded is the seal step's failure to report (it names the key and the fix);
    // here it only means the previous bundle cannot be verified, which the file says.
    const signer = await createSigner(plan.config.signing, plan.configDirectory).catch((error: unknown) => ({
      unavailable: describeError(error),
    }));
    try {
      await changesSincePreviousStep({
        runId: plan.runId,
        config: plan.config,
        configDirectory: plan.configDirectory,
        range: plan.range,
        capturedAt: plan.capturedAt,
        writer,
        signerPublicKeyPem: "unavailable" in signer ? signer : signer.publicKeyPem,
      });
    } finally {
      if ("close" in signer && typeof signer.close === "function") (signer.close as () => void)();
    }
    await job.runs.recordSummary(plan.runId, judged.summary);
    return judged.summary;
  });
}
