/**
 * Reef's Parquet writer. Producers fill one `ColumnBuilder` per column with
 * values already in Parquet's PLAIN encoding (the PostgreSQL COPY decoder
 * writes straight into them, no JS value per cell); `PartWriter` turns each
 * batch into one row group, closes a part file after `rowGroupsPerPart` row
 * groups and hands it to an async sink while the next part fills.
 *
 * The Parquet format layer (Thrift page headers, footer, logical types,
 * statistics encoding) is hyparquet-writer's; the page encoding around it is
 * ours, because hyparquet-writer's generic path (one JS value per cell, a
 * dictionary attempt and statistics per value) wrote the benchmark table at a
 * fifth of this speed, below what extraction needs. bench/README.md has the
 * figures.
 *
 * Files use DATA_PAGE (v1) pages, PLAIN values and RLE levels: the most widely
 * read combination (Athena, Redshift Spectrum, Spark, DuckDB, Arrow). Pages are
 * snappy-compressed in a worker thread (snappy.ts) while the next batch is
 * decoded.
 *
 * Memory: one batch being filled, one being compressed, the part being
 * written, at most `maxUploads` parts uploading and one finished part's buffer
 * kept for reuse.
 */
import type { ColumnChunk, ColumnMetaData, ConvertedType, Encoding, FileMetaData, KeyValue, LogicalType, RowGroup, SchemaElement, Statistics } from 'hyparquet';
import { ByteWriter } from 'hyparquet-writer';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import { writePageHeader } from 'hyparquet-writer/src/datapage.js';
import { Worker } from 'node:worker_threads';
import { createSnappy, type Snappy } from './snappy.ts';
import type { ColumnSchema, DatasetSchema, ParquetColumnType, ParquetLogical, ParquetPhysical } from '../schema.ts';
import { TerminalError } from '../errors.ts';

/** Pages near 1 MiB, the parquet-mr and Arrow default: readers decompress one page at a time. */
export const PAGE_BYTES = 1 << 20;
/** Two uploads in flight keep the network busy while the next part fills; each is a part held in memory. */
export const DEFAULT_MAX_UPLOADS = 2;
export const CREATED_BY = 'reef (hyparquet-writer format layer)';

export type Compression = 'SNAPPY' | 'UNCOMPRESSED';

// ---------------------------------------------------------------------------
// Schema

/** The Parquet schema elements for a dataset: one leaf per column, LIST columns as the standard 3-level group. */
export function parquetSchema(schema: DatasetSchema): SchemaElement[] {
  const out: SchemaElement[] = [{ name: 'schema', num_children: schema.columns.length }];
  for (const c of schema.columns) {
    const repetition = c.nullable ? 'OPTIONAL' : 'REQUIRED';
    if (c.parquet.list) {
      out.push({ name: c.name, repetition_type: repetition, num_children: 1, converted_type: 'LIST', logical_type: { type: 'LIST' } });
      out.push({ name: 'list', repetition_type: 'REPEATED', num_children: 1 });
      // PostgreSQL arrays may hold NULL elements whatever the column's NOT NULL says.
      out.push({ ...leafElement(c.parquet), name: 'element', repetition_type: 'OPTIONAL' });
    } else {
      out.push({ ...leafElement(c.parquet), name: c.name, repetition_type: repetition });
    }
  }
  return out;
}

function leafElement(t: ParquetColumnType): Omit<SchemaElement, 'name'> {
  const e: Omit<SchemaElement, 'name'> = { type: t.physical };
  if (t.physical === 'FIXED_LEN_BYTE_ARRAY') {
    if (!t.length) throw new TerminalError('internal', 'a FIXED_LEN_BYTE_ARRAY column was described without its length; expected parquet.length', { code: 'internal.schema' });
    e.type_length = t.length;
  }
  if (t.logical) {
    // hyparquet-writer serializes IntType.bitWidth as a Thrift i32 where the format says i8,
    // which strict readers (DuckDB) reject; the legacy INT_16-style annotation means the same.
    if (t.logical.type !== 'INTEGER') e.logical_type = logicalType(t.logical);
    const converted = convertedType(t.logical);
    if (converted) e.converted_type = converted;
    if (t.logical.type === 'DECIMAL') {
      e.precision = t.logical.precision;
      e.scale = t.logical.scale;
    }
  }
  return e;
}

function logicalType(l: Exclude<ParquetLogical, { type: 'INTEGER' }>): LogicalType {
  return l;
}

/**
 * The legacy annotation too, for readers that predate logical types. Only
 * where it means the same thing: the legacy TIME/TIMESTAMP annotations imply
 * UTC-adjusted values, so local times carry the logical type alone.
 */
function convertedType(l: ParquetLogical): ConvertedType | undefined {
  switch (l.type) {
    case 'STRING': return 'UTF8';
    case 'ENUM': return 'ENUM';
    case 'JSON': return 'JSON';
    case 'DECIMAL': return 'DECIMAL';
    case 'DATE': return 'DATE';
    case 'TIME': return l.isAdjustedToUTC ? 'TIME_MICROS' : undefined;
    case 'TIMESTAMP': return l.isAdjustedToUTC ? 'TIMESTAMP_MICROS' : undefined;
    case 'INTEGER': return `${l.signed ? 'INT' : 'UINT'}_${l.bitWidth}` as ConvertedType;
    default: return undefined;
  }
}

