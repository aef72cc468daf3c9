/**
 * The organize slice's work for one pass: load every committed collect batch
 * that is not in the warehouse yet (per dataset in timelabel order, stopping
 * at the first that fails), then refresh every view period whose inputs are
 * complete, views in DAG order. Each load and refresh is a record in the
 * metadata under the organize slice, moved `pending → running → committed`
 * (or `failed`) by the same conditional writes as a collect batch.
 */
import type pg from 'pg';
import { TerminalError } from '../../../shared/errors.ts';
import { claimStep, pauseStep, settleStep, type StepKind, type StepWork } from '../../../shared/orchestration/step-record.ts';
import type { SliceSpec } from '../../../shared/flow/types.ts';
import type { BatchRecord } from '../../../shared/metadata/types.ts';
import { readiness, type InputProgress } from '../../../shared/orchestration/readiness.ts';
import { emit, type Services } from '../../../shared/runtime/services.ts';
import { fromTimelabel, nextPeriodStart, parseSchedule, periodEnd, periodStart, toTimelabel, type Schedule } from '../../../shared/timelabel.ts';
import type { ViewSpec } from '../../../shared/views/types.ts';
import { findSliceType } from '../../registry.ts';
import { ORGANIZE_SLICE } from '../../../shared/slice.ts';
import { ORGANIZE_EVENTS } from '../../../shared/orchestration/organize-contracts.ts';
import { loadBatch } from './load.ts';
import { refreshView } from './refresh.ts';
import { connectWarehouse, type WarehouseTarget } from './warehouse.ts';
import { breaksIn, schemaEffects, type ColumnBreak } from './schema-changes.ts';

export { ORGANIZE_SLICE } from '../../../shared/slice.ts';

/** A view period marked failed because a period it reads failed; the message names that root cause. */
const UPSTREAM_FAILED = 'upstream.failed';
/** A view period paused because it reads a column its input lost (dropped, or retyped into a new column). */
export const SCHEMA_PAUSED = 'schema.paused';
/** A view period paused because a period it reads is paused; the message names that root cause. */
export const UPSTREAM_PAUSED = 'upstream.paused';
/** The metadata event of a view that pauses (once per view, at its first paused period, until it runs again). */
export const VIEW_PAUSED_EVENT = 'view.paused';

export interface OrganizeOutcome {
  kind: 'load' | 'refresh';
  /** The dataset loaded or the view refreshed. */
  dataset: string;
  timelabel: string;
  status: 'loaded' | 'refreshed' | 'failed' | 'paused';
  rows: number;
  version?: number;
  error?: { code: string; message: string };
}

export interface OrganizeInput {
  services: Services;
  warehouse: WarehouseTarget;
  /** The collect slices whose committed batches are loaded (a flow's sources locally, the stored configs in AWS). */
  sources: SliceSpec[];
  /** The views to refresh, each after the views it reads. */
  views: ViewSpec[];
  runId: string;
  /**
   * The version of a view in effect for a timelabel (see the view versions in
   * the metadata) and the definition it refreshes with, which is the stored
   * one when an older version is still in effect. Undefined: no version is in
   * effect yet, so the period is skipped, not failed.
   */
  versionOf(view: ViewSpec, timelabel: string): Promise<{ version: number; view: ViewSpec } | undefined>;
  onOutcome?(outcome: OrganizeOutcome): void;
  /** The flow's directory, for the command a pause names; `<flow>` where there is none (in AWS). */
  flowDir?: string;
}

/**
 * An input's progress plus its periods that failed (a collect batch, a load,
 * a refresh or its check), each with why: a view period that covers one is
 * marked failed too, naming it, rather than left waiting without a word.
 */
interface Progress extends InputProgress {
  failed: Map<string, string>;
  /** Periods paused by a schema change, each with its root cause. */
  paused: Map<string, string>;
}

interface DatasetSource {
  dataset: string;
  slice: string;
  loadunit: string;
  schedule: Schedule;
  mode: 'snapshot' | 'incremental';
  keys?: string[];
  /** Columns the source dropped or moved to a new warehouse column (schema-changes.ts). */
  breaks: ColumnBreak[];
}

function sourceOf(spec: SliceSpec, loadunit: string): Omit<DatasetSource, 'dataset' | 'breaks'> {
  const definition = findSliceType(spec.type);
  if (!definition) throw new TerminalError('config', `${spec.file}: unknown slice type ${spec.type}`, { code: 'config.slice-type' });
  const options = definition.loadOptions?.(spec.config, loadunit) ?? { mode: 'snapshot' as const };
  return { slice: spec.slice, loadunit, schedule: parseSchedule(definition.schedule(spec.config)), ...options };
}

