/**
 * The statement sequence of one load, as data, for both dialects: the local
 * loader runs it against PostgreSQL, and the Redshift sequence is this same
 * plan with the staging table filled by COPY from S3. One transaction from
 * BEGIN to COMMIT; the runner rolls back on any failure, and on a marker
 * that says the batch is already loaded.
 */
import type { ColumnSchema } from '../../../shared/schema.ts';
import type { BatchManifest } from '../../../shared/lake/manifest.ts';
import {
  addColumnSql, alterColumnTypeSql, applySql, copyFromStdinSql, createMarkersSql, createSchemaSql, createStagingSql, createTableSql, dropStagingSql, duplicateKeysSql,
  lockTableSql, markerCheckSql, markerInsertSql, nullKeysSql, redshiftCopySql,
  warehouseType, type ApplyMode, type DialectName, type MergeStrategy, type RedshiftCopySource, type TableOptions, type TableRef,
} from './dialect.ts';

export type LoadStep =
  | { kind: 'exec'; sql: string }
  /** Rows: this dataset's timelabel is already loaded; roll back and report it. */
  | { kind: 'marker-check'; sql: string }
  /** Rows: the staged batch cannot be applied (the problem names why); fail the load. */
  | { kind: 'check'; sql: string; problem: 'null-keys' | 'duplicate-keys' }
  /** PostgreSQL: COPY FROM STDIN, fed with the batch's parts by the client. */
  | { kind: 'stream-staging'; sql: string };

export interface LoadPlanInput {
  manifest: BatchManifest;
  /** s3:// URL of the batch's `_manifest.json`, recorded in the marker. */
  manifestUrl: string;
  target: TableRef;
  mode: ApplyMode;
  keys?: string[];
  strategy?: MergeStrategy;
  table?: TableOptions;
  /**
   * Where the source's schema changes put the batch's columns (see
   * schema-changes.ts): `landing` maps a column retyped incompatibly to the
   * warehouse column `<name>__<type>` that holds it from then on; `widened`
   * names the warehouse columns whose type follows a widening. Both empty
   * while the source never changed a type.
   */
  landing?: ReadonlyMap<string, string>;
  widened?: ReadonlySet<string>;
}

/** The batch's columns under the warehouse names they land in. */
export function landedColumns(input: Pick<LoadPlanInput, 'manifest' | 'landing'>): ColumnSchema[] {
  return input.manifest.schema.columns.map((c) => {
    const name = input.landing?.get(c.name);
    return name === undefined ? c : { ...c, name };
  });
}

/** The marker's dataset: the warehouse table the load writes. */
export function markerDataset(target: TableRef): string {
  return `${target.schema}.${target.table}`;
}

/**
 * Up to the marker check: markers table, target schema and table (created
 * with the batch's columns when absent), the lock that serializes loads of
 * the table, then the check. The target's existing columns are read after
 * this (they cannot change while the lock is held).
 */
export function loadPrelude(dialect: DialectName, input: LoadPlanInput): LoadStep[] {
  const { manifest, target } = input;
  const exec = (sql: string): LoadStep => ({ kind: 'exec', sql });
  return [
    exec('BEGIN'),
    ...createMarkersSql(dialect).map(exec),
    exec(createSchemaSql(dialect, target.schema)),
    exec(createTableSql(dialect, target, landedColumns(input), input.keys, input.table)),
    exec(lockTableSql(dialect, target)),
    { kind: 'marker-check', sql: markerCheckSql(dialect, markerDataset(target), manifest.timelabel) },
  ];
}

/**
 * From the added columns to COMMIT. `existingColumns`: the target's columns
 * as the catalog holds them after the prelude; the batch's other columns are
 * added first, and widened ones altered where `existingTypes` (PostgreSQL's
 * catalog) shows the old type. `fill` puts the batch into the staging table.
 */
export function loadBody(dialect: DialectName, input: LoadPlanInput, existingColumns: string[], fill: LoadStep | undefined, existingTypes?: ReadonlyMap<string, string>): LoadStep[] {
  const { manifest, target, mode } = input;
  const keys = input.keys ?? [];
  const columns = landedColumns(input);
  const exec = (sql: string): LoadStep => ({ kind: 'exec', sql });
  const have = new Set(existingColumns);
  const added = existingColumns.length === 0 ? [] : columns.filter((c: ColumnSchema) => !have.has(c.name));
  const widen = columns.filter((c) => input.widened?.has(c.name) && existingTypes?.has(c.name) && existingTypes.get(c.name) !== warehouseType(dialect, c));
  const checks: LoadStep[] =
    mode === 'incremental' && keys.length > 0
      ? [
          { kind: 'check', sql: nullKeysSql(dialect, keys), problem: 'null-keys' },
          { kind: 'check', sql: duplicateKeysSql(dialect, keys), problem: 'duplicate-keys' },
        ]
      : [];
  return [
    ...added.map((c) => exec(addColumnSql(dialect, target, c))),
    ...widen.map((c) => exec(alterColumnTypeSql(dialect, target, c))),
    exec(dropStagingSql(dialect)),
    exec(createStagingSql(dialect, columns)),
    ...(fill ? [fill] : []),
    ...checks,
    ...applySql(dialect, { target, columns, mode, keys, strategy: input.strategy }).map(exec),
    exec(markerInsertSql(dialect, { dataset: markerDataset(target), timelabel: manifest.timelabel, batchManifest: input.manifestUrl, rows: manifest.rows })),
    exec(dropStagingSql(dialect)),
    exec('COMMIT'),
  ];
}

/** The PostgreSQL stand-in's fill step: the client streams the parts. */
export function postgresFill(input: Pick<LoadPlanInput, 'manifest' | 'landing'>): LoadStep | undefined {
  return input.manifest.files.length === 0 ? undefined : { kind: 'stream-staging', sql: copyFromStdinSql(landedColumns(input)) };
}

export interface RedshiftLoadInput extends LoadPlanInput {
  copy: RedshiftCopySource;
  /** The target's columns as `existingColumnsSql` returns them; empty when the table does not exist yet. */
  existingColumns: string[];
}

/**
 * The whole Redshift load as one statement list: what loadBatch does against
 * PostgreSQL, with the staging table filled by the cluster's COPY from the
 * batch's Redshift manifest. An empty batch skips the COPY (Redshift refuses
 * a manifest without entries) and still applies: a snapshot of nothing
 * empties the table.
 */
export function redshiftLoadStatements(input: RedshiftLoadInput): LoadStep[] {
  const fill: LoadStep | undefined = input.manifest.files.length === 0 ? undefined : { kind: 'exec', sql: redshiftCopySql(input.copy) };
  return [...loadPrelude('redshift', input), ...loadBody('redshift', input, input.existingColumns, fill)];
}
