/**
 * Items ↔ records. Typed fields are stored as plain attributes; free-form JSON
 * (configs, schemas, diffs, event details) is stored as a JSON string in a
 * `…Json` attribute, because DynamoDB numbers cannot hold every JS number
 * (1e300, -0, integers past 2^53 through the document client) and a config must
 * read back exactly as it was validated.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ErrorCategory } from '../errors.ts';
import { TerminalError } from '../errors.ts';
import type { DatasetSchema, SchemaDiff } from '../schema.ts';
import type { ViewHeader } from '../views/types.ts';
import type {
  BatchError,
  BatchFigures,
  BatchRecord,
  BatchStatus,
  CursorRange,
  DeadLetterRecord,
  DeliveredBatchRecord,
  SentBatch,
  EventKind,
  InstallationConfig,
  LoadunitState,
  ReefEvent,
  SchemaVersion,
  SliceConfigRecord,
  UpdateSetRecord,
  UpgradeWindowRecord,
  VendorActionRecord,
  VendorRole,
  ViewColumn,
  ViewRead,
  ViewVersion,
} from './types.ts';
import { VENDOR_ROLES } from './types.ts';

export type Item = Record<string, unknown>;

/**
 * The JSON value `value` stands for, or a TerminalError naming the path of the
 * first part JSON cannot carry exactly. Object properties that are `undefined`
 * are dropped, as JSON.stringify does.
 */
export function toJsonValue(value: unknown, what: string, category: ErrorCategory): unknown {
  const ancestors: unknown[] = [];
  const fail = (path: string, found: string): never => {
    throw new TerminalError(category, `${what} holds ${found} at ${path}; expected plain JSON (objects, arrays, strings, finite numbers, booleans, null)`, {
      code: 'metadata.not-json',
    });
  };
  const walk = (v: unknown, path: string): unknown => {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
    // JSON has no -0; normalizing here makes the stored and the compared value the same.
    if (typeof v === 'number') return Number.isFinite(v) ? (Object.is(v, -0) ? 0 : v) : fail(path, String(v));
    if (typeof v !== 'object') return fail(path, `a ${typeof v}`);
    if (ancestors.includes(v)) return fail(path, 'a cycle');
    ancestors.push(v);
    try {
      if (Array.isArray(v)) {
        return v.map((e, i) => (e === undefined ? fail(`${path}[${i}]`, 'undefined') : walk(e, `${path}[${i}]`)));
      }
      const proto: unknown = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) return fail(path, `an instance of ${(v as object).constructor?.name ?? 'a class'}`);
      const out: Record<string, unknown> = {};
      for (const [k, e] of Object.entries(v)) {
        if (e !== undefined) out[k] = walk(e, `${path}.${k}`);
      }
      return out;
    } finally {
      ancestors.pop();
    }
  };
  if (value === undefined) return fail('the top level', 'undefined');
  return walk(value, '$');
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(a, b);
}

function corrupt(item: Item, attr: string, expected: string): never {
  throw new TerminalError(
    'internal',
    `metadata item ${String(item.pk)} / ${String(item.sk)} has ${attr} = ${JSON.stringify(item[attr])}; expected ${expected}`,
    { code: 'metadata.corrupt' },
  );
}

function str(item: Item, attr: string): string {
  const v = item[attr];
  return typeof v === 'string' ? v : corrupt(item, attr, 'a string');
}

function optStr(item: Item, attr: string): string | undefined {
  return item[attr] === undefined ? undefined : str(item, attr);
}

function num(item: Item, attr: string): number {
  const v = item[attr];
  return typeof v === 'number' ? v : corrupt(item, attr, 'a number');
}

function optNum(item: Item, attr: string): number | undefined {
  return item[attr] === undefined ? undefined : num(item, attr);
}

function json(item: Item, attr: string): unknown {
  try {
    return JSON.parse(str(item, attr));
  } catch (e) {
    if (e instanceof TerminalError) throw e;
    return corrupt(item, attr, 'a JSON string');
  }
}

