import {
  DescribeOrganizationCommand,
  OrganizationsClient,
  paginateListAccounts,
  paginateListAccountsForParent,
  paginateListOrganizationalUnitsForParent,
} from "@aws-sdk/client-organizations";
import type { Account } from "@aws-sdk/client-organizations";
import { GetRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import type { STSClient } from "@aws-sdk/client-sts";
import { AssumeRoleCommand } from "@aws-sdk/client-sts";
import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import type { AwsKmsSourceConfig } from "../../config/config.schema.ts";
import type { DiscoveredMember, DiscoveryCall, SourceDiscovery } from "../../model/discovery.ts";
import type { CollectionError } from "../../model/key.ts";
import type { SourceGap } from "../../model/snapshot.ts";
import type { Clock } from "../key-provider.ts";
import type { AwsCredentials } from "./aws-clients.ts";
import { endpointFor, GLOBAL_REGION } from "./aws-clients.ts";
import { awsErrorCode, toCollectionError } from "./aws-error.ts";

/**
 * AWS Organizations discovery (issue 15): the accounts of the organization, each assumed through the
 * reader role, become locations `<account>/<region>`. The caller is the management or a
 * delegated-administrator account; its own account is collected with its own credentials (no role).
 */

export type OrganizationConfig = NonNullable<AwsKmsSourceConfig["organization"]>;

const MEMBER_LOCATION = /^(\d{12})\/([a-z]{2}(?:-[a-z]+)+-\d+)$/;

/** `<account>/<region>` → its parts; a plain region (no organization) → undefined. */
export function parseMemberLocation(location: string): { account: string; region: string } | undefined {
  const match = MEMBER_LOCATION.exec(location);
  return match?.[1] === undefined || match[2] === undefined
    ? undefined
    : { account: match[1], region: match[2] };
}

export function memberLocation(account: string, region: string): string {
  return `${account}/${region}`;
}

/** The partition a region belongs to, for the role ARN (`aws`, `aws-cn`, `aws-us-gov`). */
export function partitionOf(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  return "aws";
}

export function memberRoleArn(config: AwsKmsSourceConfig, organization: OrganizationConfig, account: string) {
  return `arn:${partitionOf(config.regions[0] ?? GLOBAL_REGION)}:iam::${account}:role/${organization.roleName}`;
}

function sessionName(config: AwsKmsSourceConfig): string {
  return `keyproof-${config.id}`.replace(/[^\w+=,.@-]/g, "-").slice(0, 64);
}

/**
 * The member account's credentials: the base identity assumes the reader role. The SDK provider caches
 * them and assumes again shortly before they expire, so a long collection never runs on expired keys.
 */
export function memberCredentials(
  config: AwsKmsSourceConfig,
  organization: OrganizationConfig,
  base: AwsCredentials,
  account: string,
): AwsCredentials {
  const stsEndpoint = endpointFor(config, "sts");
  return fromTemporaryCredentials({
    masterCredentials: base,
    params: {
      RoleArn: memberRoleArn(config, organization, account),
      RoleSessionName: sessionName(config),
      ...(organization.externalId === undefined ? {} : { ExternalId: organization.externalId }),
    },
    clientConfig: {
      region: config.regions[0] ?? GLOBAL_REGION,
      ...(stsEndpoint === undefined ? {} : { endpoint: stsEndpoint }),
    },
  });
}

export function createOrganizationsClient(config: AwsKmsSourceConfig, credentials: AwsCredentials) {
  const endpoint = endpointFor(config, "organizations");
  // Organizations is a global service served from us-east-1 (commercial partition).
  return new OrganizationsClient({
    region: GLOBAL_REGION,
    credentials,
    ...(endpoint === undefined ? {} : { endpoint }),
  });
}

export interface OrganizationDiscoveryContext {
  config: AwsKmsSourceConfig;
  organization: OrganizationConfig;
  organizations: OrganizationsClient;
  /** STS with the base identity (AssumeRole of each member's role). */
  sts: STSClient;
  base: AwsCredentials;
  /** The caller's own account: collected with the base identity, no role assumed. */
  callerAccount: () => Promise<string | undefined>;
  clock: Clock;
  /** Members probed at once; default 8. */
  concurrency?: number;
}

const isOu = (id: string) => id.startsWith("ou-") || id.startsWith("r-");

/**
 * Walks the organization once and probes each included account's role. Never rejects: a failed listing is
 * a source gap (and nothing is collected from an organization whose account list is unknown: a partial
 * list would read as a complete population); an account whose role cannot be assumed is a member gap.
 */
export async function discoverOrganization(context: OrganizationDiscoveryContext): Promise<SourceDiscovery> {
  const { config, organization, clock } = context;
  const calls: DiscoveryCall[] = [];
  const gaps: SourceGap[] = [];
  const now = () => clock().toISOString();

  async function paged<T>(
    call: string,
    scope: string | undefined,
    pages: AsyncIterable<T>,
    items: (page: T) => number,
  ): Promise<T[] | undefined> {
    const read: T[] = [];
    try {
      for await (const page of pages) read.push(page);
      calls.push({
        call,
        ...(scope === undefined ? {} : { scope }),
        at: now(),
        pages: read.length,
        count: read.reduce((total, page) => total + items(page), 0),
      });
      return read;
    } catch (error) {
      const failure = toCollectionError(call, error);
      calls.push({
        call,
        ...(scope === undefined ? {} : { scope }),
        at: now(),
        pages: read.length,
        error: failure,
      });
      gaps.push({ source: config.id, error: withScope(failure, scope) });
      return undefined;
    }
  }

  const listed = await paged(
    "organizations:ListAccounts",
    undefined,
    paginateListAccounts({ client: context.organizations }, {}),
    (page) => page.Accounts?.length ?? 0,
  );
  const accounts = new Map<string, Account>();
  for (const page of listed ?? []) {
    for (const account of page.Accounts ?? [])
      if (account.Id !== undefined) accounts.set(account.Id, account);
  }

  /** Every account under the OU or root, child OUs walked; undefined when a call failed. */
  async function accountsUnder(parent: string): Promise<Set<string> | undefined> {
    const found = new Set<string>();
    const pending = [parent];
    let complete = true;
    while (pending.length > 0) {
      const next = pending.shift() as string;
      const [direct, children] = await Promise.all([
        paged(
          "organizations:ListAccountsForParent",
          next,
          paginateListAccountsForParent({ client: context.organizations }, { ParentId: next }),
          (page) => page.Accounts?.length ?? 0,
        ),
        paged(
          "organizations:ListOrganizationalUnitsForParent",
          next,
          paginateListOrganizationalUnitsForParent({ client: context.organizations }, { ParentId: next }),
          (page) => page.OrganizationalUnits?.length ?? 0,
        ),
      ]);
      if (direct === undefined || children === undefined) complete = false;
      for (const page of direct ?? [])
        for (const account of page.Accounts ?? []) if (account.Id) found.add(account.Id);
      for (const page of children ?? [])
        for (const unit of page.OrganizationalUnits ?? []) if (unit.Id) pending.push(unit.Id);
    }
    return complete ? found : undefined;
  }

  const unitMembers = new Map<string, Set<string> | undefined>();
  for (const unit of [...(organization.include ?? []), ...(organization.exclude ?? [])].filter(isOu)) {
    if (!unitMembers.has(unit)) unitMembers.set(unit, await accountsUnder(unit));
  }
  const within = (ids: readonly string[] | undefined, account: string): string | undefined =>
    ids?.find((id) => (isOu(id) ? unitMembers.get(id)?.has(account) === true : id === account));

  const caller = await context.callerAccount();
  const members: DiscoveredMember[] = [];
  const toProbe: DiscoveredMember[] = [];
  if (listed !== undefined) {
    for (const account of [...accounts.values()].sort((a, b) => (a.Id ?? "").localeCompare(b.Id ?? ""))) {
      const id = account.Id as string;
      const member: DiscoveredMember = {
        id,
        ...(account.Name === undefined ? {} : { name: account.Name }),
        status: "included",
        locations: [],
        details: {
          ...(account.State === undefined ? {} : { state: account.State }),
          ...(account.Status === undefined ? {} : { status: account.Status }),
          ...(account.Arn === undefined ? {} : { arn: account.Arn }),
        },
      };
      members.push(member);
      const state = account.State ?? account.Status;
      const included =
        organization.include === undefined ? "no include filter" : within(organization.include, id);
      const excluded = within(organization.exclude, id);
      if (state !== undefined && state !== "ACTIVE") {
        member.status = "excluded";
        member.reason = `account is ${state}, not ACTIVE`;
      } else if (included === undefined) {
        member.status = "excluded";
        const unwalked = (organization.include ?? []).filter(
          (id) => isOu(id) && unitMembers.get(id) === undefined,
        );
        // An include OU that could not be walked is already a source gap; say the account may be under it.
        member.reason =
          unwalked.length === 0
            ? "not under any organization.include entry"
            : `not found under organization.include; ${unwalked.join(", ")} could not be walked (a gap)`;
      } else if (excluded !== undefined) {
        member.status = "excluded";
        member.reason = `organization.exclude: ${excluded}`;
      } else if (id === caller) {
        member.reason = "the caller's own account: read with its own credentials, no role assumed";
        member.locations = config.regions.map((region) => memberLocation(id, region));
      } else {
        toProbe.push(member);
      }
    }
  }

  const concurrency = Math.max(1, context.concurrency ?? 8);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, toProbe.length) }, async () => {
      while (next < toProbe.length) {
        const member = toProbe[next++] as DiscoveredMember;
        const failure = await probeMember(context, member.id, calls);
        if (failure === undefined) {
          member.locations = config.regions.map((region) => memberLocation(member.id, region));
        } else {
          member.status = "unreachable";
          member.reason = `${failure.call} failed (${failure.code}): ${failure.message}`;
          gaps.push({
            source: config.id,
            location: member.id,
            error: {
              ...failure,
              message: `account ${member.id}${member.name === undefined ? "" : ` (${member.name})`} cannot be read: ${failure.call} of ${memberRoleArn(config, organization, member.id)} failed (${failure.code}): ${failure.message}`,
            },
          });
        }
      }
    }),
  );

  calls.sort((left, right) =>
    `${left.call} ${left.scope ?? ""}`.localeCompare(`${right.call} ${right.scope ?? ""}`),
  );
  return {
    source: config.id,
    type: "aws-kms",
    method: "aws-organizations",
    discoveredAt: now(),
    calls,
    members,
    locations: members.flatMap((member) => member.locations).sort(),
    gaps,
  };
}

