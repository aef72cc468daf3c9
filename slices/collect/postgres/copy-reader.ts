/**
 * Streams `COPY (SELECT ...) TO STDOUT (FORMAT binary)` and decodes it into
 * row-group batches of ColumnBuilders, no JS object per row or cell. The
 * stream is pulled: while a batch is being written the socket is not read, so
 * PostgreSQL waits (TCP backpressure) and memory stays at one batch.
 *
 * Binary COPY layout: an 11-byte signature, flags, header extension; per row
 * an int16 field count then (int32 length, bytes) per field, -1 for NULL; an
 * int16 -1 trailer. All integers big-endian.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { ColumnBuilder, type RowGroupBatch } from '../../../shared/lake/parquet.ts';
import { TerminalError, TransientError } from '../../../shared/errors.ts';
import { sourceError } from './source-errors.ts';
import type { SourceColumn, SourceTable } from './catalog.ts';
import { qualifiedName, quoteIdent, quoteLiteral } from './sql.ts';
import { decodeArray, decodeValue, KIND, type ColumnMapping } from './types.ts';

/** A row group is also closed at this many bytes of rows, so wide rows keep memory bounded. */
export const DEFAULT_ROW_GROUP_BYTES = 64 * 1024 * 1024;

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEADER_BYTES = 19;

export interface CursorWindow {
  column: SourceColumn;
  /** Exclusive lower bound, as the column's text; null for none. */
  from: string | null;
  /** Inclusive upper bound, as the column's text; null for none. */
  to: string | null;
}

/**
 * The COPY statement. COPY takes no bind parameters, so cursor bounds are
 * quoted literals cast to the cursor column's base type (schema-qualified, no
 * typmod, so nothing is truncated on the way).
 */
export function copySql(table: SourceTable, mappings: ColumnMapping[], window?: CursorWindow): string {
  const list = mappings.length ? mappings.map((m) => m.select).join(', ') : '';
  let sql = `SELECT ${list} FROM ${qualifiedName(table.schema, table.table)}`;
  if (window && (window.from !== null || window.to !== null)) {
    const col = quoteIdent(window.column.name);
    const type = qualifiedName(window.column.base.schema, window.column.base.name);
    const conditions: string[] = [];
    if (window.from !== null) conditions.push(`${col} > ${quoteLiteral(window.from)}::${type}`);
    if (window.to !== null) conditions.push(`${col} <= ${quoteLiteral(window.to)}::${type}`);
    sql += ` WHERE ${conditions.join(' AND ')}`;
  }
  return `COPY (${sql}) TO STDOUT (FORMAT binary)`;
}

export interface CopyReaderOptions {
  /** The columns of the COPY, in order. */
  mappings: ColumnMapping[];
  rowGroupRows: number;
  rowGroupBytes?: number;
}

export class CopyReader {
  /** Rows decoded so far. */
  rows = 0;
  /** Bytes of the COPY stream read so far. */
  bytes = 0;
  private readonly options: CopyReaderOptions;
  private readonly builders: ColumnBuilder[];
  private readonly mappings: ColumnMapping[];
  private readonly hash = createHash('sha256');
  private digest: string | undefined;
  private batchRows = 0;
  private batchBytes = 0;
  private done = false;
  private readonly decoder: RowDecoder;
  private readonly state: DecodeState;
  private readonly rowGroupBytes: number;

  constructor(options: CopyReaderOptions) {
    if (!(options.rowGroupRows >= 1)) {
      throw new TerminalError('config', `rowGroupRows is ${options.rowGroupRows}; expected an integer of at least 1`, { code: 'config.row-group-rows' });
    }
    this.options = options;
    this.mappings = options.mappings;
    this.rowGroupBytes = options.rowGroupBytes ?? DEFAULT_ROW_GROUP_BYTES;
    this.builders = options.mappings.map((m) => new ColumnBuilder(m.schema, options.rowGroupRows));
    this.decoder = compileRowDecoder(options.mappings);
    this.state = { rows: 0, bytes: 0, maxRows: options.rowGroupRows, maxBytes: this.rowGroupBytes, done: false, badFields: 0 };
  }

  /** sha256 (hex) of the COPY byte stream as PostgreSQL sent it; available once the stream has been read to its end. */
  checksum(): string {
    if (this.digest === undefined) throw new TerminalError('internal', 'the COPY checksum was asked for before the stream ended; expected the stream to be read to its end first', { code: 'internal.checksum' });
    return this.digest;
  }

