/**
 * The plan builder: flow (views with their described signatures, slice
 * configs) against what the installation runs, as typed stages. Pure: no
 * clock, no AWS, no warehouse; the same input always gives the same plan, so
 * a plan can be shown, stored and applied as the one thing the user saw.
 */
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { TerminalError } from '../errors.ts';
import type { ViewDefinition, ViewVersion } from '../metadata/types.ts';
import { alignedTimelabel, formatSchedule, fromTimelabel } from '../timelabel.ts';
import type { Schedule } from '../timelabel.ts';
import { topologicalOrder } from '../views/graph.ts';
import { definitionOf, headerChanges, noColumnChanges, signatureChanges } from './definition.ts';
import { downstreamOf, impactOf, readersOf } from './impact.ts';
import type { ImpactContext } from './impact.ts';
import type { BreakingChange, DesiredSliceConfig, Plan, PlanInput, PlanStage, PlanUpdateSet } from './types.ts';

type ViewStage = Extract<PlanStage, { kind: 'create-view' | 'change-view' | 'remove-view' }>;

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Characters of the content hash in an update set id: enough to tell two plans from one timelabel apart. */
const UPDATE_SET_HASH_CHARS = 12;

function uniqueBy<T>(items: readonly T[], name: (t: T) => string, what: string, category: 'config' | 'internal'): Map<string, T> {
  const out = new Map<string, T>();
  for (const item of items) {
    const n = name(item);
    if (out.has(n)) {
      throw new TerminalError(category, `plan ${what}: found ${n} twice; expected each name once`, { code: `${category}.plan` });
    }
    out.set(n, item);
  }
  return out;
}

