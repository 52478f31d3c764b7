import { Command, CommanderError, Option } from "commander";
import { EXIT_CODES } from "./exit-codes.ts";
import { formatConfigProblem, isKeyproofError, ConfigError, ERROR_CODES } from "../errors/errors.ts";
import { runValidateCommand } from "./commands/validate.command.ts";
import { runRunCommand } from "./commands/run.command.ts";
import { runVerifyCommand, type VerifyCliOptions } from "./commands/verify.command.ts";
import { runKeygenCommand } from "./commands/keygen.command.ts";
import { registerScheduleCommand } from "./commands/schedule.command.ts";
import { registerServeCommand } from "./commands/serve.command.ts";
import { registerTokenCommand } from "./commands/token.command.ts";
import { registerSignerCommand } from "./commands/signer.command.ts";
import { registerWorkerCommand } from "./commands/worker.command.ts";
import { KEYPROOF_VERSION } from "../version.ts";

/** Output sinks, injectable so tests can run commands in-process. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  isTty: boolean;
}

export const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  isTty: Boolean(process.stderr.isTTY),
};

/** Parses argv and runs one command. Returns the exit code instead of exiting, so it can be tested. */
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
    .action(async (options: RunCliOptions) => {
      exitCode = await runRunCommand(options, io);
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
      exitCode = await runVerifyCommand(bundle, options, io);
    });

  program
    .command("keygen")
    .description("write a new Ed25519 signing key (PKCS#8 PEM, mode 0600)")
    .option("-o, --out <file>", "where to write the key", "keyproof-signing.pem")
    .option("--force", "overwrite an existing file")
    .action(async (options: { out: string; force?: boolean }) => {
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

  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    return reportError(error, io);
  }
}

export interface RunCliOptions {
  config: string;
  period?: string;
  from?: string;
  to?: string;
  out: string;
  runId?: string;
  json?: boolean;
  /** commander's `--no-render` sets this to false. */
  render: boolean;
  /** Run in this process even when Redis is configured. */
  inline?: boolean;
  redisUrl?: string;
  prefix?: string;
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
