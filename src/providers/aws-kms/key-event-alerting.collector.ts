import { paginateDescribeAlarms } from "@aws-sdk/client-cloudwatch";
import type { CloudWatchClient, MetricAlarm } from "@aws-sdk/client-cloudwatch";
import { paginateDescribeMetricFilters } from "@aws-sdk/client-cloudwatch-logs";
import type { CloudWatchLogsClient, MetricFilter } from "@aws-sdk/client-cloudwatch-logs";
import { ListRulesCommand, ListTargetsByRuleCommand } from "@aws-sdk/client-eventbridge";
import type { EventBridgeClient, Rule, Target } from "@aws-sdk/client-eventbridge";
import type { Collected, CollectionError } from "../../model/key.ts";
import type { KeyEventAlert, KeyEventAlerting, LoggingSink } from "../../model/logging.ts";
import type { Clock } from "../key-provider.ts";
import { capture, collectPages } from "./capture.ts";
import { kmsActionsOfEventPattern, kmsActionsOfFilterPattern } from "./key-event-patterns.ts";

/**
 * The alert rules on administrative KMS events that reach a region: CloudWatch alarms on metric filters of
 * the log groups the region's trails deliver to (CIS AWS Foundations "metric filter and alarm for disabling
 * or scheduled deletion of customer-created CMKs"), and EventBridge rules on KMS events in the region.
 * Facts only; kms-deletion-alarmed judges them. Every list is paged to its end, and a failed call is kept
 * in `errors`: it makes "no rule found" unknown, never "no rule".
 */

export interface AlertingCollectionContext {
  location: string;
  clock: Clock;
  logs: (region: string) => CloudWatchLogsClient;
  cloudWatch: (region: string) => CloudWatchClient;
  eventBridge: (region: string) => EventBridgeClient;
}

/** A CloudWatch Logs log group as a trail names it: `arn:aws:logs:<region>:<account>:log-group:<name>:*`. */
export interface LogGroupReference {
  /** The ARN without the trailing `:*` (the form alarms and consoles show). */
  arn: string;
  region: string;
  name: string;
}

export function parseLogGroupArn(arn: string): LogGroupReference | undefined {
  const match = /^(arn:aws[a-z-]*:logs:([a-z0-9-]+):\d{12}:log-group:([^:]+))(?::\*)?$/.exec(arn);
  if (match === null) return undefined;
  const [, base, region, name] = match;
  if (base === undefined || region === undefined || name === undefined) return undefined;
  return { arn: base, region, name };
}

/**
 * The log groups of the trails that record the region's KMS events. A trail whose status is unknown is
 * kept: it may be logging, and its alarms are facts either way.
 */
function trailLogGroups(sinks: readonly LoggingSink[]): string[] {
  const groups = sinks.flatMap((sink) =>
    sink.kind === "cloudtrail-trail" &&
    sink.coversKeyEvents &&
    sink.active !== false &&
    sink.trail?.cloudWatchLogsLogGroupArn !== undefined
      ? [sink.trail.cloudWatchLogsLogGroupArn]
      : [],
  );
  return [...new Set(groups)].sort();
}