/** JSON as stored: a desired config may hold `undefined` fields that a stored one cannot. */
function asStored(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

function sliceStages(desired: readonly DesiredSliceConfig[], current: PlanInput['current']['sliceConfigs']): PlanStage[] {
  const want = uniqueBy(desired, (s) => s.slice, 'desired slice configs', 'config');
  const have = uniqueBy(current, (s) => s.slice, 'stored slice configs', 'internal');
  const stages: PlanStage[] = [];
  for (const name of [...new Set([...want.keys(), ...have.keys()])].sort(byName)) {
    const w = want.get(name);
    const h = have.get(name);
    if (w && !h) stages.push({ kind: 'add-slice', slice: name, type: w.type, config: asStored(w.config) });
    else if (!w && h) stages.push({ kind: 'remove-slice', slice: name, type: h.type, fromVersion: h.version });
    else if (w && h) {
      const config = asStored(w.config);
      if (w.type === h.type && isDeepStrictEqual(config, h.config)) continue;
      const stage: PlanStage = { kind: 'change-slice', slice: name, type: w.type, config, fromVersion: h.version, changedFields: changedFields(h.config, config) };
      if (w.type !== h.type) stage.fromType = h.type;
      stages.push(stage);
    }
  }
  return stages;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function changedFields(from: unknown, to: unknown): string[] {
  if (!isRecord(from) || !isRecord(to)) return [];
  return [...new Set([...Object.keys(from), ...Object.keys(to)])].filter((k) => !isDeepStrictEqual(from[k], to[k])).sort(byName);
}

/** Build the plan that takes the installation from `current` to `desired`. */
export function buildPlan(input: PlanInput): Plan {
  fromTimelabel(input.after, 'plan: after');
  const stages = sliceStages(input.desired.sliceConfigs, input.current.sliceConfigs);

  const desiredViews = uniqueBy(input.desired.views, (v) => v.spec.name, 'desired views', 'config');
  const currentViews = uniqueBy(input.current.views, (v) => v.view, 'stored views (latest versions)', 'internal');
  const desired = new Map([...desiredViews].map(([name, v]): [string, ViewDefinition] => [name, definitionOf(v)]));
  const upstream = new Map([...desired].map(([name, d]) => [name, d.reads.map((r) => r.relation).filter((r) => desired.has(r))]));
  const order = topologicalOrder(upstream);
  if (order.length !== desired.size) {
    throw new TerminalError('internal', `plan: found a cycle among the views ${[...desired.keys()].filter((v) => !order.includes(v)).join(', ')}; expected the compiler to have refused it`, {
      code: 'internal.plan',
    });
  }

  const viewStages: ViewStage[] = [];
  for (const name of order) {
    const def = desired.get(name)!;
    const spec = desiredViews.get(name)!.spec;
    const cur = currentViews.get(name);
    if (cur === undefined) {
      viewStages.push({ kind: 'create-view', view: name, file: spec.file, refresh: formatSchedule(spec.header.refresh), mode: spec.header.mode, definition: def, affected: [] });
      continue;
    }
    const sqlChanged = cur.sqlHash !== def.sqlHash;
    const headerChanged = headerChanges(cur.header, def.header);
    const columns = signatureChanges(cur.signature, def.signature);
    if (!sqlChanged && headerChanged.length === 0 && noColumnChanges(columns)) continue;
    viewStages.push({ kind: 'change-view', view: name, file: spec.file, fromVersion: cur.version, sqlChanged, headerChanged, columns, definition: def, affected: [] });
  }
  const removed = [...currentViews.values()].filter((v) => !desired.has(v.view)).sort((a, b) => byName(a.view, b.view));
  for (const v of removed) viewStages.push({ kind: 'remove-view', view: v.view, fromVersion: v.version, affected: [] });

  const ctx: ImpactContext = {
    desired,
    current: new Map([...currentViews].map(([name, v]): [string, ViewDefinition] => [name, v])),
    changing: new Set(viewStages.filter((s) => s.kind !== 'remove-view').map((s) => s.view)),
    rank: new Map(order.map((v, i) => [v, i])),
  };
  const readers = readersOf(ctx);
  const breaking: BreakingChange[] = [];
  for (const stage of viewStages) {
    const columns =
      stage.kind === 'change-view'
        ? stage.columns
        : stage.kind === 'remove-view'
          ? signatureChanges(currentViews.get(stage.view)!.signature, [])
          : signatureChanges([], stage.definition.signature);
    const impact = impactOf(stage.view, columns, readers, ctx);
    stage.affected = impact.affected;
    breaking.push(...impact.breaking);
  }

  const updateSet = planUpdateSet(viewStages, readers, desiredViews, currentViews, input.after, input.paused ?? {});
  stages.push(...viewStages);
  if (updateSet !== null) {
    stages.push({ kind: 'switch', updateSet: updateSet.id, effectiveFrom: updateSet.effectiveFrom, views: updateSet.views });
    for (const s of viewStages) {
      if (s.kind === 'create-view') stages.push({ kind: 'backfill', view: s.view, from: updateSet.effectiveFrom, reason: 'created' });
      if (s.kind !== 'change-view') continue;
      const catchUp = updateSet.catchUp?.find((c) => c.view === s.view);
      stages.push(catchUp ? { kind: 'backfill', view: s.view, from: catchUp.from, reason: 'paused' } : { kind: 'backfill', view: s.view, from: updateSet.effectiveFrom, reason: 'changed' });
    }
  }

  const count = (kind: PlanStage['kind']): number => stages.filter((s) => s.kind === kind).length;
  return {
    stages,
    updateSet,
    breaking,
    summary: {
      slicesAdded: count('add-slice'),
      slicesChanged: count('change-slice'),
      slicesRemoved: count('remove-slice'),
      viewsCreated: count('create-view'),
      viewsChanged: count('change-view'),
      viewsRemoved: count('remove-view'),
      viewsAffected: (updateSet?.views.length ?? 0) - viewStages.length,
      breaking: breaking.length,
      unresolvedBreaking: breaking.filter((b) => !b.resolved).length,
    },
  };
}

/**
 * Every created, changed or removed view and everything downstream of it
 * switch together, at the first timelabel on which every one of their refresh
 * periods starts, old schedule and new: hourly + daily → the next midnight, so
 * no daily result mixes two versions of the hourly logic.
 */
function planUpdateSet(
  viewStages: readonly ViewStage[],
  readers: ReadonlyMap<string, readonly string[]>,
  desiredViews: ReadonlyMap<string, PlanInput['desired']['views'][number]>,
  currentViews: ReadonlyMap<string, ViewVersion>,
  after: string,
  paused: Readonly<Record<string, string>>,
): PlanUpdateSet | null {
  if (viewStages.length === 0) return null;
  const views = new Set<string>();
  for (const s of viewStages) {
    views.add(s.view);
    for (const d of downstreamOf(s.view, readers)) views.add(d);
  }
  const sorted = [...views].sort(byName);
  const schedules: Schedule[] = [];
  for (const v of sorted) {
    const want = desiredViews.get(v)?.spec.header.refresh;
    const have = currentViews.get(v)?.header.refresh;
    if (want) schedules.push(want);
    if (have && !isDeepStrictEqual(have, want)) schedules.push(have);
  }
  const effectiveFrom = alignedTimelabel(schedules, after);
  // A changed view that is paused never refreshed its periods since the pause: the fix takes over there.
  const catchUp = viewStages
    .filter((s) => s.kind === 'change-view' && paused[s.view] !== undefined && paused[s.view] < effectiveFrom)
    .map((s) => ({ view: s.view, from: paused[s.view] }));
  const content = viewStages.map((s) => ({ kind: s.kind, view: s.view, definition: s.kind === 'remove-view' ? null : s.definition }));
  const hash = createHash('sha256').update(JSON.stringify(catchUp.length > 0 ? { effectiveFrom, views: sorted, content, catchUp } : { effectiveFrom, views: sorted, content })).digest('hex');
  const set: PlanUpdateSet = { id: `us-${effectiveFrom}-${hash.slice(0, UPDATE_SET_HASH_CHARS)}`, effectiveFrom, views: sorted };
  if (catchUp.length > 0) set.catchUp = catchUp;
  return set;
}