/** Bytes of one value of a fixed-width physical type; 0 for BYTE_ARRAY. BOOLEAN is held as one byte until a page packs it. */
export function valueWidth(t: ParquetColumnType): number {
  switch (t.physical) {
    case 'BOOLEAN': return 1;
    case 'INT32': case 'FLOAT': return 4;
    case 'INT64': case 'DOUBLE': return 8;
    case 'FIXED_LEN_BYTE_ARRAY': return t.length ?? 0;
    case 'BYTE_ARRAY': return 0;
  }
}

// ---------------------------------------------------------------------------
// Column data

/**
 * One column of one row group. `values` holds the non-null leaf values in
 * PLAIN encoding (little-endian fixed width; BYTE_ARRAY as 4-byte length +
 * bytes), except BOOLEAN: one byte (0/1) per value, packed when a page is
 * written. Levels follow Parquet: one entry per row for a flat column, one per
 * element (or per null or empty list) for a LIST.
 */
export interface ColumnData {
  readonly levels: number;
  /** Definition levels; null when the column is REQUIRED. */
  readonly def: Uint8Array | null;
  /** Repetition levels; LIST columns only. */
  readonly rep: Uint8Array | null;
  /** Non-null leaf values in `values`. */
  readonly count: number;
  /** Level entries without a value (null rows, null elements, null or empty lists). */
  readonly nulls: number;
  readonly values: Uint8Array;
}

export interface RowGroupBatch {
  rows: number;
  columns: ColumnData[];
}

const INITIAL_VAR_BYTES = 1 << 16;

/**
 * A growable column of one row group. Fields are public so the COPY decoder's
 * hot loop can write without a call per byte; use the methods elsewhere.
 * The typed views (`i32`, `f32`, `f64`) alias `u8` and are replaced on growth.
 */
export class ColumnBuilder implements ColumnData {
  readonly physical: ParquetPhysical;
  /** Bytes per value; 0 for BYTE_ARRAY. */
  readonly width: number;
  readonly nullable: boolean;
  readonly list: boolean;
  /** The definition level of a present value. */
  readonly maxDef: number;
  u8: Uint8Array;
  i32: Int32Array;
  f32: Float32Array;
  f64: Float64Array;
  /** Bytes used in `u8` (BYTE_ARRAY); fixed-width columns use `count * width`. */
  pos = 0;
  count = 0;
  nulls = 0;
  levels = 0;
  defs: Uint8Array;
  reps: Uint8Array | null;
  /** Bytes of values held (as PLAIN), for producers that bound a row group by size. */
  get byteLength(): number {
    return this.width === 0 ? this.pos : this.count * this.width;
  }

  constructor(column: ColumnSchema, capacityRows = 1024) {
    this.physical = column.parquet.physical;
    this.width = valueWidth(column.parquet);
    this.nullable = column.nullable;
    this.list = column.parquet.list === true;
    this.maxDef = (this.nullable ? 1 : 0) + (this.list ? 2 : 0);
    const bytes = this.width === 0 ? INITIAL_VAR_BYTES : Math.max(8, capacityRows * this.width);
    this.u8 = new Uint8Array(roundUp8(bytes));
    this.i32 = new Int32Array(this.u8.buffer);
    this.f32 = new Float32Array(this.u8.buffer);
    this.f64 = new Float64Array(this.u8.buffer);
    this.defs = new Uint8Array(Math.max(8, capacityRows));
    this.reps = this.list ? new Uint8Array(Math.max(8, capacityRows)) : null;
  }

  get def(): Uint8Array | null {
    return this.maxDef === 0 ? null : this.defs.subarray(0, this.levels);
  }

  get rep(): Uint8Array | null {
    return this.reps ? this.reps.subarray(0, this.levels) : null;
  }

  get values(): Uint8Array {
    return this.u8.subarray(0, this.byteLength);
  }

  reset(): void {
    this.pos = 0;
    this.count = 0;
    this.nulls = 0;
    this.levels = 0;
  }

  /** Room for `bytes` more value bytes. */
  ensureBytes(bytes: number): void {
    const need = this.byteLength + bytes;
    if (need > this.u8.length) this.grow(need);
  }

  /** Room for `n` more fixed-width values. */
  ensureValues(n: number): void {
    const need = (this.count + n) * this.width;
    if (need > this.u8.length) this.grow(need);
  }

  private grow(need: number): void {
    const next = new Uint8Array(roundUp8(Math.max(need, this.u8.length * 2)));
    next.set(this.u8.subarray(0, this.byteLength));
    this.u8 = next;
    this.i32 = new Int32Array(next.buffer);
    this.f32 = new Float32Array(next.buffer);
    this.f64 = new Float64Array(next.buffer);
  }

  /** Room for `n` more level entries. */
  ensureLevels(n: number): void {
    const need = this.levels + n;
    if (need <= this.defs.length) return;
    const size = Math.max(need, this.defs.length * 2);
    const defs = new Uint8Array(size);
    defs.set(this.defs.subarray(0, this.levels));
    this.defs = defs;
    if (this.reps) {
      const reps = new Uint8Array(size);
      reps.set(this.reps.subarray(0, this.levels));
      this.reps = reps;
    }
  }

  // Flat columns: one level entry per row.

  /** A row whose value the caller writes next (or has written). */
  present(): void {
    if (this.levels === this.defs.length) this.ensureLevels(1);
    this.defs[this.levels++] = this.maxDef;
  }

  nullRow(): void {
    if (!this.nullable) throw new TerminalError('source', 'a NULL arrived in a column declared NOT NULL; expected a value in every row', { code: 'source.unexpected-null' });
    if (this.levels === this.defs.length) this.ensureLevels(1);
    this.defs[this.levels++] = 0;
    this.nulls++;
  }

