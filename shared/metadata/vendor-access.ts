/**
 * The customer's controls over the vendor, kept in the installation's own
 * metadata: the window in which the vendor's upgrade role may act, and the
 * audit of every action a vendor role took or was refused. Both live under
 * `VENDOR` partitions, outside every slice role's `LeadingKeys` grant.
 */
import { randomUUID } from 'node:crypto';
import { TerminalError } from '../errors.ts';
import { decodeUpgradeWindow, decodeVendorAction } from './codec.ts';
import { EVENT_SK_UPPER_BOUND, PARTITION_KEY, SORT_KEY, checkKeyPart, keys, normalizeIsoTime } from './keys.ts';
import type { MetadataTable } from './table.ts';
import { ITEM_ABSENT, names } from './table.ts';
import type { UpgradeWindowRecord, VendorActionRecord } from './types.ts';
import { VENDOR_ROLES } from './types.ts';

/** A week: long enough for a maintenance over a weekend, short enough that a forgotten grant closes itself. */
export const MAX_UPGRADE_HOURS = 168;
/**
 * Grant and revoke read the window and write it back conditional on the
 * version read; a lost race means another grant or revoke landed in between,
 * and since both set the window from the clock alone, trying again is right.
 */
const WRITE_ATTEMPTS = 3;

export type VendorActionInput = Omit<VendorActionRecord, 'id' | 'time'> & { id?: string; time?: string };

function invalid(what: string, found: unknown, expected: string): TerminalError {
  return new TerminalError('config', `${what} is ${JSON.stringify(found)}; expected ${expected}`, { code: 'metadata.invalid-input' });
}

export async function getUpgradeWindow(table: MetadataTable): Promise<UpgradeWindowRecord | undefined> {
  const item = await table.get('GetItem upgrade window', keys.upgradeWindow());
  return item && decodeUpgradeWindow(item);
}

/** One conditional write: the first window only where none is, a later one only over the version read. */
async function writeWindow(table: MetadataTable, next: Omit<UpgradeWindowRecord, 'version' | 'updatedAt'>, previous: UpgradeWindowRecord | undefined): Promise<UpgradeWindowRecord | undefined> {
  const record: UpgradeWindowRecord = { ...next, version: (previous?.version ?? 0) + 1, updatedAt: table.nowIso() };
  const item = { ...keys.upgradeWindow(), ...record };
  const written =
    previous === undefined
      ? await table.putIf('PutItem upgrade window', item, ITEM_ABSENT)
      : await table.putIf('PutItem upgrade window', item, '#version = :expected', { ':expected': previous.version });
  return written ? record : undefined;
}

async function change(table: MetadataTable, what: string, next: (previous: UpgradeWindowRecord | undefined) => Omit<UpgradeWindowRecord, 'version' | 'updatedAt'> | undefined): Promise<{ changed: boolean; window: UpgradeWindowRecord | undefined }> {
  for (let attempt = 1; attempt <= WRITE_ATTEMPTS; attempt++) {
    const previous = await getUpgradeWindow(table);
    const wanted = next(previous);
    if (wanted === undefined) return { changed: false, window: previous };
    const written = await writeWindow(table, wanted, previous);
    if (written) return { changed: true, window: written };
  }
  throw new TerminalError('internal', `${what}: the upgrade window changed under each of ${WRITE_ATTEMPTS} attempts; expected the writes to settle, run it again`, {
    code: 'metadata.conflict',
  });
}

/** Opens (or replaces) the window: the upgrade role may act from now for `hours`. */
export async function grantUpgradeWindow(table: MetadataTable, hours: number): Promise<UpgradeWindowRecord> {
  if (!Number.isInteger(hours) || hours < 1 || hours > MAX_UPGRADE_HOURS) throw invalid('the upgrade window', hours, `a whole number of hours from 1 to ${MAX_UPGRADE_HOURS}`);
  const { window } = await change(table, 'grant-upgrade', () => {
    const now = table.now();
    return { state: 'granted', grantedAt: now.toISOString(), until: new Date(now.getTime() + hours * 3_600_000).toISOString(), hours };
  });
  return window!;
}

/** Closes an open window now; `changed` is false when none was open (never granted, revoked, or run out). */
export async function revokeUpgradeWindow(table: MetadataTable): Promise<{ changed: boolean; window: UpgradeWindowRecord | undefined }> {
  return change(table, 'revoke', (previous) => {
    const now = table.nowIso();
    if (previous === undefined || previous.state === 'revoked' || previous.until <= now) return undefined;
    return { state: 'revoked', grantedAt: previous.grantedAt, until: previous.until, hours: previous.hours, revokedAt: now };
  });
}

/** Idempotent on (time, id): a retried write lands on the same item and answers the stored one. */
export async function recordVendorAction(table: MetadataTable, input: VendorActionInput): Promise<VendorActionRecord> {
  if (!(VENDOR_ROLES as readonly string[]).includes(input.role)) throw invalid('vendor role', input.role, VENDOR_ROLES.join(', '));
  for (const k of ['action', 'resource', 'reason'] as const) {
    if (typeof input[k] !== 'string' || input[k].length === 0) throw invalid(`vendor action ${k}`, input[k], 'a non-empty string');
  }
  if (typeof input.allowed !== 'boolean') throw invalid('vendor action allowed', input.allowed, 'true or false');
  const record: VendorActionRecord = {
    id: checkKeyPart('vendor action id', input.id ?? randomUUID()),
    role: input.role,
    action: input.action,
    resource: input.resource,
    allowed: input.allowed,
    reason: input.reason,
    time: input.time === undefined ? table.nowIso() : normalizeIsoTime('vendor action time', input.time),
  };
  const key = keys.vendorAction(record.time, record.id);
  if (await table.putIf('PutItem vendor action', { ...key, ...record }, ITEM_ABSENT)) return record;
  const stored = await table.get('GetItem vendor action', key);
  return stored ? decodeVendorAction(stored) : record;
}

/** Oldest first; `since` is inclusive, `limit` caps how many come back. */
export async function listVendorActions(table: MetadataTable, options: { since?: string; limit?: number } = {}): Promise<VendorActionRecord[]> {
  if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit < 1)) throw invalid('audit limit', options.limit, 'a positive integer');
  const from = options.since === undefined ? '0' : normalizeIsoTime('since', options.since);
  const condition = `#${PARTITION_KEY} = :pk AND #${SORT_KEY} BETWEEN :from AND :to`;
  const items = await table.query(
    'Query vendor actions',
    {
      KeyConditionExpression: condition,
      ExpressionAttributeNames: names(condition),
      // Sort keys start with a fixed-width ISO time, so the same upper bound as events selects them all.
      ExpressionAttributeValues: { ':pk': keys.vendorAuditPartition, ':from': from, ':to': EVENT_SK_UPPER_BOUND },
    },
    { max: options.limit },
  );
  return items.map(decodeVendorAction);
}
