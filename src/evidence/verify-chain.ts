import { shortFingerprint } from "../signing/fingerprint.ts";
import type { ChainLinkCheck, VerifyResult } from "./verify-bundle.ts";
import { formatVerifyResult } from "./verify-bundle.ts";

/**
 * The hash chain, judged from verified bundles only (no I/O): each manifest records the SHA-256 of the
 * manifest stored before it for the same scope. A link is broken when the digest does not match the bundle
 * it should point to; a chain is forked when two bundles link to the same one; it is out of order when a
 * bundle links to one that is not its predecessor in storage order. Bundles that fail their own
 * verification cannot vouch for a link, so they fail the chain too.
 *
 * Signers: every bundle must be signed by a trusted signer (the verifier's pins), and every change of
 * signer between neighbours is reported. A change is accepted silently only when the earlier bundle's
 * signed manifest announced the next signer's fingerprint (`keyproof signer rotate`); otherwise it is a
 * warning, so a rotation nobody announced is at least seen.
 */

function shortDigest(digest: string | undefined): string {
  return digest === undefined ? "?" : `${digest.slice(0, 16)}…`;
}

/** `keyproof verify <bundle> --previous <bundle>`: does `current` link to exactly `previous`? */
export function checkChainLink(current: VerifyResult, previous: VerifyResult): ChainLinkCheck {
  const base = {
    previous: previous.bundle,
    ...(current.previousBundle === undefined ? {} : { recorded: current.previousBundle.manifestSha256 }),
    ...(previous.manifestSha256 === undefined ? {} : { actual: previous.manifestSha256 }),
  };
  if (!previous.ok) {
    return {
      ok: false,
      reason: `the previous bundle ${previous.bundle} fails its own verification`,
      ...base,
    };
  }
  if (current.previousBundle === undefined) {
    return {
      ok: false,
      reason:
        "broken chain: this bundle records no previous bundle (it starts a chain), but a previous bundle was given",
      ...base,
    };
  }
  if (previous.manifestSha256 === undefined) {
    return { ok: false, reason: `the previous bundle ${previous.bundle} has no readable manifest`, ...base };
  }
  if (current.previousBundle.manifestSha256 !== previous.manifestSha256) {
    return {
      ok: false,
      reason:
        `broken chain: this bundle links to manifest sha256 ${current.previousBundle.manifestSha256} ` +
        `(${current.previousBundle.location}), but ${previous.bundle} has manifest sha256 ${previous.manifestSha256}`,
      ...base,
    };
  }
  if (
    current.capturedAt !== undefined &&
    previous.capturedAt !== undefined &&
    previous.capturedAt > current.capturedAt
  ) {
    return {
      ok: false,
      reason: `the previous bundle was captured at ${previous.capturedAt}, after this one (${current.capturedAt})`,
      ...base,
    };
  }
  const from = previous.signature.fingerprint;
  const to = current.signature.fingerprint;
  if (from !== undefined && to !== undefined && from !== to) {
    return {
      ok: true,
      ...base,
      signerChange: { from, to, announced: previous.nextSigner?.fingerprint === to },
    };
  }
  return { ok: true, ...base };
}

export interface ChainEntryResult {
  /** Position in storage order, from 0. */
  position: number;
  bundle: VerifyResult;
  link: { ok: boolean; reason?: string };
}

/** A change of signer between two neighbouring bundles. */
export interface SignerChange {
  /** Position (from 0) of the first bundle signed by the new signer. */
  position: number;
  bundle: string;
  /** Fingerprints (SHA-256 hex of SPKI DER). */
  from: string;
  to: string;
  fromKeyId?: string;
  toKeyId?: string;
  /** The previous bundle's signed manifest named `to` as its next signer. */
  announced: boolean;
}

export interface ChainVerifyResult {
  ok: boolean;
  /** The chain location as given: `s3://bucket/prefix/scope/` or a directory. */
  location: string;
  entries: ChainEntryResult[];
  /** Every problem found, each naming the bundles involved. */
  problems: string[];
  /** Every change of signer, announced or not. */
  signerChanges: SignerChange[];
  /** Things that do not fail the chain but an auditor should see (unannounced rotations). */
  warnings: string[];
}

function signerChanges(bundles: VerifyResult[]): SignerChange[] {
  const changes: SignerChange[] = [];
  for (let position = 1; position < bundles.length; position++) {
    const previous = bundles[position - 1];
    const current = bundles[position];
    const from = previous?.signature.fingerprint;
    const to = current?.signature.fingerprint;
    if (
      previous === undefined ||
      current === undefined ||
      from === undefined ||
      to === undefined ||
      from === to
    )
      continue;
    changes.push({
      position,
      bundle: current.bundle,
      from,
      to,
      ...(previous.signature.keyId === undefined ? {} : { fromKeyId: previous.signature.keyId }),
      ...(current.signature.keyId === undefined ? {} : { toKeyId: current.signature.keyId }),
      // Only a manifest whose signature is valid can announce anything.
      announced: previous.signature.ok && previous.manifest.ok && previous.nextSigner?.fingerprint === to,
    });
  }
  return changes;
}

function untrustedReason(bundle: VerifyResult): string | undefined {
  const signature = bundle.signature;
  if (!signature.ok || signature.trust?.trusted === true) return undefined;
  return `its signer (fingerprint ${signature.fingerprint ?? "?"}, key id ${signature.keyId ?? "?"}) is not trusted: ${(signature.trust?.reasons ?? []).join("; ")}`;
}

/**
 * Checks bundles listed in storage order (oldest first). The first bundle must start the chain; every
 * other one must link to the bundle just before it.
 */
