/**
 * keyproof.yaml text for config tests and the validation bench: one AWS source, a local signing key and
 * `entries` inventory entries, one line each (flow mappings keep 100,000 entries under the 10 MB limit).
 * Entry i is on line `inventoryLineOf(i)`, so a test can plant a mistake and expect its exact line.
 */
export const CONFIG_HEADER_LINES = [
  "organization: acme",
  "sources:",
  "  - id: aws-prod",
  "    type: aws-kms",
  "    regions: [us-east-1]",
  "signing:",
  "  localKeyFile: keyproof-signing.pem",
  "keys:",
];

export interface InventoryTextOptions {
  entries: number;
  /** Replace entry i's line (a planted mistake). */
  override?: (index: number) => string | undefined;
}

export function inventoryEntryLine(index: number): string {
  return `  - { source: aws-prod, match: key-${index}, owner: team-${index % 50}, usage: data-at-rest, systems: [billing] }`;
}

export function inventoryLineOf(index: number): number {
  return CONFIG_HEADER_LINES.length + index + 1;
}

export function makeConfigText(options: InventoryTextOptions): string {
  const lines = [...CONFIG_HEADER_LINES];
  for (let index = 0; index < options.entries; index++) {
    lines.push(options.override?.(index) ?? inventoryEntryLine(index));
  }
  return `${lines.join("\n")}\n`;
}
