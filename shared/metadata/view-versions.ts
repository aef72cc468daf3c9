/**
 * View versions and the update sets that apply them, kept under the organize
 * slice that refreshes the views. A version is written once and never changed;
 * it counts as applied only when the update set it names is recorded (see
 * types.ts), which the readers here honour.
 */
import { TerminalError } from '../errors.ts';
import { decodeUpdateSet, decodeViewVersion, jsonEqual, toJsonValue } from './codec.ts';
import { checkKeyPart, checkTimelabel, keys } from './keys.ts';
import type { MetadataTable } from './table.ts';
import { ITEM_ABSENT, KEY_PREFIX, names } from './table.ts';
import type { UpdateSetRecord, ViewVersion } from './types.ts';

export type ViewVersionInput = Omit<ViewVersion, 'createdAt'> & { organizeSlice: string };
export type UpdateSetInput = Omit<UpdateSetRecord, 'createdAt'> & { organizeSlice: string };

/** What makes two writes of one version the same write: a retried apply, not a rival one. */
function sameVersion(a: ViewVersion, b: ViewVersion): boolean {
  const { createdAt: _a, ...restA } = a;
  const { createdAt: _b, ...restB } = b;
  return jsonEqual(restA, restB);
}

function sameUpdateSet(a: UpdateSetRecord, b: UpdateSetRecord): boolean {
  const { createdAt: _a, ...restA } = a;
  const { createdAt: _b, ...restB } = b;
  return jsonEqual(restA, restB);
}

/**
 * Conditional on the version being free. Writing the same version again (a
 * retried apply) answers the stored one; a different one under the same
 * number means another apply got there first, and this plan is stale.
 */
export async function putViewVersion(table: MetadataTable, input: ViewVersionInput): Promise<ViewVersion> {
  const { organizeSlice, ...fields } = input;
  const key = keys.viewVersion(organizeSlice, fields.view, fields.version);
  checkTimelabel(fields.effectiveFrom);
  checkKeyPart('update set id', fields.updateSet);
  const what = `view ${fields.view} version ${fields.version}`;
  const version: ViewVersion = {
    view: fields.view,
    version: fields.version,
    sqlHash: fields.sqlHash,
    body: fields.body,
    header: toJsonValue(fields.header, `header of ${what}`, 'internal') as ViewVersion['header'],
    signature: toJsonValue(fields.signature, `signature of ${what}`, 'internal') as ViewVersion['signature'],
    reads: toJsonValue(fields.reads, `reads of ${what}`, 'internal') as ViewVersion['reads'],
    effectiveFrom: fields.effectiveFrom,
    updateSet: fields.updateSet,
    removed: fields.removed,
    createdAt: table.nowIso(),
  };
  // The index item first: a version the index does not list would be invisible to latestViewVersions.
  await table.put('PutItem view index', { ...keys.viewIndex(organizeSlice, version.view), view: version.view });
  const item = {
    ...key,
    view: version.view,
    version: version.version,
    sqlHash: version.sqlHash,
    body: version.body,
    headerJson: JSON.stringify(version.header),
    signatureJson: JSON.stringify(version.signature),
    readsJson: JSON.stringify(version.reads),
    effectiveFrom: version.effectiveFrom,
    updateSet: version.updateSet,
    removed: version.removed,
    createdAt: version.createdAt,
  };
  if (await table.putIf('PutItem view version', item, ITEM_ABSENT)) return version;
  const stored = await table.get('GetItem view version', key);
  const existing = stored && decodeViewVersion(stored);
  if (existing && sameVersion(existing, version)) return existing;
  throw new TerminalError(
    'config',
    `${what} in slice ${organizeSlice}: found it already stored by update set ${existing?.updateSet ?? '(unreadable)'} ` +
      `(sql ${existing?.sqlHash.slice(0, 12) ?? '?'}, from ${existing?.effectiveFrom ?? '?'}); expected the number to be free or to hold this same version ` +
      `(update set ${version.updateSet}, sql ${version.sqlHash.slice(0, 12)}): another apply ran since this plan was made, run reef plan again`,
    { code: 'metadata.conflict' },
  );
}

