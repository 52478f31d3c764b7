import type { TargetDelivery } from "./deliver-run.ts";

/** True when a target failed for good: `keyproof run` and `keyproof deliver` exit 3. */
export function hasFailedDelivery(deliveries: readonly TargetDelivery[]): boolean {
  return deliveries.some((delivery) => delivery.state === "failed");
}

/** The per-target lines `keyproof run` and `keyproof deliver` print. */
export function formatDeliveries(deliveries: readonly TargetDelivery[]): string {
  if (deliveries.length === 0) return "";
  const lines = ["", "Delivered to:"];
  for (const delivery of deliveries) {
    lines.push(`  ${delivery.target} (${delivery.type}): ${delivery.state.toUpperCase()}`);
    for (const outcome of delivery.outcomes) {
      const remote = outcome.remoteId === undefined ? "" : ` id ${outcome.remoteId}`;
      const status = outcome.httpStatus === undefined ? "" : ` HTTP ${outcome.httpStatus}`;
      const reason = outcome.reason === undefined ? "" : `: ${outcome.reason}`;
      lines.push(`    ${outcome.path}: ${outcome.state}${status}${remote}${reason}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
