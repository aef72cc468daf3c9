/**
 * What the vendor's roles may do in an installation, as data, and the local
 * runtime acting as one of them. Every attempt, allowed or denied, is recorded
 * in the installation's metadata (`VENDOR#AUDIT`), which `reef audit` lists:
 * locally that record is the audit trail; in AWS, CloudTrail is (see
 * docs/security.md, "Customer controls").
 *
 * The upgrade window lives in the metadata too (`reef vendor-access
 * grant-upgrade`). In AWS it also has to reach IAM: the core stack's
 * parameter UPGRADE_WINDOW_PARAMETER holds its end, and the upgrade role's
 * trust policy allows AssumeRole only while `aws:CurrentTime` is before it,
 * so IAM closes the window by itself when it runs out, with no job to forget.
 */
import { TerminalError } from '../errors.ts';
import type { Flow } from '../flow/types.ts';
import { lakeBucket } from '../local/runtime.ts';
import { installationStatus } from '../local/status.ts';
import type { MetadataStore } from '../metadata/store.ts';
import type { UpgradeWindowRecord, VendorActionRecord, VendorRole } from '../metadata/types.ts';
import { VENDOR_ROLES } from '../metadata/types.ts';
import { MAX_UPGRADE_HOURS } from '../metadata/vendor-access.ts';
import { ORGANIZE_SLICE } from '../slice.ts';
import { coreStackId } from '../stack-names.ts';

// The contract with infra/ (the core stack's window parameter and its closed value) is defined in access.ts.
import { CLOSED_UPGRADE_WINDOW, UPGRADE_WINDOW_PARAMETER } from './access.ts';

export { CLOSED_UPGRADE_WINDOW, MAX_UPGRADE_HOURS, UPGRADE_WINDOW_PARAMETER };

interface VendorActionPolicy {
  /** Roles that may take the action; empty: no vendor role may, whatever the window (the promise in DESIGN.md). */
  roles: readonly VendorRole[];
  /** Only while the customer's upgrade window is open. */
  window: boolean;
  /** What it does, completing "may …". */
  what: string;
}

/**
 * The local runtime's model of the vendor roles the core stack creates
 * (infra/vendor/vendor-roles.ts; docs/security.md has their policies): a
 * few of their actions, not all. The actions that touch data or secrets are
 * listed so that trying them is denied and audited, not merely absent.
 */
export const VENDOR_ACTIONS = {
  // Only monitoring reads the metadata table in AWS (docs/security.md); administration starts executions and updates config items.
  status: { roles: ['monitoring'], window: false, what: 'read per-dataset status (periods, lag, row counts, failures; never rows)' },
  events: { roles: ['monitoring'], window: false, what: 'read the newest data and metadata events (types, datasets, timelabels)' },
  deploy: { roles: ['upgrade'], window: true, what: "update the installation's stacks to a new version" },
  'read-lake': { roles: [], window: false, what: 'read objects in the lake' },
  'read-secret': { roles: [], window: false, what: 'read a secret value' },
} as const satisfies Record<string, VendorActionPolicy>;

export type VendorAction = keyof typeof VENDOR_ACTIONS;
export const VENDOR_ACTION_NAMES = Object.keys(VENDOR_ACTIONS) as VendorAction[];

function oneOf<T extends string>(what: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new TerminalError('config', `${what} is ${JSON.stringify(value)}; expected one of ${allowed.join(', ')}`, { code: 'vendor.invalid-input' });
}

export function parseVendorRole(value: string): VendorRole {
  return oneOf('vendor role', value, VENDOR_ROLES);
}

export function parseVendorAction(value: string): VendorAction {
  return oneOf('vendor action', value, VENDOR_ACTION_NAMES);
}