/** Every stored version of a view, oldest first, applied or not: the next number is one past the last. */
export async function listViewVersions(table: MetadataTable, organizeSlice: string, view: string): Promise<ViewVersion[]> {
  const items = await table.queryPrefix('Query view versions', keys.viewPartition(organizeSlice, view), keys.viewVersionPrefix);
  return items.map(decodeViewVersion);
}

/** Conditional like putViewVersion: the same record again is a retry, a different one under the same id a conflict. */
export async function recordUpdateSet(table: MetadataTable, input: UpdateSetInput): Promise<UpdateSetRecord> {
  const { organizeSlice, ...fields } = input;
  const key = keys.updateSet(organizeSlice, fields.id);
  checkTimelabel(fields.effectiveFrom);
  for (const view of fields.views) checkKeyPart('view', view);
  const record: UpdateSetRecord = { ...fields, views: [...fields.views].sort(), createdAt: table.nowIso() };
  if (await table.putIf('PutItem update set', { ...key, ...record }, ITEM_ABSENT)) return record;
  const stored = await table.get('GetItem update set', key);
  const existing = stored && decodeUpdateSet(stored);
  if (existing && sameUpdateSet(existing, record)) return existing;
  throw new TerminalError(
    'config',
    `update set ${record.id} in slice ${organizeSlice}: found it already recorded from ${existing?.effectiveFrom ?? '?'} for ${existing?.views.join(', ') ?? '?'}; ` +
      `expected it to be free or to hold this same update set (from ${record.effectiveFrom} for ${record.views.join(', ')})`,
    { code: 'metadata.conflict' },
  );
}

export async function getUpdateSet(table: MetadataTable, organizeSlice: string, id: string): Promise<UpdateSetRecord | undefined> {
  const item = await table.get('GetItem update set', keys.updateSet(organizeSlice, id));
  return item && decodeUpdateSet(item);
}

/** Oldest effectiveFrom first; ties by id. */
export async function listUpdateSets(table: MetadataTable, organizeSlice: string): Promise<UpdateSetRecord[]> {
  const items = await table.queryPrefix('Query update sets', keys.updateSetPartition(organizeSlice), keys.updateSetPrefix);
  return items
    .map(decodeUpdateSet)
    .sort((a, b) => (a.effectiveFrom !== b.effectiveFrom ? (a.effectiveFrom < b.effectiveFrom ? -1 : 1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * The newest applied version of each view that is not removed, sorted by
 * view: what a plan diffs against. One query for the index, one for the update
 * sets, and one per view.
 */
export async function latestViewVersions(table: MetadataTable, organizeSlice: string): Promise<ViewVersion[]> {
  const index = await table.query('Query view index', {
    KeyConditionExpression: KEY_PREFIX,
    ExpressionAttributeNames: names(KEY_PREFIX),
    ExpressionAttributeValues: { ':pk': keys.viewIndexPartition(organizeSlice), ':prefix': keys.viewIndexPrefix },
  });
  const applied = new Set((await listUpdateSets(table, organizeSlice)).map((u) => u.id));
  const out: ViewVersion[] = [];
  for (const view of index.map((i) => String(i.view)).sort()) {
    const versions = await listViewVersions(table, organizeSlice, view);
    const latest = versions.filter((v) => applied.has(v.updateSet)).pop();
    if (latest !== undefined && !latest.removed) out.push(latest);
  }
  return out;
}

/**
 * The version a refresh of `view` for `timelabel` must use: the newest applied
 * version whose effectiveFrom <= timelabel. Undefined when none is, or when
 * that version removed the view (it does not refresh then).
 *
 * By version number, not by effectiveFrom: a later apply may take effect
 * before an earlier one that had to wait for midnight, and then supersedes it.
 */
export async function versionInEffect(table: MetadataTable, organizeSlice: string, view: string, timelabel: string): Promise<ViewVersion | undefined> {
  checkTimelabel(timelabel);
  const versions = await listViewVersions(table, organizeSlice, view);
  for (const v of versions.reverse()) {
    if (v.effectiveFrom > timelabel) continue;
    if ((await getUpdateSet(table, organizeSlice, v.updateSet)) === undefined) continue;
    return v.removed ? undefined : v;
  }
  return undefined;
}
