/**
 * One row group encoded as uncompressed DATA_PAGE (v1) bodies: RLE levels,
 * then PLAIN values, in pages of about PAGE_BYTES, with the min/max the footer
 * carries. Ours rather than hyparquet-writer's: its generic path (one JS value
 * per cell, a dictionary attempt and statistics per value) wrote the
 * benchmark table at a fifth of this speed (bench/README.md).
 */
import { TerminalError } from '../errors.ts';
import type { ColumnData, RowGroupBatch } from './column-builder.ts';
import type { Leaf } from './parquet-schema.ts';

/** Pages near 1 MiB, the parquet-mr and Arrow default: readers decompress one page at a time. */
export const PAGE_BYTES = 1 << 20;

export type Compression = 'SNAPPY' | 'UNCOMPRESSED';

/** A growable byte buffer for assembling pages (and, in PartWriter, a whole part). */
export class Scratch {
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

export interface PreparedColumn {
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

export interface PreparedRowGroup {
  rows: number;
  columns: PreparedColumn[];
  /** Uncompressed page bodies, back to back; `pages` holds (offset, length, compress?) triples in column order. */
  body: Uint8Array;
  pages: Int32Array;
}

/** Copy a batch out of its builders as uncompressed DATA_PAGE v1 bodies: levels, then PLAIN values. */
export function prepareRowGroup(batch: RowGroupBatch, leaves: Leaf[], codecs: Compression[]): PreparedRowGroup {
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

/** PartWriter gives a body back once its pages are copied into a part. */
export const pool = new BufferPool();
