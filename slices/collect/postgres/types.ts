/**
 * PostgreSQL type → Parquet type, and the decoding of each type's binary COPY
 * form into a ColumnBuilder. The table in README.md is this file in prose;
 * keep the two in step.
 *
 * Principle: a value is either carried in a Parquet type that holds every
 * value of the PostgreSQL type exactly, or carried as the PostgreSQL text
 * output of the value (`col::text`) with `carriedAsText` saying why. A column
 * is never dropped.
 */
import type pg from 'pg';
import type { ColumnSchema, DatasetSchema, ParquetColumnType } from '../../../shared/schema.ts';
import type { ColumnBuilder } from '../../../shared/lake/parquet.ts';
import { twosComplement } from '../../../shared/lake/parquet.ts';
import { TerminalError } from '../../../shared/errors.ts';
import type { PgType, SourceColumn, SourceTable } from './catalog.ts';
import { quoteIdent } from './sql.ts';

// How a value arrives in binary COPY. Small integers so the decode loop switches on a number.
export const KIND = {
  bool: 0,
  int2: 1,
  int4: 2,
  int8: 3,
  float4: 4,
  float8: 5,
  decimal32: 6,
  decimal64: 7,
  decimalFixed: 8,
  bytes: 9,
  jsonb: 10,
  uuid: 11,
  date: 12,
  time: 13,
  timestamp: 14,
} as const;
export type Kind = (typeof KIND)[keyof typeof KIND];

export interface ColumnMapping {
  name: string;
  schema: ColumnSchema;
  /** The expression in the COPY's SELECT list: the quoted column, or it cast to text. */
  select: string;
  /** The kind of the value, or of each element for a LIST. */
  kind: Kind;
  list: boolean;
  /** DECIMAL columns: the declared scale, and the byte width when FIXED_LEN_BYTE_ARRAY. */
  scale: number;
  width: number;
}

/** Built-in type oids (fixed in PostgreSQL's catalog since forever). */
const OID = {
  bool: 16,
  bytea: 17,
  char: 18,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  json: 114,
  float4: 700,
  float8: 701,
  money: 790,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  timetz: 1266,
  numeric: 1700,
  uuid: 2950,
  jsonb: 3802,
} as const;

/** Parquet DECIMAL is at most 38 digits in 16 bytes, the widest most readers accept. */
export const MAX_DECIMAL_PRECISION = 38;

interface Scalar {
  parquet: ParquetColumnType;
  kind: Kind;
  scale?: number;
  width?: number;
}

type ScalarMapping = Scalar | { text: string };

const STRING: ParquetColumnType = { physical: 'BYTE_ARRAY', logical: { type: 'STRING' } };

/** The mapping of one scalar type (domains already resolved), or why it is carried as text. */
function mapScalar(t: PgType, numeric: { precision: number; scale: number } | null): ScalarMapping {
  if (t.kind === 'e') return { parquet: { physical: 'BYTE_ARRAY', logical: { type: 'ENUM' } }, kind: KIND.bytes };
  if (t.kind !== 'b') {
    const what = { c: 'a composite type', r: 'a range', m: 'a multirange', p: 'a pseudo-type' }[t.kind] ?? `a type of kind '${t.kind}'`;
    return { text: `${t.name} is ${what}, which has no Parquet counterpart here; carried as its text output` };
  }
  if (t.schema !== 'pg_catalog') {
    // Extension types: only citext has a binary form we know to be plain text.
    if (t.name === 'citext') return { parquet: STRING, kind: KIND.bytes };
    return { text: `${t.schema}.${t.name} is an extension type without a known binary form; carried as its text output` };
  }
  switch (t.oid) {
    case OID.bool: return { parquet: { physical: 'BOOLEAN' }, kind: KIND.bool };
    case OID.int2: return { parquet: { physical: 'INT32', logical: { type: 'INTEGER', bitWidth: 16, signed: true } }, kind: KIND.int2 };
    case OID.int4: return { parquet: { physical: 'INT32' }, kind: KIND.int4 };
    case OID.int8: return { parquet: { physical: 'INT64' }, kind: KIND.int8 };
    case OID.float4: return { parquet: { physical: 'FLOAT' }, kind: KIND.float4 };
    case OID.float8: return { parquet: { physical: 'DOUBLE' }, kind: KIND.float8 };
    case OID.numeric: return mapNumeric(numeric);
    case OID.text:
    case OID.varchar:
    case OID.bpchar:
    case OID.name:
      return { parquet: STRING, kind: KIND.bytes };
    case OID.json: return { parquet: { physical: 'BYTE_ARRAY', logical: { type: 'JSON' } }, kind: KIND.bytes };
    case OID.jsonb: return { parquet: { physical: 'BYTE_ARRAY', logical: { type: 'JSON' } }, kind: KIND.jsonb };
    case OID.bytea: return { parquet: { physical: 'BYTE_ARRAY' }, kind: KIND.bytes };
    case OID.uuid: return { parquet: { physical: 'FIXED_LEN_BYTE_ARRAY', length: 16, logical: { type: 'UUID' } }, kind: KIND.uuid };
    case OID.date: return { parquet: { physical: 'INT32', logical: { type: 'DATE' } }, kind: KIND.date };
    case OID.time: return { parquet: { physical: 'INT64', logical: { type: 'TIME', unit: 'MICROS', isAdjustedToUTC: false } }, kind: KIND.time };
    case OID.timestamp: return { parquet: { physical: 'INT64', logical: { type: 'TIMESTAMP', unit: 'MICROS', isAdjustedToUTC: false } }, kind: KIND.timestamp };
    case OID.timestamptz: return { parquet: { physical: 'INT64', logical: { type: 'TIMESTAMP', unit: 'MICROS', isAdjustedToUTC: true } }, kind: KIND.timestamp };
    case OID.interval:
      return { text: "Parquet's INTERVAL holds milliseconds and PostgreSQL's microseconds; carried as ISO 8601 text (P1Y2M3DT4H5M6.789012S), exact and readable everywhere" };
    case OID.timetz: return { text: 'Parquet TIME has no UTC offset to keep; carried as its text output (04:05:06.789+02)' };
    case OID.money: return { text: "money's scale depends on the server's lc_monetary; carried as its text output" };
    case OID.char: return { text: '"char" is a single byte that may not be valid UTF-8; carried as its text output' };
    default: return { text: `${t.name} has no faithful Parquet type; carried as its text output` };
  }
}

