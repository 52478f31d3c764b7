import type { SourceType } from "../model/key.ts";

/**
 * The fix for a gap, where the cause is one keyproof recognizes: what the person at the terminal does next.
 * Pure; keyed on the error codes the providers' error mappers produce (aws-error.ts, vault-error.ts,
 * azure-error.ts). An unknown cause gets no fix rather than a guess.
 */

const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "ECONNABORTED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ERR_NETWORK",
  "REQUEST_SEND_ERROR",
  "TimeoutError",
]);

const AWS_DENIED_CODES = new Set([
  "AccessDenied",
  "AccessDeniedException",
  "UnauthorizedOperation",
  "AuthorizationError",
  "UnrecognizedClientException",
  "InvalidClientTokenId",
  "ExpiredToken",
  "ExpiredTokenException",
]);

const AZURE_DENIED_CODES = new Set([
  "AuthorizationFailed",
  "Forbidden",
  "ForbiddenByRbac",
  "ForbiddenByPolicy",
  "HTTP403",
  "InsufficientAccessError",
]);

export interface GapCause {
  sourceType: SourceType | undefined;
  call: string;
  code: string;
}

export function fixForGap(cause: GapCause): string | undefined {
  const { sourceType, call, code } = cause;
  if (UNREACHABLE_CODES.has(code)) {
    return "endpoint unreachable: check the source's endpoint/address and the network; `keyproof doctor --config <file>` tests each source";
  }
  if (code === "NotCollected") {
    return "a collect job did not finish: check the workers' logs (`keyproof worker`) and run again";
  }
  if (code === "OutsideLookupWindow") {
    return "configure cloudtrail.bucket (the trail's S3 bucket) for ranges older than 90 days";
  }
  switch (sourceType) {
    case "aws-kms":
      if (code === "CredentialsProviderError") {
        return "no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run with an instance/task role";
      }
      if (AWS_DENIED_CODES.has(code)) {
        return `the identity may not call ${call}: allow it (docs/permissions/aws-iam-policy.json lists every action keyproof uses)`;
      }
      return undefined;
    case "hashicorp-vault":
      if (code === "TokenMissing") return "no Vault token: set VAULT_TOKEN or the source's tokenFile";
      if (code === "PermissionDenied") {
        return `the token's policy does not allow ${call}: add the capability (docs/permissions/vault-policy.hcl)`;
      }
      return undefined;
    case "azure-key-vault":
      if (code === "CredentialUnavailableError" || code === "AggregateAuthenticationError") {
        return "no Azure credentials: run `az login`, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or use a managed identity";
      }
      if (code === "ForbiddenByFirewall") return "allow this host through the vault's network firewall";
      if (AZURE_DENIED_CODES.has(code)) {
        return `the identity may not call ${call}: assign the reader roles listed in the README (Permissions)`;
      }
      return undefined;
    default:
      return undefined;
  }
}