  // LIST columns: levels per element. Levels: 0 null list (nullable only), then empty list, null element, element.

  /** A NULL list. */
  nullList(): void {
    // Only a NULL list is refused here: in a NOT NULL list column an empty list also has level 0.
    if (!this.nullable) throw new TerminalError('source', 'a NULL arrived in an array column declared NOT NULL; expected a value in every row', { code: 'source.unexpected-null' });
    this.listLevel(0, 0);
  }

  /** An empty list. */
  emptyList(): void {
    this.listLevel(this.maxDef - 2, 0);
  }

  /** An element (null or not) of the current row's list; `first` for the first element of the row. */
  element(present: boolean, first: boolean): void {
    this.listLevel(present ? this.maxDef : this.maxDef - 1, first ? 0 : 1);
  }

  private listLevel(def: number, rep: number): void {
    if (this.levels === this.defs.length) this.ensureLevels(1);
    this.defs[this.levels] = def;
    this.reps![this.levels++] = rep;
    if (def !== this.maxDef) this.nulls++;
  }

  // Values (levels are the caller's business).

  int32(v: number): void {
    if ((this.count + 1) * 4 > this.u8.length) this.ensureValues(1);
    this.i32[this.count++] = v;
  }

  /** A 64-bit integer as its high (signed) and low (unsigned) 32-bit halves. */
  int64(hi: number, lo: number): void {
    if ((this.count + 1) * 8 > this.u8.length) this.ensureValues(1);
    const i = this.count++ << 1;
    this.i32[i] = lo;
    this.i32[i + 1] = hi;
  }

  bigint64(v: bigint): void {
    this.int64(Number(BigInt.asIntN(32, v >> 32n)), Number(BigInt.asUintN(32, v)));
  }

  float(v: number): void {
    if ((this.count + 1) * 4 > this.u8.length) this.ensureValues(1);
    this.f32[this.count++] = v;
  }

  double(v: number): void {
    if ((this.count + 1) * 8 > this.u8.length) this.ensureValues(1);
    this.f64[this.count++] = v;
  }

  boolean(v: boolean): void {
    if (this.count + 1 > this.u8.length) this.ensureValues(1);
    this.u8[this.count++] = v ? 1 : 0;
  }

  /** A BYTE_ARRAY value copied from `src[start, end)`. */
  bytes(src: Uint8Array, start: number, end: number): void {
    const len = end - start;
    if (this.pos + 4 + len > this.u8.length) this.ensureBytes(4 + len);
    const u8 = this.u8;
    let p = this.pos;
    u8[p] = len;
    u8[p + 1] = len >>> 8;
    u8[p + 2] = len >>> 16;
    u8[p + 3] = len >>> 24;
    p += 4;
    // A native copy costs more than a short loop for the typical short string.
    if (len < 48) {
      for (let i = start; i < end; i++) u8[p++] = src[i];
    } else {
      u8.set(src.subarray(start, end), p);
      p += len;
    }
    this.pos = p;
    this.count++;
  }

  /** A FIXED_LEN_BYTE_ARRAY value of exactly `width` bytes from `src[start]`. */
  fixed(src: Uint8Array, start: number): void {
    const w = this.width;
    if ((this.count + 1) * w > this.u8.length) this.ensureValues(1);
    const u8 = this.u8;
    let p = this.count++ * w;
    for (let i = start, end = start + w; i < end; i++) u8[p++] = src[i];
  }
}

function roundUp8(n: number): number {
  return (n + 7) & ~7;
}

// ---------------------------------------------------------------------------
// Generic values → ColumnBuilder (for producers that hold JS values; slower than direct decoding)

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

// ---------------------------------------------------------------------------
// Encoding one row group

interface Leaf {
  column: ColumnSchema;
  element: SchemaElement;
  path: string[];
  width: number;
  maxDef: number;
  maxRep: number;
}

function leaves(schema: DatasetSchema, elements: SchemaElement[]): Leaf[] {
  const byName = new Map<string, SchemaElement>();
  let i = 1;
  for (const c of schema.columns) {
    if (c.parquet.list) {
      byName.set(c.name, elements[i + 2]);
      i += 3;
    } else {
      byName.set(c.name, elements[i]);
      i += 1;
    }
  }
  return schema.columns.map((c) => ({
    column: c,
    element: byName.get(c.name)!,
    path: c.parquet.list ? [c.name, 'list', 'element'] : [c.name],
    width: valueWidth(c.parquet),
    maxDef: (c.nullable ? 1 : 0) + (c.parquet.list ? 2 : 0),
    maxRep: c.parquet.list ? 1 : 0,
  }));
}

const MAGIC = 0x31524150; // "PAR1" little-endian
const MAGIC_BYTES = new Uint8Array([0x50, 0x41, 0x52, 0x31]);