function mapNumeric(n: { precision: number; scale: number } | null): ScalarMapping {
  if (!n) return { text: 'numeric without a declared precision holds any number of digits, NaN and ±Infinity; Parquet DECIMAL needs a fixed precision, so carried as exact text' };
  const { precision, scale } = n;
  if (precision > MAX_DECIMAL_PRECISION) return { text: `numeric(${precision},${scale}) exceeds the ${MAX_DECIMAL_PRECISION} digits of Parquet DECIMAL; carried as exact text` };
  if (scale < 0 || scale > precision) return { text: `numeric(${precision},${scale}) has a scale outside 0..precision, which Parquet DECIMAL cannot declare; carried as exact text` };
  const logical = { type: 'DECIMAL' as const, precision, scale };
  if (precision <= 9) return { parquet: { physical: 'INT32', logical }, kind: KIND.decimal32, scale };
  if (precision <= 18) return { parquet: { physical: 'INT64', logical }, kind: KIND.decimal64, scale };
  const width = decimalBytes(precision);
  return { parquet: { physical: 'FIXED_LEN_BYTE_ARRAY', length: width, logical }, kind: KIND.decimalFixed, scale, width };
}

/** The fewest bytes of two's complement that hold every `precision`-digit number. */
export function decimalBytes(precision: number): number {
  const max = 10n ** BigInt(precision) - 1n;
  let n = 1;
  while (max >= 1n << BigInt(8 * n - 1)) n++;
  return n;
}

/** The mapping of one source column: its Parquet type, its SELECT expression, its decoder. */
export function mapColumn(col: SourceColumn): ColumnMapping {
  const id = quoteIdent(col.name);
  const nullable = !col.notNull;
  const base = (parquet: ParquetColumnType, carriedAsText?: string): ColumnSchema => ({
    name: col.name,
    sourceType: col.sourceType,
    nullable,
    parquet,
    ...(carriedAsText ? { carriedAsText } : {}),
  });
  const asText = (reason: string, select = `${id}::text`, list = false): ColumnMapping => ({
    name: col.name,
    schema: base(list ? { ...STRING, list: true } : STRING, reason),
    select,
    kind: KIND.bytes,
    list,
    scale: 0,
    width: 0,
  });
  if (col.element) {
    if (col.dimensions > 1) {
      return asText(`declared with ${col.dimensions} dimensions and a Parquet LIST has one; carried as its text output ({{1,2},{3,4}})`);
    }
    const e = mapScalar(col.element, col.numeric);
    if ('text' in e) return asText(`elements carried as text: ${e.text}`, `${id}::text[]`, true);
    return {
      name: col.name,
      schema: base({ ...e.parquet, list: true }),
      select: id,
      kind: e.kind,
      list: true,
      scale: e.scale ?? 0,
      width: e.width ?? 0,
    };
  }
  const s = mapScalar(col.base, col.numeric);
  if ('text' in s) return asText(s.text);
  return { name: col.name, schema: base(s.parquet), select: id, kind: s.kind, list: false, scale: s.scale ?? 0, width: s.width ?? 0 };
}

