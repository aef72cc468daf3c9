/**
 * Downstream impact of a changed view: which views sit downstream of it, and
 * which of them read a column it removes or retypes (column-level lineage).
 *
 * A downstream view is judged on both its definitions: the one running now
 * (its stored reads) says whether the change would break it, the one in the
 * flow says whether the same plan fixes it. So a view that stops reading the
 * column in this plan shows as a resolved breaking change instead of vanishing.
 */
import type { ViewDefinition, ViewRead } from '../metadata/types.ts';
import type { AffectedView, BreakingChange, ColumnChanges, ReadVia } from './types.ts';

export interface ImpactContext {
  /** Views in the flow, by name. */
  desired: ReadonlyMap<string, ViewDefinition>;
  /** Views the installation runs, by name. */
  current: ReadonlyMap<string, ViewDefinition>;
  /** Views created or changed by this plan: only those can resolve a breaking change. */
  changing: ReadonlySet<string>;
  /** DAG order of the flow's views, for a stable listing. */
  rank: ReadonlyMap<string, number>;
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * View → the views that read it, from the flow's reads and, for views still in
 * the flow, the reads they run with now (so a reader dropping an input in this
 * plan still counts as affected by it).
 */
export function readersOf(ctx: ImpactContext): Map<string, string[]> {
  const known = new Set([...ctx.desired.keys(), ...ctx.current.keys()]);
  const readers = new Map<string, Set<string>>();
  for (const [view, def] of ctx.desired) {
    const reads = [...def.reads, ...(ctx.current.get(view)?.reads ?? [])];
    for (const r of reads) {
      if (!known.has(r.relation) || r.relation === view) continue;
      if (!readers.has(r.relation)) readers.set(r.relation, new Set());
      readers.get(r.relation)!.add(view);
    }
  }
  return new Map([...readers].map(([view, set]) => [view, [...set].sort(byName)]));
}

/** Every view downstream of `view`, transitively, without `view` itself. */
export function downstreamOf(view: string, readers: ReadonlyMap<string, readonly string[]>): Set<string> {
  const seen = new Set<string>();
  const queue = [view];
  while (queue.length > 0) {
    for (const reader of readers.get(queue.shift()!) ?? []) {
      if (reader === view || seen.has(reader)) continue;
      seen.add(reader);
      queue.push(reader);
    }
  }
  return seen;
}

function readVia(read: ViewRead | undefined, column: string): ReadVia | undefined {
  if (read === undefined) return undefined;
  if (read.columns.includes(column)) return 'column';
  if (read.columns.includes('*')) return '*';
  // The parser could not tell which input holds this name; assume it may be this one rather than miss a break.
  if (read.ambiguous.includes(column)) return 'unqualified';
  return undefined;
}

/** The views affected by `upstream` changing its columns as `columns` says, and the breaking changes among them. */
export function impactOf(
  upstream: string,
  columns: ColumnChanges,
  readers: ReadonlyMap<string, readonly string[]>,
  ctx: ImpactContext,
): { affected: AffectedView[]; breaking: BreakingChange[] } {
  const changed = [
    ...columns.removed.map((c) => ({ column: c.name, change: 'removed' as const })),
    ...columns.retyped.map((c) => ({ column: c.name, change: 'retyped' as const, fromType: c.from, toType: c.to })),
  ];
  const order = (v: string): number => ctx.rank.get(v) ?? Number.MAX_SAFE_INTEGER;
  const views = [...downstreamOf(upstream, readers)].sort((a, b) => order(a) - order(b) || byName(a, b));
  const affected: AffectedView[] = [];
  const breaking: BreakingChange[] = [];
  for (const view of views) {
    const now = ctx.current.get(view)?.reads.find((r) => r.relation === upstream);
    const next = ctx.desired.get(view)?.reads.find((r) => r.relation === upstream);
    const entry: AffectedView = { view, breaking: false, columns: [] };
    for (const c of changed) {
      const viaNext = readVia(next, c.column);
      const via = viaNext ?? readVia(now, c.column);
      if (via === undefined) continue;
      const resolved = ctx.changing.has(view) && viaNext === undefined;
      entry.breaking = true;
      entry.columns.push({ column: c.column, change: c.change, via, resolved });
      breaking.push({ view, upstream, ...c, via, resolved });
    }
    affected.push(entry);
  }
  return { affected, breaking };
}