/** A growable byte buffer for assembling pages. */
class Scratch {
  buf: Uint8Array;
  pos = 0;
  constructor(size = 1 << 16, buf?: Uint8Array) {
    this.buf = buf ?? new Uint8Array(Math.max(64, size));
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.pos + n, this.buf.length * 2));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
  byte(v: number): void {
    if (this.pos === this.buf.length) this.ensure(1);
    this.buf[this.pos++] = v;
  }
  varint(v: number): void {
    while (v > 0x7f) {
      this.byte((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    this.byte(v);
  }
  uint32le(v: number, at: number): void {
    this.buf[at] = v;
    this.buf[at + 1] = v >>> 8;
    this.buf[at + 2] = v >>> 16;
    this.buf[at + 3] = v >>> 24;
  }
  append(src: Uint8Array): void {
    this.ensure(src.length);
    this.buf.set(src, this.pos);
    this.pos += src.length;
  }
}

/**
 * Levels `src[start, end)` as Parquet's RLE/bit-packed hybrid, prefixed with
 * its 4-byte length (DATA_PAGE v1 layout). Runs of 8 or more repeat values
 * become RLE runs; the rest is bit-packed in groups of 8.
 */
function writeLevels(out: Scratch, src: Uint8Array, start: number, end: number, bitWidth: number): void {
  const lengthAt = out.pos;
  out.ensure(4);
  out.pos += 4;
  const bytesPerRle = (bitWidth + 7) >> 3;
  let groups = 0;
  let groupStart = 0;
  const flush = (): void => {
    if (groups === 0) return;
    out.varint((groups << 1) | 1);
    const n = groups * 8;
    out.ensure(groups * bitWidth);
    let acc = 0;
    let bits = 0;
    for (let k = 0; k < n; k++) {
      const idx = groupStart + k;
      acc |= (idx < end ? src[idx] : 0) << bits;
      bits += bitWidth;
      while (bits >= 8) {
        out.buf[out.pos++] = acc & 0xff;
        acc >>>= 8;
        bits -= 8;
      }
    }
    groups = 0;
  };
  let i = start;
  while (i < end) {
    const v = src[i];
    let j = i + 1;
    while (j < end && src[j] === v) j++;
    if (j - i >= 8) {
      flush();
      out.varint((j - i) * 2);
      for (let k = 0; k < bytesPerRle; k++) out.byte((v >>> (k * 8)) & 0xff);
      i = j;
    } else {
      if (groups === 0) groupStart = i;
      groups++;
      i += 8;
    }
  }
  flush();
  out.uint32le(out.pos - lengthAt - 4, lengthAt);
}

interface PageRange {
  levelStart: number;
  levelEnd: number;
  valueStart: number;
  valueEnd: number;
  byteStart: number;
  byteEnd: number;
}

/** Split a column chunk into pages of about PAGE_BYTES, cutting only where a row starts. */
function pageRanges(col: ColumnData, leaf: Leaf): PageRange[] {
  const total = col.values.length;
  const levels = col.def ? col.levels : col.count;
  if (total <= PAGE_BYTES) return [{ levelStart: 0, levelEnd: levels, valueStart: 0, valueEnd: col.count, byteStart: 0, byteEnd: total }];
  const ranges: PageRange[] = [];
  const def = col.def;
  const rep = col.rep;
  const values = col.values;
  const width = leaf.width;
  let levelStart = 0;
  let valueStart = 0;
  let byteStart = 0;
  let v = 0;
  let b = 0;
  for (let i = 0; i < levels; i++) {
    if (!def || def[i] === leaf.maxDef) {
      if (width) {
        b += width;
      } else {
        b += 4 + (values[b] | (values[b + 1] << 8) | (values[b + 2] << 16) | (values[b + 3] << 24));
      }
      v++;
    }
    const nextStartsRow = !rep || i + 1 >= levels || rep[i + 1] === 0;
    if (b - byteStart >= PAGE_BYTES && nextStartsRow && i + 1 < levels) {
      ranges.push({ levelStart, levelEnd: i + 1, valueStart, valueEnd: v, byteStart, byteEnd: b });
      levelStart = i + 1;
      valueStart = v;
      byteStart = b;
    }
  }
  ranges.push({ levelStart, levelEnd: levels, valueStart, valueEnd: v, byteStart, byteEnd: b });
  return ranges;
}

/** min/max for statistics where they are cheap and unambiguous: the numeric physical types. */
function minMax(col: ColumnData, leaf: Leaf): { min: number | bigint; max: number | bigint } | undefined {
  const n = col.count;
  if (n === 0) return undefined;
  const v = col.values;
  if (v.byteOffset % 8 !== 0) return undefined;
  switch (leaf.column.parquet.physical) {
    case 'INT32': {
      const a = new Int32Array(v.buffer, v.byteOffset, n);
      let min = a[0];
      let max = a[0];
      for (let i = 1; i < n; i++) {
        const x = a[i];
        if (x < min) min = x;
        else if (x > max) max = x;
      }
      return { min, max };
    }
    case 'INT64': {
      const a = new Int32Array(v.buffer, v.byteOffset, n * 2);
      let minI = 0;
      let maxI = 0;
      for (let i = 1; i < n; i++) {
        const hi = a[2 * i + 1];
        const lo = a[2 * i] >>> 0;
        const minHi = a[2 * minI + 1];
        if (hi < minHi || (hi === minHi && lo < a[2 * minI] >>> 0)) minI = i;
        const maxHi = a[2 * maxI + 1];
        if (hi > maxHi || (hi === maxHi && lo > a[2 * maxI] >>> 0)) maxI = i;
      }
      const big = (i: number): bigint => (BigInt(a[2 * i + 1]) << 32n) | BigInt(a[2 * i] >>> 0);
      return { min: big(minI), max: big(maxI) };
    }
    case 'FLOAT':
    case 'DOUBLE': {
      const a = leaf.column.parquet.physical === 'FLOAT' ? new Float32Array(v.buffer, v.byteOffset, n) : new Float64Array(v.buffer, v.byteOffset, n);
      let min = Infinity;
      let max = -Infinity;
      let seen = false;
      for (let i = 0; i < n; i++) {
        const x = a[i];
        if (x !== x) continue; // NaN has no place in min/max (Parquet spec)
        seen = true;
        if (x < min) min = x;
        if (x > max) max = x;
      }
      if (!seen) return undefined;
      // Signed zero: the spec asks for -0 as min and +0 as max.
      return { min: min === 0 ? -0 : min, max: max === 0 ? 0 : max };
    }
    default:
      return undefined;
  }
}

function bitWidth(max: number): number {
  return max === 0 ? 0 : 32 - Math.clz32(max);
}

function packBooleans(out: Scratch, values: Uint8Array, start: number, end: number): void {
  const n = end - start;
  out.ensure((n + 7) >> 3);
  let i = start;
  for (; i + 8 <= end; i += 8) {
    out.buf[out.pos++] = values[i] | (values[i + 1] << 1) | (values[i + 2] << 2) | (values[i + 3] << 3) | (values[i + 4] << 4) | (values[i + 5] << 5) | (values[i + 6] << 6) | (values[i + 7] << 7);
  }
  if (i < end) {
    let acc = 0;
    for (let k = 0; i < end; i++, k++) acc |= values[i] << k;
    out.buf[out.pos++] = acc;
  }
}

// ---------------------------------------------------------------------------
// Parts

export interface FinishedPart {
  /** 0-based part number within the batch. */
  n: number;
  rows: number;
  bytes: Uint8Array;
}

/**
 * Receives each finished part. The part's bytes are the writer's until the
 * sink is called and again once its promise resolves (the buffer is reused
 * for a later part): a sink that keeps them must copy.
 */
export type PartSink = (part: FinishedPart) => Promise<void>;

export interface PartWriterOptions {
  schema: DatasetSchema;
  rowGroupsPerPart: number;
  sink: PartSink;
  /** Parts handed to the sink and not yet settled; writing waits while this many are in flight. */
  maxUploads?: number;
  compression?: Compression;
  /** Compress in a worker thread, in parallel with decoding (default true); falls back to this thread if a worker cannot start. */
  offload?: boolean;
  /** Extra key/value metadata in every part's footer. */
  metadata?: Record<string, string>;
}

export interface PartWriterSummary {
  parts: number;
  rows: number;
  bytes: number;
}

/**
 * Snappy that saves under 10% (random ids, hashes, already compressed bytes)
 * costs as much CPU as the whole decode for little: such a column's next
 * chunks are stored uncompressed (Parquet sets the codec per column chunk),
 * and snappy is tried again every SKIP_ROW_GROUPS row groups.
 */
const INCOMPRESSIBLE = 0.9;
const SKIP_ROW_GROUPS = 7;

/** Row groups prepared and not yet in a part: one compresses while the next is decoded, and memory stays bounded. */
const MAX_PENDING_ROW_GROUPS = 1;

interface PreparedColumn {
  leaf: Leaf;
  codec: Compression;
  /** Level entries (or values for a REQUIRED flat column): the chunk's num_values. */
  numValues: number;
  nulls: number;
  minMax: { min: number | bigint; max: number | bigint } | undefined;
  /** Per page: its num_values and uncompressed body size. */
  pageValues: number[];
  pageSizes: number[];
}

interface PreparedRowGroup {
  rows: number;
  columns: PreparedColumn[];
  /** Uncompressed page bodies, back to back; `pages` holds (offset, length, compress?) triples in column order. */
  body: Uint8Array;
  pages: Int32Array;
}

/** Copy a batch out of its builders as uncompressed DATA_PAGE v1 bodies: levels, then PLAIN values. */
function prepareRowGroup(batch: RowGroupBatch, leaves: Leaf[], codecs: Compression[]): PreparedRowGroup {
  let estimate = 0;
  for (const col of batch.columns) estimate += col.values.length + (col.levels >> 2) + 64;
  const out = new Scratch(0, pool.take(estimate));
  const pages: number[] = [];
  const columns: PreparedColumn[] = [];
  for (let c = 0; c < leaves.length; c++) {
    const col = batch.columns[c];
    const leaf = leaves[c];
    const hasLevels = leaf.maxDef > 0;
    if (hasLevels && !col.def) throw new TerminalError('internal', `column ${leaf.column.name} has no definition levels; expected them for an OPTIONAL or LIST column`, { code: 'internal.levels' });
    if (leaf.maxRep > 0 && !col.rep) throw new TerminalError('internal', `column ${leaf.column.name} has no repetition levels; expected them for a LIST column`, { code: 'internal.levels' });
    const boolean = leaf.column.parquet.physical === 'BOOLEAN';
    const pageValues: number[] = [];
    const pageSizes: number[] = [];
    for (const r of pageRanges(col, leaf)) {
      const start = out.pos;
      if (leaf.maxRep > 0) writeLevels(out, col.rep!, r.levelStart, r.levelEnd, bitWidth(leaf.maxRep));
      if (hasLevels) writeLevels(out, col.def!, r.levelStart, r.levelEnd, bitWidth(leaf.maxDef));
      if (boolean) packBooleans(out, col.values, r.valueStart, r.valueEnd);
      else out.append(col.values.subarray(r.byteStart, r.byteEnd));
      pages.push(start, out.pos - start, codecs[c] === 'SNAPPY' ? 1 : 0);
      pageValues.push(hasLevels ? r.levelEnd - r.levelStart : r.valueEnd - r.valueStart);
      pageSizes.push(out.pos - start);
    }
    columns.push({ leaf, codec: codecs[c], numValues: hasLevels ? col.levels : col.count, nulls: col.nulls, minMax: minMax(col, leaf), pageValues, pageSizes });
  }
  return { rows: batch.rows, columns, body: out.buf.subarray(0, out.pos), pages: Int32Array.from(pages) };
}

interface CompressedPages {
  /** The pages as written, (offset, length) pairs into `data`, in the order given. */
  data: Uint8Array;
  pages: Int32Array;
  /** The input, handed back by the worker so its memory can be reused. */
  input?: Uint8Array;
}

/** A few page-body buffers, reused across row groups instead of allocating ~10 MB each time. */
class BufferPool {
  private readonly free: ArrayBuffer[] = [];
  take(size: number): Uint8Array {
    const i = this.free.findIndex((b) => b.byteLength >= size);
    if (i >= 0) return new Uint8Array(this.free.splice(i, 1)[0]);
    return new Uint8Array(Math.max(64, Math.ceil(size * 1.25)));
  }
  give(buf: ArrayBufferLike): void {
    if (this.free.length < 2 && buf instanceof ArrayBuffer && buf.byteLength > 0) this.free.push(buf);
  }
}

const pool = new BufferPool();
/** Worker output buffers whose pages are already copied into a part. */
const outputs: Uint8Array[] = [];

/**
 * The worker's source: createSnappy's own text and a message loop. Started
 * from text rather than a file so it works unchanged inside a bundle.
 * `__name` stands in for the helper esbuild's keepNames inserts into
 * function bodies.
 */
const WORKER_SOURCE = `'use strict';
var __name = (f) => f;
const { parentPort } = require('node:worker_threads');
const snappy = (${createSnappy.toString()})();
parentPort.on('message', ({ id, input, pages, spare }) => {
  try {
    let room = 0;
    for (let i = 0; i < pages.length; i += 3) room += pages[i + 2] ? snappy.maxCompressedLength(pages[i + 1]) : pages[i + 1];
    const data = spare && spare.length >= room ? spare : new Uint8Array(Math.ceil(room * 1.1));
    const out = new Int32Array((pages.length / 3) * 2);
    let op = 0;
    for (let i = 0, j = 0; i < pages.length; i += 3, j += 2) {
      const start = op;
      if (pages[i + 2]) {
        op = snappy.compressInto(input, pages[i], pages[i] + pages[i + 1], data, op);
      } else {
        data.set(input.subarray(pages[i], pages[i] + pages[i + 1]), op);
        op += pages[i + 1];
      }
      out[j] = start;
      out[j + 1] = op - start;
    }
    parentPort.postMessage({ id, data, pages: out, input }, [data.buffer, input.buffer]);
  } catch (e) {
    parentPort.postMessage({ id, error: String((e && e.stack) || e) });
  }
});
`;

/**
 * One compression worker for the process, shared by every PartWriter and
 * started on first use. It holds the event loop open only while jobs are
 * pending, and is replaced if it dies.
 */
class CompressionWorker {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, { resolve: (r: CompressedPages) => void; reject: (e: unknown) => void }>();
  private nextId = 0;
  private broken = false;

  /** False when workers cannot start here; callers then compress in their own thread. */
  get available(): boolean {
    if (this.broken) return false;
    if (!this.worker) {
      try {
        this.start();
      } catch {
        this.broken = true;
      }
    }
    return !this.broken;
  }

  private start(): void {
    const w = new Worker(WORKER_SOURCE, { eval: true });
    w.unref();
    w.on('message', (m: { id: number; data?: Uint8Array; pages?: Int32Array; input?: Uint8Array; error?: string }) => {
      const job = this.pending.get(m.id);
      if (!job) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) w.unref();
      if (m.error !== undefined) job.reject(new TerminalError('internal', `the compression worker failed: ${m.error}`, { code: 'internal.compression' }));
      else job.resolve({ data: m.data!, pages: m.pages!, input: m.input });
    });
    const fail = (e: unknown): void => {
      if (this.worker === w) this.worker = undefined;
      const error = new TerminalError('internal', `the compression worker stopped: ${e instanceof Error ? e.message : String(e)}`, { code: 'internal.compression', cause: e });
      for (const job of this.pending.values()) job.reject(error);
      this.pending.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    this.worker = w;
  }

  compress(input: Uint8Array, pages: Int32Array): Promise<CompressedPages> {
    if (!this.worker) this.start();
    const w = this.worker!;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) w.ref();
      this.pending.set(id, { resolve, reject });
      // The input is this job's own buffer, so it moves to the worker without a copy (and comes
      // back with the result); a spent output buffer goes along to be filled again.
      const spare = outputs.pop();
      const message = { id, input, pages, spare };
      w.postMessage(message, spare ? [input.buffer as ArrayBuffer, spare.buffer as ArrayBuffer] : [input.buffer as ArrayBuffer]);
    });
  }
}

