/**
 * Every SQL statement the organize slice sends to a warehouse, for Redshift
 * (generated and pinned by tests) and PostgreSQL (the local stand-in, run for
 * real). Nothing else in the slice concatenates SQL: names go through
 * `quoteIdent`, values through `quoteLiteral`.
 */
import type { ColumnSchema } from '../../../shared/schema.ts';
import { TerminalError } from '../../../shared/errors.ts';
import { isJson, redshiftStagingType, warehouseType, type DialectName } from './warehouse-types.ts';

export { warehouseType, redshiftStagingType, REDSHIFT_TEXT, type DialectName } from './warehouse-types.ts';

export interface TableRef {
  schema: string;
  table: string;
}

/** Where load markers live: one row per dataset and timelabel loaded. */
export const MARKERS: TableRef = { schema: 'reef', table: 'load_markers' };

/** A session-local table, so concurrent sessions never share it. */
export const STAGING_TABLE = 'reef_staging';

/**
 * PostgreSQL silently truncates a longer identifier (two long names would
 * then collide); Redshift's limit is 127 bytes. Both refused rather than cut.
 */
const MAX_IDENTIFIER_BYTES: Record<DialectName, number> = { postgres: 63, redshift: 127 };

/** A double-quoted identifier: `a"b;drop` becomes `"a""b;drop"`. */
export function quoteIdent(dialect: DialectName, name: string): string {
  if (name.length === 0) {
    throw new TerminalError('target', 'a warehouse identifier is empty; expected a schema, table or column name', { code: 'target.identifier' });
  }
  if (name.includes('\0')) {
    throw new TerminalError('target', `the warehouse identifier ${JSON.stringify(name)} contains a NUL character; expected a name ${dialect} can hold`, { code: 'target.identifier' });
  }
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_IDENTIFIER_BYTES[dialect]) {
    throw new TerminalError('target', `the warehouse identifier ${JSON.stringify(name)} is ${bytes} bytes long; expected at most ${MAX_IDENTIFIER_BYTES[dialect]} for ${dialect}`, {
      code: 'target.identifier',
    });
  }
  return `"${name.replaceAll('"', '""')}"`;
}

export function qualifiedName(dialect: DialectName, t: TableRef): string {
  return `${quoteIdent(dialect, t.schema)}.${quoteIdent(dialect, t.table)}`;
}

/**
 * A string literal. PostgreSQL: the E'' form when there is a backslash, so it
 * means the same under any standard_conforming_strings. Redshift always
 * treats a backslash in a literal as an escape, so it is doubled.
 */
export function quoteLiteral(dialect: DialectName, value: string): string {
  if (value.includes('\0')) {
    throw new TerminalError('target', `the value ${JSON.stringify(value)} contains a NUL character; expected text ${dialect} can hold`, { code: 'target.literal' });
  }
  const body = value.replaceAll("'", "''");
  if (!value.includes('\\')) return `'${body}'`;
  const escaped = body.replaceAll('\\', '\\\\');
  return dialect === 'postgres' ? `E'${escaped}'` : `'${escaped}'`;
}

// ---------------------------------------------------------------------------
// Tables

export interface TableOptions {
  /** Redshift only: the DISTKEY column. Default: the first key, when there are keys; otherwise DISTSTYLE AUTO. */
  distKey?: string | null;
  /** Redshift only: the compound SORTKEY columns. Default: the keys; none without keys. */
  sortKey?: string[] | null;
}

export function createSchemaSql(dialect: DialectName, schema: string): string {
  return `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(dialect, schema)}`;
}

/**
 * Every column is created NULLable, whatever the source says: Redshift
 * cannot relax NOT NULL later, and a column dropped at the source stays in
 * the warehouse (never destroyed) and receives NULL from then on.
 */
export function createTableSql(dialect: DialectName, target: TableRef, columns: ColumnSchema[], keys: string[] = [], options: TableOptions = {}): string {
  const cols = columns.map((c) => `  ${quoteIdent(dialect, c.name)} ${warehouseType(dialect, c)}`).join(',\n');
  let sql = `CREATE TABLE IF NOT EXISTS ${qualifiedName(dialect, target)} (\n${cols}\n)`;
  if (dialect === 'redshift') {
    for (const k of keys) requireColumn(columns, k, target);
    const dist = options.distKey === undefined ? keys[0] : options.distKey;
    const sort = options.sortKey === undefined ? keys : (options.sortKey ?? []);
    if (dist) sql += ` DISTKEY(${quoteIdent(dialect, dist)})`;
    if (sort.length > 0) sql += ` SORTKEY(${sort.map((k) => quoteIdent(dialect, k)).join(', ')})`;
  }
  return sql;
}

/** One column per statement: Redshift's ALTER TABLE adds one column at a time. */
export function addColumnSql(dialect: DialectName, target: TableRef, column: ColumnSchema): string {
  return `ALTER TABLE ${qualifiedName(dialect, target)} ADD COLUMN ${quoteIdent(dialect, column.name)} ${warehouseType(dialect, column)}`;
}

