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

/**
 * Column names of a table as the catalog holds them (no rows: the table does
 * not exist). Parameters: $1 schema, $2 table. PostgreSQL also answers each
 * column's type as format_type spells it (`column_type`), which is how
 * warehouseType spells the types a widening alters (integers, floats,
 * numeric), so a load can tell whether a widening is done already.
 */
export function existingColumnsSql(dialect: DialectName): string {
  if (dialect === 'postgres') {
    return `SELECT a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS column_type FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`;
  }
  return `SELECT column_name FROM svv_columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`;
}

/**
 * A source column widened (integer → bigint, more numeric digits): the
 * warehouse column follows in place. PostgreSQL only: Redshift's ALTER
 * COLUMN TYPE changes only VARCHAR lengths, and Reef's Redshift text columns
 * are at the maximum already, so there every retype that changes the
 * warehouse type lands in a new column instead (see schema-changes.ts).
 */
export function alterColumnTypeSql(dialect: DialectName, target: TableRef, column: ColumnSchema): string {
  if (dialect === 'redshift') {
    throw new TerminalError('internal', `widening ${target.schema}.${target.table}.${column.name} in place on Redshift; expected a retype there to land in a new column`, {
      code: 'internal.widen-redshift',
    });
  }
  return `ALTER TABLE ${qualifiedName(dialect, target)} ALTER COLUMN ${quoteIdent(dialect, column.name)} TYPE ${warehouseType(dialect, column)}`;
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

/** Rows whose key has a NULL part: they could never be matched by a later merge. `from`: the session-local table checked. */
export function nullKeysSql(dialect: DialectName, keys: string[], from: string = STAGING_TABLE): string {
  const s = quoteIdent(dialect, from);
  return `SELECT 1 FROM ${s} WHERE ${keys.map((k) => `${quoteIdent(dialect, k)} IS NULL`).join(' OR ')} LIMIT 1`;
}

/** One key that appears on more than one staged row, as text: a merge would have to pick one. */
export function duplicateKeysSql(dialect: DialectName, keys: string[], from: string = STAGING_TABLE): string {
  const q = keys.map((k) => quoteIdent(dialect, k));
  const asText = q.map((k) => (dialect === 'redshift' ? `CAST(${k} AS VARCHAR)` : `${k}::text`));
  const shown = asText.length === 1 ? asText[0] : asText.join(` || ', ' || `);
  return `SELECT ${shown} AS key, count(*) AS n FROM ${quoteIdent(dialect, from)} GROUP BY ${q.join(', ')} HAVING count(*) > 1 LIMIT 1`;
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

// ---------------------------------------------------------------------------
// Views: signature, refresh, checks, refresh markers

/** Where refresh markers live: one row per view, timelabel and view version refreshed. Apart from load markers: a view is not a dataset load. */
export const REFRESH_MARKERS: TableRef = { schema: 'reef', table: 'refresh_markers' };

/** The session-local table a refresh computes the view's rows into before applying them. */
export const VIEW_ROWS_TABLE = 'reef_view_rows';

/** A view column as the warehouse describes it; `type` in the warehouse's own spelling (`format_type`). */
export interface ViewColumn {
  name: string;
  type: string;
}

/**
 * A statement with the user's SQL inside. `userOffset`: where that SQL
 * starts, in characters (the prefix is ASCII, so UTF-16 units and code points
 * agree), so a position the warehouse reports maps back to the file.
 */
export interface WrappedSql {
  sql: string;
  userOffset: number;
}

/**
 * The user's SQL as a derived table. The newline before `)` keeps a trailing
 * `-- comment` in the body from swallowing the parenthesis.
 */
function wrapUserSql(prefix: string, userSql: string, suffix: string): WrappedSql {
  const head = `${prefix}(\n`;
  return { sql: `${head}${userSql}\n)${suffix}`, userOffset: head.length };
}

/** The view's result columns with no rows computed: the warehouse plans the query and returns only its row description. */
export function describeViewSql(body: string): WrappedSql {
  return wrapUserSql('SELECT * FROM ', body, ' AS q LIMIT 0');
}

/**
 * One row: the type name of each (type OID, type modifier) pair, as column
 * `t<i>`. Literal numbers rather than an array parameter: Redshift's leader
 * node has format_type but no unnest over arrays.
 */
export function formatTypesSql(types: { oid: number; typmod: number }[]): string {
  for (const t of types) {
    if (!Number.isInteger(t.oid) || !Number.isInteger(t.typmod)) throw new TypeError(`format_type needs integers, got ${JSON.stringify(t)}`);
  }
  return `SELECT ${types.map((t, i) => `format_type(${t.oid}, ${t.typmod}) AS t${i}`).join(', ')}`;
}

/**
 * A refresh computes in UTC whatever the server's default, so date_trunc and
 * casts of timestamptz give the same rows on every run. SET LOCAL: it ends
 * with the transaction.
 */
export function pinRefreshSessionSql(): string {
  return "SET LOCAL timezone TO 'UTC'";
}

export function createViewTableSql(dialect: DialectName, target: TableRef, columns: ViewColumn[], keys: string[] = []): string {
  const cols = columns.map((c) => `  ${quoteIdent(dialect, c.name)} ${c.type}`).join(',\n');
  let sql = `CREATE TABLE IF NOT EXISTS ${qualifiedName(dialect, target)} (\n${cols}\n)`;
  if (dialect === 'redshift' && keys.length > 0) {
    sql += ` DISTKEY(${quoteIdent(dialect, keys[0])}) SORTKEY(${keys.map((k) => quoteIdent(dialect, k)).join(', ')})`;
  }
  return sql;
}

export function addViewColumnSql(dialect: DialectName, target: TableRef, column: ViewColumn): string {
  return `ALTER TABLE ${qualifiedName(dialect, target)} ADD COLUMN ${quoteIdent(dialect, column.name)} ${column.type}`;
}

export function dropViewRowsSql(dialect: DialectName): string {
  return `DROP TABLE IF EXISTS ${quoteIdent(dialect, VIEW_ROWS_TABLE)}`;
}

/** The view's rows, computed once into a temp table: the apply and the key checks read them without running the body again. */
export function computeViewRowsSql(dialect: DialectName, body: string): WrappedSql {
  return wrapUserSql(`CREATE TEMP TABLE ${quoteIdent(dialect, VIEW_ROWS_TABLE)} AS SELECT * FROM `, body, ' AS q');
}

export function countViewRowsSql(dialect: DialectName): string {
  return `SELECT count(*) AS n FROM ${quoteIdent(dialect, VIEW_ROWS_TABLE)}`;
}

export type ViewApplyMode = 'replace' | 'append' | 'merge';

export interface ViewApplyInput {
  target: TableRef;
  /** The view's columns (its signature): the ones written. Target columns not among them get NULL on new rows and keep their value on merged ones. */
  columns: string[];
  mode: ViewApplyMode;
  keys?: string[];
  strategy?: MergeStrategy;
}

/**
 * The computed rows into the view's table:
 * - replace: DELETE every row, then INSERT (not TRUNCATE, which commits on Redshift).
 * - append: INSERT.
 * - merge: DELETE the target rows whose key the view no longer yields, then
 *   MERGE by the keys (or DELETE by the keys and INSERT). A view with only
 *   key columns has nothing to update: the keys it lacks are inserted, which
 *   also sidesteps Redshift's MERGE, which wants a WHEN MATCHED clause.
 */
export function viewApplySql(dialect: DialectName, input: ViewApplyInput): string[] {
  const { target, columns, mode } = input;
  const keys = input.keys ?? [];
  const t = qualifiedName(dialect, target);
  const r = quoteIdent(dialect, VIEW_ROWS_TABLE);
  const names = columns.map((c) => quoteIdent(dialect, c)).join(', ');
  const insert = `INSERT INTO ${t} (${names}) SELECT ${columns.map((c) => `r.${quoteIdent(dialect, c)}`).join(', ')} FROM ${r} AS r`;
  if (mode === 'replace') return [`DELETE FROM ${t}`, insert];
  if (mode === 'append') return [insert];
  if (keys.length === 0) throw new TerminalError('config', `merging into ${target.schema}.${target.table} needs @keys; found none`, { code: 'config.keys' });
  for (const k of keys) {
    if (!columns.includes(k)) {
      throw new TerminalError('config', `the key ${JSON.stringify(k)} of ${target.schema}.${target.table} is not a column of the view; expected one of ${columns.join(', ')}`, { code: 'config.keys' });
    }
  }
  // Redshift's DELETE takes no alias for its target: its columns are qualified with the table's full name.
  const self = dialect === 'redshift' ? t : 't';
  const from = dialect === 'redshift' ? `DELETE FROM ${t}` : `DELETE FROM ${t} AS t`;
  const match = (targetRef: string): string => keys.map((k) => `${targetRef}.${quoteIdent(dialect, k)} = r.${quoteIdent(dialect, k)}`).join(' AND ');
  const vanished = `${from} WHERE NOT EXISTS (SELECT 1 FROM ${r} AS r WHERE ${match(self)})`;
  const nonKeys = columns.filter((c) => !keys.includes(c));
  if (nonKeys.length === 0) {
    return [vanished, `${insert} WHERE NOT EXISTS (SELECT 1 FROM ${t} AS t WHERE ${match('t')})`];
  }
  if ((input.strategy ?? 'merge') === 'delete-insert') {
    const matched = dialect === 'redshift' ? `DELETE FROM ${t} USING ${r} AS r WHERE ${match(t)}` : `DELETE FROM ${t} AS t USING ${r} AS r WHERE ${match('t')}`;
    return [vanished, matched, insert];
  }
  const set = nonKeys.map((c) => `${quoteIdent(dialect, c)} = r.${quoteIdent(dialect, c)}`).join(', ');
  const values = columns.map((c) => `r.${quoteIdent(dialect, c)}`).join(', ');
  return [vanished, `MERGE INTO ${t} AS t USING ${r} AS r ON ${match('t')} WHEN MATCHED THEN UPDATE SET ${set} WHEN NOT MATCHED THEN INSERT (${names}) VALUES (${values})`];
}

/** What a view check counts in the view's table; `sql` checks carry the user's query. */
export type ViewCheckSpec =
  | { kind: 'not_null'; column: string }
  | { kind: 'unique'; columns: string[] }
  | { kind: 'accepted_values'; column: string; values: (string | number)[] }
  | { kind: 'row_count' }
  | { kind: 'sql'; sql: string };

/**
 * One row, one column `failing`: the rows that break the check (row_count:
 * every row; the caller compares it with the bounds). NULLs are not_null's
 * business alone: unique ignores rows with a NULL in its columns, and
 * accepted_values ignores NULL values, as SQL's own UNIQUE and IN do.
 * accepted_values writes every value as a string literal, which the
 * warehouse casts to the column's type (numbers included), so `'3'` and `3`
 * mean the same.
 */
export function checkSql(dialect: DialectName, target: TableRef, check: ViewCheckSpec): WrappedSql {
  const t = qualifiedName(dialect, target);
  const plain = (sql: string): WrappedSql => ({ sql, userOffset: -1 });
  switch (check.kind) {
    case 'not_null':
      return plain(`SELECT count(*) AS failing FROM ${t} WHERE ${quoteIdent(dialect, check.column)} IS NULL`);
    case 'unique': {
      const cols = check.columns.map((c) => quoteIdent(dialect, c));
      return plain(
        `SELECT COALESCE(SUM(n), 0) AS failing FROM (SELECT count(*) AS n FROM ${t} WHERE ${cols.map((c) => `${c} IS NOT NULL`).join(' AND ')} GROUP BY ${cols.join(', ')} HAVING count(*) > 1) AS d`,
      );
    }
    case 'accepted_values': {
      const c = quoteIdent(dialect, check.column);
      return plain(`SELECT count(*) AS failing FROM ${t} WHERE ${c} IS NOT NULL AND ${c} NOT IN (${check.values.map((v) => quoteLiteral(dialect, String(v))).join(', ')})`);
    }
    case 'row_count':
      return plain(`SELECT count(*) AS failing FROM ${t}`);
    case 'sql':
      return wrapUserSql('SELECT count(*) AS failing FROM ', check.sql, ' AS f');
  }
}

/**
 * `reef.refresh_markers`: a row says `view` holds its rows for `timelabel`
 * as computed by its definition `version`. Written in the refresh's
 * transaction, so it exists exactly when the data does. Column names are
 * quoted: `view` and `rows` are keywords in places.
 */
export function createRefreshMarkersSql(dialect: DialectName): string[] {
  const ts = dialect === 'redshift' ? 'TIMESTAMP' : 'timestamptz';
  const text = dialect === 'redshift' ? 'VARCHAR(1024)' : 'text';
  return [
    createSchemaSql(dialect, REFRESH_MARKERS.schema),
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(dialect, REFRESH_MARKERS)} (\n` +
      `  "view" ${text} NOT NULL,\n  "timelabel" CHAR(14) NOT NULL,\n  "version" INTEGER NOT NULL,\n  "rows" BIGINT NOT NULL,\n  "run_id" ${text} NOT NULL,\n  "refreshed_at" ${ts} NOT NULL,\n` +
      `  PRIMARY KEY ("view", "timelabel", "version")\n)`,
  ];
}

export interface RefreshMarker {
  view: string;
  timelabel: string;
  version: number;
}

/** Rows (rows, run_id) when this version of the view is already refreshed for the timelabel. */
export function refreshMarkerCheckSql(dialect: DialectName, m: RefreshMarker): string {
  return `SELECT "rows", "run_id" FROM ${qualifiedName(dialect, REFRESH_MARKERS)} WHERE "view" = ${quoteLiteral(dialect, m.view)} AND "timelabel" = ${quoteLiteral(dialect, m.timelabel)} AND "version" = ${versionLiteral(m.version)}`;
}

export function refreshMarkerInsertSql(dialect: DialectName, m: RefreshMarker & { rows: number; runId: string }): string {
  const now = dialect === 'redshift' ? 'SYSDATE' : 'now()';
  if (!Number.isSafeInteger(m.rows) || m.rows < 0) throw new TypeError(`a refresh marker's rows must be a whole number, got ${m.rows}`);
  return (
    `INSERT INTO ${qualifiedName(dialect, REFRESH_MARKERS)} ("view", "timelabel", "version", "rows", "run_id", "refreshed_at") ` +
    `VALUES (${quoteLiteral(dialect, m.view)}, ${quoteLiteral(dialect, m.timelabel)}, ${versionLiteral(m.version)}, ${m.rows}, ${quoteLiteral(dialect, m.runId)}, ${now})`
  );
}

/** Forgets that a view holds its rows for these timelabels (any version), so the next refresh of each computes them again: a backfill. */
export function deleteRefreshMarkersSql(dialect: DialectName, view: string, timelabels: readonly string[]): string {
  if (timelabels.length === 0) throw new TypeError('deleteRefreshMarkersSql needs at least one timelabel');
  return `DELETE FROM ${qualifiedName(dialect, REFRESH_MARKERS)} WHERE "view" = ${quoteLiteral(dialect, view)} AND "timelabel" IN (${timelabels.map((t) => quoteLiteral(dialect, t)).join(', ')})`;
}

function versionLiteral(version: number): string {
  if (!Number.isSafeInteger(version) || version < 0 || version > 2 ** 31 - 1) {
    throw new TerminalError('internal', `a view version must be a whole number from 0 to ${2 ** 31 - 1}; found ${version}`, { code: 'internal.view-version' });
  }
  return String(version);
}