function obj<T>(item: Item, attr: string): T {
  const v = item[attr];
  return typeof v === 'object' && v !== null ? (v as T) : corrupt(item, attr, 'a map');
}

function optObj<T>(item: Item, attr: string): T | undefined {
  return item[attr] === undefined ? undefined : obj<T>(item, attr);
}

/** Copies only the defined fields, so a record compares equal whether or not an optional key was written. */
function compact<T extends object>(record: T): T {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as T;
}

export function decodeInstallation(item: Item): InstallationConfig {
  return { name: str(item, 'name'), settings: json(item, 'settingsJson') as Record<string, unknown>, updatedAt: str(item, 'updatedAt') };
}

export function decodeSliceConfig(item: Item): SliceConfigRecord {
  return {
    slice: str(item, 'slice'),
    type: str(item, 'type'),
    config: json(item, 'configJson'),
    version: num(item, 'version'),
    updatedAt: str(item, 'updatedAt'),
  };
}

const STATUSES: readonly BatchStatus[] = ['pending', 'running', 'committed', 'failed', 'paused'];

function figures(f: BatchFigures): BatchFigures {
  return { rows: f.rows, files: f.files, bytes: f.bytes };
}

export function decodeBatch(item: Item): BatchRecord {
  const status = str(item, 'status') as BatchStatus;
  if (!STATUSES.includes(status)) corrupt(item, 'status', STATUSES.join(' | '));
  const cursor = optObj<CursorRange>(item, 'cursor');
  const f = optObj<BatchFigures>(item, 'figures');
  const error = optObj<BatchError>(item, 'error');
  const reopened = optObj<{ at: string; reason: string }>(item, 'reopened');
  return compact<BatchRecord>({
    slice: str(item, 'slice'),
    loadunit: str(item, 'loadunit'),
    dataset: str(item, 'dataset'),
    timelabel: str(item, 'timelabel'),
    status,
    owner: optStr(item, 'owner'),
    leaseUntil: optStr(item, 'leaseUntil'),
    attempts: num(item, 'attempts'),
    cursor: cursor && { from: cursor.from ?? null, to: cursor.to ?? null },
    figures: f && figures(f),
    manifestKey: optStr(item, 'manifestKey'),
    schemaVersion: optNum(item, 'schemaVersion'),
    error: error && { name: error.name, category: error.category, code: error.code, message: error.message },
    createdAt: str(item, 'createdAt'),
    startedAt: optStr(item, 'startedAt'),
    finishedAt: optStr(item, 'finishedAt'),
    reopened: reopened && { at: reopened.at, reason: reopened.reason },
  });
}

export function decodeLoadunitState(item: Item): LoadunitState {
  const cursor = item.cursor;
  return {
    slice: str(item, 'slice'),
    loadunit: str(item, 'loadunit'),
    dataset: str(item, 'dataset'),
    lastCommittedTimelabel: str(item, 'lastCommittedTimelabel'),
    cursor: cursor === null || cursor === undefined ? null : str(item, 'cursor'),
    lastFigures: figures(obj<BatchFigures>(item, 'lastFigures')),
    totalRows: num(item, 'totalRows'),
    updatedAt: str(item, 'updatedAt'),
  };
}

export function decodeSchemaVersion(item: Item): SchemaVersion {
  return compact<SchemaVersion>({
    dataset: str(item, 'dataset'),
    version: num(item, 'version'),
    schema: json(item, 'schemaJson') as DatasetSchema,
    diff: item.diffJson === undefined ? undefined : (json(item, 'diffJson') as SchemaDiff),
    since: str(item, 'since'),
    createdAt: str(item, 'createdAt'),
  });
}

export function decodeEvent(item: Item): ReefEvent {
  return compact<ReefEvent>({
    id: str(item, 'id'),
    kind: str(item, 'kind') as EventKind,
    type: str(item, 'type'),
    slice: str(item, 'slice'),
    dataset: optStr(item, 'dataset'),
    timelabel: optStr(item, 'timelabel'),
    detail: json(item, 'detailJson') as Record<string, unknown>,
    time: str(item, 'time'),
  });
}

