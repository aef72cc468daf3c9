/**
 * A dataset column (as the collect slice recorded it) → the column type it
 * gets in the warehouse, for Redshift and for the local PostgreSQL stand-in.
 * The table in README.md is this file in prose; keep the two in step.
 *
 * The Parquet descriptor decides (it says what the lake really holds); the
 * source type only refines it where the warehouse can say more (char(n),
 * json vs jsonb, built-in types that travelled as text).
 */
import type { ColumnSchema, ParquetColumnType } from '../../../shared/schema.ts';
import { TerminalError } from '../../../shared/errors.ts';

export type DialectName = 'redshift' | 'postgres';

/**
 * Redshift's VARCHAR length counts bytes, PostgreSQL's characters: a
 * varchar(40) of emoji needs 160 bytes. Declaring the maximum means no source
 * text is ever refused or cut for length; Redshift stores VARCHAR compressed
 * and by actual length, so the declared width costs no disk (only query
 * memory for wide sorts). A value over 65535 bytes fails the COPY, naming the
 * column: Reef never truncates silently.
 */
export const REDSHIFT_TEXT = 'VARCHAR(65535)';

/** Redshift CHAR is at most 4096 bytes; longer char(n) columns go to VARCHAR. */
const REDSHIFT_MAX_CHAR = 4096;

/** Redshift DECIMAL holds at most 38 digits, the same bound as Reef's Parquet DECIMAL. */
const REDSHIFT_MAX_DECIMAL = 38;

/**
 * Built-in PostgreSQL types whose text output (under the collect slice's
 * pinned settings) is accepted back by their input function whatever the
 * session: a column carried as text in one of these gets its native type in
 * the PostgreSQL warehouse. Left out on purpose: money (its text depends on
 * lc_monetary, which may differ between source and warehouse), "char" (a byte
 * that may not be UTF-8), user and extension types (they may not exist in
 * the warehouse): those stay text.
 */
const NATIVE_TEXT_CARRIED = new RegExp(
  '^(' +
    [
      'smallint', 'integer', 'bigint', 'real', 'double precision', 'boolean', 'text', 'bytea', 'uuid', 'date', 'json', 'jsonb',
      'numeric(\\(\\d+,-?\\d+\\))?',
      'interval( (year|month|day|hour|minute|second)( to (month|hour|minute|second))?)?(\\(\\d\\))?',
      'time(\\(\\d\\))? with(out)? time zone', 'timestamp(\\(\\d\\))? with(out)? time zone',
      'character varying(\\(\\d+\\))?', 'character(\\(\\d+\\))?',
      'inet', 'cidr', 'macaddr8?', 'bit(\\(\\d+\\))?', 'bit varying(\\(\\d+\\))?', 'xml',
      'point', 'line', 'lseg', 'box', 'path', 'polygon', 'circle', 'tsvector', 'tsquery', 'pg_lsn',
      '(int4|int8|num|ts|tstz|date)(multi)?range',
    ].join('|') +
    ')(\\[\\])?$',
);

/** The column type in the warehouse's own spelling. */
export function warehouseType(dialect: DialectName, column: ColumnSchema): string {
  return dialect === 'redshift' ? redshiftType(column) : postgresType(column);
}

/**
 * Where the Redshift staging column must differ from the target column:
 * COPY loads a Parquet JSON string as a VARCHAR, and the apply step parses it
 * into SUPER (JSON_PARSE), so objects stay navigable instead of becoming one
 * SUPER string. A LIST is loaded straight into SUPER as nested data.
 */
export function redshiftStagingType(column: ColumnSchema): string {
  if (!column.parquet.list && isJson(column.parquet)) return REDSHIFT_TEXT;
  return redshiftType(column);
}

export function isJson(p: ParquetColumnType): boolean {
  return p.logical?.type === 'JSON';
}

