import { Command, CommanderError, Option } from "commander";
import { EXIT_CODES } from "./exit-codes.ts";
import { formatConfigProblem, isKeyproofError, ConfigError, ERROR_CODES } from "../errors/errors.ts";
import type { VerifyCliOptions } from "./commands/verify.command.ts";
import type { DoctorCliOptions } from "./commands/doctor.command.ts";
import type { DiffCliOptions } from "./commands/diff.command.ts";
import { registerScheduleCommand } from "./commands/schedule.command.ts";
import { registerServeCommand } from "./commands/serve.command.ts";
import { nonNegativeInteger } from "./commands/worker.command.ts";
import { registerTokenCommand } from "./commands/token.command.ts";
import { registerReviewCommand } from "./commands/review.command.ts";
import { registerSignerCommand } from "./commands/signer.command.ts";
import { registerProcedureCommand } from "./commands/procedure.command.ts";
import { registerWorkerCommand } from "./commands/worker.command.ts";
import { registerDeliverCommand } from "./commands/deliver.command.ts";
import { KEYPROOF_VERSION } from "../version.ts";
import {
  DEFAULT_DELIVERY_WAIT_SECONDS,
  FAIL_ON_SEVERITIES,
  type CliIo,
  type RunCliOptions,
} from "./cli-types.ts";

// The types commands share live in cli-types.ts (a command importing main.ts would be an import cycle).
export { FAIL_ON_SEVERITIES, type CliIo, type FailOnSeverity, type RunCliOptions } from "./cli-types.ts";

export const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  isTty: Boolean(process.stderr.isTTY),
};