export async function organize(input: OrganizeInput): Promise<OrganizeOutcome[]> {
  const client = await connectWarehouse(input.services, input.warehouse);
  const outcomes: OrganizeOutcome[] = [];
  const record = (o: OrganizeOutcome) => {
    outcomes.push(o);
    input.onOutcome?.(o);
  };
  try {
    const loaded = await loadAll(input, client, record);
    await refreshAll(input, client, loaded, record);
  } finally {
    await client.end().catch(() => {});
  }
  return outcomes;
}

const KINDS: Record<OrganizeOutcome['kind'], StepKind> = {
  load: { slice: ORGANIZE_SLICE, step: 'warehouse load', doneEvent: ORGANIZE_EVENTS.loaded, failedEvent: ORGANIZE_EVENTS.loadFailed },
  refresh: { slice: ORGANIZE_SLICE, step: 'view refresh', doneEvent: ORGANIZE_EVENTS.refreshed, failedEvent: ORGANIZE_EVENTS.refreshFailed },
};

function claim(services: Services, runId: string, name: string, timelabel: string) {
  return claimStep(services, KINDS.load, runId, name, timelabel);
}

async function settle(services: Services, runId: string, kind: OrganizeOutcome['kind'], name: string, timelabel: string, work: () => Promise<StepWork>): Promise<OrganizeOutcome> {
  const r = await settleStep(services, KINDS[kind], runId, name, timelabel, work);
  if (!r.ok) return { kind, dataset: name, timelabel, status: 'failed', rows: 0, version: r.version, error: r.error };
  return { kind, dataset: name, timelabel, status: kind === 'load' ? 'loaded' : 'refreshed', rows: r.rows, version: r.version };
}

/** The timelabels whose latest record failed, each with what failed and why. */
function failures(records: (BatchRecord & { what: string })[]): Map<string, string> {
  return new Map(
    records.filter((r) => r.status === 'failed').map((r) => [r.timelabel, `${r.what} @ ${r.timelabel} failed: ${r.error?.message ?? 'no reason recorded'}`]),
  );
}

/** Loads what was committed and not loaded; returns, per dataset, the timelabels now in the warehouse. */
async function loadAll(input: OrganizeInput, client: pg.Client, record: (o: OrganizeOutcome) => void): Promise<Map<string, DatasetSource & Progress>> {
  const { services, sources, warehouse, runId } = input;
  const datasets = new Map<string, DatasetSource & Progress>();
  const organized = await services.metadata.listBatches(ORGANIZE_SLICE);
  for (const spec of sources) {
    const collected = await services.metadata.listBatches(spec.slice);
    const committed = collected.filter((b) => b.status === 'committed');
    for (const loadunit of [...new Set(collected.map((b) => b.loadunit))]) {
      const dataset = `${spec.slice}.${loadunit}`;
      const versions = await services.metadata.listSchemaVersions(spec.slice, dataset);
      const source = { dataset, ...sourceOf(spec, loadunit), breaks: schemaEffects(warehouse.dialect, versions).breaks };
      const done = new Set(organized.filter((o) => o.loadunit === dataset && o.status === 'committed').map((o) => o.timelabel));
      const failed = failures([
        ...collected.filter((b) => b.loadunit === loadunit).map((b) => ({ ...b, what: `the collect of ${dataset}` })),
        ...organized.filter((o) => o.loadunit === dataset).map((o) => ({ ...o, what: `the load of ${dataset}` })),
      ]);
      // A frozen loadunit's paused periods hold back the views that read them, which pause too and say why.
      const paused = new Map(
        collected.filter((b) => b.loadunit === loadunit && b.status === 'paused').map((b) => [b.timelabel, b.error?.message ?? `the collect of ${dataset} @ ${b.timelabel} is paused`]),
      );
      datasets.set(dataset, { ...source, name: dataset, done, failed, paused });
      for (const batch of committed.filter((b) => b.loadunit === loadunit && !done.has(b.timelabel))) {
        // A merge applies batches in order: a later one waits while an earlier one cannot load.
        if (!(await claim(services, runId, dataset, batch.timelabel))) break;
        // The columns land where the schema history up to this batch's version puts them, whatever was loaded before.
        const { landing, widened } = schemaEffects(warehouse.dialect, versions, batch.schemaVersion);
        const outcome = await settle(services, runId, 'load', dataset, batch.timelabel, async () => {
          const r = await loadBatch({
            landing, widened,
            client, dialect: warehouse.dialect, copy: warehouse.copy, s3: services.s3, bucket: services.bucket, manifestKey: batch.manifestKey!,
            target: { schema: spec.slice, table: loadunit }, mode: source.mode, keys: source.keys, faults: services.faults,
          });
          return { rows: r.rows, manifestKey: batch.manifestKey! };
        });
        record(outcome);
        if (outcome.status === 'failed') {
          failed.set(batch.timelabel, `the load of ${dataset} @ ${batch.timelabel} failed: ${outcome.error?.message}`);
          break;
        }
        done.add(batch.timelabel);
      }
    }
  }
  return datasets;
}

