import type { SecureframeTargetConfig } from "../../config/deliver.schema.ts";
import { DeliveryError, type DeliveryTarget } from "../delivery-target.ts";

/**
 * PLACEHOLDER until the Secureframe target (written on another branch, issue 14) is merged; that file replaces
 * this one. It refuses to deliver, so a configured secureframe target is recorded as failed, never silently skipped.
 */
export function createSecureframeTarget(
  config: SecureframeTargetConfig,
  _env: NodeJS.ProcessEnv = process.env,
): DeliveryTarget {
  return {
    config,
    sendArtifact() {
      return Promise.reject(new DeliveryError("not implemented", { retryable: false }));
    },
  };
}
