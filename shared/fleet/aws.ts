/**
 * The fleet driver for installations deployed in AWS. The vendor's own
 * credentials (the SDK's default chain) only ever call STS AssumeRole on the
 * installation's vendor roles (shared/vendor/access.ts), with the registry's
 * external id, in the registry's region:
 *
 * - `upgrade` lists the installation's slice stacks with the monitoring role,
 *   then, with the upgrade role (which IAM refuses outside the customer's
 *   upgrade window), updates each one, collect, organize, harness, to the
 *   release's template for it and waits for CloudFormation to finish. The
 *   release layout: the vendor synthesizes each installation's stacks with
 *   `cdk synth` for the version and uploads them as
 *   `<release>/<version>/<installation>/<stack>.template.json`. The first
 *   stack that fails stops the upgrade. The core stack is never updated (the
 *   upgrade role may not: it holds the roles and the window).
 * - `snapshot`, with the monitoring role, reads the slice stacks' status and
 *   `ReefVersion` output and, from the metadata table the core stack names in
 *   its outputs, each slice's batches: status and times only, never data.
 */
import { CloudFormationClient, ListStacksCommand, StackStatus, type Stack } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { awsCall, mapAwsError } from '../aws/errors.ts';
import { describeStack, updateStack } from '../aws/stacks.ts';
import { isReefError, TerminalError, TransientError } from '../errors.ts';
import { MetadataStore } from '../metadata/store.ts';
import type { VendorRole } from '../metadata/types.ts';
import { coreExportName, coreStackId, parseSliceStackId, REEF_VERSION_OUTPUT, SLICE_KINDS } from '../stack-names.ts';
import { vendorRoleName } from '../vendor/access.ts';
import type { FleetInstallation } from './registry.ts';
import type { FleetDriver, HealthSnapshot } from './rollout.ts';

export interface AwsFleetOptions {
  /** Base URL of the release templates: `<release>/<version>/<installation>/<stack>.template.json` (an S3 HTTPS URL in AWS). */
  release: string;
  /** The clock that decides when assumed credentials are renewed. */
  now?: () => Date;
  /** A line for each stack update and each status CloudFormation reports. */
  onProgress?: (line: string) => void;
}

/** What the SDK clients accept as `credentials`: the assumed role's, renewed before they expire. */
interface RoleCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}
type CredentialsProvider = () => Promise<RoleCredentials>;

/** Every status of a stack that exists: ListStacks also returns deleted stacks for 90 days. */
const EXISTING = Object.values(StackStatus).filter((s) => s !== StackStatus.DELETE_COMPLETE);
const HEALTHY = new Set<string>([StackStatus.CREATE_COMPLETE, StackStatus.UPDATE_COMPLETE]);
/** Assumed credentials last an hour; a stack update that starts just before they run out still gets fresh ones. */
const RENEW_BEFORE_MS = 10 * 60_000;