export function mapTable(table: SourceTable): ColumnMapping[] {
  return table.columns.map(mapColumn);
}

export function datasetSchema(mappings: ColumnMapping[]): DatasetSchema {
  return { columns: mappings.map((m) => m.schema) };
}

/**
 * Session settings that fix every text form Reef reads: `::text` casts in the
 * COPY and cursor bounds must not depend on who configured the server. Pinned
 * on the connection before any query that produces text.
 */
export const TEXT_FORM_SETTINGS: Record<string, string> = {
  DateStyle: 'ISO, YMD',
  IntervalStyle: 'iso_8601',
  TimeZone: 'UTC',
  extra_float_digits: '3',
  bytea_output: 'hex',
  client_encoding: 'UTF8',
};

export async function pinTextForms(client: pg.ClientBase): Promise<void> {
  const sets = Object.entries(TEXT_FORM_SETTINGS).map(([k, v]) => `SET ${k} = '${v}'`);
  await client.query(sets.join('; '));
}

// ---------------------------------------------------------------------------
// Decoding binary COPY values. Each decoder reads one non-null value of `len`
// bytes at `off` and appends it to the builder's values; levels are the caller's.

/** Days from 1970-01-01 to PostgreSQL's epoch 2000-01-01. */
const EPOCH_DAYS = 10957;
/** Microseconds from 1970-01-01 to 2000-01-01, as two 32-bit halves for carry arithmetic. */
const EPOCH_MICROS = 946_684_800_000_000;
const TWO32 = 4294967296;
const EPOCH_HI = Math.floor(EPOCH_MICROS / TWO32);
const EPOCH_LO = EPOCH_MICROS - EPOCH_HI * TWO32;
const INT32_MAX = 0x7fffffff;
const INT32_MIN = -0x80000000;

/**
 * INFINITY. PostgreSQL's date and timestamp 'infinity' and '-infinity' are
 * its type's largest and smallest values. Parquet has no infinity, so they
 * are written as the largest value and the negated largest value of the
 * Parquet type (INT32 ±2147483647 days, INT64 ±9223372036854775807 µs): the
 * convention DuckDB (and so anything reading through it) shows as
 * ±infinity. Other readers see dates far outside any real data, never a
 * plausible-looking value, and nothing is dropped or fails.
 */

/**
 * `dv` and `src` view the same bytes: the DataView for big-endian numbers,
 * the bytes for copying.
 */
export function decodeValue(kind: Kind, dv: DataView, src: Uint8Array, off: number, len: number, b: ColumnBuilder, m: ColumnMapping): void {
  switch (kind) {
    case KIND.bytes:
      b.bytes(src, off, off + len);
      return;
    case KIND.int4:
      b.int32(dv.getInt32(off));
      return;
    case KIND.int8:
    case KIND.time:
      b.int64(dv.getInt32(off), dv.getUint32(off + 4));
      return;
    case KIND.timestamp:
      decodeTimestamp(dv, off, b, m);
      return;
    case KIND.float8:
      b.double(dv.getFloat64(off));
      return;
    case KIND.bool:
      b.boolean(src[off] !== 0);
      return;
    case KIND.uuid:
      b.fixed(src, off);
      return;
    case KIND.int2:
      b.int32(dv.getInt16(off));
      return;
    case KIND.float4:
      b.float(dv.getFloat32(off));
      return;
    case KIND.decimal32:
    case KIND.decimal64:
    case KIND.decimalFixed:
      decodeNumeric(dv, off, b, m);
      return;
    case KIND.jsonb:
      // jsonb's binary form is a version byte then the JSON text.
      if (src[off] !== 1) throw new TerminalError('source', `column ${m.name}: jsonb binary format version ${src[off]}; expected version 1`, { code: 'source.format' });
      b.bytes(src, off + 1, off + len);
      return;
    case KIND.date: {
      const d = dv.getInt32(off);
      // ±infinity: see INFINITY below.
      b.int32(d === INT32_MAX ? INT32_MAX : d === INT32_MIN ? -INT32_MAX : d + EPOCH_DAYS);
      return;
    }
  }
}

/**
 * PostgreSQL counts microseconds from 2000-01-01, Parquet from 1970-01-01.
 * ±infinity: see INFINITY below.
 */
function decodeTimestamp(dv: DataView, off: number, b: ColumnBuilder, m: ColumnMapping): void {
  const hi = dv.getInt32(off);
  const lo = dv.getUint32(off + 4);
  if (hi === INT32_MAX && lo === 0xffffffff) {
    b.int64(INT32_MAX, 0xffffffff);
    return;
  }
  if (hi === INT32_MIN && lo === 0) {
    b.int64(INT32_MIN, 1);
    return;
  }
  let nlo = lo + EPOCH_LO;
  let nhi = hi + EPOCH_HI;
  if (nlo >= TWO32) {
    nlo -= TWO32;
    nhi++;
  }
  if (nhi > INT32_MAX) {
    throw new TerminalError('source', `column ${m.name} holds a timestamp after 294246 AD, beyond Parquet's microseconds since 1970; expected a timestamp Parquet can hold`, {
      code: 'source.unrepresentable-value',
    });
  }
  b.int64(nhi, nlo);
}