/** Column names of a table as the catalog holds them (no rows: the table does not exist). Parameters: $1 schema, $2 table. */
export function existingColumnsSql(dialect: DialectName): string {
  const catalog = dialect === 'redshift' ? 'svv_columns' : 'information_schema.columns';
  return `SELECT column_name FROM ${catalog} WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`;
}

/**
 * Holds off other loads of the same table until this transaction ends, so a
 * concurrent retry waits and then sees this load's marker. Readers are not
 * blocked in PostgreSQL (SHARE ROW EXCLUSIVE conflicts with writers only);
 * Redshift's LOCK is exclusive, as Redshift recommends before a write that
 * must serialize.
 */
export function lockTableSql(dialect: DialectName, target: TableRef): string {
  return dialect === 'redshift' ? `LOCK ${qualifiedName(dialect, target)}` : `LOCK TABLE ${qualifiedName(dialect, target)} IN SHARE ROW EXCLUSIVE MODE`;
}

// ---------------------------------------------------------------------------
// Staging

export function dropStagingSql(dialect: DialectName): string {
  return `DROP TABLE IF EXISTS ${quoteIdent(dialect, STAGING_TABLE)}`;
}

/**
 * The staging table's columns follow the batch's Parquet columns in order
 * (Redshift's COPY from Parquet matches columns by position).
 */
export function createStagingSql(dialect: DialectName, columns: ColumnSchema[]): string {
  const type = (c: ColumnSchema): string => (dialect === 'redshift' ? redshiftStagingType(c) : warehouseType(dialect, c));
  const cols = columns.map((c) => `  ${quoteIdent(dialect, c.name)} ${type(c)}`).join(',\n');
  return `CREATE TEMP TABLE ${quoteIdent(dialect, STAGING_TABLE)} (\n${cols}\n)`;
}

/** PostgreSQL: the staging table filled from the client in COPY's text format. */
export function copyFromStdinSql(columns: ColumnSchema[]): string {
  return `COPY ${quoteIdent('postgres', STAGING_TABLE)} (${columns.map((c) => quoteIdent('postgres', c.name)).join(', ')}) FROM STDIN (FORMAT text)`;
}

export interface RedshiftCopySource {
  /** s3://bucket/key of the Redshift-format manifest (see redshift-manifest.ts), not Reef's `_manifest.json`. */
  manifestUrl: string;
  /** The role the cluster assumes to read the lake. */
  iamRole: string;
  /** Only when the bucket is in another region than the cluster. */
  region?: string;
}

/** Redshift: the staging table filled by the cluster itself, straight from the batch's Parquet parts. */
export function redshiftCopySql(source: RedshiftCopySource): string {
  const region = source.region ? ` REGION ${quoteLiteral('redshift', source.region)}` : '';
  return `COPY ${quoteIdent('redshift', STAGING_TABLE)} FROM ${quoteLiteral('redshift', source.manifestUrl)} IAM_ROLE ${quoteLiteral('redshift', source.iamRole)} FORMAT AS PARQUET MANIFEST${region}`;
}

// ---------------------------------------------------------------------------
// Checks on the staged rows. Each query returns rows only when something is wrong.

/** Rows whose key has a NULL part: they could never be matched by a later merge. */
export function nullKeysSql(dialect: DialectName, keys: string[]): string {
  const s = quoteIdent(dialect, STAGING_TABLE);
  return `SELECT 1 FROM ${s} WHERE ${keys.map((k) => `${quoteIdent(dialect, k)} IS NULL`).join(' OR ')} LIMIT 1`;
}

/** One key that appears on more than one staged row, as text: a merge would have to pick one. */
export function duplicateKeysSql(dialect: DialectName, keys: string[]): string {
  const q = keys.map((k) => quoteIdent(dialect, k));
  const asText = q.map((k) => (dialect === 'redshift' ? `CAST(${k} AS VARCHAR)` : `${k}::text`));
  const shown = asText.length === 1 ? asText[0] : asText.join(` || ', ' || `);
  return `SELECT ${shown} AS key, count(*) AS n FROM ${quoteIdent(dialect, STAGING_TABLE)} GROUP BY ${q.join(', ')} HAVING count(*) > 1 LIMIT 1`;
}

// ---------------------------------------------------------------------------
// Apply: staged rows into the target, by mode

export type ApplyMode = 'snapshot' | 'incremental';

/** `merge`: one MERGE statement; `delete-insert`: delete the staged keys, then insert every staged row. */
export type MergeStrategy = 'merge' | 'delete-insert';

export interface ApplyInput {
  target: TableRef;
  /** The batch's columns: the ones written. Target columns not among them get NULL on new rows and keep their value on merged ones. */
  columns: ColumnSchema[];
  mode: ApplyMode;
  keys?: string[];
  strategy?: MergeStrategy;
}

/** The staged value as the target column takes it: Redshift parses JSON text into SUPER. */
function stagedValue(dialect: DialectName, c: ColumnSchema, alias: string): string {
  const ref = `${alias}.${quoteIdent(dialect, c.name)}`;
  return dialect === 'redshift' && !c.parquet.list && isJson(c.parquet) ? `JSON_PARSE(${ref})` : ref;
}

