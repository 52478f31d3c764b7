import { loggingStatusPath } from "../../evidence/paths.ts";
import type { LocationSnapshot, Snapshot, SourceSnapshot } from "../../model/snapshot.ts";
import { buildCaptureBanner, type CaptureBannerView } from "./capture-banner.view-model.ts";
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

export type SinkView = {
  name: string;
  reference: string;
  activeText: string;
  activeTone: Tone;
  coverageText: string;
  coverageTone: Tone;
  coverageReason: string;
  destination: string;
  retention: string;
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
  summary: string;
  summaryTone: Tone;
  errors: Array<{ text: string }>;
};

export interface LoggingViewInput {
  snapshot: Pick<Snapshot, "capturedAt" | "runId">;
  source: Pick<SourceSnapshot, "source" | "type" | "account">;
  location: LocationSnapshot;
  exportSha256: string | undefined;
}

/** Pure: what the logging screenshot of one location shows (trails, diagnostic settings or audit devices). */
export function buildLoggingConfigurationView(input: LoggingViewInput): LoggingConfigurationView {
  const { source, location } = input;
  const style = CONSOLE_STYLES[source.type];
  const logging = location.logging;
  const sinks = logging.sinks.map((sink): SinkView => ({
    name: sink.name,
    reference: sink.reference,
    activeText: sink.active ? "Active" : "Inactive",
    activeTone: sink.active ? "ok" : "bad",
    coverageText: sink.coversKeyEvents ? "Key events recorded" : "Key events NOT recorded",
    coverageTone: sink.coversKeyEvents ? "ok" : "bad",
    coverageReason: sink.coverageReason,
    destination: sink.destination ?? NOT_REPORTED,
    retention: describeRetention(sink.retention),
  }));
  const covering = logging.sinks.filter((sink) => sink.active && sink.coversKeyEvents).length;
  const summaryTone: Tone = covering > 0 ? "ok" : "bad";
  const summary =
    logging.sinks.length === 0
      ? `No ${style.sinkLabel.toLowerCase()} is configured for this ${style.locationLabel.toLowerCase()}`
      : `${covering} of ${logging.sinks.length} ${style.sinkLabel.toLowerCase()}(s) active and recording key events`;
  return {
    theme: style.theme,
    consoleName: style.consoleName,
    breadcrumbs: buildBreadcrumbs(source, location.location, [style.loggingTitle])
      .slice(0, 2)
      .concat({ text: style.loggingTitle }),
    title: style.loggingTitle,
    subtitle: `Logging of key usage and administration in ${style.locationLabel.toLowerCase()} ${location.location}`,
    banner: buildCaptureBanner(
      input.snapshot,
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
    summaryTone,
    errors: [
      ...logging.errors.map((error) => ({ text: describeCollectionError(error) })),
      ...location.gaps.map((gap) => ({ text: `Collection gap: ${describeCollectionError(gap.error)}` })),
    ],
  };
}
