import type { Config } from "../../config/config.schema.ts";
import type { BundleWriter, IdentifiedSigner, SealedBundle } from "../../evidence/bundle-writer.ts";
import type { ManifestFields } from "../../evidence/manifest.ts";
import type { Finding } from "../../model/finding.ts";
import { captureWindowOf, type DateRange, type Snapshot } from "../../model/snapshot.ts";
import { KEYPROOF_VERSION } from "../../version.ts";
import type { PlannedSource } from "./judge.step.ts";
import { assessmentResultsStep } from "./oscal.step.ts";

/**
 * Seals the bundle: the OSCAL assessment results (written last, so they list every other file), manifest
 * fields from the run and the judged snapshot, signature, archive. One function for the inline and the
 * queued path, so both produce the same manifest for the same run.
 */
export async function sealStep(input: {
  runId: string;
  config: Config;
  range: DateRange;
  capturedAt: string;
  sources: PlannedSource[];
  snapshot: Snapshot;
  /** The judged findings (judge step): the observations and findings of the OSCAL document. */
  findings: readonly Finding[];
  writer: BundleWriter;
  signer: IdentifiedSigner;
  /** The bundle this one chains to (storage: the previous bundle of the scope); absent for the first. */
  previousBundle?: NonNullable<ManifestFields["previousBundle"]>;
}): Promise<SealedBundle> {
  const { range } = input;
  await assessmentResultsStep({ snapshot: input.snapshot, findings: input.findings, writer: input.writer });
  return input.writer.seal({
    manifestFields: {
      runId: input.runId,
      organization: input.config.organization,
      period: { label: range.label, from: range.from, to: range.to, toExclusive: range.toExclusive },
      capturedAt: input.capturedAt,
      captureWindow: captureWindowOf({ capturedAt: input.capturedAt, sources: input.snapshot.sources }),
      keyproofVersion: KEYPROOF_VERSION,
      sources: input.snapshot.sources.map((source) => ({
        id: source.source,
        type: source.type,
        ...(source.account === undefined ? {} : { account: source.account }),
        locations: input.sources.find((item) => item.id === source.source)?.locations ?? [],
      })),
      ...(input.previousBundle === undefined ? {} : { previousBundle: input.previousBundle }),
    },
    signer: input.signer,
  });
}