/** `--hours` as typed: a whole number from 1 to MAX_UPGRADE_HOURS, nothing else (no `1.5`, no `12h`). */
export function parseHours(text: string): number {
  const hours = /^\d{1,4}$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!(hours >= 1 && hours <= MAX_UPGRADE_HOURS)) {
    throw new TerminalError('config', `--hours is ${JSON.stringify(text)}; expected a whole number of hours from 1 to ${MAX_UPGRADE_HOURS} (a week)`, {
      code: 'vendor.invalid-hours',
    });
  }
  return hours;
}

export interface UpgradeWindowStatus {
  /** `closed`: the deployed parameter holds CLOSED_UPGRADE_WINDOW (never opened, or revoked). */
  state: 'never' | 'open' | 'expired' | 'revoked' | 'closed';
  open: boolean;
  until: string | null;
  /** Whole minutes left while open; 0 otherwise. */
  minutesLeft: number;
}

export function upgradeWindowStatus(window: UpgradeWindowRecord | undefined, now: Date): UpgradeWindowStatus {
  if (window === undefined) return { state: 'never', open: false, until: null, minutesLeft: 0 };
  if (window.state === 'revoked') return { state: 'revoked', open: false, until: window.revokedAt ?? window.until, minutesLeft: 0 };
  const left = Date.parse(window.until) - now.getTime();
  return left > 0 ? { state: 'open', open: true, until: window.until, minutesLeft: Math.floor(left / 60_000) } : { state: 'expired', open: false, until: window.until, minutesLeft: 0 };
}

/** The window as the core stack's parameter holds it: what IAM enforces in AWS. */
export function windowFromParameter(value: string, now: Date): UpgradeWindowStatus {
  if (value === CLOSED_UPGRADE_WINDOW) return { state: 'closed', open: false, until: null, minutesLeft: 0 };
  const left = Date.parse(value) - now.getTime();
  return left > 0 ? { state: 'open', open: true, until: value, minutesLeft: Math.floor(left / 60_000) } : { state: 'expired', open: false, until: value, minutesLeft: 0 };
}

/** One sentence a customer reads: what the window means right now. */
export function describeUpgradeWindow(status: UpgradeWindowStatus): string {
  switch (status.state) {
    case 'never':
      return "The vendor's upgrade role has never been allowed in; its monitoring and administration roles are unaffected.";
    case 'closed':
      return "The upgrade window is closed; the vendor's upgrade role cannot act until a new grant.";
    case 'revoked':
      return `The upgrade window was closed at ${status.until}; the vendor's upgrade role cannot act until a new grant.`;
    case 'expired':
      return `The upgrade window ran out at ${status.until}; the vendor's upgrade role cannot act until a new grant.`;
    case 'open':
      return (
        `The vendor's upgrade role may update this installation's stacks until ${status.until} (${Math.floor(status.minutesLeft / 60)} h ${status.minutesLeft % 60} min from now). ` +
        'It still cannot read the lake, decrypt with your key or read secrets; `reef vendor-access revoke` closes the window early.'
      );
  }
}

/**
 * The AWS half of a grant or revoke: set the core stack's window parameter,
 * keeping its template and every other parameter. `--aws` makes this call
 * with the customer's credentials (shared/vendor/window-aws.ts); this is the
 * same step as an AWS CLI command, for a customer who deploys another way.
 */
export interface AwsUpgradeWindowStep {
  stack: string;
  parameter: string;
  value: string;
  command: string;
}

export function awsUpgradeWindowStep(installation: string, status: UpgradeWindowStatus): AwsUpgradeWindowStep {
  const stack = coreStackId(installation);
  const value = status.open && status.until !== null ? status.until : CLOSED_UPGRADE_WINDOW;
  return {
    stack,
    parameter: UPGRADE_WINDOW_PARAMETER,
    value,
    command:
      `aws cloudformation update-stack --stack-name ${stack} --use-previous-template --capabilities CAPABILITY_IAM CAPABILITY_NAMED_IAM ` +
      `--parameters ParameterKey=${UPGRADE_WINDOW_PARAMETER},ParameterValue=${value} ParameterKey=BootstrapVersion,UsePreviousValue=true`,
  };
}

