/**
 * The collect/postgres slice's work, one function per state of its state
 * machine. Handlers (Lambda or local) only parse input and call these.
 */
import { randomUUID } from 'node:crypto';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import type pg from 'pg';
import { TERMINAL_ERROR_NAME, TerminalError, TransientError } from '../../../shared/errors.ts';
import { parseCaught } from '../../../shared/orchestration/caught-error.ts';
import { manifestKey as manifestKeyOf } from '../../../shared/lake/layout.ts';
import { readManifest, type BatchManifest } from '../../../shared/lake/manifest.ts';
import type { BatchRecord } from '../../../shared/metadata/types.ts';
import type {
  BatchOutcome,
  BatchRef,
  CollectPlan,
  CollectRunRequest,
  ExtractResult,
  FailInput,
  PlannedUnit,
} from '../../../shared/orchestration/contracts.ts';
import { atBoundary, emit, type Handler, type Services } from '../../../shared/runtime/services.ts';
import { diffSchemas, type SchemaDiff } from '../../../shared/schema.ts';
import type { SchemaAcceptance } from '../../../shared/slice.ts';
import { lastCompleteTimelabel, parseSchedule, timelabelRange } from '../../../shared/timelabel.ts';
import { describeTable, listTables, type SourceTable } from './catalog.ts';
import { isPatternLoadunit, loadunitName, type CollectPostgresConfig, type LoadunitByTable, type SchemaPolicy } from './config.ts';
import { connectSource } from './connect.ts';
import { cursorUpperBound, extractTable } from './extract-table.ts';
import {
  acceptCommand, describeChanges, frozenMessage, hasChanges, keepRegisteredColumns, LOADUNIT_PAUSED_EVENT, SCHEMA_FROZEN, schemaPolicyOf,
} from './schema-policy.ts';
import { parseTableRef } from './sql.ts';
import { datasetSchema, mapTable } from './types.ts';

/**
 * A running batch's lease: as long as the longest extraction a Lambda can run
 * (15 minutes), so a live run is never taken over and a dead one is after that.
 */
export const BATCH_LEASE_SECONDS = 15 * 60;

/** A resolved loadunit: one source table and what to call it. */
interface Loadunit {
  name: string;
  schema: string;
  table: string;
  mode: 'snapshot' | 'incremental';
  cursor?: string;
  keys?: string[];
}

function nameOf(spec: LoadunitByTable): string {
  const name = loadunitName(spec);
  if (!name) {
    throw new TerminalError('config', `loadunit table ${JSON.stringify(spec.table)} has no plain name; expected an "as" name (letters, digits, _)`, { code: 'config.loadunit-name' });
  }
  return name;
}

export function datasetName(slice: string, loadunit: string): string {
  return `${slice}.${loadunit}`;
}

async function sliceConfig(services: Services, slice: string): Promise<CollectPostgresConfig> {
  const record = await services.metadata.getSliceConfig(slice);
  if (!record) {
    throw new TerminalError('config', `slice ${slice} has no stored config; expected one written by \`reef run\` or \`reef apply\``, {
      code: 'config.missing-slice',
    });
  }
  if (record.type !== 'collect/postgres') {
    throw new TerminalError('config', `slice ${slice} is of type ${record.type}; expected collect/postgres`, { code: 'config.slice-type' });
  }
  return record.config as CollectPostgresConfig;
}

