import { createHash, createHmac } from "node:crypto";
import type { WebhookTargetConfig } from "../../config/deliver.schema.ts";
import {
  DeliveryError,
  isRetryableStatus,
  parseRetryAfter,
  type DeliveryRunSummary,
  type DeliveryTarget,
  type SentArtifact,
} from "../delivery-target.ts";

/**
 * Signed webhook: POSTs the run summary (no artifacts) in `finish`. Receivers verify
 * `X-Keyproof-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`, refuse an
 * `X-Keyproof-Timestamp` that is too old (replays), and dedupe on `X-Keyproof-Delivery`, which is the same
 * for every attempt of one (run, target) so a retried POST is recognisable as the same delivery.
 */

const REQUEST_TIMEOUT_MS = 30_000;

/** Deterministic per (run, target): what a receiver dedupes on. Hashed so it carries no names. */
export function webhookDeliveryId(runId: string, target: string): string {
  return createHash("sha256").update(`${runId}\n${target}`).digest("hex").slice(0, 32);
}

/** The signature header value for a body sent at `timestamp` (unix seconds). */
export function signWebhookBody(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

export function createWebhookTarget(
  config: WebhookTargetConfig,
  env: NodeJS.ProcessEnv = process.env,
  now: () => Date = () => new Date(),
): DeliveryTarget {
  const secretOf = (): string => {
    const secret = env[config.secretEnv];
    if (secret === undefined || secret === "") {
      // The variable's name only: its value (if any) never goes into a message.
      throw new DeliveryError(
        `webhook ${config.name}: environment variable ${config.secretEnv} is not set (it holds the HMAC secret)`,
        { retryable: false },
      );
    }
    return secret;
  };
  return {
    config,
    sendArtifact() {
      // The config has no `artifacts:` for webhooks, so the orchestrator never selects any.
      return Promise.reject(
        new DeliveryError(`webhook ${config.name} sends no artifacts, only the run summary`, {
          retryable: false,
        }),
      );
    },
    async finish(run: DeliveryRunSummary): Promise<SentArtifact> {
      const secret = secretOf();
      const body = JSON.stringify(run);
      const timestamp = Math.floor(now().getTime() / 1000);
      let response: Response;
      try {
        response = await fetch(config.url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "user-agent": "keyproof-webhook/1",
            "x-keyproof-timestamp": String(timestamp),
            "x-keyproof-signature": signWebhookBody(secret, timestamp, body),
            "x-keyproof-delivery": webhookDeliveryId(run.runId, config.name),
          },
          body,
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
      } catch (error) {
        // Network error or timeout: the receiver may be down for a moment, worth a retry.
        throw new DeliveryError(
          `webhook ${config.name}: POST ${new URL(config.url).origin} failed: ${error instanceof Error ? error.message : String(error)}`,
          { retryable: true, cause: error },
        );
      }
      // The body is drained but never quoted: a receiver's error page is not ours to copy into records.
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return { httpStatus: response.status };
      const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
      throw new DeliveryError(`webhook ${config.name}: the receiver answered HTTP ${response.status}`, {
        status: response.status,
        retryable: isRetryableStatus(response.status),
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    },
  };
}
