/**
 * What the source says about a table, read from pg_catalog with bind
 * parameters only. Domains are resolved to their base type here so the type
 * mapping (types.ts) sees what binary COPY actually sends.
 */
import type pg from 'pg';
import { TerminalError } from '../../../shared/errors.ts';
import type { TableRef } from './sql.ts';

export interface PgType {
  oid: number;
  /** typname, e.g. `int4`, `_int4`, `mood`. */
  name: string;
  /** The namespace of the type (`pg_catalog` for built-ins). */
  schema: string;
  /** typtype: b base, c composite, d domain, e enum, p pseudo, r range, m multirange. */
  kind: string;
  /** typcategory: A array, N numeric, S string, ... */
  category: string;
  /** The type modifier in force: the column's, or a domain's own. -1 when none. */
  typmod: number;
}

export interface SourceColumn {
  name: string;
  /** attnum: the column's position in the table. */
  position: number;
  /** The source's own spelling, `format_type(atttypid, atttypmod)`: `numeric(12,2)`, `timestamp with time zone`. */
  sourceType: string;
  /** The declared type's oid (a domain's own oid for a domain column). */
  typeOid: number;
  notNull: boolean;
  /** attndims: dimensions as declared (`int[][]` is 2). PostgreSQL does not enforce it on values. */
  dimensions: number;
  /** The type after resolving domains. */
  base: PgType;
  /** For an array: its element type after resolving domains. */
  element: PgType | null;
  /** For numeric (or an array of numeric) with a declared precision: precision and scale. */
  numeric: { precision: number; scale: number } | null;
}

export interface SourceTable {
  schema: string;
  table: string;
  columns: SourceColumn[];
}

interface TypeRow {
  oid: number;
  typname: string;
  nspname: string;
  typtype: string;
  typcategory: string;
  typelem: number;
  typlen: number;
  typbasetype: number;
  typtypmod: number;
}

const TYPE_COLUMNS = `t.oid::int8 AS oid, t.typname, tn.nspname, t.typtype, t.typcategory, t.typelem::int8 AS typelem,
  t.typlen, t.typbasetype::int8 AS typbasetype, t.typtypmod`;

/** The relation kinds COPY (SELECT ...) can read: tables, partitioned tables, views, materialized views, foreign tables. */
const READABLE_KINDS = ['r', 'p', 'v', 'm', 'f'];