const POW10: number[] = Array.from({ length: 23 }, (_, i) => 10 ** i);
const NUMERIC_POS = 0x0000;
const NUMERIC_NEG = 0x4000;

/**
 * numeric's binary form: ndigits, weight, sign, dscale, then base-10000 digits.
 * The unscaled integer at the column's scale is summed exactly: in doubles
 * while it stays below 2^53 (every partial sum is then exact), else in BigInt.
 */
function decodeNumeric(dv: DataView, off: number, b: ColumnBuilder, m: ColumnMapping): void {
  const ndigits = dv.getInt16(off);
  const weight = dv.getInt16(off + 2);
  const sign = dv.getUint16(off + 4);
  if (sign !== NUMERIC_POS && sign !== NUMERIC_NEG) {
    const what = sign === 0xc000 ? 'NaN' : sign === 0xd000 ? 'Infinity' : sign === 0xf000 ? '-Infinity' : `an unknown sign word 0x${sign.toString(16)}`;
    throw new TerminalError('source', `column ${m.name} (${m.schema.sourceType}) holds ${what}, which Parquet DECIMAL cannot represent; expected a finite number (a numeric column without precision is carried as text and keeps it)`, {
      code: 'source.unrepresentable-value',
    });
  }
  const scale = m.scale;
  let v = 0;
  let exact = true;
  for (let i = 0; i < ndigits; i++) {
    const d = dv.getUint16(off + 8 + 2 * i);
    if (d === 0) continue;
    const e = 4 * (weight - i) + scale;
    if (e >= 0) {
      if (e > 22) {
        exact = false;
        break;
      }
      v += d * POW10[e];
    } else {
      // Digits past the column's scale are zero: the value was rounded to it on input.
      v += Math.trunc(d / POW10[-e]);
    }
  }
  if (!exact || v > Number.MAX_SAFE_INTEGER) {
    writeBigDecimal(numericBigInt(dv, off, ndigits, weight, scale, sign), b, m);
    return;
  }
  if (sign === NUMERIC_NEG) v = -v;
  if (m.kind === KIND.decimal32) {
    b.int32(v);
  } else if (m.kind === KIND.decimal64) {
    const hi = Math.floor(v / TWO32);
    b.int64(hi, v - hi * TWO32);
  } else {
    writeBigDecimal(BigInt(v), b, m);
  }
}

function numericBigInt(dv: DataView, off: number, ndigits: number, weight: number, scale: number, sign: number): bigint {
  let v = 0n;
  for (let i = 0; i < ndigits; i++) v = v * 10000n + BigInt(dv.getUint16(off + 8 + 2 * i));
  const e = 4 * (weight - (ndigits - 1)) + scale;
  if (e >= 0) v *= 10n ** BigInt(e);
  else v /= 10n ** BigInt(-e);
  return sign === NUMERIC_NEG ? -v : v;
}

function writeBigDecimal(v: bigint, b: ColumnBuilder, m: ColumnMapping): void {
  if (m.kind === KIND.decimal64) b.bigint64(v);
  else if (m.kind === KIND.decimalFixed) b.fixed(twosComplement(v, m.width), 0);
  else b.int32(Number(v));
}

/** Binary array: ndim, has-nulls flag, element oid, then (size, lower bound) per dimension, then (length, bytes) per element. */
export function decodeArray(dv: DataView, src: Uint8Array, off: number, b: ColumnBuilder, m: ColumnMapping): void {
  const ndim = dv.getInt32(off);
  if (ndim === 0) {
    b.emptyList();
    return;
  }
  if (ndim !== 1) {
    throw new TerminalError('source', `column ${m.name} (${m.schema.sourceType}) holds a ${ndim}-dimensional array; expected one dimension as declared (declare the column ${m.schema.sourceType.replace(/\[\]$/, '[][]')} to carry it as text)`, {
      code: 'source.unrepresentable-value',
    });
  }
  const size = dv.getInt32(off + 12);
  let p = off + 20;
  const kind = m.kind;
  for (let i = 0; i < size; i++) {
    const len = dv.getInt32(p);
    p += 4;
    if (len < 0) {
      b.element(false, i === 0);
    } else {
      b.element(true, i === 0);
      decodeValue(kind, dv, src, p, len, b, m);
      p += len;
    }
  }
}
