/**
 * Every SQL statement the webhook harness sends to the warehouse, for
 * PostgreSQL (the local stand-in, run for real) and Redshift (generated, and
 * pinned by tests). Names go through `quoteIdent`, values are bind
 * parameters or `quoteLiteral`; nothing from a config or a row is ever SQL.
 *
 * Per publication, in schema `reef_harness`:
 *   <publication>__shadow    what the receiver holds: the key columns (or, without keys, every
 *                            column sent) and `reef_row_hash`, a digest of the row as sent
 *   <publication>__upserts   the timelabel's rows that are new or changed, frozen: `reef_seq`, the columns, `reef_row_hash`
 *   <publication>__deletes   the timelabel's rows gone: `reef_seq`, the shadow's columns
 * and one table for all of them, `reef_harness.webhook_markers`, a row per
 * publication and timelabel: `frozen` once its changes are computed, then
 * `delivered`, in the same transaction that moves the shadow forward.
 */
import { TerminalError } from '../../../shared/errors.ts';
import type { WarehouseDialectName } from '../../../shared/harness/publication.ts';
import { qualifiedName, quoteIdent, quoteLiteral, type TableRef } from '../../organize/redshift/dialect.ts';
import { OID } from './row-json.ts';

export type { TableRef };

export const HARNESS_SCHEMA = 'reef_harness';
export const MARKERS: TableRef = { schema: HARNESS_SCHEMA, table: 'webhook_markers' };

/** The column a frozen change set is ordered by: the same order, so the same batches, on every attempt. */
export const SEQ = 'reef_seq';
/** The digest of a row as sent; equal digests mean the receiver holds this row already. */
export const ROW_HASH = 'reef_row_hash';
const DUP = 'reef_dup';

export interface PublicationTables {
  shadow: TableRef;
  upserts: TableRef;
  deletes: TableRef;
}

export function publicationTables(publication: string): PublicationTables {
  return {
    shadow: { schema: HARNESS_SCHEMA, table: `${publication}__shadow` },
    upserts: { schema: HARNESS_SCHEMA, table: `${publication}__upserts` },
    deletes: { schema: HARNESS_SCHEMA, table: `${publication}__deletes` },
  };
}

/** `schema.table` → its parts; the config's schema already required exactly one dot. */
export function datasetTable(dataset: string): TableRef {
  const dot = dataset.indexOf('.');
  if (dot <= 0 || dot === dataset.length - 1) {
    throw new TerminalError('config', `dataset ${JSON.stringify(dataset)} is not of the form schema.table`, { code: 'webhook.dataset' });
  }
  return { schema: dataset.slice(0, dot), table: dataset.slice(dot + 1) };
}

/** A column by name and the type OID the warehouse reports for it. */
export interface TypedColumn {
  name: string;
  oid: number;
}

// ---------------------------------------------------------------------------
// Session and bookkeeping

/**
 * Every text form the row digest and the JSON are computed from, pinned for
 * the transaction (SET LOCAL): the same row gives the same digest whatever
 * the server's or the session's defaults, on every run.
 */
export function pinSessionSql(dialect: WarehouseDialectName): string[] {
  const common = ["SET LOCAL timezone TO 'UTC'", "SET LOCAL datestyle TO 'ISO, YMD'", 'SET LOCAL extra_float_digits TO 3'];
  return dialect === 'postgres' ? [...common, "SET LOCAL intervalstyle TO 'iso_8601'", "SET LOCAL bytea_output TO 'hex'"] : common;
}