function bool(item: Item, attr: string): boolean {
  const v = item[attr];
  return typeof v === 'boolean' ? v : corrupt(item, attr, 'a boolean');
}

function stringList(item: Item, attr: string): string[] {
  const v = item[attr];
  return Array.isArray(v) && v.every((e) => typeof e === 'string') ? [...v] : corrupt(item, attr, 'a list of strings');
}

export function decodeViewVersion(item: Item): ViewVersion {
  return {
    view: str(item, 'view'),
    version: num(item, 'version'),
    sqlHash: str(item, 'sqlHash'),
    body: str(item, 'body'),
    header: json(item, 'headerJson') as ViewHeader,
    signature: json(item, 'signatureJson') as ViewColumn[],
    reads: json(item, 'readsJson') as ViewRead[],
    effectiveFrom: str(item, 'effectiveFrom'),
    updateSet: str(item, 'updateSet'),
    removed: bool(item, 'removed'),
    createdAt: str(item, 'createdAt'),
  };
}

export function decodeUpdateSet(item: Item): UpdateSetRecord {
  return {
    id: str(item, 'id'),
    effectiveFrom: str(item, 'effectiveFrom'),
    views: stringList(item, 'views'),
    breaking: bool(item, 'breaking'),
    allowBreaking: bool(item, 'allowBreaking'),
    createdAt: str(item, 'createdAt'),
  };
}

function decodeSentBatch(item: Item): SentBatch {
  return {
    slice: str(item, 'slice'),
    dataset: str(item, 'dataset'),
    timelabel: str(item, 'timelabel'),
    batch: num(item, 'batch'),
    batches: num(item, 'batches'),
    idempotencyKey: str(item, 'idempotencyKey'),
    bodySha256: str(item, 'bodySha256'),
    bytes: num(item, 'bytes'),
    upserts: num(item, 'upserts'),
    deletes: num(item, 'deletes'),
  };
}

export function decodeDeliveredBatch(item: Item): DeliveredBatchRecord {
  return {
    ...decodeSentBatch(item),
    status: num(item, 'status'),
    attempts: num(item, 'attempts'),
    runId: str(item, 'runId'),
    deliveredAt: str(item, 'deliveredAt'),
  };
}

export function decodeDeadLetter(item: Item): DeadLetterRecord {
  return compact<DeadLetterRecord>({
    ...decodeSentBatch(item),
    attempts: num(item, 'attempts'),
    lastStatus: optNum(item, 'lastStatus'),
    lastError: str(item, 'lastError'),
    code: str(item, 'code'),
    occurrences: num(item, 'occurrences'),
    runId: str(item, 'runId'),
    failedAt: str(item, 'failedAt'),
    resolvedAt: optStr(item, 'resolvedAt'),
  });
}

export function decodeUpgradeWindow(item: Item): UpgradeWindowRecord {
  const state = str(item, 'state');
  if (state !== 'granted' && state !== 'revoked') corrupt(item, 'state', "'granted' | 'revoked'");
  return compact<UpgradeWindowRecord>({
    state: state as UpgradeWindowRecord['state'],
    grantedAt: str(item, 'grantedAt'),
    until: str(item, 'until'),
    hours: num(item, 'hours'),
    revokedAt: optStr(item, 'revokedAt'),
    version: num(item, 'version'),
    updatedAt: str(item, 'updatedAt'),
  });
}


export function decodeVendorAction(item: Item): VendorActionRecord {
  const role = str(item, 'role') as VendorRole;
  if (!(VENDOR_ROLES as readonly string[]).includes(role)) corrupt(item, 'role', VENDOR_ROLES.join(' | '));
  return {
    id: str(item, 'id'),
    role,
    action: str(item, 'action'),
    resource: str(item, 'resource'),
    allowed: bool(item, 'allowed'),
    reason: str(item, 'reason'),
    time: str(item, 'time'),
  };
}
