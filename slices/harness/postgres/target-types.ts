/**
 * Column types across the publish: a dataset column's type in the warehouse →
 * the type of its column in the application's PostgreSQL (what a created
 * target gets), and which types an existing target column may have instead
 * (those that hold every value of the expected type exactly, read back as the
 * same text). Type names are PostgreSQL's `format_type` spelling on both sides.
 */
import type { WarehouseDialectName } from '../../../shared/harness/publication.ts';

/** A dataset column as the warehouse's catalog describes it (see `datasetColumnsSql`). */
export interface WarehouseColumn {
  name: string;
  /** `format_type` of the column's type; on PostgreSQL, of a domain's base type. */
  type: string;
  /**
   * PostgreSQL only: false when the type (or an array's element type) is not a
   * built-in one (an enum, a composite, an extension's type, a domain over a
   * domain): it need not exist in the application's database.
   */
  portable?: boolean;
}

/** Redshift's longest VARCHAR, what the organize slice gives text: any length fits PostgreSQL `text`. */
const REDSHIFT_MAX_VARCHAR = 65535;

/**
 * Redshift types (as `format_type` spells them) that PostgreSQL has under the
 * same name and reads from the same text. Anything else is mapped below or
 * becomes text.
 */
const REDSHIFT_SAME = /^(smallint|integer|bigint|real|double precision|boolean|date|numeric(\(\d+,\d+\))?|character(\(\d+\))?|character varying\(\d+\)|time( without time zone| with time zone)|timestamp( without time zone| with time zone))$/;

/** The type a target column gets for a dataset column. */
export function targetType(dialect: WarehouseDialectName, column: WarehouseColumn): string {
  return dialect === 'postgres' ? postgresTargetType(column) : redshiftTargetType(column.type);
}

function postgresTargetType(column: WarehouseColumn): string {
  if (column.portable !== false) return column.type;
  // The values are read as text either way; an enum's label or a composite's literal is kept as that text.
  return parseType(column.type).array ? 'text[]' : 'text';
}

export function redshiftTargetType(type: string): string {
  const t = type.toLowerCase().trim();
  const varchar = /^character varying\((\d+)\)$/.exec(t);
  if (varchar && Number(varchar[1]) >= REDSHIFT_MAX_VARCHAR) return 'text';
  if (REDSHIFT_SAME.test(t)) return t;
  if (t === 'super') return 'jsonb';
  if (/^(varbyte|varbinary|binary varying)\b/.test(t)) return 'bytea';
  if (t.startsWith('interval')) return 'interval';
  // geometry and geography as EWKT, hllsketch and anything newer as its text.
  return 'text';
}

/** How a Redshift column is read as text exactly (PostgreSQL: `::text` does it for every type). */
export type RedshiftReadForm = 'json' | 'boolean' | 'varbyte' | 'spatial' | 'cast';

export function redshiftReadForm(type: string): RedshiftReadForm {
  const t = type.toLowerCase().trim();
  if (t === 'super') return 'json';
  // Redshift refuses to cast a boolean to VARCHAR.
  if (t === 'boolean') return 'boolean';
  if (/^(varbyte|varbinary|binary varying)\b/.test(t)) return 'varbyte';
  if (t === 'geometry' || t === 'geography') return 'spatial';
  return 'cast';
}

// ---------------------------------------------------------------------------
// Compatibility of an existing target column

interface ParsedType {
  /** The name without its modifier: `character varying`, `timestamp without time zone`. */
  base: string;
  /** The numbers in parentheses: `numeric(12,2)` → [12, 2]; none → []. */
  modifier: number[];
  array: boolean;
}

export function parseType(type: string): ParsedType {
  let t = type.trim().toLowerCase();
  let array = false;
  while (t.endsWith('[]')) {
    array = true;
    t = t.slice(0, -2).trimEnd();
  }
  const m = /^([^(]*)\(([^)]*)\)(.*)$/.exec(t);
  if (!m) return { base: t, modifier: [], array };
  const modifier = m[2].split(',').map((x) => Number(x.trim()));
  return { base: `${m[1].trim()}${m[3] ? ` ${m[3].trim()}` : ''}`, modifier: modifier.some(Number.isNaN) ? [] : modifier, array };
}

/** Integers widen to a wider integer or an unconstrained numeric. */
const INTEGER_RANK: Record<string, number> = { smallint: 1, integer: 2, bigint: 3 };
/** Types whose modifier is a fractional-seconds precision, 6 when absent. */
const PRECISION_TYPES = new Set(['timestamp without time zone', 'timestamp with time zone', 'time without time zone', 'time with time zone', 'interval']);
const DEFAULT_SECONDS_PRECISION = 6;

/**
 * Whether a target column of type `found` holds every value of type
 * `expected` exactly. Equal types, and: a wider integer; numeric with room
 * for the digits on both sides of the point; longer or unlimited character
 * varying, or text; more fractional-second digits; json for jsonb (jsonb's
 * text is valid json; the other way would reorder keys). Arrays by element.
 */
export function holdsEvery(found: string, expected: string): boolean {
  const f = parseType(found);
  const e = parseType(expected);
  if (f.array !== e.array) return false;
  if (f.base === e.base && sameModifier(f.modifier, e.modifier)) return true;
  if (e.base in INTEGER_RANK) {
    if (f.base in INTEGER_RANK) return INTEGER_RANK[f.base] >= INTEGER_RANK[e.base];
    return f.base === 'numeric' && f.modifier.length === 0;
  }
  if (e.base === 'numeric' && f.base === 'numeric') {
    if (f.modifier.length === 0) return true;
    if (e.modifier.length === 0) return false;
    const [fp, fs = 0] = f.modifier;
    const [ep, es = 0] = e.modifier;
    return fs >= es && fp - fs >= ep - es;
  }
  if (e.base === 'character varying' || e.base === 'text') {
    if (f.base === 'text') return true;
    if (f.base !== 'character varying') return false;
    if (f.modifier.length === 0) return true;
    return e.base === 'character varying' && e.modifier.length > 0 && f.modifier[0] >= e.modifier[0];
  }
  if (PRECISION_TYPES.has(e.base) && f.base === e.base) {
    return (f.modifier[0] ?? DEFAULT_SECONDS_PRECISION) >= (e.modifier[0] ?? DEFAULT_SECONDS_PRECISION);
  }
  return e.base === 'jsonb' && f.base === 'json';
}

function sameModifier(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