async function withSource<T>(services: Services, config: CollectPostgresConfig, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const secret = await services.secrets.get(config.connection.secret);
  const client = await connectSource(secret, config.connection.ssl);
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Table loadunits are known from config alone; pattern loadunits need the source's catalog. */
async function resolveLoadunits(services: Services, slice: string, config: CollectPostgresConfig): Promise<Loadunit[]> {
  const units: Loadunit[] = [];
  const patterns = config.loadunits.filter(isPatternLoadunit);
  for (const spec of config.loadunits) {
    if (isPatternLoadunit(spec)) continue;
    const ref = parseTableRef(spec.table, `slice ${slice}: loadunits table`);
    units.push({ name: nameOf(spec), schema: ref.schema, table: ref.table, mode: spec.mode, cursor: spec.cursor, keys: spec.keys });
  }
  if (patterns.length > 0) {
    await withSource(services, config, async (client) => {
      for (const p of patterns) {
        for (const t of await listTables(client, p.pattern)) {
          if (units.some((u) => u.name === t.table)) continue;
          if (!/^[A-Za-z_][A-Za-z0-9_$]*$/.test(t.table)) {
            services.log(`skipped table ${t.schema}.${t.table} of pattern ${p.pattern}: its name is not a plain identifier; list it with "as" to collect it`, { slice });
            continue;
          }
          units.push({ name: t.table, schema: t.schema, table: t.table, mode: 'snapshot' });
        }
      }
    });
  }
  return units;
}

function requestedTimelabels(config: CollectPostgresConfig, request: CollectRunRequest, now: Date): string[] {
  const schedule = parseSchedule(config.schedule, `slice ${request.slice}: schedule`);
  if (request.timelabel) return timelabelRange(schedule, request.timelabel, request.timelabel);
  if (request.from || request.to) {
    if (!request.from || !request.to) {
      throw new TerminalError('config', `a range needs both from and to; found from=${request.from ?? '-'} to=${request.to ?? '-'}`, { code: 'config.range' });
    }
    return timelabelRange(schedule, request.from, request.to);
  }
  return [lastCompleteTimelabel(schedule, request.scheduledTime ? new Date(request.scheduledTime) : now)];
}

export async function plan(services: Services, request: CollectRunRequest): Promise<CollectPlan> {
  const config = await sliceConfig(services, request.slice);
  const wanted = requestedTimelabels(config, request, services.now());
  const loadunits = await resolveLoadunits(services, request.slice, config);
  const units: PlannedUnit[] = [];
  for (const lu of loadunits) {
    const dataset = datasetName(request.slice, lu.name);
    await services.metadata.repairLoadunitPointer(request.slice, lu.name);
    for (const timelabel of wanted) await services.metadata.createBatch({ slice: request.slice, loadunit: lu.name, dataset, timelabel });
    // Earlier batches that never committed run first, so an incremental cursor never skips past them.
    const batches = await services.metadata.listBatches(request.slice, lu.name);
    const outstanding = batches.filter((b) => b.timelabel < wanted[0] && !settled(b, batches, lu.mode)).map((b) => b.timelabel);
    units.push({ slice: request.slice, loadunit: lu.name, dataset, timelabels: [...new Set([...outstanding, ...wanted])].sort() });
  }
  services.log(`planned ${units.length} loadunit(s) for ${wanted.length} timelabel(s)`, { slice: request.slice });
  return { runId: randomUUID(), slice: request.slice, units };
}

function findLoadunit(config: CollectPostgresConfig, ref: Pick<BatchRef, 'loadunit'>): LoadunitByTable | undefined {
  return config.loadunits.filter((l): l is LoadunitByTable => !isPatternLoadunit(l)).find((l) => nameOf(l) === ref.loadunit);
}

async function sourceTableFor(client: pg.Client, config: CollectPostgresConfig, ref: Pick<BatchRef, 'slice' | 'loadunit'>): Promise<{ table: SourceTable; spec?: LoadunitByTable; policy: SchemaPolicy }> {
  const spec = findLoadunit(config, ref);
  if (spec) {
    const r = parseTableRef(spec.table, `slice ${ref.slice}: loadunits table`);
    return { table: await describeTable(client, r), spec, policy: schemaPolicyOf(config, spec) };
  }
  // A pattern loadunit: its name is the table name within a matching schema.
  for (const p of config.loadunits.filter(isPatternLoadunit)) {
    const match = (await listTables(client, p.pattern)).find((t) => t.table === ref.loadunit);
    if (match) return { table: await describeTable(client, match), policy: schemaPolicyOf(config, p) };
  }
  throw new TerminalError('source', `loadunit ${ref.loadunit} of slice ${ref.slice} matches no source table any more; expected a table from the slice's loadunits`, {
    code: 'source.missing-table',
  });
}

/**
 * Whether a batch needs no more runs: committed, or (incremental) older than
 * the newest committed batch, whose cursor has already moved past its rows.
 */
function settled(batch: BatchRecord, all: BatchRecord[], mode: Loadunit['mode']): boolean {
  if (batch.status === 'committed') return true;
  return mode === 'incremental' && all.some((b) => b.status === 'committed' && b.timelabel > batch.timelabel);
}

/**
 * An incremental loadunit moves forward only: its batches commit in timelabel
 * order, each starting where the newest committed one stopped. Returns that one.
 */
async function ensureInOrder(services: Services, ref: BatchRef): Promise<BatchRecord | undefined> {
  const batches = await services.metadata.listBatches(ref.slice, ref.loadunit);
  const newest = batches.filter((b) => b.status === 'committed').at(-1);
  if (newest && newest.timelabel > ref.timelabel) {
    throw new TerminalError('config', `${ref.dataset} timelabel ${ref.timelabel} is older than the newest committed timelabel ${newest.timelabel}; an incremental loadunit moves forward only (rows changed since are collected by later timelabels), so this one is not collected`, {
      code: 'batch.behind',
    });
  }
  const earlier = batches.find((b) => b.timelabel < ref.timelabel && !settled(b, batches, 'incremental'));
  if (earlier) {
    throw new TerminalError('internal', `${ref.dataset} timelabel ${ref.timelabel} waits for timelabel ${earlier.timelabel} (${earlier.status}) to commit first`, {
      code: 'batch.out-of-order',
    });
  }
  return services.metadata.latestCommittedBatch(ref.slice, ref.loadunit);
}

export async function extract(services: Services, ref: BatchRef): Promise<ExtractResult> {
  const config = await sliceConfig(services, ref.slice);
  // Read before starting, which clears a paused batch's reason: a freeze that pauses it again for the same change says nothing new.
  const prior = await services.metadata.getBatch(ref.slice, ref.loadunit, ref.timelabel);
  const started = await services.metadata.startBatch({
    slice: ref.slice, loadunit: ref.loadunit, timelabel: ref.timelabel, owner: ref.runId, leaseSeconds: BATCH_LEASE_SECONDS,
  });
  if (started.outcome === 'committed') {
    const f = started.batch.figures ?? { rows: 0, files: 0, bytes: 0 };
    return { ...ref, status: 'skipped', manifestKey: started.batch.manifestKey, ...f };
  }
  if (started.outcome === 'busy') {
    throw new TransientError('internal', `${ref.dataset} timelabel ${ref.timelabel} is being extracted by another run (lease until ${started.batch.leaseUntil})`, {
      code: 'batch.busy',
    });
  }
  services.faults.hit(`extract.start.${ref.dataset}`);
  return withSource(services, config, async (client) => {
    const { table: described, spec, policy } = await sourceTableFor(client, config, ref);
    const registered = policy === 'evolve' ? undefined : (await services.metadata.getLatestSchema(ref.slice, ref.dataset))?.schema;
    if (policy === 'freeze' && registered !== undefined) {
      const diff = diffSchemas(registered, datasetSchema(mapTable(described)));
      // Before the cursor is fixed: a paused batch reads nothing, and its window starts from the last commit whenever it runs.
      if (hasChanges(diff)) return pauseFrozen(services, ref, prior, `${described.schema}.${described.table}`, diff);
    }
    const { table, ignored } = policy === 'ignore_new_columns' ? keepRegisteredColumns(described, registered) : { table: described, ignored: [] };
    if (ignored.length > 0) {
      services.log(`not extracting new column(s) ${ignored.join(', ')} of ${described.schema}.${described.table}: its schemaPolicy is ignore_new_columns`, { dataset: ref.dataset, timelabel: ref.timelabel });
    }
    let cursor: { column: string; from: string | null; to: string | null } | undefined;
    if (spec?.mode === 'incremental' && spec.cursor) {
      if (!table.columns.some((c) => c.name === spec.cursor)) {
        throw new TerminalError('config', `slice ${ref.slice}: loadunit ${ref.loadunit}: cursor column "${spec.cursor}" is not a column of ${table.schema}.${table.table}; found ${table.columns.map((c) => c.name).join(', ')}`, {
          code: 'config.unknown-column',
        });
      }
      const previous = await ensureInOrder(services, ref);
      const fixed = await services.metadata.fixBatchCursor({
        slice: ref.slice, loadunit: ref.loadunit, timelabel: ref.timelabel, owner: ref.runId,
        cursor: { from: previous?.cursor?.to ?? null, to: await cursorUpperBound(client, table, spec.cursor) },
      });
      cursor = { column: spec.cursor, from: fixed.from, to: fixed.to };
    }
    const rowGroupRows = config.extract?.rowGroupRows;
    const rowGroupsPerPart = config.extract?.rowGroupsPerPart;
    const manifest = await extractTable({
      client, table, s3: services.s3, bucket: services.bucket, slice: ref.slice, loadunit: ref.loadunit, dataset: ref.dataset,
      timelabel: ref.timelabel, cursor, rowGroupRows, rowGroupsPerPart,
      onPart: (n, part) => {
        services.log(`uploaded ${part.key} (${part.rows} rows)`, { dataset: ref.dataset, timelabel: ref.timelabel });
        services.faults.hit('extract.part', n);
      },
    });
    return {
      ...ref, status: 'extracted', manifestKey: manifestKeyOf(ref.slice, ref.loadunit, ref.timelabel),
      rows: manifest.rows, files: manifest.files.length, bytes: manifest.bytes,
    };
  });
}

/**
 * `schemaPolicy: freeze` met a change: the batch is recorded `paused` with
 * the change and the command that accepts it, and the loadunit's first
 * paused batch emits one `loadunit.paused` event. Every run tries the paused
 * batches again (they are not settled), so they collect once accepted.
 */
async function pauseFrozen(services: Services, ref: BatchRef, prior: BatchRecord | undefined, source: string, diff: SchemaDiff): Promise<ExtractResult> {
  const changes = describeChanges(diff);
  const message = frozenMessage(ref.dataset, source, changes);
  const same = (b: BatchRecord | undefined) => b?.status === 'paused' && b.error?.message === message;
  const told = same(prior) || (await services.metadata.listBatches(ref.slice, ref.loadunit)).some((b) => b.timelabel !== ref.timelabel && same(b));
  const error = { name: TERMINAL_ERROR_NAME, category: 'source', code: SCHEMA_FROZEN, message };
  await services.metadata.pauseBatch({ slice: ref.slice, loadunit: ref.loadunit, timelabel: ref.timelabel, owner: ref.runId, error });
  if (!told) {
    await emit(services, {
      kind: 'metadata', type: LOADUNIT_PAUSED_EVENT, slice: ref.slice, dataset: ref.dataset, timelabel: ref.timelabel,
      detail: { code: SCHEMA_FROZEN, message, policy: 'freeze', changes, command: acceptCommand(ref.dataset) },
    });
  }
  services.log(message, { dataset: ref.dataset, timelabel: ref.timelabel });
  return { ...ref, status: 'paused', rows: 0, files: 0, bytes: 0, pausedBy: error };
}

/**
 * `reef accept`: a loadunit paused by `schemaPolicy: freeze` takes its
 * source table's schema as it is now as the registered one, from its first
 * paused period (announced like any change); the next run then collects
 * every paused period.
 */
export async function acceptSchema(services: Services, dataset: string): Promise<SchemaAcceptance> {
  const dot = dataset.indexOf('.');
  const slice = dataset.slice(0, dot);
  const loadunit = dataset.slice(dot + 1);
  const config = await sliceConfig(services, slice);
  const paused = (await services.metadata.listBatches(slice, loadunit)).filter((b) => b.status === 'paused' && b.error?.code === SCHEMA_FROZEN).map((b) => b.timelabel);
  if (paused.length === 0) {
    throw new TerminalError('config', `${dataset} has no period paused by schemaPolicy: freeze, so there is no change to accept; expected a dataset whose collect is paused (reef status shows them)`, {
      code: 'schema.nothing-to-accept',
    });
  }
  const ref: BatchRef = { runId: randomUUID(), slice, loadunit, dataset, timelabel: paused[0] };
  const schema = await withSource(services, config, async (client) => datasetSchema(mapTable((await sourceTableFor(client, config, ref)).table)));
  const { version, created } = await services.metadata.recordSchema({ slice, dataset, schema, since: paused[0] });
  if (created) await announceSchema(services, ref, version.version, version.diff);
  return { dataset, version: version.version, since: version.since, changes: version.diff ? describeChanges(version.diff) : [], paused };
}

/**
 * Every part the manifest names must be in the lake with its size. (Extract
 * already removed what a dead attempt left beside them before it wrote the
 * manifest.)
 */
async function verifyParts(services: Services, manifest: BatchManifest): Promise<void> {
  for (const file of manifest.files) {
    let size: number | undefined;
    try {
      size = (await services.s3.send(new HeadObjectCommand({ Bucket: services.bucket, Key: file.key }))).ContentLength;
    } catch (e) {
      throw new TerminalError('internal', `part ${file.key} named in the manifest is missing from the lake: ${(e as Error).name}`, { code: 'lake.missing-part' });
    }
    if (size !== file.bytes) {
      throw new TerminalError('internal', `part ${file.key} has ${size} bytes in the lake; the manifest says ${file.bytes}`, { code: 'lake.size-mismatch' });
    }
  }
}

export async function commit(services: Services, result: ExtractResult): Promise<BatchOutcome> {
  const base = { slice: result.slice, loadunit: result.loadunit, dataset: result.dataset, timelabel: result.timelabel };
  if (result.status === 'skipped') {
    return { ...base, status: 'skipped', rows: result.rows, files: result.files, bytes: result.bytes, manifestKey: result.manifestKey };
  }
  if (result.status === 'paused') return { ...base, status: 'paused', rows: 0, files: 0, bytes: 0, error: result.pausedBy };
  const manifest = await readManifest(services.s3, services.bucket, manifestKeyOf(result.slice, result.loadunit, result.timelabel));
  await verifyParts(services, manifest);
  const { version, created } = await services.metadata.recordSchema({
    slice: result.slice, dataset: result.dataset, schema: manifest.schema, since: result.timelabel,
  });
  if (created) await announceSchema(services, result, version.version, version.diff);
  services.faults.hit('commit.before');
  const figures = { rows: manifest.rows, files: manifest.files.length, bytes: manifest.bytes };
  const batch = await services.metadata.commitBatch({
    slice: result.slice, loadunit: result.loadunit, timelabel: result.timelabel, owner: result.runId,
    figures, manifestKey: manifestKeyOf(result.slice, result.loadunit, result.timelabel), schemaVersion: version.version,
  });
  return { ...base, status: 'committed', ...figures, manifestKey: batch.manifestKey, schemaVersion: version.version };
}

async function announceSchema(
  services: Services,
  ref: BatchRef,
  version: number,
  diff: SchemaDiff | undefined,
): Promise<void> {
  const common = { kind: 'metadata' as const, slice: ref.slice, dataset: ref.dataset, timelabel: ref.timelabel };
  if (!diff) {
    await emit(services, { ...common, type: 'dataset.created', detail: { version } });
    return;
  }
  for (const c of diff.added) await emit(services, { ...common, type: 'column.added', detail: { version, column: c.name, sourceType: c.sourceType } });
  for (const c of diff.dropped) await emit(services, { ...common, type: 'column.dropped', detail: { version, column: c.name, sourceType: c.sourceType } });
  for (const r of diff.retyped) {
    await emit(services, { ...common, type: 'column.retyped', detail: { version, column: r.after.name, from: r.before.sourceType, to: r.after.sourceType, change: r.change } });
  }
  for (const n of diff.nullability ?? []) {
    await emit(services, { ...common, type: 'column.nullability', detail: { version, column: n.after.name, nullable: n.after.nullable } });
  }
}

export async function announce(services: Services, outcome: BatchOutcome): Promise<BatchOutcome> {
  if (outcome.status === 'committed') {
    await emit(services, {
      kind: 'data', type: 'batch.committed', slice: outcome.slice, dataset: outcome.dataset, timelabel: outcome.timelabel,
      detail: { step: 's3', rows: outcome.rows, files: outcome.files, bytes: outcome.bytes, manifestKey: outcome.manifestKey, schemaVersion: outcome.schemaVersion },
    });
  }
  return outcome;
}

export async function fail(services: Services, input: FailInput): Promise<BatchOutcome> {
  const error = parseCaught(input.error);
  const batch = await services.metadata.failBatch({
    slice: input.slice, loadunit: input.loadunit, timelabel: input.timelabel, owner: input.runId, error,
  });
  await emit(services, {
    kind: 'data', type: 'batch.failed', slice: input.slice, dataset: input.dataset, timelabel: input.timelabel,
    detail: { step: 's3', error },
  });
  services.log(`${input.dataset} ${input.timelabel} failed: ${error.message}`, {});
  return {
    slice: input.slice, loadunit: input.loadunit, dataset: input.dataset, timelabel: input.timelabel,
    status: batch.status === 'committed' ? 'committed' : 'failed', rows: 0, files: 0, bytes: 0, error,
  };
}

/** The slice's handlers by task, bound to their services: what Lambda and the local runtime both call. */
export function collectHandlers(services: Services): Record<'plan' | 'extract' | 'commit' | 'announce' | 'fail', Handler> {
  const guard = <I, O>(fn: (s: Services, input: I) => Promise<O>): Handler => atBoundary((input) => fn(services, input as I));
  return {
    plan: guard(plan),
    extract: guard(extract),
    commit: guard(commit),
    announce: guard(announce),
    fail: guard(fail),
  };
}

