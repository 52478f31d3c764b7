import type { ChainLinkCheck, VerifyResult } from "./verify-bundle.ts";
import { formatVerifyResult } from "./verify-bundle.ts";

/**
 * The hash chain, judged from verified bundles only (no I/O): each manifest records the SHA-256 of the
 * manifest stored before it for the same scope. A link is broken when the digest does not match the bundle
 * it should point to; a chain is forked when two bundles link to the same one; it is out of order when a
 * bundle links to one that is not its predecessor in storage order. Bundles that fail their own
 * verification cannot vouch for a link, so they fail the chain too.
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
  return { ok: true, ...base };
}

export interface ChainEntryResult {
  /** Position in storage order, from 0. */
  position: number;
  bundle: VerifyResult;
  link: { ok: boolean; reason?: string };
}

export interface ChainVerifyResult {
  ok: boolean;
  /** The chain location as given: `s3://bucket/prefix/scope/` or a directory. */
  location: string;
  entries: ChainEntryResult[];
  /** Every problem found, each naming the bundles involved. */
  problems: string[];
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
  return { ok: problems.length === 0, location, entries, problems };
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
  for (const problem of result.problems) lines.push(`  problem: ${problem}`);
  let text = `${lines.join("\n")}\n`;
  if (options.verbose === true) {
    for (const entry of result.entries) if (!entry.bundle.ok) text += `\n${formatVerifyResult(entry.bundle)}`;
  }
  return text;
}