/**
 * The statements that move the staged rows into the target, in one
 * transaction with the rest of the load:
 * - snapshot: DELETE every row, then INSERT the batch. Not TRUNCATE:
 *   Redshift's TRUNCATE commits the open transaction, which would publish
 *   an empty table and break the all-or-nothing load.
 * - incremental with keys: MERGE by the keys (matched rows updated, new ones
 *   inserted), or DELETE by the keys then INSERT.
 * - incremental without keys: INSERT (append).
 */
export function applySql(dialect: DialectName, input: ApplyInput): string[] {
  const { target, columns, mode } = input;
  const keys = input.keys ?? [];
  for (const k of keys) requireColumn(columns, k, target);
  const t = qualifiedName(dialect, target);
  const s = quoteIdent(dialect, STAGING_TABLE);
  const names = columns.map((c) => quoteIdent(dialect, c.name)).join(', ');
  const insert = `INSERT INTO ${t} (${names}) SELECT ${columns.map((c) => stagedValue(dialect, c, 's')).join(', ')} FROM ${s} AS s`;
  if (mode === 'snapshot') return [`DELETE FROM ${t}`, insert];
  if (keys.length === 0) return [insert];
  const match = (targetRef: string): string => keys.map((k) => `${targetRef}.${quoteIdent(dialect, k)} = s.${quoteIdent(dialect, k)}`).join(' AND ');
  if ((input.strategy ?? 'merge') === 'delete-insert') {
    // Redshift's DELETE takes no alias for its target: the keys are qualified with the table's full name.
    const del = dialect === 'redshift' ? `DELETE FROM ${t} USING ${s} AS s WHERE ${match(t)}` : `DELETE FROM ${t} AS t USING ${s} AS s WHERE ${match('t')}`;
    return [del, insert];
  }
  const on = match('t');
  const nonKeys = columns.filter((c) => !keys.includes(c.name));
  const update = nonKeys.length > 0 ? `WHEN MATCHED THEN UPDATE SET ${nonKeys.map((c) => `${quoteIdent(dialect, c.name)} = ${stagedValue(dialect, c, 's')}`).join(', ')} ` : '';
  return [
    `MERGE INTO ${t} AS t USING ${s} AS s ON ${on} ${update}WHEN NOT MATCHED THEN INSERT (${names}) VALUES (${columns.map((c) => stagedValue(dialect, c, 's')).join(', ')})`,
  ];
}

// ---------------------------------------------------------------------------
// Load markers

/**
 * `reef.load_markers`: a row says the batch of `dataset` for `timelabel` is
 * in the warehouse. Written in the same transaction as the data, so it exists
 * exactly when the data does. Redshift does not enforce the primary key;
 * the table lock taken before the check serializes loads there.
 */
export function createMarkersSql(dialect: DialectName): string[] {
  const ts = dialect === 'redshift' ? 'TIMESTAMP' : 'timestamptz';
  const text = dialect === 'redshift' ? 'VARCHAR(1024)' : 'text';
  return [
    createSchemaSql(dialect, MARKERS.schema),
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(dialect, MARKERS)} (\n` +
      `  dataset ${text} NOT NULL,\n  timelabel CHAR(14) NOT NULL,\n  batch_manifest ${text} NOT NULL,\n  row_count BIGINT NOT NULL,\n  loaded_at ${ts} NOT NULL,\n` +
      `  PRIMARY KEY (dataset, timelabel)\n)`,
  ];
}

/** Returns the marker's row (batch_manifest, row_count) when this dataset's timelabel is already loaded. */
export function markerCheckSql(dialect: DialectName, dataset: string, timelabel: string): string {
  return `SELECT batch_manifest, row_count FROM ${qualifiedName(dialect, MARKERS)} WHERE dataset = ${quoteLiteral(dialect, dataset)} AND timelabel = ${quoteLiteral(dialect, timelabel)}`;
}

/** Transaction start time: SYSDATE in Redshift (now() is leader-node only there), now() in PostgreSQL. */
export function markerInsertSql(dialect: DialectName, marker: { dataset: string; timelabel: string; batchManifest: string; rows: number }): string {
  const now = dialect === 'redshift' ? 'SYSDATE' : 'now()';
  return `INSERT INTO ${qualifiedName(dialect, MARKERS)} (dataset, timelabel, batch_manifest, row_count, loaded_at) VALUES (${quoteLiteral(dialect, marker.dataset)}, ${quoteLiteral(dialect, marker.timelabel)}, ${quoteLiteral(dialect, marker.batchManifest)}, ${marker.rows}, ${now})`;
}

function requireColumn(columns: ColumnSchema[], name: string, target: TableRef): void {
  if (!columns.some((c) => c.name === name)) {
    throw new TerminalError('config', `the key ${JSON.stringify(name)} of ${target.schema}.${target.table} is not a column of the batch; expected one of ${columns.map((c) => c.name).join(', ')}`, {
      code: 'config.keys',
    });
  }
}