export function createMarkersSql(dialect: WarehouseDialectName): string[] {
  const ts = dialect === 'redshift' ? 'TIMESTAMP' : 'timestamptz';
  return [
    `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(dialect, HARNESS_SCHEMA)}`,
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(dialect, MARKERS)} (\n` +
      '  publication VARCHAR(64) NOT NULL,\n  timelabel CHAR(14) NOT NULL,\n  state VARCHAR(16) NOT NULL,\n  dataset VARCHAR(256) NOT NULL,\n' +
      '  upserts BIGINT NOT NULL,\n  deletes BIGINT NOT NULL,\n  batches INTEGER,\n  max_bytes INTEGER NOT NULL,\n  max_rows INTEGER,\n' +
      `  run_id VARCHAR(256) NOT NULL,\n  frozen_at ${ts} NOT NULL,\n  delivered_at ${ts},\n  PRIMARY KEY (publication, timelabel)\n)`,
  ];
}

/**
 * Freezes and commits of every webhook publication take turns: each reads the
 * markers, then writes them, and must not interleave with another run of the
 * same publication. Readers are not blocked in PostgreSQL; Redshift's LOCK is
 * exclusive, as it recommends before a write that must serialize.
 */
export function lockMarkersSql(dialect: WarehouseDialectName): string {
  return dialect === 'redshift' ? `LOCK ${qualifiedName(dialect, MARKERS)}` : `LOCK TABLE ${qualifiedName(dialect, MARKERS)} IN SHARE ROW EXCLUSIVE MODE`;
}

/** Parameters $1 publication, $2 timelabel: the timelabel's marker, every frozen one, and every later one. */
export function relevantMarkersSql(dialect: WarehouseDialectName): string {
  return (
    `SELECT timelabel, state, upserts::text AS upserts, deletes::text AS deletes, max_bytes, max_rows FROM ${qualifiedName(dialect, MARKERS)} ` +
    `WHERE publication = $1 AND (timelabel >= $2 OR state = 'frozen') ORDER BY timelabel`
  );
}

/** Parameters $1 publication, $2 timelabel, $3 dataset, $4 upserts, $5 deletes, $6 max_bytes, $7 max_rows, $8 run_id. */
export function insertFrozenMarkerSql(dialect: WarehouseDialectName): string {
  const now = dialect === 'redshift' ? 'SYSDATE' : 'now()';
  return (
    `INSERT INTO ${qualifiedName(dialect, MARKERS)} (publication, timelabel, state, dataset, upserts, deletes, max_bytes, max_rows, run_id, frozen_at) ` +
    `VALUES ($1, $2, 'frozen', $3, $4, $5, $6, $7, $8, ${now})`
  );
}

/** Parameters $1 publication, $2 timelabel, $3 batches. */
export function markDeliveredSql(dialect: WarehouseDialectName): string {
  const now = dialect === 'redshift' ? 'SYSDATE' : 'now()';
  return `UPDATE ${qualifiedName(dialect, MARKERS)} SET state = 'delivered', batches = $3, delivered_at = ${now} WHERE publication = $1 AND timelabel = $2 AND state = 'frozen'`;
}

/** Parameters $1 schema, $2 table. */
export function tableExistsSql(): string {
  return 'SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = $1 AND tablename = $2';
}

/** No rows: only the result's columns and their types. */
export function describeSql(dialect: WarehouseDialectName, table: TableRef): string {
  return `SELECT * FROM ${qualifiedName(dialect, table)} LIMIT 0`;
}

export function dropTableSql(dialect: WarehouseDialectName, table: TableRef): string {
  return `DROP TABLE IF EXISTS ${qualifiedName(dialect, table)}`;
}

export function countSql(dialect: WarehouseDialectName, table: TableRef): string {
  return `SELECT count(*)::text AS n FROM ${qualifiedName(dialect, table)}`;
}

// ---------------------------------------------------------------------------
// The row digest

/**
 * A column's value as text, in the form the digest reads. PostgreSQL casts
 * any type to text. Redshift cannot cast BOOLEAN, SUPER or VARBYTE to
 * VARCHAR, so those have their own forms.
 */
function textOf(dialect: WarehouseDialectName, ref: string, oid: number): string {
  if (dialect === 'postgres') return `(${ref})::text`;
  if (oid === OID.bool) return `CASE WHEN ${ref} THEN 't' WHEN NOT ${ref} THEN 'f' END`;
  if (oid === OID.redshiftSuper) return `JSON_SERIALIZE(${ref})`;
  if (oid === OID.redshiftVarbyte) return `FROM_VARBYTE(${ref}, 'hex')`;
  return `CAST(${ref} AS VARCHAR(65535))`;
}

/**
 * md5 of the column names, then of each value as `<bytes>:<text>` (`~` for
 * NULL), comma-separated: the length prefix keeps `a,b` + `c` apart from `a`
 * + `b,c`, and the names make a row sent with other columns differ from the
 * same values sent before. md5 is not there to resist an attacker, only to
 * notice a change; both warehouses have it.
 */
export function rowHashSql(dialect: WarehouseDialectName, alias: string, columns: readonly TypedColumn[]): string {
  if (columns.length === 0) throw new TypeError('a row digest needs at least one column');
  const header = quoteLiteral(dialect, JSON.stringify(columns.map((c) => c.name)));
  const parts = columns.map((c) => {
    const v = textOf(dialect, `${alias}.${quoteIdent(dialect, c.name)}`, c.oid);
    const length = dialect === 'postgres' ? `octet_length(${v})::text` : `CAST(OCTET_LENGTH(${v}) AS VARCHAR)`;
    return `COALESCE(${length} || ':' || ${v}, '~')`;
  });
  return `MD5(${header} || '|' || ${parts.join(" || ',' || ")})`;
}

// ---------------------------------------------------------------------------
// Checks on the dataset. Each returns rows only when something is wrong.

function cols(dialect: WarehouseDialectName, alias: string, names: readonly string[]): string {
  return names.map((n) => `${alias}.${quoteIdent(dialect, n)}`).join(', ');
}

function keyMatch(dialect: WarehouseDialectName, a: string, b: string, keys: readonly string[]): string {
  return keys.map((k) => `${a}.${quoteIdent(dialect, k)} = ${b}.${quoteIdent(dialect, k)}`).join(' AND ');
}

/** One row whose key has a NULL part: it could never be matched, so never updated or deleted. */
export function nullKeySql(dialect: WarehouseDialectName, dataset: TableRef, keys: readonly string[]): string {
  return `SELECT 1 FROM ${qualifiedName(dialect, dataset)} AS s WHERE ${keys.map((k) => `s.${quoteIdent(dialect, k)} IS NULL`).join(' OR ')} LIMIT 1`;
}

/** One key held by more than one row, as the text of each part: the receiver could not tell them apart. */
export function duplicateKeySql(dialect: WarehouseDialectName, dataset: TableRef, keys: readonly string[], oids: readonly number[]): string {
  const shown = keys.map((k, i) => `${textOf(dialect, `s.${quoteIdent(dialect, k)}`, oids[i])} AS k${i}`).join(', ');
  return `SELECT ${shown} FROM ${qualifiedName(dialect, dataset)} AS s GROUP BY ${cols(dialect, 's', keys)} HAVING count(*) > 1 LIMIT 1`;
}

// ---------------------------------------------------------------------------
// Freezing a timelabel's changes

export interface ChangeSqlInput {
  dataset: TableRef;
  tables: PublicationTables;
  /** The columns sent, in order, with their types (the digest's input). */
  columns: readonly TypedColumn[];
  /** Key columns; empty: rows are compared whole. */
  keys: readonly string[];
  /** Columns of the shadow besides the digest: the keys, or without keys the columns it was created with. */
  shadowColumns: readonly string[];
}

/** The shadow, empty, with the types of the dataset's columns it keeps. */
export function createShadowSql(dialect: WarehouseDialectName, input: ChangeSqlInput): string {
  const kept = input.keys.length > 0 ? input.keys : input.columns.map((c) => c.name);
  return (
    `CREATE TABLE ${qualifiedName(dialect, input.tables.shadow)} AS SELECT ${cols(dialect, 's', kept)}, ` +
    `${rowHashSql(dialect, 's', input.columns)} AS ${ROW_HASH} FROM ${qualifiedName(dialect, input.dataset)} AS s WHERE 1 = 0`
  );
}

/** The dataset's rows as sent, with their digest. */
function hashedDataset(dialect: WarehouseDialectName, input: ChangeSqlInput): string {
  return `SELECT ${cols(dialect, 's', input.columns.map((c) => c.name))}, ${rowHashSql(dialect, 's', input.columns)} AS ${ROW_HASH} FROM ${qualifiedName(dialect, input.dataset)} AS s`;
}

/**
 * Rows new or changed since the shadow, numbered in key order (without keys:
 * in digest order, one row per digest, as rows compared whole are a set).
 */
export function createUpsertsSql(dialect: WarehouseDialectName, input: ChangeSqlInput): string {
  const names = input.columns.map((c) => c.name);
  const target = qualifiedName(dialect, input.tables.upserts);
  const shadow = qualifiedName(dialect, input.tables.shadow);
  const hash = quoteIdent(dialect, ROW_HASH);
  if (input.keys.length > 0) {
    return (
      `CREATE TABLE ${target} AS SELECT ROW_NUMBER() OVER (ORDER BY ${cols(dialect, 'd', input.keys)}) AS ${SEQ}, ${cols(dialect, 'd', names)}, d.${hash} ` +
      `FROM (${hashedDataset(dialect, input)}) AS d LEFT JOIN ${shadow} AS p ON ${keyMatch(dialect, 'p', 'd', input.keys)} ` +
      `WHERE p.${hash} IS NULL OR p.${hash} <> d.${hash}`
    );
  }
  return (
    `CREATE TABLE ${target} AS SELECT ROW_NUMBER() OVER (ORDER BY d.${hash}) AS ${SEQ}, ${cols(dialect, 'd', names)}, d.${hash} ` +
    `FROM (SELECT h.*, ROW_NUMBER() OVER (PARTITION BY h.${hash} ORDER BY h.${hash}) AS ${DUP} FROM (${hashedDataset(dialect, input)}) AS h) AS d ` +
    `WHERE d.${DUP} = 1 AND NOT EXISTS (SELECT 1 FROM ${shadow} AS p WHERE p.${hash} = d.${hash})`
  );
}

/** Shadow rows whose key (without keys: whose digest) the dataset no longer has, numbered the same way. */
export function createDeletesSql(dialect: WarehouseDialectName, input: ChangeSqlInput): string {
  const target = qualifiedName(dialect, input.tables.deletes);
  const shadow = qualifiedName(dialect, input.tables.shadow);
  const hash = quoteIdent(dialect, ROW_HASH);
  const dataset = qualifiedName(dialect, input.dataset);
  const kept = cols(dialect, 'p', input.shadowColumns);
  if (input.keys.length > 0) {
    return (
      `CREATE TABLE ${target} AS SELECT ROW_NUMBER() OVER (ORDER BY ${cols(dialect, 'p', input.keys)}) AS ${SEQ}, ${kept}, p.${hash} FROM ${shadow} AS p ` +
      `WHERE NOT EXISTS (SELECT 1 FROM ${dataset} AS s WHERE ${keyMatch(dialect, 's', 'p', input.keys)})`
    );
  }
  return (
    `CREATE TABLE ${target} AS SELECT ROW_NUMBER() OVER (ORDER BY p.${hash}) AS ${SEQ}, ${kept}, p.${hash} FROM ${shadow} AS p ` +
    `WHERE NOT EXISTS (SELECT 1 FROM (SELECT ${rowHashSql(dialect, 's', input.columns)} AS ${ROW_HASH} FROM ${dataset} AS s) AS d WHERE d.${hash} = p.${hash})`
  );
}

/** Parameter $1: after this reef_seq. One page of a frozen table, in order. */
export function pageSql(dialect: WarehouseDialectName, table: TableRef, columns: readonly string[], limit: number): string {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new TypeError(`page size ${limit}; expected a positive integer`);
  return (
    `SELECT f.${SEQ}, ${cols(dialect, 'f', columns)}, f.${quoteIdent(dialect, ROW_HASH)} FROM ${qualifiedName(dialect, table)} AS f ` +
    `WHERE f.${SEQ} > $1 ORDER BY f.${SEQ} LIMIT ${limit}`
  );
}

// ---------------------------------------------------------------------------
// Committing a delivered timelabel: the shadow takes the frozen changes

/**
 * The statements that move the shadow to what the receiver now holds:
 * the keys changed or gone leave it, then the changed rows' keys and digests
 * come in. Without keys a shadow created with other columns than are sent
 * now had every row deleted (their digests name other columns), so it is
 * created again from the upserts.
 */
export function applyToShadowSql(dialect: WarehouseDialectName, input: ChangeSqlInput): string[] {
  const shadow = qualifiedName(dialect, input.tables.shadow);
  const upserts = qualifiedName(dialect, input.tables.upserts);
  const deletes = qualifiedName(dialect, input.tables.deletes);
  const hash = quoteIdent(dialect, ROW_HASH);
  // The DELETE target takes no alias in Redshift: its columns are qualified with the table's full name (PostgreSQL accepts the same).
  const by = (keys: readonly string[]): string => keyMatch(dialect, shadow, 'c', keys);
  if (input.keys.length > 0) {
    return [
      `DELETE FROM ${shadow} USING ${upserts} AS c WHERE ${by(input.keys)}`,
      `DELETE FROM ${shadow} USING ${deletes} AS c WHERE ${by(input.keys)}`,
      `INSERT INTO ${shadow} (${input.keys.map((k) => quoteIdent(dialect, k)).join(', ')}, ${hash}) SELECT ${cols(dialect, 'c', input.keys)}, c.${hash} FROM ${upserts} AS c`,
    ];
  }
  const names = input.columns.map((c) => c.name);
  const sameShape = names.length === input.shadowColumns.length && names.every((n, i) => n === input.shadowColumns[i]);
  if (!sameShape) {
    return [
      `DROP TABLE ${shadow}`,
      `CREATE TABLE ${shadow} AS SELECT ${cols(dialect, 'c', names)}, c.${hash} FROM ${upserts} AS c`,
    ];
  }
  return [
    `DELETE FROM ${shadow} USING ${deletes} AS c WHERE ${shadow}.${hash} = c.${hash}`,
    `INSERT INTO ${shadow} (${names.map((n) => quoteIdent(dialect, n)).join(', ')}, ${hash}) SELECT ${cols(dialect, 'c', names)}, c.${hash} FROM ${upserts} AS c`,
  ];
}