/**
 * Parses argv and runs one command. Returns the exit code instead of exiting, so it can be tested.
 *
 * Startup cost: this file and the `register*Command` modules import only commander and light helpers.
 * Every command's work (and with it the AWS and Azure SDKs, puppeteer, bullmq, fastify) is loaded by a
 * dynamic `import()` inside its action, so `keyproof --help` or a mistyped flag loads none of them.
 * A new command follows the same shape: options here (or in a `register*Command` with only light imports),
 * `const { runXCommand } = await import("./commands/x.command.ts")` in the action.
 */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  let exitCode: number = EXIT_CODES.OK;
  const program = new Command()
    .name("keyproof")
    .description("SOC 2 CC6 encryption-key-management evidence: collect, judge, render, seal.")
    .version(KEYPROOF_VERSION)
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError();

  program
    .command("validate")
    .description("check a keyproof.yaml; exit 0 when valid, 2 with every problem as file:line field: message")
    .requiredOption("-c, --config <file>", "path to keyproof.yaml")
    .action(async (options: { config: string }) => {
      const { runValidateCommand } = await import("./commands/validate.command.ts");
      exitCode = await runValidateCommand(options, io);
    });

  program
    .command("run")
    .description("collect, judge and seal one evidence bundle for a period")
    .requiredOption("-c, --config <file>", "path to keyproof.yaml")
    .addOption(
      new Option("--period <period>", "a quarter (2026-Q3), month (2026-09) or year (2026)").conflicts([
        "from",
        "to",
      ]),
    )
    .option("--from <date>", "first day of the range, inclusive, UTC (YYYY-MM-DD)")
    .option("--to <date>", "last day of the range, inclusive, UTC (YYYY-MM-DD)")
    .option("-o, --out <dir>", "directory that receives the bundle", "evidence")
    .option("--run-id <id>", "use this run id instead of a generated one")
    .option("--json", "print the result as JSON instead of the summary")
    .option("--no-render", "skip screenshots and PDF reports (no Chromium needed); JSON evidence only")
    .option("--inline", "run every step in this process, without Redis (one-off runs, CI pipelines)")
    .option("--redis-url <url>", "enqueue on this Redis (default REDIS_URL, then queue.redisUrl)")
    .option("--prefix <prefix>", "queue key prefix (default KEYPROOF_QUEUE_PREFIX, then keyproof)")
    .addOption(
      new Option(
        "--delivery-wait <seconds>",
        "queued runs: after the run completes, wait up to this long for its deliver: targets (0: do not wait)",
      )
        .default(DEFAULT_DELIVERY_WAIT_SECONDS)
        .argParser(nonNegativeInteger),
    )
    .addOption(
      new Option(
        "--fail-on <severity>",
        "also exit 4 when an open fail at or above this severity exists (CI gating); exit 3 (incomplete) wins",
      ).choices(FAIL_ON_SEVERITIES),
    )
    .addHelpText(
      "after",
      [
        "",
        "Exit codes:",
        "  0  a bundle was sealed and every configured source and location was collected completely",
        "  3  a bundle was sealed but the evidence is incomplete (a gap, or a finding with status error),",
        "     or a deliver: target failed for good (queued runs: within --delivery-wait)",
        "  4  with --fail-on: complete evidence and an open fail at or above that severity",
        "  2  bad config or arguments (nothing was contacted)",
        "  1  fatal (nothing sealed)",
      ].join("\n"),
    )
    .action(async (options: RunCliOptions) => {
      const { runRunCommand } = await import("./commands/run.command.ts");
      exitCode = await runRunCommand(options, io);
    });

  program
    .command("doctor")
    .description(
      "before any run: check that each source is reachable and its identity has every permission keyproof uses; exit 0, or 3 with the missing ones",
    )
    .requiredOption("-c, --config <file>", "path to keyproof.yaml")
    .option("--source <id...>", "only these source ids")
    .option("--json", "print the result as JSON")
    .action(async (options: DoctorCliOptions) => {
      const { runDoctorCommand } = await import("./commands/doctor.command.ts");
      exitCode = await runDoctorCommand(options, io);
    });

  program
    .command("verify")
    .description(
      "verify a bundle (directory, .tar.gz or s3://bucket/key[?versionId=]): digests, no missing or extra files, signature, chain link, S3 retention",
    )
    .argument("[bundle]", "bundle directory, archive or s3:// URL")
    .option("--json", "print the result as JSON")
    .option(
      "--expect-key <keyId>",
      "trust this signer: local:<fingerprint>, or a KMS key ARN/alias (bound to the key KMS GetPublicKey returns, or to a pinned public key offline)",
    )
    .option("--expect-public-key <file>", "trust this signer public key (SPKI PEM file)")
    .option(
      "-c, --config <file>",
      "trust the signer configured in this keyproof.yaml; default S3 region/endpoint",
    )
    .option(
      "--trust <file>",
      "trust the keys in this trust file (keyproof signer export); default KEYPROOF_TRUST",
    )
    .option("--trust-embedded", "trust the public key embedded in the bundle, unpinned (prints a warning)")
    .option("--previous <bundle>", "also check that the bundle links to this previous bundle")
    .option(
      "--chain <location>",
      "verify every bundle under a directory or s3://bucket/prefix/scope/ and their links",
    )
    .option("--region <region>", "AWS region for s3:// targets")
    .option("--endpoint <url>", "S3 endpoint for s3:// targets (emulators, VPC endpoints)")
    .option("--kms-endpoint <url>", "KMS endpoint for --expect-key lookups (emulators, VPC endpoints)")
    .action(async (bundle: string | undefined, options: VerifyCliOptions) => {
      const { runVerifyCommand } = await import("./commands/verify.command.ts");
      exitCode = await runVerifyCommand(bundle, options, io);
    });

  program
    .command("diff")
    .description(
      "what changed between two bundles (keys, rotation, key state, access, findings opened and resolved); both must verify with a pinned signer",
    )
    .argument("<bundle-a>", "the earlier bundle: directory, archive or s3:// URL")
    .argument("<bundle-b>", "the later bundle: directory, archive or s3:// URL")
    .option("--json", "print the changes as JSON (the form of changes-since-previous.json)")
    .option(
      "-c, --config <file>",
      "trust the signer configured in this keyproof.yaml; default S3 region/endpoint",
    )
    .option(
      "--trust <file>",
      "trust the keys in this trust file (keyproof signer export); default KEYPROOF_TRUST",
    )
    .option("--expect-public-key <file>", "trust this signer public key (SPKI PEM file)")
    .option("--region <region>", "AWS region for s3:// bundles")
    .option("--endpoint <url>", "S3 endpoint for s3:// bundles (emulators, VPC endpoints)")
    .addHelpText(
      "after",
      "\nExit codes: 0 the changes were printed, 1 a bundle does not verify or cannot be read, 2 bad arguments",
    )
    .action(async (previous: string, current: string, options: DiffCliOptions) => {
      const { runDiffCommand } = await import("./commands/diff.command.ts");
      exitCode = await runDiffCommand(previous, current, options, io);
    });

  program
    .command("keygen")
    .description("write a new Ed25519 signing key (PKCS#8 PEM, mode 0600)")
    .option("-o, --out <file>", "where to write the key", "keyproof-signing.pem")
    .option("--force", "overwrite an existing file")
    .action(async (options: { out: string; force?: boolean }) => {
      const { runKeygenCommand } = await import("./commands/keygen.command.ts");
      exitCode = await runKeygenCommand(options, io);
    });

  const setExitCode = (code: number): void => {
    exitCode = code;
  };
  registerWorkerCommand(program, io, setExitCode);
  registerServeCommand(program, io, setExitCode);
  registerScheduleCommand(program, io, setExitCode);
  registerTokenCommand(program, io, setExitCode);
  registerSignerCommand(program, io, setExitCode);
  registerReviewCommand(program, io, setExitCode);
  registerProcedureCommand(program, io, setExitCode);
  registerDeliverCommand(program, io, setExitCode);

  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    return reportError(error, io);
  }
}

/** One place that maps errors to exit codes: bad input 2, everything else 1. Never prints a stack. */
export function reportError(error: unknown, io: CliIo): number {
  if (error instanceof CommanderError) {
    // Help and version are not errors.
    if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return EXIT_CODES.OK;
    if (error.code === "commander.help") return EXIT_CODES.OK;
    return EXIT_CODES.BAD_INPUT;
  }
  if (error instanceof ConfigError) {
    for (const problem of error.problems) io.stderr(`${formatConfigProblem(problem)}\n`);
    return EXIT_CODES.BAD_INPUT;
  }
  if (isKeyproofError(error)) {
    io.stderr(`keyproof: ${error.message}\n`);
    if (error.remediation) io.stderr(`  fix: ${error.remediation}\n`);
    return ERROR_CODES[error.code].exitCode;
  }
  io.stderr(`keyproof: fatal: ${error instanceof Error ? error.message : String(error)}\n`);
  return EXIT_CODES.FATAL;
}
