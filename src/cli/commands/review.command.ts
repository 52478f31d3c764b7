import { Option, type Command } from "commander";
import type { CliIo } from "../cli-types.ts";
import type { ReviewCliOptions } from "./review-actions.ts";

/**
 * `keyproof review start|list|show|export|import|sign|seal`: the annual review without a browser. Options
 * only here (light imports, so `keyproof --help` loads nothing heavy); the work is in review-actions.ts.
 * Deciding and signing need a reviewer token (`--token` or KEYPROOF_TOKEN), as on the page: the record
 * names the same identity whichever path was used.
 */
export function registerReviewCommand(
  program: Command,
  io: CliIo,
  setExitCode: (code: number) => void,
): void {
  const review = program
    .command("review")
    .description("the annual access and configuration review (procedure step 7): prepare, decide, sign");
  const common = (command: Command): Command =>
    command
      .option("-c, --config <file>", "keyproof.yaml (sources, signing, storage, queue)")
      .option("--redis-url <url>", "Redis URL (default env REDIS_URL, then queue.redisUrl)")
      .option("--prefix <prefix>", "queue key prefix")
      .option("--data-dir <dir>", "where sealed review bundles are written (default queue.dataDirectory)")
      .addOption(
        new Option("--token <token>", "a reviewer token (keyproof token create --role reviewer)").env(
          "KEYPROOF_TOKEN",
        ),
      )
      .option("--json", "print as JSON");
  const act =
    (name: string) =>
    async (...args: unknown[]): Promise<void> => {
      const { runReviewAction } = await import("./review-actions.ts");
      const options = args.filter(
        (arg) => typeof arg === "object" && arg !== null && !("commands" in arg),
      )[0] as ReviewCliOptions;
      const positional = args.filter((arg): arg is string => typeof arg === "string");
      setExitCode(await runReviewAction(name, positional, options, io));
    };

  common(
    review
      .command("start")
      .description(
        "prepare a review from the scope's latest sealed bundle (or --from-run's), verified against the pinned signer",
      )
      .requiredOption("--year <year>", "the review's calendar year, e.g. 2026")
      .option("--from-run <run-id>", "review this run's sealed bundle")
      .option("--sources <ids...>", "review only these sources")
      .option(
        "--trust <file>",
        "verify the reviewed bundle with this trust file (default: the configured signer)",
      ),
  ).action(act("start"));
  common(review.command("list").description("list reviews, newest first")).action(act("list"));
  common(
    review.command("show").description("one review with every item and decision").argument("<id>"),
  ).action(act("show"));
  common(
    review
      .command("export")
      .description("write the review's items and decisions to edit offline")
      .argument("<id>")
      .addOption(new Option("--format <format>", "file format").choices(["yaml", "json"]).default("yaml"))
      .option("-o, --out <file>", "write to this file instead of stdout"),
  ).action(act("export"));
  common(
    review
      .command("import")
      .description(
        "save the decisions of an edited export; a decision changed by someone else since the export is refused, nothing saved",
      )
      .argument("<id>")
      .argument("<file>"),
  ).action(act("import"));
  common(
    review
      .command("sign")
      .description("sign a fully decided review; it becomes read-only and is sealed as evidence")
      .argument("<id>")
      .requiredOption("--name <name>", "the reviewer's name")
      .requiredOption("--title <title>", "the reviewer's title"),
  ).action(act("sign"));
  common(
    review
      .command("seal")
      .description("seal a signed review as evidence again (after a failed seal)")
      .argument("<id>"),
  ).action(act("seal"));
}