  /**
   * Run `sql` (a `COPY ... TO STDOUT (FORMAT binary)` whose columns are the
   * mappings, see copySql) and yield its rows as batches of at most
   * rowGroupRows rows. A batch's builders are reused for the next one:
   * consume each batch before asking for the next. If the consumer stops
   * early the COPY is abandoned mid-stream and the connection cannot run
   * another query; discard it.
   */
  async *read(client: pg.ClientBase, sql: string): AsyncGenerator<RowGroupBatch> {
    let stream: ReturnType<typeof leanCopyTo>;
    try {
      stream = client.query(leanCopyTo(sql));
    } catch (e) {
      throw sourceError(e, 'starting the COPY');
    }
    try {
      yield* this.decode(stream as AsyncIterable<Buffer>, stream.release);
    } catch (e) {
      throw sourceError(e, 'reading the COPY stream');
    } finally {
      // Stopped early (an error, or the consumer gave up): abandon the stream.
      if (!this.done) stream.destroy();
    }
  }

  /**
   * Decode a binary COPY byte stream, however it is cut into chunks. Each
   * chunk is handed to `release` once nothing refers to it any more.
   */
  async *decode(chunks: AsyncIterable<Buffer>, release?: (chunk: Buffer) => void): AsyncGenerator<RowGroupBatch> {
    let carry: Buffer | null = null;
    let header = false;
    for await (const chunk of chunks) {
      this.hash.update(chunk);
      this.bytes += chunk.length;
      let buf: Buffer = chunk;
      let off = 0;
      if (!header) {
        buf = carry ? Buffer.concat([carry, chunk]) : chunk;
        carry = null;
        off = this.header(buf);
        if (off < 0) {
          carry = Buffer.from(buf);
          release?.(chunk);
          continue;
        }
        header = true;
      } else if (carry) {
        // A row was cut at the previous chunk's end. Join the cut with just enough of this
        // chunk to finish it (rows are short; copying whole chunks would cost more).
        const cut: Buffer = carry;
        carry = null;
        for (let take = Math.min(chunk.length, 256 + 2 * cut.length); ; take = Math.min(chunk.length, take * 4)) {
          const joint = Buffer.concat([cut, chunk.subarray(0, take)]);
          const end = yield* this.drain(joint, 0);
          if (end >= cut.length || this.done) {
            off = end - cut.length;
            break;
          }
          if (take === chunk.length) {
            // Not even the whole chunk finishes the row: keep it all for the next one.
            carry = joint;
            off = chunk.length;
            break;
          }
        }
      }
      if (off < buf.length && !this.done) off = yield* this.drain(buf, off);
      if (this.done) {
        if (off !== buf.length) throw new TerminalError('source', `the COPY stream has ${buf.length - off} bytes after its trailer; expected none`, { code: 'source.format' });
      } else if (off < buf.length) {
        // A copy: the chunk goes back to be refilled.
        carry = Buffer.from(buf.subarray(off));
      }
      release?.(chunk);
    }
    if (!this.done) {
      throw new TransientError('source', `the COPY stream ended after ${this.rows} rows without its trailer; expected the end-of-data marker (connection lost?)`, { code: 'source.truncated' });
    }
    this.digest = this.hash.digest('hex');
    if (this.batchRows > 0) {
      yield this.batch();
      this.resetBatch();
    }
  }

  /** Decode the whole rows in `buf` from `off`, yielding each batch that fills; returns where decoding stopped. */
  private *drain(buf: Buffer, off: number): Generator<RowGroupBatch, number> {
    while (!this.done) {
      off = this.decodeRows(buf, off);
      if (this.batchRows >= this.options.rowGroupRows || this.batchBytes >= this.rowGroupBytes) {
        yield this.batch();
        this.resetBatch();
        continue;
      }
      break;
    }
    return off;
  }

  /** The offset of the first row, or -1 when `buf` does not yet hold the whole header. */
  private header(buf: Buffer): number {
    if (buf.length < HEADER_BYTES) return -1;
    if (!buf.subarray(0, SIGNATURE.length).equals(SIGNATURE)) {
      throw new TerminalError('source', 'the COPY stream does not start with the binary COPY signature; expected PGCOPY\\n\\377\\r\\n\\0', { code: 'source.format' });
    }
    const flags = buf.readInt32BE(11);
    if (flags & 0xffff0000) throw new TerminalError('source', `binary COPY header flags 0x${flags.toString(16)} ask for features Reef does not read; expected 0`, { code: 'source.format' });
    const ext = buf.readInt32BE(15);
    return buf.length < HEADER_BYTES + ext ? -1 : HEADER_BYTES + ext;
  }

  private batch(): RowGroupBatch {
    return { rows: this.batchRows, columns: this.builders };
  }