function redshiftType(c: ColumnSchema): string {
  const p = c.parquet;
  if (p.list) return 'SUPER';
  if (c.carriedAsText) return REDSHIFT_TEXT;
  const l = p.logical;
  switch (l?.type) {
    case 'DECIMAL':
      if (l.precision > REDSHIFT_MAX_DECIMAL) return REDSHIFT_TEXT;
      return `DECIMAL(${l.precision},${l.scale})`;
    case 'INTEGER':
      return l.bitWidth <= 16 ? 'SMALLINT' : l.bitWidth <= 32 ? 'INTEGER' : 'BIGINT';
    case 'STRING': {
      const n = charLength(c.sourceType);
      return n !== undefined && n <= REDSHIFT_MAX_CHAR ? `CHAR(${n})` : REDSHIFT_TEXT;
    }
    case 'ENUM':
      return REDSHIFT_TEXT;
    case 'JSON':
      return 'SUPER';
    case 'UUID':
      // 36 characters in the canonical form; Redshift has no uuid type.
      return 'VARCHAR(36)';
    case 'DATE':
      return 'DATE';
    case 'TIME':
      return 'TIME';
    case 'TIMESTAMP':
      return l.isAdjustedToUTC ? 'TIMESTAMPTZ' : 'TIMESTAMP';
    case undefined:
      break;
  }
  switch (p.physical) {
    case 'BOOLEAN': return 'BOOLEAN';
    case 'INT32': return 'INTEGER';
    case 'INT64': return 'BIGINT';
    case 'FLOAT': return 'REAL';
    case 'DOUBLE': return 'DOUBLE PRECISION';
    case 'BYTE_ARRAY': return 'VARBYTE';
    default: return unmapped(c);
  }
}

function postgresType(c: ColumnSchema): string {
  const p = c.parquet;
  if (c.carriedAsText) {
    // An array of text-carried elements is a LIST of their text; a 2+-dimensional array is one text.
    const source = c.sourceType.trim();
    return NATIVE_TEXT_CARRIED.test(source) ? source : p.list ? 'text[]' : 'text';
  }
  const scalar = postgresScalar(c);
  return p.list ? `${scalar}[]` : scalar;
}

function postgresScalar(c: ColumnSchema): string {
  const p = c.parquet;
  const l = p.logical;
  switch (l?.type) {
    case 'DECIMAL': return `numeric(${l.precision},${l.scale})`;
    case 'INTEGER': return l.bitWidth <= 16 ? 'smallint' : l.bitWidth <= 32 ? 'integer' : 'bigint';
    case 'STRING': {
      // char(n) keeps its padding semantics; varchar(n) becomes text so a source that widens it never fails a load.
      const n = charLength(c.sourceType);
      return n !== undefined ? `character(${n})` : 'text';
    }
    case 'ENUM': return 'text';
    case 'JSON': return /^json(\[\])?$/.test(c.sourceType.trim()) ? 'json' : 'jsonb';
    case 'UUID': return 'uuid';
    case 'DATE': return 'date';
    case 'TIME': return 'time';
    case 'TIMESTAMP': return l.isAdjustedToUTC ? 'timestamptz' : 'timestamp';
    case undefined: break;
  }
  switch (p.physical) {
    case 'BOOLEAN': return 'boolean';
    case 'INT32': return 'integer';
    case 'INT64': return 'bigint';
    case 'FLOAT': return 'real';
    case 'DOUBLE': return 'double precision';
    case 'BYTE_ARRAY': return 'bytea';
    default: return unmapped(c);
  }
}

/** n of `character(n)` (and its array), as format_type spells it. */
function charLength(sourceType: string): number | undefined {
  const m = /^character\((\d+)\)(\[\])?$/.exec(sourceType.trim());
  return m ? Number(m[1]) : undefined;
}

function unmapped(c: ColumnSchema): never {
  throw new TerminalError('target', `column ${c.name} (${c.sourceType}) arrives as Parquet ${JSON.stringify(c.parquet)}, which has no warehouse type; expected a type from the collect slice's mapping table`, {
    code: 'target.unmapped-type',
  });
}