export function checkChain(location: string, bundles: VerifyResult[]): ChainVerifyResult {
  const problems: string[] = [];
  const positionOf = new Map<string, number>();
  bundles.forEach((bundle, position) => {
    if (bundle.manifestSha256 === undefined) return;
    const seen = positionOf.get(bundle.manifestSha256);
    if (seen !== undefined) {
      problems.push(`${bundle.bundle} is the same bundle as ${bundles[seen]?.bundle ?? "?"} (stored twice)`);
    } else {
      positionOf.set(bundle.manifestSha256, position);
    }
  });

  const linkedFrom = new Map<string, string[]>();
  const entries: ChainEntryResult[] = bundles.map((bundle, position) => {
    const fail = (reason: string): ChainEntryResult => {
      problems.push(`${bundle.bundle}: ${reason}`);
      return { position, bundle, link: { ok: false, reason } };
    };
    const untrusted = untrustedReason(bundle);
    if (untrusted !== undefined) return fail(untrusted);
    if (!bundle.ok) return fail("the bundle fails its own verification, so its link cannot be trusted");
    const recorded = bundle.previousBundle;
    if (recorded !== undefined) {
      linkedFrom.set(recorded.manifestSha256, [
        ...(linkedFrom.get(recorded.manifestSha256) ?? []),
        bundle.bundle,
      ]);
    }
    const predecessor = position === 0 ? undefined : bundles[position - 1];

    if (predecessor === undefined) {
      if (recorded === undefined) return { position, bundle, link: { ok: true } };
      const target = positionOf.get(recorded.manifestSha256);
      return fail(
        target === undefined
          ? `broken chain: the first bundle here links to manifest sha256 ${shortDigest(recorded.manifestSha256)} (${recorded.location}), which is not in ${location}: a bundle is missing`
          : `out of order: the first bundle links to ${bundles[target]?.bundle ?? "?"}, stored after it`,
      );
    }
    if (recorded === undefined) {
      return fail(
        `broken chain: it starts a new chain, but ${predecessor.bundle} was stored before it in the same scope`,
      );
    }
    if (recorded.manifestSha256 === predecessor.manifestSha256)
      return { position, bundle, link: { ok: true } };
    const target = positionOf.get(recorded.manifestSha256);
    if (target === undefined) {
      return fail(
        `broken chain: it links to manifest sha256 ${shortDigest(recorded.manifestSha256)} (${recorded.location}), which is not in ${location}; the bundle stored before it is ${predecessor.bundle} (manifest sha256 ${shortDigest(predecessor.manifestSha256)})`,
      );
    }
    return fail(
      `out of order: it links to ${bundles[target]?.bundle ?? "?"} (position ${target + 1}), not to ${predecessor.bundle} (position ${position}), the bundle stored just before it`,
    );
  });

  for (const [digest, sources] of linkedFrom) {
    if (sources.length > 1) {
      const target = positionOf.get(digest);
      problems.push(
        `fork: ${sources.join(" and ")} all link to ${target === undefined ? `manifest sha256 ${shortDigest(digest)}` : (bundles[target]?.bundle ?? "?")}`,
      );
    }
  }
  if (bundles.length === 0) problems.push(`no bundles found at ${location}`);
  const changes = signerChanges(bundles);
  const warnings = changes
    .filter((change) => !change.announced)
    .map(
      (change) =>
        `${change.bundle}: the signer changed from ${shortFingerprint(change.from)} to ${shortFingerprint(change.to)} without an announcement in the previous bundle's manifest (keyproof signer rotate); confirm the rotation with the organization`,
    );
  return { ok: problems.length === 0, location, entries, problems, signerChanges: changes, warnings };
}

/** Verdict, one line per bundle, then every problem; `verbose` adds each bundle's own report. */
export function formatChainResult(result: ChainVerifyResult, options: { verbose?: boolean } = {}): string {
  const lines: string[] = [
    `${result.ok ? "CHAIN VERIFIED" : "CHAIN FAILED"}  ${result.location} (${result.entries.length} bundles)`,
  ];
  for (const entry of result.entries) {
    const bundle = entry.bundle;
    const verdict = bundle.ok && entry.link.ok ? "ok" : "FAILED";
    lines.push(
      `  ${String(entry.position + 1).padStart(3)}. ${verdict}  ${bundle.runId ?? "?"}  captured ${bundle.capturedAt ?? "?"}  manifest ${shortDigest(bundle.manifestSha256)}  ${bundle.bundle}`,
    );
  }
  const first = result.entries[0]?.bundle.signature;
  if (first?.fingerprint !== undefined) {
    lines.push(`  signer at bundle 1: fingerprint ${first.fingerprint} (key id ${first.keyId ?? "?"})`);
  }
  for (const change of result.signerChanges) {
    lines.push(
      `  signer change at bundle ${change.position + 1}: ${shortFingerprint(change.from)} → fingerprint ${change.to} (key id ${change.toKeyId ?? "?"}), ${change.announced ? "announced by the previous bundle" : "NOT announced"}`,
    );
  }
  for (const warning of result.warnings) lines.push(`  warning: ${warning}`);
  // The same policy verified every bundle, so its notes (an alias not compared offline) are printed once.
  const notes = new Set(result.entries.flatMap((entry) => entry.bundle.signature.trust?.notes ?? []));
  for (const note of notes) lines.push(`  note: ${note}`);
  for (const problem of result.problems) lines.push(`  problem: ${problem}`);
  let text = `${lines.join("\n")}\n`;
  if (options.verbose === true) {
    for (const entry of result.entries) if (!entry.bundle.ok) text += `\n${formatVerifyResult(entry.bundle)}`;
  }
  return text;
}