  private resetBatch(): void {
    for (const b of this.builders) {
      // The unchecked writes in decodeRows rely on this; a violation would have dropped values.
      if (!b.list && (b.levels > b.defs.length || b.byteLength > b.u8.length)) {
        throw new TerminalError('internal', `column builder overflow (${b.levels} rows); expected at most ${this.options.rowGroupRows}`, { code: 'internal.overflow' });
      }
      b.reset();
    }
    this.batchRows = 0;
    this.batchBytes = 0;
  }

  /** Decode whole rows from `off` until the batch is full, the buffer ends mid-row, or the trailer. Returns the new offset. */
  private decodeRows(buf: Buffer, off: number): number {
    const st = this.state;
    st.rows = this.batchRows;
    st.bytes = this.batchBytes;
    const end = this.decoder(buf, new DataView(buf.buffer, buf.byteOffset, buf.byteLength), off, st, this.builders, this.mappings, decodeValue, decodeArray);
    if (st.badFields !== 0) {
      throw new TerminalError('source', `a COPY row has ${st.badFields} fields; expected ${this.builders.length}`, { code: 'source.format' });
    }
    if (st.done) this.done = true;
    this.rows += st.rows - this.batchRows;
    this.batchRows = st.rows;
    this.batchBytes = st.bytes;
    return end;
  }
}

interface DecodeState {
  rows: number;
  bytes: number;
  maxRows: number;
  maxBytes: number;
  done: boolean;
  /** Set to a row's field count when it is not the expected one. */
  badFields: number;
}

type RowDecoder = (
  buf: Buffer,
  dv: DataView,
  off: number,
  st: DecodeState,
  builders: ColumnBuilder[],
  mappings: ColumnMapping[],
  value: typeof decodeValue,
  array: typeof decodeArray,
) => number;

/**
 * The row loop, written out for this table's columns: one straight run of
 * code per row with each column's decoding inlined by its kind, instead of a
 * loop over columns that switches on the kind of each. It is the hot loop of
 * the extraction, and this form decodes about twice as fast. The generated
 * text holds only column positions and kind numbers, never names or data.
 *
 * A row is first measured (field lengths) and decoded only if it is whole in
 * `buf`; the common kinds write without capacity checks because flat builders
 * hold rowGroupRows levels and values and a batch never exceeds that many rows
 * (CopyReader.resetBatch checks it).
 */
function compileRowDecoder(mappings: ColumnMapping[]): RowDecoder {
  const n = mappings.length;
  const lines: string[] = ["'use strict';", 'const end = buf.length;'];
  for (let c = 0; c < n; c++) lines.push(`const b${c} = builders[${c}], m${c} = mappings[${c}];`);
  lines.push('let rows = st.rows, bytes = st.bytes;', 'const maxRows = st.maxRows, maxBytes = st.maxBytes;');
  lines.push('while (rows < maxRows && bytes < maxBytes) {');
  lines.push('  if (off + 2 > end) break;', '  const nf = dv.getInt16(off);');
  lines.push('  if (nf === -1) { st.done = true; off += 2; break; }');
  lines.push(`  if (nf !== ${n}) { st.badFields = nf; break; }`);
  lines.push('  let p = off + 2;');
  for (let c = 0; c < n; c++) {
    lines.push(`  if (p + 4 > end) break; const l${c} = dv.getInt32(p); const o${c} = p + 4; p = o${c} + (l${c} > 0 ? l${c} : 0);`);
  }
  lines.push('  if (p > end) break;');
  for (let c = 0; c < n; c++) {
    const m = mappings[c];
    const b = `b${c}`;
    const o = `o${c}`;
    const l = `l${c}`;
    if (m.list) {
      lines.push(`  if (${l} < 0) ${b}.nullList(); else array(dv, buf, ${o}, ${b}, m${c});`);
      continue;
    }
    let value: string;
    switch (m.kind) {
      case KIND.int4:
        value = `${b}.i32[${b}.count++] = dv.getInt32(${o});`;
        break;
      case KIND.int8:
      case KIND.time:
        value = `{ const i = ${b}.count++ << 1; ${b}.i32[i] = dv.getInt32(${o} + 4); ${b}.i32[i + 1] = dv.getInt32(${o}); }`;
        break;
      case KIND.float8:
        value = `${b}.f64[${b}.count++] = dv.getFloat64(${o});`;
        break;
      case KIND.bool:
        value = `${b}.u8[${b}.count++] = buf[${o}] === 0 ? 0 : 1;`;
        break;
      case KIND.bytes:
        value = `${b}.bytes(buf, ${o}, ${o} + ${l});`;
        break;
      case KIND.uuid:
        value = `${b}.fixed(buf, ${o});`;
        break;
      default:
        value = `value(${Number(m.kind)}, dv, buf, ${o}, ${l}, ${b}, m${c});`;
    }
    const present = m.schema.nullable ? `${b}.defs[${b}.levels++] = 1;` : `${b}.levels++;`;
    lines.push(`  if (${l} < 0) ${b}.nullRow(); else { ${present} ${value} }`);
  }
  lines.push('  bytes += p - off; off = p; rows++;', '}', 'st.rows = rows; st.bytes = bytes;', 'return off;');
  return new Function('buf', 'dv', 'off', 'st', 'builders', 'mappings', 'value', 'array', lines.join('\n')) as RowDecoder;
}