function withScope(error: CollectionError, scope: string | undefined): CollectionError {
  return scope === undefined ? error : { ...error, message: `${error.message} (scope ${scope})` };
}

/**
 * Assumes the member's role once; undefined when the account can be read. AssumeRole alone is the proof
 * on AWS (STS refuses a role that does not exist or does not trust the caller), but emulators such as moto
 * hand out credentials for any role ARN. So the probe also asks IAM, with the assumed credentials, for
 * the role itself: `NoSuchEntity` means the role is missing and the account is a gap. Any other GetRole
 * answer (the reader role may lack iam:GetRole: AccessDenied) does not undo the assumption, which AWS
 * would not have granted for a missing role; it is recorded among the calls.
 */
async function probeMember(
  context: OrganizationDiscoveryContext,
  account: string,
  calls: DiscoveryCall[],
): Promise<CollectionError | undefined> {
  const { config, organization, clock } = context;
  const roleArn = memberRoleArn(config, organization, account);
  let assumed;
  try {
    assumed = await context.sts.send(
      new AssumeRoleCommand({
        RoleArn: roleArn,
        RoleSessionName: sessionName(config),
        DurationSeconds: 900,
        ...(organization.externalId === undefined ? {} : { ExternalId: organization.externalId }),
      }),
    );
    calls.push({ call: "sts:AssumeRole", scope: roleArn, at: clock().toISOString(), count: 1 });
  } catch (error) {
    const failure = toCollectionError("sts:AssumeRole", error);
    calls.push({ call: "sts:AssumeRole", scope: roleArn, at: clock().toISOString(), error: failure });
    return failure;
  }
  const credentials = assumed.Credentials;
  if (credentials?.AccessKeyId === undefined || credentials.SecretAccessKey === undefined) {
    const failure: CollectionError = {
      call: "sts:AssumeRole",
      code: "NoCredentials",
      message: "AssumeRole answered without credentials",
      retryable: false,
    };
    calls.push({ call: "sts:AssumeRole", scope: roleArn, at: clock().toISOString(), error: failure });
    return failure;
  }
  const iamEndpoint = endpointFor(config, "iam");
  const iam = new IAMClient({
    region: GLOBAL_REGION,
    credentials: {
      accessKeyId: credentials.AccessKeyId,
      secretAccessKey: credentials.SecretAccessKey,
      ...(credentials.SessionToken === undefined ? {} : { sessionToken: credentials.SessionToken }),
    },
    ...(iamEndpoint === undefined ? {} : { endpoint: iamEndpoint }),
  });
  try {
    await iam.send(new GetRoleCommand({ RoleName: organization.roleName.split("/").pop() }));
    calls.push({ call: "iam:GetRole", scope: roleArn, at: clock().toISOString(), count: 1 });
    return undefined;
  } catch (error) {
    const failure = toCollectionError("iam:GetRole", error);
    calls.push({ call: "iam:GetRole", scope: roleArn, at: clock().toISOString(), error: failure });
    return awsErrorCode(error) === "NoSuchEntity" || awsErrorCode(error) === "NoSuchEntityException"
      ? { ...failure, message: `the role does not exist in the account: ${failure.message}` }
      : undefined;
  } finally {
    iam.destroy();
  }
}

/** The organization id (`o-...`) as Organizations reports it to the caller, for the org-trail layout. */
export async function describeOrganizationId(client: OrganizationsClient): Promise<string | undefined> {
  const answer = await client.send(new DescribeOrganizationCommand({}));
  return answer.Organization?.Id;
}
