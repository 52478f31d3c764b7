import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { z } from "zod";
import { ApiTokenStore, type TokenRecord } from "../../auth/api-tokens.ts";
import { KeyproofError, describeError } from "../../errors/errors.ts";
import { createRedisConnection } from "../../jobs/queue/redis-connection.ts";
import { resolveService, type QueueCliOptions } from "../../jobs/queue/resolve-service.ts";
import { RunStore } from "../../jobs/queue/run-store.ts";
import { DECISIONS_BY_KIND, REVIEW_ITEM_KINDS } from "../../model/review.ts";
import { sealSignedReview } from "../../review/review-evidence.ts";
import {
  decideReviewItems,
  isReviewConflictError,
  newReviewId,
  parseReviewYear,
  prepareReview,
  requireReview,
  signReview,
  undecidedItems,
  type DecisionInput,
} from "../../review/review-service.ts";
import { ReviewStore, type StoredReview } from "../../review/review-store.ts";
import { reviewTrustOf } from "../../review/review-trust.ts";
import { locateReviewBundle, readReviewedBundle, runBundleLookup } from "../../review/reviewed-bundle.ts";
import type { CliIo } from "../cli-types.ts";
import { EXIT_CODES } from "../exit-codes.ts";

export interface ReviewCliOptions extends QueueCliOptions {
  token?: string;
  json?: boolean;
  year?: string;
  fromRun?: string;
  sources?: string[];
  trust?: string;
  format?: "yaml" | "json";
  out?: string;
  name?: string;
  title?: string;
}

/** Commands that change a review: they need a reviewer token, like the page and the API. */
const WRITES = new Set(["start", "import", "sign", "seal"]);

export async function runReviewAction(
  action: string,
  positional: string[],
  options: ReviewCliOptions,
  io: CliIo,
): Promise<number> {
  const needsConfig = action === "start" || action === "sign" || action === "seal";
  const { loaded, settings } = await resolveService(options, needsConfig);
  const redis = createRedisConnection(settings.redisUrl, "client", "keyproof-review");
  try {
    const store = new ReviewStore(redis, settings.prefix);
    const reviewer = WRITES.has(action)
      ? await requireReviewer(new ApiTokenStore(redis, settings.prefix), options.token)
      : undefined;
    const id = positional[0] ?? "";
    const print = (review: StoredReview): void => {
      io.stdout(
        options.json === true ? `${JSON.stringify(reviewOutput(review), null, 2)}\n` : formatReview(review),
      );
    };
    try {
      switch (action) {
        case "start": {
          if (loaded === undefined)
            throw new KeyproofError("ARGUMENT_INVALID", "give the config: -c keyproof.yaml");
          const year = parseReviewYear(options.year);
          const location = await locateReviewBundle({
            config: loaded.config,
            configDirectory: loaded.directory,
            ...(options.fromRun === undefined ? {} : { fromRun: options.fromRun }),
            runs: runBundleLookup(new RunStore(redis, settings.prefix)),
          });
          const trust = await reviewTrustOf(loaded.config, loaded.directory, options.trust);
          const bundle = await readReviewedBundle(location, trust);
          const record = prepareReview({
            id: newReviewId(year),
            year,
            config: loaded.config,
            bundle,
            ...(options.sources === undefined
              ? {}
              : { sources: options.sources.flatMap((item) => item.split(",")).filter(Boolean) }),
            createdBy: reviewer?.name ?? "unknown",
            now: new Date(),
          });
          await store.create(record);
          const created = await requireReview(store, record.id);
          print(created);
          if (options.json !== true)
            io.stderr(
              `review ${record.id} prepared from ${location}; open /reviews/${record.id} in keyproof serve, or keyproof review export ${record.id}\n`,
            );
          return EXIT_CODES.OK;
        }
        case "list": {
          const reviews = await store.list();
          if (options.json === true) io.stdout(`${JSON.stringify(reviews.map(reviewSummary), null, 2)}\n`);
          else if (reviews.length === 0) io.stdout("no reviews\n");
          else
            for (const review of reviews) {
              const summary = reviewSummary(review);
              io.stdout(
                `${summary.id}  ${summary.year}  ${summary.status.padEnd(6)}  ${summary.undecided} undecided  ${summary.sources.join(",")}\n`,
              );
            }
          return EXIT_CODES.OK;
        }
        case "show":
          print(await requireReview(store, id));
          return EXIT_CODES.OK;
        case "export": {
          const review = await requireReview(store, id);
          const text =
            options.format === "json"
              ? `${JSON.stringify(exportDocument(review), null, 2)}\n`
              : exportYaml(review);
          if (options.out === undefined) io.stdout(text);
          else {
            await writeFile(options.out, text, { flag: "w" });
            io.stderr(
              `wrote ${options.out}: ${review.record.items.length} items, ${undecidedItems(review).length} undecided\n`,
            );
          }
          return EXIT_CODES.OK;
        }
        case "import": {
          const file = positional[1] ?? "";
          const review = await requireReview(store, id);
          const inputs = changedDecisions(review, await readExport(file, id));
          if (inputs.length === 0) {
            io.stdout("nothing to import: no decision in the file differs from the review\n");
            return EXIT_CODES.OK;
          }
          const saved = await decideReviewItems(store, id, inputs, reviewer?.name ?? "unknown");
          io.stdout(
            `saved ${Object.keys(saved.decisions).length} decision(s); review version ${saved.version}\n`,
          );
          return EXIT_CODES.OK;
        }
        case "sign":
        case "seal": {
          if (loaded === undefined || reviewer === undefined)
            throw new KeyproofError("INTERNAL", "sign needs config and token");
          let review: StoredReview;
          if (action === "sign") {
            review = await signReview(
              store,
              id,
              { name: options.name, title: options.title, nameField: "--name", titleField: "--title" },
              { tokenName: reviewer.name, role: reviewer.role, tokenId: reviewer.id },
            );
          } else {
            review = await requireReview(store, id);
            if (review.status !== "signed")
              throw new KeyproofError("ARGUMENT_INVALID", `review ${id} is not signed yet`);
          }
          const evidence = await sealSignedReview({
            store,
            review,
            config: loaded.config,
            configDirectory: loaded.directory,
            outDirectory: path.join(settings.dataDirectory, "reviews"),
          });
          print({ ...review, evidence });
          if (evidence.state === "failed") {
            io.stderr(
              `keyproof: the review is signed but its evidence was not sealed: ${evidence.message}\n  fix: keyproof review seal ${id}\n`,
            );
            return EXIT_CODES.FATAL;
          }
          return EXIT_CODES.OK;
        }
        default:
          throw new KeyproofError("ARGUMENT_INVALID", `unknown review action ${action}`);
      }
    } catch (error) {
      if (!isReviewConflictError(error)) throw error;
      io.stderr(`keyproof: ${error.message}\n`);
      for (const conflict of error.details.conflicts ?? []) {
        const current = conflict.current as {
          decision?: string;
          decidedBy?: string;
          decidedAt?: string;
          note?: string;
          revision?: number;
        } | null;
        io.stderr(
          current === null
            ? `  ${conflict.itemId}: now undecided\n`
            : `  ${conflict.itemId}: now "${current.decision}" by ${current.decidedBy} at ${current.decidedAt} (revision ${current.revision}): ${current.note}\n`,
        );
      }
      for (const itemId of error.details.undecided ?? []) io.stderr(`  undecided: ${itemId}\n`);
      return EXIT_CODES.REVIEW_CONFLICT;
    }
  } finally {
    await redis.quit().catch(() => undefined);
  }
}