/** What leanCopyTo relies on in pg-copy-streams 7's CopyStreamQuery, beyond its public Readable side. */
interface CopyStreamInternals {
  _buffer: { push(b: Buffer): void };
  _parse(chunk: Buffer): boolean | undefined;
  _detach(): void;
  _cleanup(): void;
  push(chunk: Buffer | null): boolean;
}

const MSG = { ErrorResponse: 0x45, CopyOutResponse: 0x48, CopyData: 0x64, NotificationResponse: 0x41, NoticeResponse: 0x4e, ParameterStatus: 0x53 } as const;

/**
 * pg-copy-streams' `to()`, with its protocol splitter replaced: the stock one
 * allocates a Buffer per CopyData message, that is per row, which cost more
 * than decoding the row. This one copies the row payloads of each socket
 * read into one buffer. Everything else (taking over the connection, handing
 * it back, backpressure, errors) is pg-copy-streams' own, which is why this
 * mirrors its `_parse` contract: return whether to keep reading, leave
 * unparsed bytes in `_buffer` before `_detach()`.
 */
export function leanCopyTo(sql: string): ReturnType<typeof copyTo> & { release(chunk: Buffer): void } {
  const stream = copyTo(sql) as ReturnType<typeof copyTo> & { release(chunk: Buffer): void };
  // Chunks the reader has finished with come back here instead of being garbage.
  const free: Buffer[] = [];
  stream.release = (chunk: Buffer) => {
    if (free.length < 4 && chunk.buffer.byteLength === COALESCE_BYTES) free.push(Buffer.from(chunk.buffer, 0, COALESCE_BYTES));
  };
  const fresh = (): Buffer => free.pop() ?? Buffer.allocUnsafe(COALESCE_BYTES);
  const internals = stream as unknown as CopyStreamInternals;
  const header = Buffer.alloc(5);
  let headerFill = 0;
  let code = 0;
  let remaining = 0;
  let inMessage = false;
  // Payload collects here across socket reads: PostgreSQL sends 8 KiB at a time, and each
  // chunk handed on costs a trip through the stream machinery.
  let out = fresh();
  let n = 0;
  const continues = (c: number): boolean =>
    c === MSG.CopyData || c === MSG.CopyOutResponse || c === MSG.ParameterStatus || c === MSG.NoticeResponse || c === MSG.NotificationResponse;
  const flush = (self: CopyStreamInternals): boolean => {
    if (n === 0) return true;
    const full = out.subarray(0, n);
    out = fresh();
    n = 0;
    return self.push(full);
  };
  internals._parse = function parse(this: CopyStreamInternals, chunk: Buffer): boolean | undefined {
    let drained = true;
    let i = 0;
    const end = chunk.length;
    let done = false;
    while (i < end) {
      if (inMessage) {
        const take = Math.min(remaining, end - i);
        if (code === MSG.CopyData) {
          let from = i;
          while (from < i + take) {
            if (n === out.length && !flush(this)) drained = false;
            const k = Math.min(out.length - n, i + take - from);
            chunk.copy(out, n, from, from + k);
            n += k;
            from += k;
          }
        }
        i += take;
        remaining -= take;
        if (remaining > 0) break;
        inMessage = false;
        if (!continues(code)) {
          done = true;
          break;
        }
        continue;
      }
      if (headerFill === 0 && chunk[i] === MSG.ErrorResponse) {
        // Hand the error (and what follows) back to pg, which fails the query.
        this._buffer.push(chunk.subarray(i));
        this._detach();
        return undefined;
      }
      header[headerFill++] = chunk[i++];
      if (headerFill < 5) continue;
      headerFill = 0;
      code = header[0];
      remaining = header.readUInt32BE(1) - 4;
      inMessage = remaining > 0;
      if (!inMessage && !continues(code)) {
        done = true;
        break;
      }
    }
    if (done) {
      if (!flush(this)) drained = false;
      if (i < end) this._buffer.push(chunk.subarray(i));
      this._detach();
      this.push(null);
      this._cleanup();
    } else if (n >= COALESCE_BYTES - 16 * 1024 && !flush(this)) {
      drained = false;
    }
    return drained;
  };
  return stream;
}

/** Bytes of COPY payload gathered before they are handed on. */
const COALESCE_BYTES = 256 * 1024;