const worker = new CompressionWorker();
let inline: Snappy | undefined;

/** Same contract as the worker: `pages` holds (offset, length, compress?) triples; the result (offset, length) pairs. */
function compressInline(input: Uint8Array, pages: Int32Array): CompressedPages {
  const out = new Int32Array((pages.length / 3) * 2);
  let room = 0;
  for (let i = 0; i < pages.length; i += 3) if (pages[i + 2]) room += (inline ??= createSnappy()).maxCompressedLength(pages[i + 1]);
  if (room === 0) {
    // Nothing to compress: the pages stay where they are.
    for (let i = 0, j = 0; i < pages.length; i += 3, j += 2) {
      out[j] = pages[i];
      out[j + 1] = pages[i + 1];
    }
    return { data: input, pages: out };
  }
  for (let i = 0; i < pages.length; i += 3) if (!pages[i + 2]) room += pages[i + 1];
  const data = new Uint8Array(room);
  let op = 0;
  for (let i = 0, j = 0; i < pages.length; i += 3, j += 2) {
    const start = op;
    if (pages[i + 2]) {
      op = inline!.compressInto(input, pages[i], pages[i] + pages[i + 1], data, op);
    } else {
      data.set(input.subarray(pages[i], pages[i] + pages[i + 1]), op);
      op += pages[i + 1];
    }
    out[j] = start;
    out[j + 1] = op - start;
  }
  return { data, pages: out };
}

