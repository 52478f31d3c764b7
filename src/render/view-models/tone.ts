/** How a displayed value is coloured. A leaf module: format.ts and verdicts.ts both need it. */
export type Tone = "plain" | "ok" | "bad" | "warn";
