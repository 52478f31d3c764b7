import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import type { AwsKmsSourceConfig } from "../../config/config.schema.ts";
import type { SourceDiscovery } from "../../model/discovery.ts";
import type { Collected, CollectionError } from "../../model/key.ts";
import type { LoggingStatus } from "../../model/logging.ts";
import type { DateRange, SourceGap } from "../../model/snapshot.ts";
import type { UsageItem } from "../../model/usage.ts";
import type { KeyBatch, KeyListing, KeyRef } from "../key-provider.ts";
import { systemClock } from "../key-provider.ts";
import type { AwsCredentials } from "./aws-clients.ts";
import { createAwsClientFactory, endpointFor, GLOBAL_REGION, resolveCredentials } from "./aws-clients.ts";
import type { AwsKmsProvider, AwsKmsProviderOptions } from "./aws-kms-provider.types.ts";
import {
  createOrganizationsClient,
  describeOrganizationId,
  discoverOrganization,
  memberCredentials,
  parseMemberLocation,
} from "./aws-organization.ts";
import type { OrganizationConfig } from "./aws-organization.ts";
import { capture } from "./capture.ts";
import {
  normalizeConfiguredPrefix,
  organizationIdOfConfiguredPrefix,
  streamCloudTrailS3Usage,
} from "./cloudtrail-s3.usage.ts";
import { collectTrailLogging } from "./cloudtrail-status.collector.ts";
import type { KmsTrailLocation } from "./cloudtrail-status.collector.ts";
import { collectKeyEventAlerting } from "./key-event-alerting.collector.ts";
import { accountOfArn } from "./key-policy.normalizer.ts";

/**
 * An `aws-kms` source with `organization:` (issue 15). Its locations are `<account>/<region>`; each account
 * is read by a single-account provider (the same collectors, unchanged) built on that account's assumed
 * role, on demand, so a worker that never ran `discover` collects any discovered location. The
 * single-account provider works in plain regions; what it returns is relabelled with the member location.
 *
 * Usage of a member: the organization trail of the caller's (management or delegated-administrator)
 * account, when one logs the region's KMS events, is read with the caller's credentials under
 * `AWSLogs/<org-id>/<account>/`: the trail bucket lives in the log-archive or management account, which
 * member reader roles usually cannot read. Without an organization trail, the member's own trail is read
 * with the member's role, as for a single account.
 */

type AccountProviderFactory = (config: AwsKmsSourceConfig, options: AwsKmsProviderOptions) => AwsKmsProvider;