async function requireReviewer(tokens: ApiTokenStore, token: string | undefined): Promise<TokenRecord> {
  if (token === undefined || token === "") {
    throw new KeyproofError("ARGUMENT_INVALID", "--token: deciding and signing need a reviewer token", {
      remediation:
        'keyproof token create --role reviewer --name "Ana (Security Analyst)", then pass it with --token or KEYPROOF_TOKEN',
    });
  }
  const record = await tokens.verify(token);
  if (record === undefined)
    throw new KeyproofError("ARGUMENT_INVALID", "--token: the token is unknown or revoked");
  if (record.role !== "reviewer") {
    throw new KeyproofError(
      "ARGUMENT_INVALID",
      `--token: a ${record.role} token may not decide or sign reviews; use a reviewer token`,
    );
  }
  return record;
}

function reviewSummary(review: StoredReview) {
  return {
    id: review.record.id,
    year: review.record.year,
    sources: review.record.sources,
    status: review.status,
    createdAt: review.record.createdAt,
    undecided: undecidedItems(review).length,
    ...(review.record.signOff === undefined ? {} : { signedAt: review.record.signOff.signedAt }),
  };
}

/** The same record the API's GET /v1/reviews/{id} answers with (minus the decision vocabulary). */
function reviewOutput(review: StoredReview) {
  return {
    ...review.record,
    status: review.status,
    version: review.version,
    undecided: undecidedItems(review).length,
    ...(review.evidence === undefined ? {} : { evidence: review.evidence }),
  };
}

