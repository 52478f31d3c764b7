import { escapeHtml, trustedHtml, type TrustedHtml } from "./template.ts";

/**
 * Events per UTC day as an inline SVG bar chart. Drawn in code (not a chart library) because it is small,
 * must load nothing from the network, and prints as vectors with real text labels in the PDF. Every text
 * that reaches the markup goes through escapeHtml; numbers are formatted here.
 */

export interface DailyChartInput {
  /** Every day of the range, `YYYY-MM-DD`, in order: days without events still get a slot. */
  days: readonly string[];
  counts: Readonly<Record<string, number>>;
  title: string;
}

const WIDTH = 700;
const HEIGHT = 250;
const LEFT = 56;
const RIGHT = 12;
const TOP = 28;
const BOTTOM = 44;

/** 1, 2, 5 × 10^n at or above `value`: axis maxima a reader can scale in their head. */
export function niceCeiling(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function formatNumber(value: number): string {
  return value.toLocaleString("en-US");
}

export function renderDailyChart(input: DailyChartInput): TrustedHtml {
  const plotWidth = WIDTH - LEFT - RIGHT;
  const plotHeight = HEIGHT - TOP - BOTTOM;
  const values = input.days.map((day) => input.counts[day] ?? 0);
  const maximum = niceCeiling(Math.max(0, ...values));
  const slot = input.days.length > 0 ? plotWidth / input.days.length : plotWidth;
  const barWidth = Math.max(1, slot * 0.8);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img">`,
    `<title>${escapeHtml(input.title)}</title>`,
    `<text x="${LEFT}" y="16" class="chart-title">${escapeHtml(input.title)}</text>`,
  );
  for (const fraction of [0, 0.5, 1]) {
    const y = TOP + plotHeight - fraction * plotHeight;
    parts.push(
      `<line x1="${LEFT}" y1="${y.toFixed(1)}" x2="${WIDTH - RIGHT}" y2="${y.toFixed(1)}" class="chart-grid"/>`,
      `<text x="${LEFT - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" class="chart-label">${escapeHtml(formatNumber(Math.round(maximum * fraction)))}</text>`,
    );
  }
  values.forEach((value, index) => {
    if (value <= 0) return;
    const height = Math.max(1, (value / maximum) * plotHeight);
    const x = LEFT + index * slot + (slot - barWidth) / 2;
    parts.push(
      `<rect x="${x.toFixed(2)}" y="${(TOP + plotHeight - height).toFixed(2)}" width="${barWidth.toFixed(2)}" height="${height.toFixed(2)}" class="chart-bar"/>`,
    );
  });
  // Label the first day of each month (and the first day of the range), so a quarter gets 3-4 labels.
  input.days.forEach((day, index) => {
    if (index !== 0 && !day.endsWith("-01")) return;
    const x = LEFT + index * slot;
    parts.push(
      `<line x1="${x.toFixed(1)}" y1="${TOP + plotHeight}" x2="${x.toFixed(1)}" y2="${TOP + plotHeight + 5}" class="chart-axis"/>`,
      `<text x="${x.toFixed(1)}" y="${TOP + plotHeight + 18}" class="chart-label">${escapeHtml(day)}</text>`,
    );
  });
  parts.push(
    `<line x1="${LEFT}" y1="${TOP + plotHeight}" x2="${WIDTH - RIGHT}" y2="${TOP + plotHeight}" class="chart-axis"/>`,
    `<text x="${LEFT}" y="${HEIGHT - 6}" class="chart-label">UTC day; bar height = events that day</text>`,
    `</svg>`,
  );
  return trustedHtml(parts.join(""));
}
