/**
 * Batch values (as parquet-parts.ts reads them) → rows in PostgreSQL's COPY
 * text format. Each value is written in its type's input syntax, exactly:
 * decimals from their unscaled integers, dates and timestamps from their
 * day and microsecond counts (never a JS Date), floats in the shortest form
 * that reads back to the same bits.
 */
import type { ColumnSchema } from '../../../shared/schema.ts';
import { TerminalError } from '../../../shared/errors.ts';

/** A non-null value as its type's input text, before COPY escaping. */
type ToText = (v: unknown) => string;

const INT32_MAX = 2147483647;
const INT64_MAX = 9223372036854775807n;
const MICROS_PER_DAY = 86_400_000_000n;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The encoder of one column. Date and timestamp ±infinity arrive as the
 * collect slice's sentinels (the largest and negated largest value of the
 * Parquet type) and go back to PostgreSQL's infinity.
 */
export function columnText(c: ColumnSchema): ToText {
  const scalar = scalarText(c);
  return c.parquet.list ? (v) => arrayLiteral(v as unknown[], scalar) : scalar;
}

function scalarText(c: ColumnSchema): ToText {
  const p = c.parquet;
  const l = p.logical;
  if (l?.type === 'DECIMAL') {
    const scale = l.scale;
    return (v) => decimalText(v as number | bigint | Uint8Array, scale);
  }
  if (l?.type === 'DATE') return (v) => dateText(v as number);
  if (l?.type === 'TIME') return (v) => timeOfDay(BigInt(v as bigint));
  if (l?.type === 'TIMESTAMP') {
    const zone = l.isAdjustedToUTC ? '+00' : '';
    return (v) => timestampText(BigInt(v as bigint), zone);
  }
  if (l?.type === 'UUID') return (v) => String(v);
  if (p.physical === 'BYTE_ARRAY') {
    if (l === undefined) return (v) => `\\x${hex(v as Uint8Array)}`;
    return (v) => (typeof v === 'string' ? v : utf8.decode(v as Uint8Array));
  }
  switch (p.physical) {
    case 'BOOLEAN': return (v) => (v ? 't' : 'f');
    case 'INT32':
    case 'INT64': return (v) => String(v);
    case 'FLOAT':
    case 'DOUBLE': return (v) => floatText(v as number);
    default:
      throw new TerminalError('target', `column ${c.name} (${c.sourceType}) is Parquet ${p.physical} without a logical type Reef writes; expected a type from the collect slice's mapping table`, {
        code: 'target.unmapped-type',
      });
  }
}

/** An array literal: every element double-quoted (so commas, braces, spaces and empty strings stay themselves), NULL bare. */
function arrayLiteral(values: unknown[], element: ToText): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    const v = values[i];
    out += v === null || v === undefined ? 'NULL' : `"${element(v).replace(/[\\"]/g, '\\$&')}"`;
  }
  return out + '}';
}

const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** One field of COPY's text format: backslash, newline, carriage return and tab escaped; NULL is `\N`. */
export function copyField(text: string | null): string {
  if (text === null) return '\\N';
  return /[\\\n\r\t]/.test(text) ? text.replace(/[\\\n\r\t]/g, (ch) => COPY_ESCAPES[ch]) : text;
}

/** COPY text lines for rows given as arrays in column order. */
export function copyRows(rows: unknown[][], encoders: ToText[]): string {
  let out = '';
  for (const row of rows) {
    for (let i = 0; i < encoders.length; i++) {
      const v = row[i];
      if (i > 0) out += '\t';
      out += v === null || v === undefined ? '\\N' : copyField(encoders[i](v));
    }
    out += '\n';
  }
  return out;
}

export function floatText(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  if (Object.is(v, -0)) return '-0';
  // The shortest decimal that reads back as the same double; for a float it
  // reads back (rounded to nearest) as the same float.
  return String(v);
}

/** The unscaled integer (INT32, INT64 or big-endian two's complement bytes) written with `scale` decimals. */
export function decimalText(v: number | bigint | Uint8Array, scale: number): string {
  let n: bigint;
  if (v instanceof Uint8Array) {
    n = 0n;
    for (const b of v) n = (n << 8n) | BigInt(b);
    if (v.length > 0 && v[0] & 0x80) n -= 1n << BigInt(8 * v.length);
  } else {
    n = BigInt(v);
  }
  const negative = n < 0n;
  let digits = (negative ? -n : n).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0');
    digits = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  }
  return negative ? `-${digits}` : digits;
}

/** Days since 1970-01-01 as an ISO date (BC when the year is 0 or less). */
export function dateText(days: number): string {
  if (days === INT32_MAX) return 'infinity';
  if (days === -INT32_MAX) return '-infinity';
  const { y, m, d } = civilFromDays(days);
  return withEra(`${pad(y <= 0 ? 1 - y : y, 4)}-${pad(m, 2)}-${pad(d, 2)}`, y, '');
}

/** Microseconds since 1970-01-01 as an ISO timestamp; `zone` is '+00' for an instant. */
export function timestampText(micros: bigint, zone: string): string {
  if (micros === INT64_MAX) return 'infinity';
  if (micros === -INT64_MAX) return '-infinity';
  let days = micros / MICROS_PER_DAY;
  let rest = micros % MICROS_PER_DAY;
  if (rest < 0n) {
    rest += MICROS_PER_DAY;
    days -= 1n;
  }
  const { y, m, d } = civilFromDays(Number(days));
  return withEra(`${pad(y <= 0 ? 1 - y : y, 4)}-${pad(m, 2)}-${pad(d, 2)} ${timeOfDay(rest)}`, y, zone);
}

/** Microseconds since midnight as HH:MM:SS.ffffff (24:00:00 included, as PostgreSQL allows). */
export function timeOfDay(micros: bigint): string {
  const total = Number(micros);
  const us = total % 1_000_000;
  const s = (total - us) / 1_000_000;
  return `${pad(Math.floor(s / 3600), 2)}:${pad(Math.floor(s / 60) % 60, 2)}:${pad(s % 60, 2)}.${pad(us, 6)}`;
}

function withEra(text: string, year: number, zone: string): string {
  return year <= 0 ? `${text}${zone} BC` : `${text}${zone}`;
}

/** Proleptic Gregorian calendar date of a day count (H. Hinnant's days_from_civil, inverted); year 0 is 1 BC. */
function civilFromDays(days: number): { y: number; m: number; d: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return { y: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d };
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