/** RoleSessionName allows `[\w+=,.@-]`, 2 to 64 characters. */
export function sessionName(purpose: string): string {
  return `reef-fleet-${purpose}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
}

/** Where the release keeps one installation's template of one stack for a version. */
export function releaseTemplateUrl(release: string, version: string, installation: string, stack: string): string {
  return `${release.replace(/\/+$/, '')}/${encodeURIComponent(version)}/${encodeURIComponent(installation)}/${encodeURIComponent(stack)}.template.json`;
}

/** Collect first, then organize, then harness (what reads a slice's output is updated after it), by name within a kind. */
function bySliceKind(installation: string): (a: string, b: string) => number {
  const rank = (stack: string) => SLICE_KINDS.indexOf(parseSliceStackId(installation, stack)!.kind);
  return (a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

/** Runs one metadata read, naming the installation and account in its error (the store's errors name only the table). */
async function metadataCall<T>(call: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (!isReefError(e)) throw mapAwsError(call, e);
    const Err = e.transient ? TransientError : TerminalError;
    throw new Err(e.category, `${call}: ${e.message}`, { code: e.code, cause: e });
  }
}

export class AwsFleet implements FleetDriver {
  readonly release: string;
  readonly #now: () => Date;
  readonly #onProgress: (line: string) => void;

  constructor(options: AwsFleetOptions) {
    this.release = options.release.replace(/\/+$/, '');
    this.#now = options.now ?? (() => new Date());
    this.#onProgress = options.onProgress ?? (() => {});
  }

  async upgrade(installation: FleetInstallation, version: string): Promise<void> {
    const { name, region } = installation;
    const stacks = await this.#withCloudFormation(installation, 'monitoring', sessionName(version), (cfn) => this.#sliceStacks(cfn, installation));
    if (stacks.length === 0) {
      throw new TerminalError('target', `${name} has no slice stacks (${name}-collect-*, ${name}-organize-*, ${name}-harness-*) in account ${installation.account} ${region}; expected the registry's account and region to be where it is deployed`, {
        code: 'fleet.no-slice-stacks',
      });
    }
    const denied = `${name}'s upgrade window may have closed during the upgrade; the customer opens it with \`reef vendor-access grant-upgrade <flow> --hours N --aws\``;
    await this.#withCloudFormation(installation, 'upgrade', sessionName(version), async (cfn) => {
      for (const stack of stacks) {
        const url = releaseTemplateUrl(this.release, version, name, stack);
        this.#onProgress(`${name}: updating ${stack} to ${version}`);
        const result = await updateStack(cfn, { stack, template: { url }, denied, onProgress: (status, seconds) => this.#onProgress(`${name}: ${stack} ${status} (${seconds} s)`) });
        this.#onProgress(`${name}: ${stack} ${result.changed ? `${result.status} after ${result.seconds} s` : 'had nothing to change'}`);
      }
    });
  }

  async snapshot(installation: FleetInstallation): Promise<HealthSnapshot> {
    const { name, account, region } = installation;
    const credentials = await this.#session(installation, 'monitoring', sessionName('health'));
    const cfn = new CloudFormationClient({ region, credentials });
    let tableName: string;
    let stacks: Stack[];
    try {
      const core = await describeStack(cfn, coreStackId(name), monitoringDenied(installation));
      const exportName = coreExportName(name, 'table-name');
      const table = core.Outputs?.find((o) => o.ExportName === exportName)?.OutputValue;
      if (table === undefined) {
        throw new TerminalError('target', `stack ${coreStackId(name)} in ${account} has no output exported as ${exportName}; expected Reef's core stack, which exports its metadata table's name`, {
          code: 'fleet.no-metadata-table',
        });
      }
      tableName = table;
      stacks = [];
      for (const stack of await this.#sliceStacks(cfn, installation)) stacks.push(await describeStack(cfn, stack, monitoringDenied(installation)));
    } finally {
      cfn.destroy();
    }

    const slices = stacks.map((s) => {
      const status = s.StackStatus ?? 'UNKNOWN';
      const { slice } = parseSliceStackId(name, s.StackName!)!;
      return HEALTHY.has(status) ? { slice, healthy: true } : { slice, healthy: false, why: `stack ${s.StackName} is ${status}${s.StackStatusReason ? `: ${s.StackStatusReason}` : ''}` };
    });

    const dynamo = new DynamoDBClient({ region, credentials });
    const batches: HealthSnapshot['batches'] = [];
    try {
      const store = new MetadataStore({ client: dynamo, tableName });
      const where = `${tableName} of ${name} (${account} ${region})`;
      for (const config of await metadataCall(`DynamoDB Scan slice configs in ${where}`, () => store.listSliceConfigs())) {
        for (const b of await metadataCall(`DynamoDB Query batches of slice ${config.slice} in ${where}`, () => store.listBatches(config.slice))) {
          // A batch not finished yet has nothing a gate could hold against a version; a failed one always counts.
          const finishedAt = b.finishedAt ?? (b.status === 'failed' ? b.createdAt : undefined);
          if (finishedAt === undefined) continue;
          batches.push({ slice: b.slice, dataset: b.dataset, timelabel: b.timelabel, status: b.status, finishedAt });
        }
      }
    } finally {
      dynamo.destroy();
    }
    return { version: versionOf(stacks), slices, batches };
  }

  /** The installation's slice stacks, in update order. */
  async #sliceStacks(cfn: CloudFormationClient, installation: FleetInstallation): Promise<string[]> {
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await awsCall(
        `CloudFormation ListStacks in ${installation.account} ${installation.region}`,
        () => cfn.send(new ListStacksCommand({ StackStatusFilter: EXISTING, NextToken: token })),
        monitoringDenied(installation),
      );
      for (const s of page.StackSummaries ?? []) if (s.StackName && parseSliceStackId(installation.name, s.StackName)) names.push(s.StackName);
      token = page.NextToken;
    } while (token);
    return [...new Set(names)].sort(bySliceKind(installation.name));
  }

  async #withCloudFormation<T>(installation: FleetInstallation, role: VendorRole, session: string, run: (cfn: CloudFormationClient) => Promise<T>): Promise<T> {
    const cfn = new CloudFormationClient({ region: installation.region, credentials: await this.#session(installation, role, session) });
    try {
      return await run(cfn);
    } finally {
      cfn.destroy();
    }
  }

  /** Assumes the role now (so a refusal surfaces here, clearly), and again whenever the credentials near their end. */
  async #session(installation: FleetInstallation, role: VendorRole, session: string): Promise<CredentialsProvider> {
    let current = await assumeRole(installation, role, session);
    return async () => {
      if (current.expiration.getTime() - RENEW_BEFORE_MS <= this.#now().getTime()) current = await assumeRole(installation, role, session);
      return current;
    };
  }
}