/** The view's periods that any finished or failed input period overlaps, oldest first. */
function candidatePeriods(schedule: Schedule, inputs: Progress[]): string[] {
  const all = inputs.flatMap((i) => [...i.done, ...i.failed.keys(), ...i.paused.keys()].map((tl) => ({ tl, schedule: i.schedule })));
  if (all.length === 0) return [];
  const first = all.reduce((a, b) => (a.tl < b.tl ? a : b));
  const last = all.reduce((a, b) => (a.tl > b.tl ? a : b));
  const end = periodEnd(last.schedule, last.tl);
  const out: string[] = [];
  for (let tl = toTimelabel(periodStart(schedule, fromTimelabel(first.tl))); fromTimelabel(tl) < end; tl = nextPeriodStart(schedule, tl)) out.push(tl);
  return out;
}

async function refreshAll(
  input: OrganizeInput,
  client: pg.Client,
  datasets: Map<string, DatasetSource & Progress>,
  record: (o: OrganizeOutcome) => void,
): Promise<void> {
  const { services, views, warehouse, runId } = input;
  const organized = await services.metadata.listBatches(ORGANIZE_SLICE);
  const refreshed = new Map<string, Progress>();
  for (const view of views) {
    const own = new Map(organized.filter((o) => o.loadunit === view.name).map((o) => [o.timelabel, o]));
    const done = new Set([...own.values()].filter((o) => o.status === 'committed').map((o) => o.timelabel));
    // An upstream mark already carries the root cause; it is passed on as it is.
    const failed = new Map(
      [...own.values()]
        .filter((o) => o.status === 'failed')
        .map((o) => [o.timelabel, o.error?.code === UPSTREAM_FAILED ? o.error.message : `the refresh of ${view.name} @ ${o.timelabel} failed: ${o.error?.message}`]),
    );
    const paused = new Map([...own.values()].filter((o) => o.status === 'paused').map((o) => [o.timelabel, o.error?.message ?? `${view.name} @ ${o.timelabel} is paused`]));
    // One event when a view pauses, not one per period: it says what to do once, until the view runs again.
    let told = paused.size > 0;
    const pause = async (timelabel: string, code: string, message: string, detail: Record<string, unknown>): Promise<void> => {
      paused.set(timelabel, message);
      const before = own.get(timelabel);
      if (before?.status === 'paused' && before.error?.code === code && before.error.message === message) return;
      if (!(await claim(services, runId, view.name, timelabel))) return;
      await pauseStep(services, KINDS.refresh, runId, view.name, timelabel, { code, message });
      record({ kind: 'refresh', dataset: view.name, timelabel, status: 'paused', rows: 0, error: { code, message } });
      if (told) return;
      told = true;
      await emit(services, { kind: 'metadata', type: VIEW_PAUSED_EVENT, slice: ORGANIZE_SLICE, dataset: view.name, timelabel, detail: { code, message, file: view.file, ...detail } });
    };
    refreshed.set(view.name, { name: view.name, schedule: view.header.refresh, done, failed, paused });
    const inputs: Progress[] = view.inputs.map(
      (i) => refreshed.get(i.relation) ?? datasets.get(i.relation) ?? { name: i.relation, schedule: view.header.refresh, done: new Set<string>(), failed: new Map(), paused: new Map() },
    );
    for (const timelabel of candidatePeriods(view.header.refresh, inputs)) {
      if (done.has(timelabel)) continue;
      const ready = readiness(view.header.refresh, timelabel, inputs);
      if (!ready.ready) {
        const inputOf = (name: string) => inputs.find((i) => i.name === name)!;
        const cause = ready.waitingFor.map((w) => inputOf(w.input).failed.get(w.timelabel)).find((c) => c !== undefined);
        if (cause === undefined) {
          const held = ready.waitingFor.map((w) => ({ input: w.input, cause: inputOf(w.input).paused.get(w.timelabel) })).find((c) => c.cause !== undefined);
          // Paused upstream: this period cannot run before that one does, so it pauses too, naming the root cause.
          if (held !== undefined) await pause(timelabel, UPSTREAM_PAUSED, held.cause!, { upstream: held.input, command: commandFor(held.cause!) });
          continue;
        }
        // Marked failed once, naming the first cause, rather than left waiting in silence; a
        // period already failed keeps its record until it refreshes.
        if (own.get(timelabel)?.status === 'failed') continue;
        failed.set(timelabel, cause);
        if (!(await claim(services, runId, view.name, timelabel))) continue;
        record(await settle(services, runId, 'refresh', view.name, timelabel, async () => ({ rows: 0, manifestKey: view.file, failed: { code: UPSTREAM_FAILED, message: cause } })));
        continue;
      }
      const inEffect = await input.versionOf(view, timelabel);
      if (inEffect === undefined) continue;
      const lost = lostColumns(inEffect.view, datasets, timelabel);
      if (lost !== undefined) {
        const message = pauseMessage(view, timelabel, lost, input.flowDir ?? '<flow>');
        await pause(timelabel, SCHEMA_PAUSED, message, {
          version: inEffect.version, input: lost.dataset, column: lost.column, change: lost.change, from: lost.from, to: lost.to, landsIn: lost.landsIn,
          since: lost.since, schemaVersion: lost.version, command: commandFor(message),
        });
        continue;
      }
      if (!(await claim(services, runId, view.name, timelabel))) continue;
      const { version } = inEffect;
      const outcome = await settle(services, runId, 'refresh', view.name, timelabel, async () => {
        const r = await refreshView({ client, dialect: warehouse.dialect, view: inEffect.view, timelabel, version, runId, faults: services.faults });
        const failedChecks = r.checks.filter((c) => !c.passed);
        if (r.status === 'check-failed') {
          await emit(services, {
            kind: 'metadata', type: 'check.failed', slice: ORGANIZE_SLICE, dataset: view.name, timelabel,
            detail: { version, checks: failedChecks.map((c) => ({ line: c.line, failingRows: c.failingRows })) },
          });
          const where = failedChecks.map((c) => `${view.file}:${c.line}`).join(', ');
          return { rows: 0, manifestKey: view.file, version, failed: { code: 'check.failed', message: `${view.name} @ ${timelabel}: check failed at ${where}; the previous contents stay` } };
        }
        return { rows: r.rows, manifestKey: view.file, version };
      });
      record(outcome);
      if (outcome.status === 'refreshed') {
        done.add(timelabel);
        paused.delete(timelabel);
        told = paused.size > 0;
      }
      else failed.set(timelabel, `the refresh of ${view.name} @ ${timelabel} failed: ${outcome.error?.message}`);
    }
  }
}