function formatReview(review: StoredReview): string {
  const { record } = review;
  const lines = [
    `Review ${record.id} (${record.year}) of ${record.organization}: ${review.status}`,
    `  bundle ${record.bundle.runId}, period ${record.bundle.period.label}, manifest ${record.bundle.manifestSha256}`,
    `  sources ${record.sources.join(", ")}; ${record.items.length} items, ${undecidedItems(review).length} undecided`,
  ];
  if (record.signOff !== undefined)
    lines.push(
      `  signed by ${record.signOff.name} (${record.signOff.title}) at ${record.signOff.signedAt}; decisions SHA-256 ${record.signOff.decisionsSha256}`,
    );
  if (review.evidence?.state === "sealed")
    lines.push(
      `  evidence: ${review.evidence.location ?? review.evidence.runId} (manifest ${review.evidence.manifestSha256})`,
    );
  if (review.evidence?.state === "failed") lines.push(`  evidence NOT sealed: ${review.evidence.message}`);
  return `${lines.join("\n")}\n`;
}

const ExportItemSchema = z.object({
  id: z.string().min(1),
  kind: z.enum(REVIEW_ITEM_KINDS).optional(),
  revision: z.number().int().min(0),
  decision: z.string().nullable().optional(),
  note: z.string().nullable().optional(),
  ticketUrl: z.string().nullable().optional(),
});
const ExportSchema = z.object({
  review: z.string(),
  items: z.array(ExportItemSchema.passthrough()),
});
type ExportFile = z.infer<typeof ExportSchema>;

function exportDocument(review: StoredReview) {
  return {
    review: review.record.id,
    year: review.record.year,
    status: review.status,
    version: review.version,
    bundle: review.record.bundle,
    items: review.record.items.map((item) => ({
      id: item.id,
      kind: item.kind,
      source: item.source,
      ...(item.location === undefined ? {} : { location: item.location }),
      ...(item.keyId === undefined ? {} : { keyId: item.keyId }),
      title: item.title,
      status: item.status,
      revision: item.decision?.revision ?? 0,
      decision: item.decision?.decision ?? null,
      note: item.decision?.note ?? "",
      ticketUrl: item.decision?.ticketUrl ?? null,
    })),
  };
}

function exportYaml(review: StoredReview): string {
  const header = [
    `# keyproof annual review ${review.record.id} (${review.record.year}), ${review.status}, exported at version ${review.version}.`,
    "# Set `decision` (and a `note`, optionally a `ticketUrl`) on each item, then:",
    `#   keyproof review import ${review.record.id} <this file>`,
    "# Leave `id` and `revision` as they are: a decision changed by someone else since this export is refused.",
    ...Object.entries(DECISIONS_BY_KIND).map(([kind, values]) => `# ${kind}: ${values.join(" | ")}`),
    "",
  ];
  return `${header.join("\n")}${stringifyYaml(exportDocument(review), { lineWidth: 0 })}`;
}

async function readExport(file: string, id: string): Promise<ExportFile> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new KeyproofError("ARGUMENT_INVALID", `${file}: cannot read: ${describeError(error)}`);
  }
  let value: unknown;
  try {
    value = file.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new KeyproofError(
      "ARGUMENT_INVALID",
      `${file}: not valid ${file.endsWith(".json") ? "JSON" : "YAML"}: ${describeError(error)}`,
    );
  }
  const parsed = ExportSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new KeyproofError(
      "ARGUMENT_INVALID",
      `${file}: ${issue?.path.join(".") || "(document)"}: ${issue?.message ?? "invalid"}`,
    );
  }
  if (parsed.data.review !== id)
    throw new KeyproofError(
      "ARGUMENT_INVALID",
      `${file}: review: the file is an export of ${parsed.data.review}, not ${id}`,
    );
  return parsed.data;
}

/** The file's decisions that differ from the review's current ones; undecided entries are skipped. */
function changedDecisions(review: StoredReview, file: ExportFile): DecisionInput[] {
  const items = new Map(review.record.items.map((item) => [item.id, item]));
  const inputs: DecisionInput[] = [];
  file.items.forEach((entry, index) => {
    const item = items.get(entry.id);
    if (item === undefined)
      throw new KeyproofError(
        "ARGUMENT_INVALID",
        `items[${index}].id: no item ${entry.id} in review ${review.record.id}`,
      );
    if (entry.decision === null || entry.decision === undefined || entry.decision === "") return;
    const note = (entry.note ?? "").trim();
    const ticketUrl = (entry.ticketUrl ?? "").trim();
    const current = item.decision;
    if (
      current !== undefined &&
      current.decision === entry.decision &&
      current.note === note &&
      (current.ticketUrl ?? "") === ticketUrl
    )
      return;
    inputs.push({
      itemId: entry.id,
      revision: entry.revision,
      decision: entry.decision,
      note,
      ...(ticketUrl === "" ? {} : { ticketUrl }),
    });
  });
  return inputs;
}