function monitoringDenied(installation: FleetInstallation): string {
  return `expected ${vendorRoleName(installation.name, 'monitoring')} to allow it; is ${installation.name}'s core stack deployed with its vendor section?`;
}

async function assumeRole(installation: FleetInstallation, role: VendorRole, session: string): Promise<RoleCredentials> {
  const roleName = vendorRoleName(installation.name, role);
  const call = `STS AssumeRole ${roleName} in ${installation.account}`;
  const sts = new STSClient({ region: installation.region });
  try {
    const out = await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${installation.account}:role/${roleName}`, RoleSessionName: session, ExternalId: installation.externalId }));
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) throw new TerminalError('target', `${call} returned no credentials; expected STS to return a key, a secret and a session token`, { code: 'fleet.no-credentials' });
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration ?? new Date(Date.now() + 15 * 60_000) };
  } catch (e) {
    const mapped = mapAwsError(call, e);
    if (mapped.code !== 'aws.access-denied') throw mapped;
    if (role === 'upgrade') {
      throw new TerminalError(
        'target',
        `${call} was denied: ${installation.name}'s upgrade window is closed, or the registry's external id (${installation.externalId}) is not its reef.yaml vendor.externalId; the customer opens the window with \`reef vendor-access grant-upgrade <flow> --hours N --aws\` (${(e as Error).message})`,
        { code: 'fleet.upgrade-window-closed', cause: e },
      );
    }
    throw new TerminalError(
      'target',
      `${call} was denied: expected the registry's external id (${installation.externalId}) to be ${installation.name}'s reef.yaml vendor.externalId, its account to be ${installation.account}, and its core stack deployed with a vendor section trusting your account (${(e as Error).message})`,
      { code: 'fleet.access-denied', cause: e },
    );
  } finally {
    sts.destroy();
  }
}

/** The common ReefVersion of the slice stacks; when they differ, each one's, so the gate says which is behind. */
function versionOf(stacks: Stack[]): string {
  const each = stacks.map((s) => ({ stack: s.StackName!, version: s.Outputs?.find((o) => o.OutputKey === REEF_VERSION_OUTPUT)?.OutputValue }));
  if (each.length === 0) return 'unknown (no slice stacks)';
  const distinct = new Set(each.map((e) => e.version));
  const [only] = distinct;
  if (distinct.size === 1 && only !== undefined) return only;
  return `${distinct.size === 1 ? 'unknown' : 'mixed'} (${each.map((e) => `${e.stack} ${e.version ?? `without a ${REEF_VERSION_OUTPUT} output`}`).join(', ')})`;
}