export function createOrganizationProvider(
  config: AwsKmsSourceConfig,
  organization: OrganizationConfig,
  options: AwsKmsProviderOptions,
  createAccountProvider: AccountProviderFactory,
): AwsKmsProvider {
  const clock = options.clock ?? systemClock;
  const base: AwsCredentials = resolveCredentials(
    config,
    options.credentials === undefined ? {} : { credentials: options.credentials },
  );
  const { organization: _organization, roleArn: _roleArn, externalId: _externalId, ...memberConfig } = config;
  // The caller's clients: Organizations, STS, and the organization trail's DescribeTrails and bucket.
  const callerClients = createAwsClientFactory(memberConfig, { credentials: base });
  const organizations = createOrganizationsClient(config, base);
  const stsEndpoint = endpointFor(config, "sts");
  const sts = new STSClient({
    region: config.regions[0] ?? GLOBAL_REGION,
    credentials: base,
    ...(stsEndpoint === undefined ? {} : { endpoint: stsEndpoint }),
  });
  const accounts = new Map<string, Promise<AwsKmsProvider>>();
  const orgTrails = new Map<string, Promise<Awaited<ReturnType<typeof collectTrailLogging>>>>();
  let callerPromise: Promise<Collected<string>> | undefined;
  let orgIdPromise: Promise<Collected<string | undefined>> | undefined;

  function caller(): Promise<Collected<string>> {
    callerPromise ??= capture("sts:GetCallerIdentity", clock, async () => {
      const identity = await sts.send(new GetCallerIdentityCommand({}));
      const account =
        identity.Account ?? (identity.Arn === undefined ? undefined : accountOfArn(identity.Arn));
      if (account === undefined) throw new Error("GetCallerIdentity returned neither Account nor Arn");
      return account;
    });
    return callerPromise;
  }

  function organizationId(): Promise<Collected<string | undefined>> {
    orgIdPromise ??= capture("organizations:DescribeOrganization", clock, () =>
      describeOrganizationId(organizations),
    );
    return orgIdPromise;
  }

  /** The single-account provider of one member: the caller's own account keeps the caller's identity. */
  function accountProvider(account: string): Promise<AwsKmsProvider> {
    let provider = accounts.get(account);
    if (provider === undefined) {
      provider = caller().then((own) =>
        createAccountProvider(memberConfig, {
          ...options,
          credentials:
            own.ok && own.value === account ? base : memberCredentials(config, organization, base, account),
        }),
      );
      accounts.set(account, provider);
    }
    return provider;
  }

  /** A location that is not `<account>/<region>` (a plan from before `organization:` was set). */
  function unknownLocation(location: string): CollectionError {
    return {
      call: "location",
      code: "UnknownLocation",
      message: `${location} is not <account>/<region>: an organization source collects the locations its discovery returns`,
      retryable: false,
    };
  }

  /** The caller's trails of the region, its organization trail chosen for usage (read once per region). */
  function callerTrails(region: string): ReturnType<typeof collectTrailLogging> {
    let found = orgTrails.get(region);
    if (found === undefined) {
      found = collectTrailLogging({
        sourceId: config.id,
        location: region,
        clock,
        cloudTrail: (trailRegion) => callerClients.cloudTrail(trailRegion),
        s3: (bucketRegion) => callerClients.s3(bucketRegion),
        organizationTrails: true,
      });
      orgTrails.set(region, found);
    }
    return found;
  }

  /** The caller's organization trail that logs the region's KMS events, if any. */
  async function organizationTrail(region: string): Promise<KmsTrailLocation | undefined> {
    return (await callerTrails(region)).kmsTrail;
  }

  /**
   * A member's logging status with the caller's organization trails added: they log the member's events
   * too, though the member's own DescribeTrails may not list them (AWS lists them as shadow trails; moto
   * not at all). Same trail ARN: listed once. The org trail read for usage becomes the member's usage sink.
   */
  async function withOrganizationTrails(status: LoggingStatus, region: string): Promise<LoggingStatus> {
    const caller = await callerTrails(region);
    const known = new Set(status.sinks.map((sink) => sink.reference));
    const added = caller.status.sinks.filter(
      (sink) => sink.detail.organizationTrail === true && !known.has(sink.reference),
    );
    const orgTrail = caller.kmsTrail;
    // Metric filters on an org trail's log group (in the caller's account) see the member's key events too;
    // the caller's EventBridge rules do not (events stay in the member's bus), so only those are kept.
    const orgAlerting =
      added.length === 0
        ? undefined
        : await collectKeyEventAlerting(
            {
              location: region,
              clock,
              logs: (alertRegion) => callerClients.logs(alertRegion),
              cloudWatch: (alertRegion) => callerClients.cloudWatch(alertRegion),
              eventBridge: (alertRegion) => callerClients.eventBridge(alertRegion),
            },
            added,
          );
    const orgAlerts = (orgAlerting?.alerts ?? []).filter((alert) => alert.kind !== "eventbridge-rule");
    return {
      ...status,
      ...(orgAlerting === undefined
        ? {}
        : {
            keyEventAlerting: {
              alerts: [...(status.keyEventAlerting?.alerts ?? []), ...orgAlerts],
              errors: [...(status.keyEventAlerting?.errors ?? []), ...orgAlerting.errors],
            },
          }),
      sinks: [...status.sinks, ...added],
      errors: [
        ...status.errors,
        ...caller.status.errors.map((error) => ({
          ...error,
          message: `${error.message} (the caller's organization trails)`,
        })),
      ],
      ...(orgTrail === undefined || status.usageLogLocation?.sink !== undefined
        ? {}
        : {
            usageLogLocation: {
              configured: status.usageLogLocation?.configured ?? {},
              sink: { reference: orgTrail.reference, bucket: orgTrail.bucket, prefix: orgTrail.prefix },
            },
          }),
    };
  }

  /**
   * Where the member's files are under the organization layout: the configured bucket with a prefix
   * naming the organization id (`AWSLogs/o-xxxx/`), else the caller's organization trail (the configured
   * bucket and prefix win over the trail's). Undefined: no organization trail, read the member's own.
   */
  async function organizationLayout(
    region: string,
  ): Promise<{ bucket: string; prefix: string; organizationId: string; bucketRegion: string } | undefined> {
    const configuredPrefix = config.cloudtrail?.prefix;
    const configuredOrg =
      configuredPrefix === undefined ? undefined : organizationIdOfConfiguredPrefix(configuredPrefix);
    const bucketRegion = (trail: KmsTrailLocation | undefined) =>
      config.cloudtrail?.region ?? trail?.homeRegion ?? config.regions[0] ?? region;
    if (
      config.cloudtrail?.bucket !== undefined &&
      configuredOrg !== undefined &&
      configuredPrefix !== undefined
    ) {
      return {
        bucket: config.cloudtrail.bucket,
        prefix: normalizeConfiguredPrefix(configuredPrefix),
        organizationId: configuredOrg,
        bucketRegion: bucketRegion(undefined),
      };
    }
    const trail = await organizationTrail(region);
    if (trail === undefined) return undefined;
    if (config.cloudtrail?.bucket !== undefined && config.cloudtrail.bucket !== trail.bucket)
      return undefined;
    const orgId = await organizationId();
    if (!orgId.ok || orgId.value === undefined) return undefined;
    return {
      bucket: trail.bucket,
      prefix: configuredPrefix === undefined ? trail.prefix : normalizeConfiguredPrefix(configuredPrefix),
      organizationId: orgId.value,
      bucketRegion: bucketRegion(trail),
    };
  }

  return {
    sourceId: config.id,
    type: "aws-kms",
    listLocations: () => [...config.regions],

    discover(): Promise<SourceDiscovery> {
      return discoverOrganization({
        config,
        organization,
        organizations,
        sts,
        base,
        clock,
        callerAccount: async () => {
          const own = await caller();
          return own.ok ? own.value : undefined;
        },
      });
    },

    async describeAccount() {
      const own = await caller();
      return own.ok ? own.value : undefined;
    },

    async listKeys(location: string): Promise<KeyListing> {
      const parsed = parseMemberLocation(location);
      if (parsed === undefined)
        return { refs: [], gaps: [{ source: config.id, location, error: unknownLocation(location) }] };
      const { account, region } = parsed;
      const listing = await (await accountProvider(account)).listKeys(region);
      return { ...listing, gaps: relabelGaps(listing.gaps, region, location) };
    },

    async collectKeys(location: string, refs: readonly KeyRef[]): Promise<KeyBatch> {
      const parsed = parseMemberLocation(location);
      if (parsed === undefined)
        return { keys: [], gaps: [{ source: config.id, location, error: unknownLocation(location) }] };
      const { account, region } = parsed;
      const batch = await (await accountProvider(account)).collectKeys(region, refs);
      return {
        keys: batch.keys.map((key) => ({ ...key, location })),
        gaps: relabelGaps(batch.gaps, region, location),
      };
    },

    async collectLogging(location: string): Promise<LoggingStatus> {
      const parsed = parseMemberLocation(location);
      if (parsed === undefined)
        return {
          source: config.id,
          location,
          capturedAt: clock().toISOString(),
          sinks: [],
          errors: [unknownLocation(location)],
        };
      const { account, region } = parsed;
      const status = await (await accountProvider(account)).collectLogging(region);
      const own = await caller();
      // The caller's own DescribeTrails already lists its organization trails.
      const merged = own.ok && own.value === account ? status : await withOrganizationTrails(status, region);
      return { ...merged, location };
    },

    streamUsage(location: string, range: DateRange) {
      const parsed = parseMemberLocation(location);
      if (parsed === undefined) {
        const error = unknownLocation(location);
        return {
          method: "none",
          items: (async function* (): AsyncGenerator<UsageItem> {
            yield {
              kind: "gap",
              gap: {
                source: config.id,
                location,
                object: location,
                code: error.code,
                message: error.message,
              },
            };
          })(),
        };
      }
      const { account, region } = parsed;
      const layout = organizationLayout(region);
      const own = layout.then(async (found) =>
        found === undefined ? (await accountProvider(account)).streamUsage(region, range) : undefined,
      );
      return {
        method: own.then((stream) => (stream === undefined ? "cloudtrail-s3-organization" : stream.method)),
        items: (async function* (): AsyncGenerator<UsageItem> {
          const found = await layout;
          const items =
            found === undefined
              ? ((await own) as { items: AsyncIterable<UsageItem> }).items
              : streamCloudTrailS3Usage({
                  sourceId: config.id,
                  location: region,
                  range,
                  s3: callerClients.s3(found.bucketRegion),
                  bucket: found.bucket,
                  prefix: found.prefix,
                  organizationId: found.organizationId,
                  // The folder is the member's: its id is the location's, no call needed.
                  account: () =>
                    Promise.resolve({
                      ok: true,
                      value: account,
                      call: "location",
                      capturedAt: clock().toISOString(),
                    }),
                  clock,
                  expectObjects: true,
                  ...(config.cloudtrail?.maxObjectBytes === undefined
                    ? {}
                    : { maxObjectBytes: config.cloudtrail.maxObjectBytes }),
                });
          for await (const item of items) yield relabelUsage(item, location);
        })(),
      };
    },

    close() {
      callerClients.destroy();
      organizations.destroy();
      sts.destroy();
      for (const provider of accounts.values()) void provider.then((opened) => opened.close());
      accounts.clear();
    },
  };
}

function relabelGaps(gaps: readonly SourceGap[], region: string, location: string): SourceGap[] {
  return gaps.map((gap) => (gap.location === region ? { ...gap, location } : gap));
}

function relabelUsage(item: UsageItem, location: string): UsageItem {
  return item.kind === "event"
    ? { kind: "event", event: { ...item.event, location } }
    : { kind: "gap", gap: { ...item.gap, location } };
}