export async function describeTable(client: pg.ClientBase, ref: TableRef): Promise<SourceTable> {
  const rel = await client.query<{ oid: string; relkind: string; readable: boolean }>(
    `SELECT c.oid::int8::text AS oid, c.relkind, has_table_privilege(c.oid, 'SELECT') AS readable
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2`,
    [ref.schema, ref.table],
  );
  const name = `${ref.schema}.${ref.table}`;
  if (rel.rows.length === 0) {
    throw new TerminalError('source', `table ${name} does not exist in the source database; expected an existing table or view (unquoted names fold to lower case)`, {
      code: 'source.missing-table',
    });
  }
  const { oid, relkind, readable } = rel.rows[0];
  if (!READABLE_KINDS.includes(relkind)) {
    throw new TerminalError('source', `${name} is a relation of kind '${relkind}'; expected a table, view, materialized view or foreign table`, {
      code: 'source.not-a-table',
    });
  }
  if (!readable) {
    throw new TerminalError('source', `the source user may not SELECT from ${name}; expected SELECT privilege on it`, { code: 'source.permission' });
  }
  const cols = await client.query<TypeRow & { attname: string; attnum: number; atttypmod: number; attnotnull: boolean; attndims: number; formatted: string }>(
    `SELECT a.attname, a.attnum, a.atttypmod, a.attnotnull, a.attndims, format_type(a.atttypid, a.atttypmod) AS formatted, ${TYPE_COLUMNS}
       FROM pg_catalog.pg_attribute a
       JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
       JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace
      WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [oid],
  );
  const types = new TypeCache(client);
  const columns: SourceColumn[] = [];
  for (const row of cols.rows) {
    const declared = toTypeRow(row);
    types.remember(declared);
    const base = await types.resolve(declared, row.atttypmod);
    const isArray = base.row.typcategory === 'A' && base.row.typelem !== 0 && base.row.typlen === -1;
    // An array column's typmod belongs to its elements (numeric(10,2)[]).
    const element = isArray ? await types.resolve(await types.get(base.row.typelem), base.typmod) : null;
    const numericType = element ?? base;
    columns.push({
      name: row.attname,
      position: row.attnum,
      sourceType: row.formatted,
      typeOid: declared.oid,
      notNull: row.attnotnull,
      dimensions: row.attndims,
      base: toPgType(base.row, isArray ? -1 : base.typmod),
      element: element ? toPgType(element.row, element.typmod) : null,
      numeric: numericType.row.oid === NUMERIC_OID ? numericTypmod(numericType.typmod) : null,
    });
  }
  return { schema: ref.schema, table: ref.table, columns };
}

const NUMERIC_OID = 1700;

/** numeric's typmod packs precision and scale; the scale is 11-bit signed since PostgreSQL 15. */
export function numericTypmod(typmod: number): { precision: number; scale: number } | null {
  if (typmod < 4) return null;
  const t = typmod - 4;
  return { precision: (t >> 16) & 0xffff, scale: ((t & 0x7ff) ^ 1024) - 1024 };
}

function toTypeRow(r: TypeRow): TypeRow {
  return {
    oid: Number(r.oid),
    typname: r.typname,
    nspname: r.nspname,
    typtype: r.typtype,
    typcategory: r.typcategory,
    typelem: Number(r.typelem),
    typlen: r.typlen,
    typbasetype: Number(r.typbasetype),
    typtypmod: r.typtypmod,
  };
}

function toPgType(r: TypeRow, typmod: number): PgType {
  return { oid: r.oid, name: r.typname, schema: r.nspname, kind: r.typtype, category: r.typcategory, typmod };
}

class TypeCache {
  private readonly rows = new Map<number, TypeRow>();
  private readonly client: pg.ClientBase;
  constructor(client: pg.ClientBase) {
    this.client = client;
  }

  remember(r: TypeRow): void {
    this.rows.set(r.oid, r);
  }

  async get(oid: number): Promise<TypeRow> {
    const known = this.rows.get(oid);
    if (known) return known;
    const r = await this.client.query<TypeRow>(
      `SELECT ${TYPE_COLUMNS} FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace WHERE t.oid = $1::oid`,
      [String(oid)],
    );
    if (r.rows.length === 0) {
      throw new TerminalError('source', `type oid ${oid} is not in pg_type; expected every column type to exist (was it dropped concurrently?)`, { code: 'source.catalog' });
    }
    const row = toTypeRow(r.rows[0]);
    this.rows.set(oid, row);
    return row;
  }

  /** Follow domains down to the base type; a domain's own typmod applies when the column has none. */
  async resolve(row: TypeRow, typmod: number): Promise<{ row: TypeRow; typmod: number }> {
    let current = row;
    let mod = typmod;
    for (let depth = 0; current.typtype === 'd'; depth++) {
      if (depth > 32) throw new TerminalError('source', `domain ${current.nspname}.${current.typname} nests more than 32 levels; expected a base type`, { code: 'source.catalog' });
      if (mod < 0) mod = current.typtypmod;
      current = await this.get(current.typbasetype);
    }
    return { row: current, typmod: mod };
  }
}

const PATTERN = /^([A-Za-z_][A-Za-z0-9_$]*)\.([A-Za-z0-9_$]*)\*$/;

/**
 * The base tables a `schema.prefix*` pattern names, sorted by name. Partitions
 * are left out: their partitioned parent carries their rows. Unquoted like SQL,
 * so both parts fold to lower case.
 */
export async function listTables(client: pg.ClientBase, schemaPattern: string): Promise<TableRef[]> {
  const m = PATTERN.exec(schemaPattern);
  if (!m) {
    throw new TerminalError('config', `the table pattern ${JSON.stringify(schemaPattern)} is not of the form schema.prefix*; expected e.g. audit.* or shop.order_*`, {
      code: 'config.pattern',
    });
  }
  const schema = m[1].toLowerCase();
  const prefix = m[2].toLowerCase().replace(/[!%_]/g, '!$&');
  const r = await client.query<{ relname: string }>(
    `SELECT c.relname
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname LIKE $2 ESCAPE '!' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      ORDER BY c.relname COLLATE "C"`,
    [schema, `${prefix}%`],
  );
  return r.rows.map((row) => ({ schema, table: row.relname }));
}
