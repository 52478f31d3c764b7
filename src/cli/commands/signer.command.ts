import type { Command } from "commander";
import type { CliIo } from "../cli-types.ts";
import type { ExportOptions, RotateOptions } from "./signer-actions.ts";

/** `keyproof signer export|rotate`. */
export function registerSignerCommand(
  program: Command,
  io: CliIo,
  setExitCode: (code: number) => void,
): void {
  const signer = program.command("signer").description("publish and rotate the bundle signing key");
  signer
    .command("export")
    .description(
      "print the signer's public key, key id and SHA-256 fingerprint; write a trust file for auditors",
    )
    .option("-c, --config <file>", "keyproof.yaml whose signing: key to export", "keyproof.yaml")
    .option("-o, --out <file>", "trust file to write (a key already in it is kept)", "keyproof-trust.json")
    .option(
      "--name <name>",
      "name of the key in the trust file (default: <organization> evidence signing key)",
    )
    .option("--not-before <time>", "trust the key only for bundles signed at or after this time")
    .option("--not-after <time>", "trust the key only for bundles signed at or before this time")
    .option("--json", "print as JSON")
    .action(async (options: ExportOptions) => {
      const { runSignerExportCommand } = await import("./signer-actions.ts");
      setExitCode(await runSignerExportCommand(options, io));
    });
  signer
    .command("rotate")
    .description("announce the next signing key in the manifests of the next runs (for verify --chain)")
    .requiredOption("-c, --config <file>", "keyproof.yaml of the current signer")
    .option("--next-public-key <file>", "the next key: a public key PEM, or the new keygen private key file")
    .option("--next-kms-key <keyId>", "the next key: a KMS key id, ARN or alias (GetPublicKey)")
    .action(async (options: RotateOptions) => {
      const { runSignerRotateCommand } = await import("./signer-actions.ts");
      setExitCode(await runSignerRotateCommand(options, io));
    });
}
