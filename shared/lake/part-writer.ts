/**
 * The part pipeline: `PartWriter` turns each batch into one row group,
 * closes a part file after `rowGroupsPerPart` row groups and hands it to an
 * async sink while the next part fills. Page headers and the footer are
 * hyparquet-writer's (Thrift, logical types, statistics encoding).
 *
 * Memory: one batch being filled, one being compressed, the part being
 * written, at most `maxUploads` parts uploading and one finished part's buffer
 * kept for reuse.
 */
import type { ColumnChunk, ColumnMetaData, Encoding, FileMetaData, KeyValue, RowGroup, SchemaElement, Statistics } from 'hyparquet';
import { ByteWriter } from 'hyparquet-writer';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import { writePageHeader } from 'hyparquet-writer/src/datapage.js';
import type { DatasetSchema } from '../schema.ts';
import { TerminalError } from '../errors.ts';
import type { RowGroupBatch } from './column-builder.ts';
import { leaves, parquetSchema, type Leaf } from './parquet-schema.ts';
import { pool, prepareRowGroup, Scratch, type Compression, type PreparedRowGroup } from './page-encoding.ts';
import { compressInline, outputs, worker, type CompressedPages } from './page-compression.ts';

/** Two uploads in flight keep the network busy while the next part fills; each is a part held in memory. */
export const DEFAULT_MAX_UPLOADS = 2;
export const CREATED_BY = 'reef (hyparquet-writer format layer)';

const MAGIC = 0x31524150; // "PAR1" little-endian
const MAGIC_BYTES = new Uint8Array([0x50, 0x41, 0x52, 0x31]);

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
