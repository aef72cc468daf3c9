/**
 * Every SQL statement a publish sends: to the warehouse (read the dataset's
 * catalog and rows, as text) and to the application's PostgreSQL (markers,
 * the target table, staging, apply by mode). Nothing else in the slice builds
 * SQL. Names go through `quoteIdent` (target) or the organize slice's warehouse
 * quoting; values travel as bind parameters or COPY data, never as SQL.
 */
import { TerminalError } from '../../../shared/errors.ts';
import type { WarehouseDialectName } from '../../../shared/harness/publication.ts';
import { quoteIdent as warehouseIdent, quoteLiteral as warehouseLiteral } from '../../organize/redshift/dialect.ts';
import { MAX_IDENTIFIER_BYTES, REEF_SCHEMA } from './config.ts';
import { redshiftReadForm, type WarehouseColumn } from './target-types.ts';

export interface TableRef {
  schema: string;
  table: string;
}

/** A column as published: read from the dataset column `source`, written to `name` with type `type`. */
export interface PublishedColumn {
  source: WarehouseColumn;
  name: string;
  type: string;
}

/** A double-quoted identifier of the application database: `a"b` becomes `"a""b"`. Refuses what PostgreSQL would cut or cannot hold. */
export function quoteIdent(name: string): string {
  if (name.length === 0) {
    throw new TerminalError('config', 'a target identifier is empty; expected a schema, table or column name', { code: 'config.identifier' });
  }
  if (name.includes('\0')) {
    throw new TerminalError('config', `the target identifier ${JSON.stringify(name)} contains a NUL character; expected a name PostgreSQL can hold`, { code: 'config.identifier' });
  }
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_IDENTIFIER_BYTES) {
    throw new TerminalError('config', `the target identifier ${JSON.stringify(name)} is ${bytes} bytes long; expected at most ${MAX_IDENTIFIER_BYTES}, since PostgreSQL would cut it`, {
      code: 'config.identifier',
    });
  }
  return `"${name.replaceAll('"', '""')}"`;
}