export interface VendorDecision {
  allowed: boolean;
  reason: string;
}

export function decideVendorAction(role: VendorRole, action: VendorAction, window: UpgradeWindowRecord | undefined, now: Date): VendorDecision {
  const policy: VendorActionPolicy = VENDOR_ACTIONS[action];
  if (policy.roles.length === 0) return { allowed: false, reason: `no vendor role may ${policy.what}: the vendor's roles never read data or secrets` };
  if (!policy.roles.includes(role)) return { allowed: false, reason: `the ${role} role may not ${policy.what}; only ${policy.roles.join(' and ')} may` };
  if (policy.window) {
    const status = upgradeWindowStatus(window, now);
    if (!status.open) return { allowed: false, reason: `the upgrade window is ${status.state === 'never' ? 'not granted' : status.state}; the customer opens it with \`reef vendor-access grant-upgrade\`` };
    return { allowed: true, reason: `the ${role} role may ${policy.what} within the upgrade window, until ${status.until}` };
  }
  return { allowed: true, reason: `the ${role} role may ${policy.what}` };
}

function resourceOf(action: VendorAction, flow: Flow, metadata: MetadataStore): string {
  const installation = flow.installation.name;
  switch (action) {
    case 'status':
    case 'events':
      return `metadata table ${metadata.tableName}`;
    case 'deploy':
      return `stacks ${installation}-*`;
    case 'read-lake':
      return `s3://${lakeBucket(installation)}/*`;
    case 'read-secret':
      return `secrets of ${installation}`;
  }
}

export interface VendorActionResult {
  record: VendorActionRecord;
  /** What the action returned when allowed: what the vendor saw. */
  output?: unknown;
}

/** How many events `events` returns per slice: enough to see what happened lately, no history dump. */
const EVENTS_PER_SLICE = 20;

/**
 * The local runtime acting as a vendor role: decides from VENDOR_ACTIONS and
 * the upgrade window, records the attempt first (so a crash mid-action still
 * leaves it in the audit, as CloudTrail records a call whatever its outcome),
 * then does it when allowed.
 */
export async function actAsVendor(context: { flow: Flow; metadata: MetadataStore; now: Date }, role: VendorRole, action: VendorAction): Promise<VendorActionResult> {
  const { flow, metadata, now } = context;
  const decision = decideVendorAction(role, action, await metadata.getUpgradeWindow(), now);
  const record = await metadata.recordVendorAction({ role, action, resource: resourceOf(action, flow, metadata), ...decision, time: now.toISOString() });
  if (!decision.allowed) return { record };
  switch (action) {
    case 'status': {
      const status = await installationStatus(flow, metadata, now);
      return { record, output: status.datasets.map((d) => ({ dataset: d.dataset, kind: d.kind, lastTimelabel: d.lastTimelabel, lagSeconds: d.lagSeconds, rows: d.rows, failed: d.failed, why: d.why })) };
    }
    case 'events': {
      const slices = [...flow.sources.map((s) => s.slice), ...(flow.installation.warehouse ? [ORGANIZE_SLICE] : []), ...flow.publications.map((p) => p.slice)];
      const events = (await Promise.all(slices.map(async (slice) => (await metadata.listEvents(slice)).slice(-EVENTS_PER_SLICE)))).flat();
      // The detail may hold S3 pointers and figures; the vendor sees what happened, not where the data is.
      return { record, output: events.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0)).map((e) => ({ time: e.time, kind: e.kind, type: e.type, slice: e.slice, dataset: e.dataset, timelabel: e.timelabel })) };
    }
    default:
      // deploy: the embedded default has no stacks; the decision is what the customer audits (the fleet tool simulates upgrades).
      return { record, output: { note: `allowed; on the embedded default there are no stacks to update, in AWS the ${role} role could now update ${flow.installation.name}'s stacks` } };
  }
}
