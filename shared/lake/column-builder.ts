/**
 * The column buffers of one row group. Producers fill one `ColumnBuilder`
 * per column with values already in Parquet's PLAIN encoding (the PostgreSQL
 * COPY decoder writes straight into them, no JS value per cell), and hand the
 * batch to `PartWriter`.
 */
import type { ColumnSchema, ParquetPhysical } from '../schema.ts';
import { TerminalError } from '../errors.ts';
import { maxDefinitionLevel, valueWidth } from './parquet-schema.ts';

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
    this.maxDef = maxDefinitionLevel(column);
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