/**
 * The first column the view's version reads that its collected input lost in
 * the period (dropped, or retyped into a new column), oldest change first.
 * Lineage errs towards reading more: an ambiguous name counts, and `*` reads
 * every column.
 */
function lostColumns(view: ViewSpec, datasets: ReadonlyMap<string, DatasetSource>, timelabel: string): (ColumnBreak & { dataset: string }) | undefined {
  const start = timelabel;
  const end = toTimelabel(periodEnd(view.header.refresh, timelabel));
  const hits: (ColumnBreak & { dataset: string })[] = [];
  for (const i of view.inputs) {
    const source = datasets.get(i.relation);
    if (source === undefined) continue;
    const reads = new Set([...i.columns, ...i.ambiguous]);
    for (const b of breaksIn(source.breaks, start, end)) if (reads.has('*') || reads.has(b.column)) hits.push({ ...b, dataset: i.relation });
  }
  return hits.sort((a, b) => (a.since < b.since ? -1 : a.since > b.since ? 1 : 0))[0];
}

/** The marker between a pause's cause and the command that ends it, so a downstream pause can repeat the command. */
const THEN = '; to resume: ';

function pauseMessage(view: ViewSpec, timelabel: string, lost: ColumnBreak & { dataset: string }, flowDir: string): string {
  const what =
    lost.change === 'dropped'
      ? `the source dropped it (it was ${lost.from})`
      : `the source retyped it from ${lost.from} to ${lost.to}, incompatibly, so its new values land in ${lost.dataset}.${lost.landsIn} and ${lost.column} stays NULL`;
  return (
    `${view.name} @ ${timelabel} is paused: it reads ${lost.dataset}.${lost.column}, and ${what} from ${lost.since} on (schema version ${lost.version})` +
    `${THEN}edit ${view.file} so it no longer reads ${lost.column}, then reef plan ${flowDir} && reef apply ${flowDir}`
  );
}

function commandFor(message: string): string {
  const at = message.indexOf(THEN);
  return at < 0 ? '' : message.slice(at + THEN.length);
}