export function qualifiedName(t: TableRef): string {
  return `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;
}

function columnList(names: string[]): string {
  return names.map(quoteIdent).join(', ');
}

// ---------------------------------------------------------------------------
// The warehouse: read the dataset

/** The cursor the dataset's rows are fetched through, inside the read transaction. */
export const READ_CURSOR = 'reef_publish_rows';

/**
 * Rows per FETCH. Ten thousand rows of a few hundred bytes of text are a few
 * MB: memory stays bounded whatever the dataset's size, and round trips few.
 */
export const FETCH_ROWS = 10_000;

/**
 * The dataset's columns in table order, with types as `format_type` spells
 * them. PostgreSQL: a domain is described by its base type, and `portable`
 * says whether the (element) type is built in; Redshift has neither domains
 * nor user types. Parameters: $1 schema, $2 table.
 */
export function datasetColumnsSql(dialect: WarehouseDialectName): string {
  if (dialect === 'redshift') {
    return `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`;
  }
  return `SELECT a.attname AS name,
  format_type(b.oid, CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END) AS type,
  (coalesce(e.typnamespace, b.typnamespace) = 'pg_catalog'::regnamespace AND coalesce(e.typtype, b.typtype) IN ('b', 'r', 'm')) AS portable
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
JOIN pg_catalog.pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
LEFT JOIN pg_catalog.pg_type e ON b.typcategory = 'A' AND e.oid = b.typelem
WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`;
}

/**
 * Opens the read: one read-only transaction (the cursor lives in it, and every
 * page comes from one snapshot), with the settings every text form depends on
 * pinned for that transaction only, so the caller's session is left as it was.
 */
export function beginReadSql(dialect: WarehouseDialectName): string[] {
  if (dialect === 'redshift') {
    return ['BEGIN READ ONLY', "SET LOCAL timezone TO 'UTC'", 'SET LOCAL extra_float_digits TO 3'];
  }
  return ['BEGIN READ ONLY', ...TEXT_SETTINGS.map(([k, v]) => `SET LOCAL ${k} = '${v}'`)];
}

/**
 * Settings under which text is written and read on PostgreSQL (warehouse and
 * target alike): ISO dates, ISO 8601 intervals, instants in UTC, floats in
 * their shortest exact form, bytea as hex.
 */
const TEXT_SETTINGS: [string, string][] = [
  ['DateStyle', 'ISO, YMD'],
  ['IntervalStyle', 'iso_8601'],
  ['TimeZone', 'UTC'],
  ['extra_float_digits', '3'],
  ['bytea_output', 'hex'],
];

/** One column as exact text: PostgreSQL's own output for every type; on Redshift, the form each type needs. */
export function readExpression(dialect: WarehouseDialectName, column: WarehouseColumn): string {
  const c = warehouseIdent(dialect, column.name);
  if (dialect === 'postgres') return `${c}::text`;
  switch (redshiftReadForm(column.type)) {
    case 'json': return `JSON_SERIALIZE(${c})`;
    case 'boolean': return `CASE WHEN ${c} THEN 't' WHEN NOT ${c} THEN 'f' END`;
    case 'varbyte': return `${warehouseLiteral(dialect, '\\x')} || FROM_VARBYTE(${c}, 'hex')`;
    case 'spatial': return `ST_AsEWKT(${c})`;
    case 'cast': return `CAST(${c} AS VARCHAR(65535))`;
  }
}

export function declareReadCursorSql(dialect: WarehouseDialectName, dataset: TableRef, columns: WarehouseColumn[]): string {
  const table = `${warehouseIdent(dialect, dataset.schema)}.${warehouseIdent(dialect, dataset.table)}`;
  return `DECLARE ${READ_CURSOR} CURSOR FOR SELECT ${columns.map((c) => readExpression(dialect, c)).join(', ')} FROM ${table}`;
}

export function fetchSql(rows = FETCH_ROWS): string {
  return `FETCH FORWARD ${rows} FROM ${READ_CURSOR}`;
}

// ---------------------------------------------------------------------------
// The application database

/** Where publish markers live: one row per publication and timelabel published. */
export const MARKERS: TableRef = { schema: REEF_SCHEMA, table: 'publish_markers' };

/** A session-local table, dropped at the end of the transaction whatever happens. */
export const STAGING_TABLE = 'reef_publish_staging';
const STAGING = `pg_temp.${quoteIdent(STAGING_TABLE)}`;

/** SET LOCAL: the text the COPY carries is parsed under the same settings it was written with. */
export function pinTargetSessionSql(): string {
  return TEXT_SETTINGS.map(([k, v]) => `SET LOCAL ${k} = '${v}'`).join('; ');
}

/**
 * Holds other publishes of the same publication until this transaction ends,
 * so a concurrent retry waits and then finds this one's marker. Blocks no
 * reader and no other publication. Parameter: $1 the lock's name.
 */
export function publicationLockSql(): string {
  return 'SELECT pg_advisory_xact_lock(hashtextextended($1, 0))';
}

export function publicationLockName(slice: string): string {
  return `reef.publish/${slice}`;
}

/** Parameter: $1 schema. */
export function schemaExistsSql(): string {
  return 'SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1';
}

/** Sent only when the schema is missing: CREATE SCHEMA needs CREATE on the database even with IF NOT EXISTS. */
export function createSchemaSql(schema: string): string {
  return `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`;
}

/** The relation kind (`r`, `p`, `v`...) of a name, when it exists. Parameters: $1 schema, $2 name. */
export function relationKindSql(): string {
  return `SELECT c.relkind::text AS kind FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`;
}

export function createMarkersSql(): string {
  return `CREATE TABLE IF NOT EXISTS ${qualifiedName(MARKERS)} (
  publication text NOT NULL,
  timelabel text NOT NULL,
  "rows" bigint NOT NULL,
  run_id text NOT NULL,
  published_at timestamptz NOT NULL,
  PRIMARY KEY (publication, timelabel)
)`;
}

/** Parameters: $1 publication, $2 timelabel. */
export function markerCheckSql(): string {
  return `SELECT "rows" FROM ${qualifiedName(MARKERS)} WHERE publication = $1 AND timelabel = $2`;
}

/** Parameters: $1 publication, $2 timelabel, $3 rows, $4 run id, $5 published at. */
export function markerInsertSql(): string {
  return `INSERT INTO ${qualifiedName(MARKERS)} (publication, timelabel, "rows", run_id, published_at) VALUES ($1, $2, $3, $4, $5)`;
}

/**
 * An existing table's columns: the declared type (what staging uses, so COPY
 * parses each value straight into it) and, for a domain, its base type (what
 * compatibility is judged on; the domain's checks still apply on insert).
 * Parameters: $1 schema, $2 table.
 */
export function targetColumnsSql(): string {
  return `SELECT a.attname AS name,
  format_type(a.atttypid, a.atttypmod) AS declared,
  CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) ELSE format_type(a.atttypid, a.atttypmod) END AS type
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`;
}

/**
 * Column sets of the unique indexes ON CONFLICT can use as its arbiter:
 * valid, not partial, on plain columns, not deferrable. Parameters: $1 schema, $2 table.
 */
export function uniqueKeysSql(): string {
  return `SELECT ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) AS k(attnum) JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) AS columns
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND i.indisunique AND i.indisvalid AND i.indimmediate AND i.indpred IS NULL AND i.indexprs IS NULL`;
}

/** A target created for a merge gets its keys as primary key: ON CONFLICT needs a unique index on them. */
export function createTargetSql(target: TableRef, columns: { name: string; type: string }[], primaryKey: string[]): string {
  const lines = columns.map((c) => `  ${quoteIdent(c.name)} ${c.type}`);
  if (primaryKey.length > 0) lines.push(`  PRIMARY KEY (${columnList(primaryKey)})`);
  return `CREATE TABLE ${qualifiedName(target)} (\n${lines.join(',\n')}\n)`;
}

/** A column `columns: all` publishes that an existing target lacks (the dataset gained it): added NULLable, with its mapped type, so the application's rows keep theirs. */
export function addColumnSql(target: TableRef, column: { name: string; type: string }): string {
  return `ALTER TABLE ${qualifiedName(target)} ADD COLUMN ${quoteIdent(column.name)} ${column.type}`;
}

export function createStagingSql(columns: { name: string; type: string }[]): string {
  return `CREATE TEMP TABLE ${quoteIdent(STAGING_TABLE)} (\n${columns.map((c) => `  ${quoteIdent(c.name)} ${c.type}`).join(',\n')}\n) ON COMMIT DROP`;
}

export function copyStagingSql(columns: string[]): string {
  return `COPY ${STAGING} (${columnList(columns)}) FROM STDIN (FORMAT text)`;
}

/** Rows of staging whose key holds a NULL: a merge could never match them. */
export function nullKeysSql(keys: string[]): string {
  return `SELECT count(*) AS n FROM ${STAGING} WHERE ${keys.map((k) => `${quoteIdent(k)} IS NULL`).join(' OR ')}`;
}

/** How many keys staging holds more than once: ON CONFLICT cannot update one row twice. Counts only: key values are data. */
export function duplicateKeysSql(keys: string[]): string {
  return `SELECT count(*) AS n FROM (SELECT 1 FROM ${STAGING} GROUP BY ${columnList(keys)} HAVING count(*) > 1) AS d`;
}

/**
 * replace: the table becomes staging. DELETE, not TRUNCATE: readers keep
 * seeing the previous rows until the commit, and nothing but this
 * transaction's rows lock is taken.
 */
export function replaceSql(target: TableRef, columns: string[]): string[] {
  const cols = columnList(columns);
  return [`DELETE FROM ${qualifiedName(target)}`, `INSERT INTO ${qualifiedName(target)} (${cols}) SELECT ${cols} FROM ${STAGING}`];
}

/**
 * merge: rows whose key left the dataset are deleted, then staging is
 * upserted by the keys. A row whose published columns already hold the same
 * values is not rewritten (compared as text, since json and some other types
 * have no equality, and text equality is value for value).
 */
export function mergeSql(target: TableRef, columns: string[], keys: string[]): { deleteVanished: string; upsert: string } {
  const t = qualifiedName(target);
  const on = keys.map((k) => `s.${quoteIdent(k)} = t.${quoteIdent(k)}`).join(' AND ');
  const deleteVanished = `DELETE FROM ${t} AS t WHERE NOT EXISTS (SELECT 1 FROM ${STAGING} AS s WHERE ${on})`;
  const cols = columnList(columns);
  const others = columns.filter((c) => !keys.includes(c));
  const insert = `INSERT INTO ${t} AS t (${cols}) SELECT ${cols} FROM ${STAGING} ON CONFLICT (${columnList(keys)})`;
  if (others.length === 0) return { deleteVanished, upsert: `${insert} DO NOTHING` };
  const set = others.map((c) => `${quoteIdent(c)} = EXCLUDED.${quoteIdent(c)}`).join(', ');
  const asText = (alias: string) => `ROW(${others.map((c) => `${alias}.${quoteIdent(c)}::text`).join(', ')})`;
  return { deleteVanished, upsert: `${insert} DO UPDATE SET ${set} WHERE ${asText('t')} IS DISTINCT FROM ${asText('EXCLUDED')}` };
}
