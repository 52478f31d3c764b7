import type { DeliveryTargetConfig } from "../config/deliver.schema.ts";
import type { DeliveryTarget } from "./delivery-target.ts";
import { createDrataTarget } from "./targets/drata.target.ts";
import { createSecureframeTarget } from "./targets/secureframe.target.ts";
import { createVantaTarget } from "./targets/vanta.target.ts";
import { createWebhookTarget } from "./targets/webhook.target.ts";

/**
 * The one place a `deliver:` entry becomes a target. Credentials are read from `env` by the target when it
 * sends (by the variable names in the config), never here and never copied anywhere.
 */
export function createDeliveryTarget(
  config: DeliveryTargetConfig,
  env: NodeJS.ProcessEnv = process.env,
): DeliveryTarget {
  switch (config.type) {
    case "vanta":
      return createVantaTarget(config, env);
    case "drata":
      return createDrataTarget(config, env);
    case "secureframe":
      return createSecureframeTarget(config, env);
    case "webhook":
      return createWebhookTarget(config, env);
  }
}
