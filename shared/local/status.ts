/**
 * How fresh and how correct each dataset is, read from the metadata alone
 * (so `reef status` works from another terminal while a runtime runs):
 * collected tables, their loads into the warehouse, views and publications,
 * each with its last finished timelabel, its lag behind now, its rows, its
 * last check result and, when it is behind, why.
 */
import type { Flow } from '../flow/types.ts';
import type { MetadataStore } from '../metadata/store.ts';
import type { BatchRecord } from '../metadata/types.ts';
import { readiness } from '../orchestration/readiness.ts';
import { ORGANIZE_SLICE } from '../slice.ts';
import { fromTimelabel, nextPeriodStart, parseSchedule, periodEnd, periodStart, toTimelabel, type Schedule } from '../timelabel.ts';
import { findSliceType } from '../../slices/registry.ts';

export type DatasetKind = 'collected' | 'loaded' | 'view' | 'published';

export interface DatasetStatus {
  /** `schema.table`; for a publication, the dataset it publishes. */
  dataset: string;
  kind: DatasetKind;
  /** The slice doing the work: the source, `warehouse`, or the publication. */
  slice: string;
  schedule: string;
  lastTimelabel: string | null;
  /** Seconds from the end of the last finished period to now; null before the first. */
  lagSeconds: number | null;
  /** Rows of the last finished timelabel. */
  rows: number;
  /** Views: whether the checks of the last refresh attempt passed; null without checks or before any. */
  lastCheck: 'passed' | 'failed' | null;
  /** Views with `@freshness`: whether the lag is beyond it. */
  stale: boolean;
  failed: number;
  /** Why it is behind or failing, when it is; null when it is keeping up. */
  why: string | null;
}

export interface InstallationStatus {
  installation: string;
  at: string;
  datasets: DatasetStatus[];
}

/** Lag beyond this many periods means something stopped: say why. */
const BEHIND_PERIODS = 2;

function byTimelabel(a: BatchRecord, b: BatchRecord): number {
  return a.timelabel < b.timelabel ? -1 : a.timelabel > b.timelabel ? 1 : 0;
}

function lag(schedule: Schedule, timelabel: string | undefined, now: Date): number | null {
  return timelabel === undefined ? null : Math.max(0, Math.round((now.getTime() - periodEnd(schedule, timelabel).getTime()) / 1000));
}

/** Seconds in a period that starts at `timelabel`. */
function periodSeconds(schedule: Schedule, timelabel: string): number {
  return (periodEnd(schedule, timelabel).getTime() - fromTimelabel(timelabel).getTime()) / 1000;
}

function summarize(input: {
  dataset: string;
  kind: DatasetKind;
  slice: string;
  schedule: Schedule;
  scheduleText: string;
  records: BatchRecord[];
  now: Date;
  /** Why the next period has not finished when nothing failed (a view waiting for an input). */
  waiting?: (next: string) => string | undefined;
  freshnessMinutes?: number;
}): DatasetStatus {
  const records = [...input.records].sort(byTimelabel);
  const committed = records.filter((r) => r.status === 'committed');
  const last = committed.at(-1);
  const latest = records.at(-1);
  const lagSeconds = lag(input.schedule, last?.timelabel, input.now);
  const failedRecords = records.filter((r) => r.status === 'failed');
  const checkRecord = records.filter((r) => r.status === 'committed' || r.error?.code === 'check.failed').at(-1);
  let why: string | null = null;
  const firstPaused = records.find((r) => r.status === 'paused');
  if (firstPaused !== undefined) {
    // Paused is neither failed nor waiting: the message names the column, the change and the command to run.
    why = `paused since ${firstPaused.timelabel}: ${firstPaused.error?.message ?? 'no reason recorded'}`;
  } else if (latest?.status === 'failed') {
    why = `${latest.timelabel} failed: ${latest.error?.message ?? 'no reason recorded'}`;
  } else if (last === undefined) {
    why = input.waiting?.(records[0]?.timelabel ?? '') ?? 'nothing finished yet';
  } else if (lagSeconds !== null && lagSeconds > BEHIND_PERIODS * periodSeconds(input.schedule, last.timelabel)) {
    const next = nextPeriodStart(input.schedule, last.timelabel);
    why =
      input.waiting?.(next) ??
      `no period finished since ${last.timelabel}; expected one every ${input.scheduleText}: is the source reachable and \`reef dev\` (or a schedule) running?`;
  }
  return {
    dataset: input.dataset,
    kind: input.kind,
    slice: input.slice,
    schedule: input.scheduleText,
    lastTimelabel: last?.timelabel ?? null,
    lagSeconds,
    rows: last?.figures?.rows ?? 0,
    lastCheck: input.kind !== 'view' || checkRecord === undefined ? null : checkRecord.status === 'committed' ? 'passed' : 'failed',
    stale: input.freshnessMinutes !== undefined && lagSeconds !== null && lagSeconds > input.freshnessMinutes * 60,
    failed: failedRecords.length,
    why,
  };
}

