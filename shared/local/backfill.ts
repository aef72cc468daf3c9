/**
 * `reef backfill` on the embedded default: runs one dataset's periods in a
 * range again, and everything downstream of them.
 *
 * - A collected dataset (`<slice>.<table>`): its slice is collected again for
 *   every timelabel of the range. Committed batches are kept as they are (a
 *   re-run changes no object and no record); failed and missing ones run.
 *   Then every view that reads the dataset, directly or through other views,
 *   refreshes again each of its periods the range overlaps.
 * - A view (`<schema>.<name>`): its periods in the range refresh again, then
 *   the same for everything downstream of it.
 *
 * Each period refreshes with the view version in effect for it, in DAG order,
 * exactly as a first run would.
 */
import { TerminalError } from '../errors.ts';
import type { Flow, SliceSpec } from '../flow/types.ts';
import { closeMatches } from '../flow/spelling.ts';
import type { BatchOutcome } from '../orchestration/contracts.ts';
import { coveringTimelabels } from '../orchestration/readiness.ts';
import { downstreamOf } from '../plan/impact.ts';
import { fromTimelabel, parseSchedule, periodEnd, timelabelRange, type Schedule } from '../timelabel.ts';
import type { ViewSpec } from '../views/types.ts';
import { ORGANIZE_SLICE } from '../slice.ts';
import { findSliceType } from '../../slices/registry.ts';
import { reopenViewPeriods, type ReopenedView } from '../../slices/organize/redshift/reopen.ts';
import { organizeSetupOfFlow } from '../../slices/organize/redshift/setup.ts';
import type { OrganizeOutcome } from '../../slices/organize/redshift/organizer.ts';
import { checkViewsApplied } from './apply.ts';
import { organizePass, runFlow } from './run.ts';
import type { LocalRuntime } from './runtime.ts';

export interface BackfillRequest {
  dataset: string;
  from: string;
  to: string;
  retryIntervalMs?: number;
  onBatch?: (outcome: BatchOutcome) => void;
  onOrganize?: (outcome: OrganizeOutcome) => void;
}

export interface BackfillReport {
  installation: string;
  dataset: string;
  kind: 'collected' | 'view';
  /** The dataset's own timelabels in the range. */
  timelabels: string[];
  /** Collect batches run again (a collected dataset: its whole slice). */
  batches: BatchOutcome[];
  /** View periods sent back to be refreshed, per view in DAG order. */
  reopened: ReopenedView[];
  /** Loads and refreshes, in the order they ran. */
  organized: OrganizeOutcome[];
  failed: number;
}

type Target = { kind: 'collected'; spec: SliceSpec; schedule: Schedule } | { kind: 'view'; view: ViewSpec; schedule: Schedule };

function collectedTables(spec: SliceSpec): { tables: string[]; anyTable: boolean } {
  const found = findSliceType(spec.type)?.datasets?.(spec.config);
  return { tables: found?.tables ?? [], anyTable: found?.tablesKnownAtRunTime ?? false };
}

function resolveTarget(flow: Flow, dataset: string): Target {
  const view = flow.views.find((v) => v.name === dataset);
  if (view) return { kind: 'view', view, schedule: view.header.refresh };
  const dot = dataset.indexOf('.');
  const spec = dot > 0 ? flow.sources.find((s) => s.slice === dataset.slice(0, dot)) : undefined;
  if (spec) {
    const { tables, anyTable } = collectedTables(spec);
    if (anyTable || tables.includes(dataset.slice(dot + 1))) {
      const definition = findSliceType(spec.type)!;
      return { kind: 'collected', spec, schedule: parseSchedule(definition.schedule(spec.config), `${spec.file}: schedule`) };
    }
  }
  const known = [...flow.sources.flatMap((s) => collectedTables(s).tables.map((t) => `${s.slice}.${t}`)), ...flow.views.map((v) => v.name)];
  const close = closeMatches(dataset, known);
  throw new TerminalError(
    'config',
    `dataset ${JSON.stringify(dataset)}: not collected by any source of ${flow.dir} and not a view; expected <source>.<table> or <schema>.<view>` +
      (close.length > 0 ? `; close matches: ${close.join(', ')}` : `; known: ${known.join(', ') || '(none)'}`),
    { code: 'config.unknown-dataset' },
  );
}

/** Every view that reads `name`, directly or through other views. */
function readersOf(flow: Flow, name: string): Set<string> {
  const readers = new Map<string, string[]>();
  for (const v of flow.views) {
    for (const input of v.inputs) readers.set(input.relation, [...(readers.get(input.relation) ?? []), v.name]);
  }
  return downstreamOf(name, readers);
}

export async function backfill(runtime: LocalRuntime, request: BackfillRequest): Promise<BackfillReport> {
  const { flow } = runtime;
  const target = resolveTarget(flow, request.dataset);
  const timelabels = timelabelRange(target.schedule, request.from, request.to);
  const setup = organizeSetupOfFlow(flow);
  const affected = new Set(readersOf(flow, request.dataset));
  if (target.kind === 'view') affected.add(target.view.name);
  if (affected.size > 0) {
    if (setup === undefined) throw new TerminalError('internal', `flow ${flow.dir} has views but no warehouse`, { code: 'internal.no-warehouse' });
    if ((await runtime.services.metadata.listUpdateSets(ORGANIZE_SLICE)).length === 0) {
      throw new TerminalError('config', `flow ${flow.dir}: found no applied views; expected \`reef run ${flow.dir}\` to have run (it applies a fresh flow) before a backfill`, {
        code: 'config.nothing-applied',
      });
    }
    await checkViewsApplied(runtime, flow);
  }

  const report: BackfillReport = {
    installation: flow.installation.name, dataset: request.dataset, kind: target.kind, timelabels, batches: [], reopened: [], organized: [], failed: 0,
  };
  if (target.kind === 'collected') {
    const run = await runFlow(runtime, { slice: target.spec.slice, from: request.from, to: request.to, retryIntervalMs: request.retryIntervalMs, onBatch: request.onBatch, onOrganize: request.onOrganize });
    report.batches = run.batches;
    report.organized.push(...run.organized);
  }
  if (setup !== undefined && affected.size > 0) {
    const start = fromTimelabel(timelabels[0]);
    const end = periodEnd(target.schedule, timelabels.at(-1)!);
    // Periods this backfill's collect already refreshed (they had waited for it) are not done twice.
    const fresh = new Set(report.organized.filter((o) => o.status === 'refreshed').map((o) => `${o.dataset}@${o.timelabel}`));
    const periods = flow.views
      .filter((v) => affected.has(v.name))
      .map((v) => ({ view: v.name, timelabels: coveringTimelabels(v.header.refresh, start, end).filter((tl) => !fresh.has(`${v.name}@${tl}`)) }));
    report.reopened = await reopenViewPeriods({ services: runtime.services, warehouse: setup.warehouse, periods, reason: `backfill of ${request.dataset} from ${request.from} to ${request.to}` });
    report.organized.push(...(await organizePass(runtime, request.onOrganize)));
  }
  report.failed = report.batches.filter((b) => b.status === 'failed').length + report.organized.filter((o) => o.status === 'failed').length;
  return report;
}
