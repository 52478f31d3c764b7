import type { SourceConfig } from "../config/config.schema.ts";
import { describeError } from "../errors/errors.ts";
import { diagnoseAwsKmsSource, type AwsDoctorOptions } from "../providers/aws-kms/aws-kms.doctor.ts";
import {
  diagnoseAzureKeyVaultSource,
  type AzureDoctorOptions,
} from "../providers/azure-key-vault/azure-key-vault.doctor.ts";
import {
  diagnoseHashicorpVaultSource,
  type VaultDoctorOptions,
} from "../providers/hashicorp-vault/hashicorp-vault.doctor.ts";
import { isPermissionProblem, type PermissionCheck } from "../providers/source-doctor.ts";

/**
 * `keyproof doctor`: before any run, is each source reachable and may its identity make every call keyproof
 * makes. Each provider probes with its own clients (providers/<type>/<type>.doctor.ts); this module only
 * runs them and words the result.
 */

export interface SourceDiagnosis {
  source: string;
  type: SourceConfig["type"];
  checks: PermissionCheck[];
}

export interface DoctorOptions {
  /** Directory of the config file: relative paths in a source resolve beside it. */
  baseDirectory?: string;
  aws?: AwsDoctorOptions;
  vault?: Omit<VaultDoctorOptions, "baseDirectory">;
  azure?: Omit<AzureDoctorOptions, "baseDirectory">;
}

export async function diagnoseSource(
  source: SourceConfig,
  options: DoctorOptions = {},
): Promise<SourceDiagnosis> {
  const base = options.baseDirectory === undefined ? {} : { baseDirectory: options.baseDirectory };
  let checks: PermissionCheck[];
  try {
    switch (source.type) {
      case "aws-kms":
        checks = await diagnoseAwsKmsSource(source, options.aws);
        break;
      case "hashicorp-vault":
        checks = await diagnoseHashicorpVaultSource(source, { ...options.vault, ...base });
        break;
      case "azure-key-vault":
        checks = await diagnoseAzureKeyVaultSource(source, { ...options.azure, ...base });
        break;
      default: {
        const unknownType: never = source;
        throw new Error(`no doctor for source ${JSON.stringify(unknownType)}`);
      }
    }
  } catch (error) {
    // A probe that throws is a defect in doctor, but the user still needs the line for the source.
    checks = [{ permission: "doctor", status: "error", detail: describeError(error) }];
  }
  return { source: source.id, type: source.type, checks };
}

/** Every source, one after the other (doctor is a handful of calls per source). */
export async function runDoctor(
  sources: readonly SourceConfig[],
  options: DoctorOptions = {},
): Promise<SourceDiagnosis[]> {
  const results: SourceDiagnosis[] = [];
  for (const source of sources) results.push(await diagnoseSource(source, options));
  return results;
}

export function doctorFoundProblems(results: readonly SourceDiagnosis[]): boolean {
  return results.some((result) => result.checks.some((check) => isPermissionProblem(check.status)));
}

const LABEL: Record<PermissionCheck["status"], string> = {
  ok: "ok",
  missing: "MISSING",
  unreachable: "UNREACHABLE",
  error: "ERROR",
  untested: "untested",
};

/** One line per source and permission: `aws-prod  kms:GetKeyPolicy  MISSING  us-east-1: ...`, then its fix. */
export function formatDoctorReport(results: readonly SourceDiagnosis[]): string {
  const lines: string[] = [];
  for (const result of results) {
    const width = Math.max(...result.checks.map((check) => check.permission.length), 10);
    for (const check of result.checks) {
      const detail =
        check.detail === undefined || (check.status === "ok" && !check.detail.includes("answered"))
          ? ""
          : `  ${check.detail}`;
      lines.push(
        `${result.source} (${result.type})  ${check.permission.padEnd(width)}  ${LABEL[check.status]}${detail}`,
      );
      if (check.fix !== undefined && isPermissionProblem(check.status)) lines.push(`    fix: ${check.fix}`);
    }
  }
  const problems = results.flatMap((result) =>
    result.checks.filter((check) => isPermissionProblem(check.status)),
  );
  lines.push("");
  lines.push(
    problems.length === 0
      ? `All ${results.length} source(s) reachable with every permission keyproof uses.`
      : `${problems.length} problem(s): a run now would be incomplete (exit 3).`,
  );
  return `${lines.join("\n")}\n`;
}
