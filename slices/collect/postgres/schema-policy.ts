/**
 * What a loadunit does when its source table's schema differs from the one
 * registered for its dataset (`schemaPolicy`, at the source or per loadunit):
 * - `evolve` (the default): the batch carries the new schema; the change is
 *   recorded and flows downstream (docs/architecture.md, "Schema changes");
 * - `freeze`: any change pauses the loadunit until someone accepts it
 *   (`reef accept`); nothing is extracted meanwhile, and nothing is lost,
 *   since the paused periods run again once accepted;
 * - `ignore_new_columns`: columns the registry does not hold are not
 *   extracted; drops, retypes and NULLability changes evolve.
 * Pure functions: the collector applies them to what the catalog says.
 */
import type { DatasetSchema, SchemaDiff } from '../../../shared/schema.ts';
import type { SourceTable } from './catalog.ts';
import type { CollectPostgresConfig, LoadunitSpec, SchemaPolicy } from './config.ts';

/** Today's behaviour and the least surprising one: data keeps flowing and every change is told. */
export const DEFAULT_SCHEMA_POLICY: SchemaPolicy = 'evolve';

/** The code of a collect batch paused by `schemaPolicy: freeze`. */
export const SCHEMA_FROZEN = 'schema.frozen';

/** The metadata event of a loadunit that pauses (once, at its first paused period, until it runs again). */
export const LOADUNIT_PAUSED_EVENT = 'loadunit.paused';

/** The loadunit's own policy, else the source's, else the default. */
export function schemaPolicyOf(config: Pick<CollectPostgresConfig, 'schemaPolicy'>, spec: Pick<LoadunitSpec, 'schemaPolicy'> | undefined): SchemaPolicy {
  return spec?.schemaPolicy ?? config.schemaPolicy ?? DEFAULT_SCHEMA_POLICY;
}

/** Whether a diff holds anything a person would call a change (a new version may differ only in column order). */
export function hasChanges(diff: SchemaDiff): boolean {
  return diff.added.length + diff.dropped.length + diff.retyped.length + (diff.nullability?.length ?? 0) > 0;
}

/** One phrase per change, in registry order: what an event and a paused record say. */
export function describeChanges(diff: SchemaDiff): string[] {
  return [
    ...diff.added.map((c) => `added ${c.name} (${c.sourceType})`),
    ...diff.dropped.map((c) => `dropped ${c.name} (${c.sourceType})`),
    ...diff.retyped.map((r) => `retyped ${r.after.name} from ${r.before.sourceType} to ${r.after.sourceType} (${r.change})`),
    ...(diff.nullability ?? []).map((n) => `made ${n.after.name} ${n.after.nullable ? 'NULLable' : 'NOT NULL'}`),
  ];
}

/**
 * `ignore_new_columns`: the source table without the columns the registered
 * schema does not hold, and their names. The first batch (nothing registered)
 * takes every column: it is what gets registered.
 */
export function keepRegisteredColumns(table: SourceTable, registered: DatasetSchema | undefined): { table: SourceTable; ignored: string[] } {
  if (registered === undefined) return { table, ignored: [] };
  const known = new Set(registered.columns.map((c) => c.name));
  const ignored = table.columns.filter((c) => !known.has(c.name)).map((c) => c.name);
  return ignored.length === 0 ? { table, ignored } : { table: { ...table, columns: table.columns.filter((c) => known.has(c.name)) }, ignored };
}

/** The command that accepts a frozen loadunit's change; `<flow>` is the flow directory (unknown to the slice). */
export function acceptCommand(dataset: string, flowDir = '<flow>'): string {
  return `reef accept ${flowDir} ${dataset}, then reef run ${flowDir}`;
}

/**
 * What a frozen loadunit's paused batch records and its event says. The same
 * text for every period of one change, so the event is told once; the part
 * after "; to resume: " is the command (as a paused view's message).
 */
export function frozenMessage(dataset: string, source: string, changes: readonly string[]): string {
  return (
    `${dataset} is paused: its source table ${source} changed (${changes.join('; ')}) and its schemaPolicy is freeze, so nothing is collected ` +
    `until the change is accepted; the paused periods are collected then, so no row is lost` +
    `; to resume: ${acceptCommand(dataset)} (or set schemaPolicy: evolve for it)`
  );
}
