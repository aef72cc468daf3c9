/**
 * What a collected dataset's schema history (the registry's versions, each
 * with its diff) means in the warehouse. Nothing is ever destroyed there:
 * - an added column is added to the raw table (load-plan.ts);
 * - a dropped column stays, NULL on every row loaded from then on;
 * - a retype whose warehouse type is the same (varchar(32) → varchar(64),
 *   both text) changes nothing;
 * - a widening (integer → bigint, more numeric digits) alters the column in
 *   place on PostgreSQL;
 * - anything else (an incompatible retype, or any type change on Redshift,
 *   which can only lengthen a VARCHAR) lands in a new column
 *   `<name>__<type>`, and the old column keeps its type (NULL from then on).
 * A dropped column and a column whose values moved to a new one are
 * *breaks*: a view that reads one pauses (organizer.ts) from the first period
 * that holds a batch of the new version.
 */
import type { ColumnSchema } from '../../../shared/schema.ts';
import type { SchemaVersion } from '../../../shared/metadata/types.ts';
import { warehouseType, type DialectName } from './warehouse-types.ts';

export interface ColumnBreak {
  /** The source column a view may read. */
  column: string;
  change: 'dropped' | 'retyped';
  /** Source types before and (retyped) after. */
  from: string;
  to?: string;
  /** Retyped: the warehouse column that holds the new values. */
  landsIn?: string;
  /** The first timelabel whose batch has the change, and its schema version. */
  since: string;
  version: number;
  /** A dropped column that came back: the timelabel it did. */
  until?: string;
}

export interface SchemaEffects {
  /** Source column → the warehouse column its values land in, where the two differ. */
  landing: Map<string, string>;
  /** Warehouse columns whose type follows a widening. */
  widened: Set<string>;
  breaks: ColumnBreak[];
}

/** A type name as part of a column name: `numeric(16,2)` → `numeric_16_2`. */
function typeSlug(sourceType: string): string {
  return sourceType.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '') || 'value';
}

/**
 * The effects of the versions up to `upTo` (all when undefined), oldest
 * first. Deterministic in the registry alone, so every load of a batch
 * (a retry, another pass) lands its columns in the same places.
 */
export function schemaEffects(dialect: DialectName, versions: readonly SchemaVersion[], upTo?: number): SchemaEffects {
  const held = new Map<string, { landing: string; type: ColumnSchema }>();
  const effects: SchemaEffects = { landing: new Map(), widened: new Set(), breaks: [] };
  for (const v of [...versions].sort((a, b) => a.version - b.version)) {
    if (upTo !== undefined && v.version > upTo) break;
    if (v.diff === undefined) {
      for (const c of v.schema.columns) if (!held.has(c.name)) held.set(c.name, { landing: c.name, type: c });
      continue;
    }
    for (const c of v.diff.added) {
      const before = held.get(c.name);
      for (const b of effects.breaks) if (b.column === c.name && b.change === 'dropped' && b.until === undefined) b.until = v.since;
      // A column that comes back lands where it last landed; a different type is a retype of that column.
      if (before === undefined) held.set(c.name, { landing: c.name, type: c });
      else retype(dialect, effects, held, before, c, v);
    }
    for (const c of v.diff.dropped) effects.breaks.push({ column: c.name, change: 'dropped', from: c.sourceType, since: v.since, version: v.version });
    for (const r of v.diff.retyped) {
      const before = held.get(r.after.name) ?? { landing: r.after.name, type: r.before };
      retype(dialect, effects, held, before, r.after, v);
    }
  }
  for (const [name, h] of held) if (h.landing !== name) effects.landing.set(name, h.landing);
  return effects;
}

function retype(
  dialect: DialectName,
  effects: SchemaEffects,
  held: Map<string, { landing: string; type: ColumnSchema }>,
  before: { landing: string; type: ColumnSchema },
  after: ColumnSchema,
  v: SchemaVersion,
): void {
  if (warehouseType(dialect, before.type) === warehouseType(dialect, after)) {
    held.set(after.name, { landing: before.landing, type: after });
    return;
  }
  const change = v.diff?.retyped.find((r) => r.after.name === after.name)?.change;
  if (change === 'widening' && dialect === 'postgres') {
    effects.widened.add(before.landing);
    held.set(after.name, { landing: before.landing, type: after });
    return;
  }
  const landsIn = `${after.name}__${typeSlug(after.sourceType)}`;
  effects.breaks.push({ column: after.name, change: 'retyped', from: before.type.sourceType, to: after.sourceType, landsIn, since: v.since, version: v.version });
  held.set(after.name, { landing: landsIn, type: after });
}

/** The breaks that reach a period `[start, end)`: their batch falls in it or before it, and a dropped column had not come back by its start. */
export function breaksIn(breaks: readonly ColumnBreak[], start: string, end: string): ColumnBreak[] {
  return breaks.filter((b) => b.since < end && (b.until === undefined || b.until > start));
}