export async function collectKeyEventAlerting(
  context: AlertingCollectionContext,
  sinks: readonly LoggingSink[],
): Promise<KeyEventAlerting> {
  const errors: CollectionError[] = [];
  // DescribeAlarms lists a whole region: read once per region whatever the number of log groups there.
  const alarmsByRegion = new Map<string, Promise<Collected<MetricAlarm[]>>>();
  const alarmsIn = (region: string) => {
    let alarms = alarmsByRegion.get(region);
    if (alarms === undefined) {
      alarms = capture("cloudwatch:DescribeAlarms", context.clock, () =>
        collectPages(
          paginateDescribeAlarms({ client: context.cloudWatch(region) }, { AlarmTypes: ["MetricAlarm"] }),
          (page) => page.MetricAlarms,
        ),
      );
      alarmsByRegion.set(region, alarms);
    }
    return alarms;
  };
  const [metricAlerts, ruleAlerts] = await Promise.all([
    Promise.all(
      trailLogGroups(sinks).map((arn) => collectLogGroupAlarms(context, arn, alarmsIn, errors)),
    ).then((perGroup) => perGroup.flat()),
    collectEventBridgeRules(context, errors),
  ]);
  const alerts = [...metricAlerts, ...ruleAlerts].sort((left, right) =>
    left.reference.localeCompare(right.reference),
  );
  // Several log groups in one region share the failed DescribeAlarms: report it once.
  const seen = new Set<string>();
  const distinct = errors.filter((error) => {
    const key = JSON.stringify(error);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return { alerts, errors: distinct };
}

/** The alarm watches the filter's metric, directly or as one metric of a metric-math alarm. */
function watches(alarm: MetricAlarm, namespace: string, metricName: string): boolean {
  if (alarm.Namespace === namespace && alarm.MetricName === metricName) return true;
  return (alarm.Metrics ?? []).some(
    (query) =>
      query.MetricStat?.Metric?.Namespace === namespace && query.MetricStat.Metric.MetricName === metricName,
  );
}

async function collectLogGroupAlarms(
  context: AlertingCollectionContext,
  logGroupArn: string,
  alarmsIn: (region: string) => Promise<Collected<MetricAlarm[]>>,
  errors: CollectionError[],
): Promise<KeyEventAlert[]> {
  const group = parseLogGroupArn(logGroupArn);
  if (group === undefined) {
    errors.push({
      call: "logs:DescribeMetricFilters",
      code: "InvalidLogGroupArn",
      message: `the trail's CloudWatchLogsLogGroupArn ${logGroupArn} is not a log group ARN, so its metric filters cannot be listed`,
      retryable: false,
    });
    return [];
  }
  const filters = await capture("logs:DescribeMetricFilters", context.clock, () =>
    collectPages(
      paginateDescribeMetricFilters({ client: context.logs(group.region) }, { logGroupName: group.name }),
      (page) => page.metricFilters,
    ),
  );
  if (!filters.ok) {
    errors.push(filters.error);
    return [];
  }
  const onKeyEvents = filters.value.flatMap((filter) => {
    const actions = kmsActionsOfFilterPattern(filter.filterPattern ?? "");
    return actions.length === 0 ? [] : [{ filter, actions }];
  });
  if (onKeyEvents.length === 0) return [];
  const alarms = await alarmsIn(group.region);
  if (!alarms.ok) errors.push(alarms.error);
  const byAlarm = new Map<string, KeyEventAlert>();
  const unwatched: KeyEventAlert[] = [];
  for (const { filter, actions } of onKeyEvents) {
    for (const metric of filter.metricTransformations ?? []) {
      const namespace = metric.metricNamespace ?? "";
      const metricName = metric.metricName ?? "";
      const watching = alarms.ok ? alarms.value.filter((alarm) => watches(alarm, namespace, metricName)) : [];
      if (watching.length === 0) {
        unwatched.push(unwatchedFilter(group, filter, actions, `${namespace}/${metricName}`, alarms));
        continue;
      }
      for (const alarm of watching) {
        const reference = alarm.AlarmArn ?? alarm.AlarmName ?? `${namespace}/${metricName}`;
        const existing = byAlarm.get(reference);
        if (existing !== undefined) {
          // One alarm fed by several filters fires on all their events.
          existing.actions = [...new Set([...existing.actions, ...actions])];
          continue;
        }
        byAlarm.set(reference, {
          kind: "cloudwatch-metric-alarm",
          name: alarm.AlarmName ?? reference,
          reference,
          // AWS always states ActionsEnabled; absent, it is unknown rather than off.
          enabled: alarm.ActionsEnabled,
          actions,
          notifies: alarm.AlarmActions ?? [],
          detail: definedOnly({
            logGroup: group.arn,
            metricFilter: filter.filterName,
            filterPattern: filter.filterPattern,
            metric: `${namespace}/${metricName}`,
            comparisonOperator: alarm.ComparisonOperator,
            threshold: alarm.Threshold,
            evaluationPeriods: alarm.EvaluationPeriods,
            period: alarm.Period,
            statistic: alarm.Statistic,
            state: alarm.StateValue,
          }),
        });
      }
    }
  }
  return [...byAlarm.values(), ...unwatched];
}

function unwatchedFilter(
  group: LogGroupReference,
  filter: MetricFilter,
  actions: string[],
  metric: string,
  alarms: Collected<MetricAlarm[]>,
): KeyEventAlert {
  const name = filter.filterName ?? "(unnamed filter)";
  return {
    kind: "cloudwatch-metric-filter",
    name,
    // Metric filters have no ARN: the log group's ARN and the filter's name identify it.
    reference: `${group.arn}:metric-filter:${name}`,
    enabled: undefined,
    actions,
    notifies: [],
    detail: {
      logGroup: group.arn,
      filterPattern: filter.filterPattern ?? "",
      metric,
      alarms: alarms.ok
        ? "no alarm in the region watches this metric"
        : `unknown: ${alarms.error.call} failed (${alarms.error.code})`,
    },
  };
}

/**
 * EventBridge rules on KMS events in the region. Only the default event bus is listed: CloudTrail API-call
 * events and KMS service events are delivered to the default bus of the region where they happen; a rule on
 * a custom bus only sees what another rule forwards there.
 */
async function collectEventBridgeRules(
  context: AlertingCollectionContext,
  errors: CollectionError[],
): Promise<KeyEventAlert[]> {
  const client = context.eventBridge(context.location);
  // The EventBridge client has no paginators: NextToken is followed by hand.
  const rules = await capture("events:ListRules", context.clock, async () => {
    const listed: Rule[] = [];
    let nextToken: string | undefined;
    do {
      const page = await client.send(
        new ListRulesCommand(nextToken === undefined ? {} : { NextToken: nextToken }),
      );
      listed.push(...(page.Rules ?? []));
      nextToken = page.NextToken;
    } while (nextToken !== undefined && nextToken !== "");
    return listed;
  });
  if (!rules.ok) {
    errors.push(rules.error);
    return [];
  }
  const onKeyEvents = rules.value.flatMap((rule) => {
    const actions = rule.EventPattern === undefined ? [] : kmsActionsOfEventPattern(rule.EventPattern);
    return actions.length === 0 ? [] : [{ rule, actions }];
  });
  return Promise.all(
    onKeyEvents.map(async ({ rule, actions }) => {
      const name = rule.Name ?? rule.Arn ?? "(unnamed rule)";
      const targets = await capture("events:ListTargetsByRule", context.clock, async () => {
        const listed: Target[] = [];
        let nextToken: string | undefined;
        do {
          const page = await client.send(
            new ListTargetsByRuleCommand({
              Rule: name,
              ...(rule.EventBusName === undefined ? {} : { EventBusName: rule.EventBusName }),
              ...(nextToken === undefined ? {} : { NextToken: nextToken }),
            }),
          );
          listed.push(...(page.Targets ?? []));
          nextToken = page.NextToken;
        } while (nextToken !== undefined && nextToken !== "");
        return listed;
      });
      if (!targets.ok) errors.push(targets.error);
      const alert: KeyEventAlert = {
        kind: "eventbridge-rule",
        name,
        reference: rule.Arn ?? name,
        // ENABLED and ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS both deliver; DISABLED does not.
        enabled: rule.State === undefined ? undefined : rule.State.startsWith("ENABLED"),
        actions,
        notifies: targets.ok
          ? targets.value.flatMap((target) => (target.Arn === undefined ? [] : [target.Arn]))
          : [],
        detail: definedOnly({
          eventBus: rule.EventBusName ?? "default",
          eventPattern: rule.EventPattern,
          state: rule.State,
          targets: targets.ok
            ? targets.value.map((target) => target.Id)
            : `unknown: ${targets.error.call} failed (${targets.error.code})`,
        }),
      };
      return alert;
    }),
  );
}

function definedOnly(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));
}
