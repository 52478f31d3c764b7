import { loggingStatusPath } from "../../evidence/paths.ts";
import type { LocationSnapshot, Snapshot, SourceSnapshot } from "../../model/snapshot.ts";
import {
  buildCaptureBanner,
  type CaptureBannerView,
  type CaptureWindow,
} from "./capture-banner.view-model.ts";
import { buildBreadcrumbs } from "./key-configuration.view-model.ts";
import {
  CONSOLE_STYLES,
  NOT_REPORTED,
  describeCollectionError,
  describeRetention,
  formatInstant,
  row,
  type Row,
  type Tone,
} from "./format.ts";
import { verdictOf, type DisplayStatus, type FindingIndex } from "./verdicts.ts";

export type SinkView = {
  name: string;
  reference: string;
  activeText: string;
  coverageText: string;
  coverageReason: string;
  destination: string;
  /**
   * The sink's retention as collected, shown neutral: `log-retention-sufficient` judges the location (one
   * sink keeping enough is enough), so its verdict names no single sink and colours none. The verdict,
   * with the message listing each covering sink's retention, is the location's "Log retention" headline.
   */
  retention: string;
};

/** One location-level verdict shown as a headline chip. */
export type LocationVerdictView = {
  title: string;
  checkId: string;
  status: DisplayStatus;
  label: string;
  tone: Tone;
  reason: string;
};

export type LoggingConfigurationView = {
  theme: string;
  consoleName: string;
  breadcrumbs: Array<{ text: string }>;
  title: string;
  subtitle: string;
  banner: CaptureBannerView;
  sinkLabel: string;
  sourceRows: Row[];
  sinks: SinkView[];
  /** Counted fact: `1 of 2 audit device(s) active and recording key events`. Neutral: the verdicts judge it. */
  summary: string;
  /** `key-usage-logging-enabled` and `log-retention-sufficient` on this location. */
  verdicts: LocationVerdictView[];
  errors: Array<{ text: string }>;
};

export interface LoggingViewInput {
  snapshot: Pick<Snapshot, "runId">;
  capture: CaptureWindow;
  source: Pick<SourceSnapshot, "source" | "type" | "account">;
  location: LocationSnapshot;
  exportSha256: string | undefined;
  verdicts: FindingIndex;
}

/** Pure: what the logging screenshot of one location shows (trails, diagnostic settings or audit devices). */
export function buildLoggingConfigurationView(input: LoggingViewInput): LoggingConfigurationView {
  const { source, location } = input;
  const style = CONSOLE_STYLES[source.type];
  const logging = location.logging;
  const scope = { source: location.source, location: location.location };
  const logged = verdictOf(input.verdicts, scope, "key-usage-logging-enabled", {
    pass: "Key events logged",
    fail: "Key events not logged",
  });
  const retained = verdictOf(input.verdicts, scope, "log-retention-sufficient", {
    pass: "Retention sufficient",
    fail: "Retention too short",
    warn: "Retention not confirmed",
  });
  const sinks = logging.sinks.map((sink): SinkView => ({
    name: sink.name,
    reference: sink.reference,
    activeText: sink.active === undefined ? "Status could not be read" : sink.active ? "Active" : "Inactive",
    coverageText: sink.coversKeyEvents ? "Key events recorded" : "Key events not recorded",
    coverageReason: sink.coverageReason,
    destination: sink.destination ?? NOT_REPORTED,
    retention: describeRetention(sink.retention),
  }));
  const covering = logging.sinks.filter((sink) => sink.active === true && sink.coversKeyEvents).length;
  const summary =
    logging.sinks.length === 0
      ? `No ${style.sinkLabel.toLowerCase()} is configured for this ${style.locationLabel.toLowerCase()}`
      : `${covering} of ${logging.sinks.length} ${style.sinkLabel.toLowerCase()}(s) active and recording key events`;
  const toView = (title: string, verdict: typeof logged): LocationVerdictView => ({
    title,
    checkId: verdict.checkId,
    status: verdict.status,
    label: verdict.label,
    tone: verdict.tone,
    reason: verdict.reason,
  });
  return {
    theme: style.theme,
    consoleName: style.consoleName,
    breadcrumbs: buildBreadcrumbs(source, location.location, [style.loggingTitle])
      .slice(0, 2)
      .concat({ text: style.loggingTitle }),
    title: style.loggingTitle,
    subtitle: `Logging of key usage and administration in ${style.locationLabel.toLowerCase()} ${location.location}`,
    banner: buildCaptureBanner(
      { window: input.capture, runId: input.snapshot.runId },
      loggingStatusPath(location.source, location.location),
      input.exportSha256,
    ),
    sinkLabel: style.sinkLabel,
    sourceRows: [
      row("Source", source.source),
      row(style.accountLabel, source.account ?? NOT_REPORTED, { mono: true }),
      row(style.locationLabel, location.location, { mono: true }),
      row("Read at", formatInstant(logging.capturedAt)),
    ],
    sinks,
    summary,
    verdicts: [toView("Key-event logging", logged), toView("Log retention", retained)],
    errors: [
      ...logging.errors.map((error) => ({ text: describeCollectionError(error) })),
      ...location.gaps.map((gap) => ({ text: `Collection gap: ${describeCollectionError(gap.error)}` })),
    ],
  };
}