export async function installationStatus(flow: Flow, metadata: MetadataStore, now: Date): Promise<InstallationStatus> {
  const datasets: DatasetStatus[] = [];
  const organized = flow.installation.warehouse ? await metadata.listBatches(ORGANIZE_SLICE) : [];
  const recordsOf = (name: string) => organized.filter((r) => r.loadunit === name);
  const done = (name: string) => new Set(recordsOf(name).filter((r) => r.status === 'committed').map((r) => r.timelabel));
  const schedules = new Map<string, Schedule>();

  for (const source of flow.sources) {
    const definition = findSliceType(source.type)!;
    const text = definition.schedule(source.config);
    const schedule = parseSchedule(text);
    const batches = await metadata.listBatches(source.slice);
    for (const loadunit of [...new Set(batches.map((b) => b.loadunit))].sort()) {
      const dataset = `${source.slice}.${loadunit}`;
      schedules.set(dataset, schedule);
      const common = { dataset, schedule, scheduleText: text, now };
      datasets.push(summarize({ ...common, kind: 'collected', slice: source.slice, records: batches.filter((b) => b.loadunit === loadunit) }));
      if (flow.installation.warehouse) datasets.push(summarize({ ...common, kind: 'loaded', slice: ORGANIZE_SLICE, records: recordsOf(dataset) }));
    }
  }
  for (const view of flow.views) {
    schedules.set(view.name, view.header.refresh);
    const inputs = view.inputs.map((i) => ({ name: i.relation, schedule: schedules.get(i.relation) ?? view.header.refresh, done: done(i.relation) }));
    datasets.push(
      summarize({
        dataset: view.name,
        kind: 'view',
        slice: ORGANIZE_SLICE,
        schedule: view.header.refresh,
        scheduleText: `refresh ${view.file}`,
        records: recordsOf(view.name),
        now,
        freshnessMinutes: view.header.freshnessMinutes,
        waiting: (next) => {
          // Before its first refresh, the view waits on the period holding its inputs' first finished one.
          const first = inputs.flatMap((i) => [...i.done]).sort()[0];
          const period = next !== '' ? next : first !== undefined ? toTimelabel(periodStart(view.header.refresh, fromTimelabel(first))) : undefined;
          if (period === undefined) return undefined;
          const r = readiness(view.header.refresh, period, inputs);
          return r.ready ? undefined : `waiting for ${r.waitingFor.slice(0, 3).map((w) => `${w.input} @ ${w.timelabel}`).join(', ')}${r.waitingFor.length > 3 ? ` and ${r.waitingFor.length - 3} more` : ''}`;
        },
      }),
    );
  }
  for (const publication of flow.publications) {
    const definition = findSliceType(publication.type)!;
    const dataset = definition.harness!.dataset(publication.config);
    const schedule = schedules.get(dataset) ?? parseSchedule(definition.schedule(publication.config));
    datasets.push(
      summarize({
        dataset,
        kind: 'published',
        slice: publication.slice,
        schedule,
        scheduleText: `after ${dataset}`,
        records: await metadata.listBatches(publication.slice, dataset),
        now,
        waiting: () => (done(dataset).size === 0 ? `waiting for ${dataset} to finish a period` : undefined),
      }),
    );
  }
  return { installation: flow.installation.name, at: now.toISOString(), datasets };
}