/**
 * Writes row groups into part files and hands each finished part to the sink.
 * A batch is copied out of its builders before `writeRowGroup` returns, so the
 * producer may reuse them at once; compression runs behind, in order, with at
 * most two row groups pending.
 */
export class PartWriter {
  private readonly elements: SchemaElement[];
  private readonly leaves: Leaf[];
  private readonly options: Required<Omit<PartWriterOptions, 'metadata'>>;
  private readonly kv: KeyValue[];
  /** The part being written: magic, then row groups as they are compressed. */
  private part = new Scratch(1 << 20);
  /** Size of the last finished part, to size the next part's buffer. */
  private lastPartBytes = 0;
  /** Buffers of parts the sink is done with (see PartSink). */
  private readonly spareParts: Uint8Array[] = [];
  private rowGroups: RowGroup[] = [];
  private partRows = 0;
  private nextPart = 0;
  private rows = 0;
  private bytes = 0;
  private chain: Promise<void> = Promise.resolve();
  private readonly queue: Promise<void>[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;
  private closed = false;
  /** Per column: row groups left to store uncompressed before snappy is tried again. */
  private readonly skipSnappy: number[];

  constructor(options: PartWriterOptions) {
    if (!(options.rowGroupsPerPart >= 1)) throw new TerminalError('config', `rowGroupsPerPart is ${options.rowGroupsPerPart}; expected an integer of at least 1`, { code: 'config.row-groups-per-part' });
    this.options = { maxUploads: DEFAULT_MAX_UPLOADS, compression: 'SNAPPY', offload: true, ...options };
    this.elements = parquetSchema(options.schema);
    this.leaves = leaves(options.schema, this.elements);
    this.kv = Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value }));
    this.skipSnappy = this.leaves.map(() => 0);
  }

  /** Write one row group; resolves once there is room for more. */
  async writeRowGroup(batch: RowGroupBatch): Promise<void> {
    this.check();
    if (batch.rows === 0) return;
    if (batch.columns.length !== this.leaves.length) {
      throw new TerminalError('internal', `a row group has ${batch.columns.length} columns; expected ${this.leaves.length} as in the schema`, { code: 'internal.row-group' });
    }
    for (let c = 0; c < this.leaves.length; c++) {
      const col = batch.columns[c];
      const leaf = this.leaves[c];
      const rows = leaf.maxRep > 0 ? countRows(col.rep!, col.levels) : leaf.maxDef > 0 ? col.levels : col.count;
      if (rows !== batch.rows) {
        throw new TerminalError('internal', `column ${leaf.column.name} holds ${rows} rows in a row group of ${batch.rows}; expected the same count in every column`, { code: 'internal.row-group' });
      }
    }
    const codecs = this.leaves.map((_, c): Compression => {
      if (this.options.compression === 'UNCOMPRESSED') return 'UNCOMPRESSED';
      if (this.skipSnappy[c] > 0) {
        this.skipSnappy[c]--;
        return 'UNCOMPRESSED';
      }
      return 'SNAPPY';
    });
    const prepared = prepareRowGroup(batch, this.leaves, codecs);
    const compress = codecs.includes('SNAPPY');
    const compressed =
      compress && this.options.offload && worker.available
        ? worker.compress(prepared.body, prepared.pages)
        : Promise.resolve().then(() => compressInline(prepared.body, prepared.pages));
    compressed.catch(() => {}); // observed through the chain below
    this.chain = this.chain
      .then(() => compressed)
      .then((pages) => (this.failure ? undefined : this.appendRowGroup(prepared, pages)))
      .catch((error: unknown) => {
        this.failure ??= { error };
      });
    this.queue.push(this.chain);
    while (this.queue.length > MAX_PENDING_ROW_GROUPS) await this.queue.shift();
    this.rethrow();
  }

  /** Finish the last part, wait for every upload, and say what was written. */
  async close(): Promise<PartWriterSummary> {
    this.check();
    this.closed = true;
    await this.chain;
    this.rethrow();
    if (this.rowGroups.length > 0) await this.finishPart();
    await Promise.all(this.inFlight);
    this.rethrow();
    return { parts: this.nextPart, rows: this.rows, bytes: this.bytes };
  }

  /** Stop: drop what is not yet uploaded and wait for uploads already started to settle. */
  async abort(): Promise<void> {
    this.closed = true;
    this.failure ??= { error: new TerminalError('internal', 'the part writer was aborted', { code: 'internal.aborted' }) };
    await this.chain;
    this.part = new Scratch(64);
    this.rowGroups = [];
    await Promise.allSettled(this.inFlight);
  }

  private rethrow(): void {
    if (this.failure) throw this.failure.error;
  }

  private check(): void {
    this.rethrow();
    if (this.closed) throw new TerminalError('internal', 'the part writer was used after close or abort; expected no more row groups', { code: 'internal.closed' });
  }

  /** Page headers and compressed pages appended to the current part; the part is finished when it holds rowGroupsPerPart row groups. */
  private async appendRowGroup(rg: PreparedRowGroup, compressed: CompressedPages): Promise<void> {
    if (this.part.pos === 0) this.startPart();
    const start = this.part.pos;
    const columns: ColumnChunk[] = [];
    let uncompressedTotal = 0;
    let page = 0;
    for (let c = 0; c < rg.columns.length; c++) {
      const col = rg.columns[c];
      const chunkStart = this.part.pos;
      let uncompressed = 0;
      let stored = 0;
      for (let i = 0; i < col.pageValues.length; i++, page++) {
        const data = compressed.data.subarray(compressed.pages[2 * page], compressed.pages[2 * page] + compressed.pages[2 * page + 1]);
        const header = new ByteWriter(64);
        writePageHeader(header, {
          type: 'DATA_PAGE',
          uncompressed_page_size: col.pageSizes[i],
          compressed_page_size: data.length,
          data_page_header: { num_values: col.pageValues[i], encoding: 'PLAIN', definition_level_encoding: 'RLE', repetition_level_encoding: 'RLE' },
        });
        const h = header.getBytes();
        this.part.append(h);
        this.part.append(data);
        uncompressed += h.length + col.pageSizes[i];
        stored += data.length;
      }
      if (col.codec === 'SNAPPY' && stored > INCOMPRESSIBLE * (uncompressed - (this.part.pos - chunkStart - stored))) {
        this.skipSnappy[c] = SKIP_ROW_GROUPS;
      }
      const stats: Statistics = { null_count: BigInt(col.nulls) };
      if (col.minMax) {
        // hyparquet-writer reads a number in a DECIMAL column as the decimal value and scales it; a bigint is taken as unscaled.
        const decimal = col.leaf.column.parquet.logical?.type === 'DECIMAL';
        stats.min_value = decimal ? BigInt(col.minMax.min) : col.minMax.min;
        stats.max_value = decimal ? BigInt(col.minMax.max) : col.minMax.max;
      }
      const encodings: Encoding[] = col.leaf.maxDef > 0 ? ['PLAIN', 'RLE'] : ['PLAIN'];
      const meta: ColumnMetaData = {
        type: col.leaf.column.parquet.physical,
        encodings,
        path_in_schema: col.leaf.path,
        codec: col.codec,
        num_values: BigInt(col.numValues),
        total_uncompressed_size: BigInt(uncompressed),
        total_compressed_size: BigInt(this.part.pos - chunkStart),
        data_page_offset: BigInt(chunkStart),
        statistics: stats,
      };
      columns.push({ file_offset: BigInt(chunkStart), meta_data: meta });
      uncompressedTotal += uncompressed;
    }
    if (this.rowGroups.length === 0 && this.lastPartBytes === 0) {
      // First part: size its buffer from its first row group rather than doubling up to it.
      this.part.ensure(Math.ceil((this.part.pos - start) * this.options.rowGroupsPerPart * 1.1) + 4096 - this.part.pos);
    }
    this.rowGroups.push({
      columns,
      total_byte_size: BigInt(uncompressedTotal),
      num_rows: BigInt(rg.rows),
      file_offset: BigInt(start),
      total_compressed_size: BigInt(this.part.pos - start),
    });
    // The pages are copied into the part: the body buffer can serve the next row group,
    // and the worker's output buffer its next result.
    pool.give((compressed.input ?? rg.body).buffer);
    if (compressed.input && compressed.data.byteOffset === 0 && outputs.length < 1) outputs.push(new Uint8Array(compressed.data.buffer));
    this.partRows += rg.rows;
    this.rows += rg.rows;
    if (this.rowGroups.length >= this.options.rowGroupsPerPart) await this.finishPart();
  }

  private startPart(): void {
    // Sized like the last part so a steady stream of parts never grows (and copies) its buffer;
    // the buffer of a part already uploaded is reused when it is big enough, else let go.
    const want = Math.ceil(this.lastPartBytes * 1.1);
    if (this.part.buf.length < want) {
      const spare = this.spareParts.pop();
      this.part = spare && spare.length >= want ? new Scratch(0, spare) : new Scratch(want);
    }
    this.part.append(MAGIC_BYTES);
  }

  private async finishPart(): Promise<void> {
    const footer = new ByteWriter(4096);
    const metadata: FileMetaData = {
      version: 2,
      schema: this.elements,
      num_rows: BigInt(this.partRows),
      row_groups: this.rowGroups,
      key_value_metadata: this.kv.length ? this.kv : undefined,
      created_by: CREATED_BY,
      metadata_length: 0,
    };
    writeMetadata(footer, metadata);
    footer.appendUint32(MAGIC);
    this.part.append(footer.getBytes());
    const size = this.part.pos;
    // The buffer itself, not a copy: after the upload it becomes the next part's (see PartSink).
    const bytes = this.part.buf.subarray(0, size);
    const part: FinishedPart = { n: this.nextPart++, rows: this.partRows, bytes };
    this.bytes += size;
    this.lastPartBytes = size;
    this.part = new Scratch(64);
    this.rowGroups = [];
    this.partRows = 0;
    // At most maxUploads in flight; the next part fills meanwhile.
    while (this.inFlight.size >= this.options.maxUploads) await Promise.race(this.inFlight);
    this.rethrow();
    const upload: Promise<void> = this.options.sink(part).then(
      () => {
        this.inFlight.delete(upload);
        if (this.spareParts.length < 1 && bytes.byteOffset === 0) this.spareParts.push(new Uint8Array(bytes.buffer));
      },
      (error: unknown) => {
        this.failure ??= { error };
        this.inFlight.delete(upload);
      },
    );
    this.inFlight.add(upload);
  }
}


function countRows(rep: Uint8Array, levels: number): number {
  let n = 0;
  for (let i = 0; i < levels; i++) if (rep[i] === 0) n++;
  return n;
}
