/**
 * JS values into a `ColumnBuilder`, for producers that hold JS values (tests,
 * benchmarks); slower than decoding straight into the builder. Also the
 * decimal conversions the COPY decoder shares.
 */
import type { ColumnSchema } from '../schema.ts';
import { TerminalError } from '../errors.ts';
import { ColumnBuilder } from './column-builder.ts';

const utf8 = new TextEncoder();

/**
 * Fill a builder from JS values: null/undefined for NULL; numbers, bigints
 * (INT64 and DECIMAL as the unscaled integer), booleans, strings (UTF-8, or
 * decimal text for DECIMAL, or UUID text), Uint8Array; arrays for LIST columns.
 */
export function columnFromValues(column: ColumnSchema, values: readonly unknown[]): ColumnBuilder {
  const b = new ColumnBuilder(column, values.length);
  for (const v of values) {
    if (column.parquet.list) {
      if (v === null || v === undefined) {
        b.nullList();
        continue;
      }
      if (!Array.isArray(v)) throw new TerminalError('internal', `column ${column.name} is a LIST but a value is ${typeof v}; expected an array`, { code: 'internal.value' });
      if (v.length === 0) b.emptyList();
      v.forEach((e, i) => {
        const present = e !== null && e !== undefined;
        b.element(present, i === 0);
        if (present) writeValue(b, column, e);
      });
    } else if (v === null || v === undefined) {
      b.nullRow();
    } else {
      b.present();
      writeValue(b, column, v);
    }
  }
  return b;
}

function writeValue(b: ColumnBuilder, column: ColumnSchema, v: unknown): void {
  const t = column.parquet;
  const fail = (): never => {
    throw new TerminalError('internal', `column ${column.name} (${t.physical}) cannot take the value ${String(v)} of type ${typeof v}`, { code: 'internal.value' });
  };
  const decimal = t.logical?.type === 'DECIMAL' ? t.logical : undefined;
  switch (t.physical) {
    case 'BOOLEAN':
      return typeof v === 'boolean' ? b.boolean(v) : fail();
    case 'INT32':
      if (decimal && (typeof v === 'string' || typeof v === 'bigint')) return b.int32(Number(unscaled(v, decimal.scale)));
      return typeof v === 'number' && Number.isInteger(v) ? b.int32(v) : fail();
    case 'INT64':
      if (decimal && typeof v === 'string') return b.bigint64(unscaled(v, decimal.scale));
      if (typeof v === 'bigint') return b.bigint64(v);
      return typeof v === 'number' && Number.isSafeInteger(v) ? b.bigint64(BigInt(v)) : fail();
    case 'FLOAT':
      return typeof v === 'number' ? b.float(v) : fail();
    case 'DOUBLE':
      return typeof v === 'number' ? b.double(v) : fail();
    case 'BYTE_ARRAY': {
      const bytes = typeof v === 'string' ? utf8.encode(v) : v instanceof Uint8Array ? v : fail();
      return b.bytes(bytes, 0, bytes.length);
    }
    case 'FIXED_LEN_BYTE_ARRAY': {
      let bytes: Uint8Array;
      if (decimal && (typeof v === 'string' || typeof v === 'bigint')) bytes = twosComplement(unscaled(v, decimal.scale), b.width);
      else if (t.logical?.type === 'UUID' && typeof v === 'string') bytes = Buffer.from(v.replace(/-/g, ''), 'hex');
      else bytes = v instanceof Uint8Array ? v : fail();
      if (bytes.length !== b.width) fail();
      return b.fixed(bytes, 0);
    }
  }
}

/** The unscaled integer of a decimal given as exact text (`-123.45`) or already unscaled. */
export function unscaled(v: string | bigint, scale: number): bigint {
  if (typeof v === 'bigint') return v;
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(v.trim());
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new TerminalError('internal', `"${v}" is not a decimal number; expected digits with an optional sign and point`, { code: 'internal.value' });
  const frac = (m[3] ?? '').padEnd(scale, '0');
  if (frac.length > scale && /[^0]/.test(frac.slice(scale))) {
    throw new TerminalError('internal', `"${v}" has more than ${scale} decimal places; expected a value that fits the column's scale`, { code: 'internal.value' });
  }
  const digits = BigInt((m[2] || '0') + frac.slice(0, scale));
  return m[1] === '-' ? -digits : digits;
}

/** Big-endian two's complement in exactly `width` bytes (Parquet DECIMAL as FIXED_LEN_BYTE_ARRAY). */
export function twosComplement(v: bigint, width: number): Uint8Array {
  const out = new Uint8Array(width);
  let x = BigInt.asUintN(width * 8, v);
  for (let i = width - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}
