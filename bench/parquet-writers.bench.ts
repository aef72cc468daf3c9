/**
 * node bench/parquet-writers.bench.ts [--rows N]
 *
 * The Parquet writer candidates on the same decoded data: the collect
 * benchmark's 8 columns (bigint, int, numeric(12,2), ~30-char text,
 * timestamptz, bool, uuid, double; NULLs in four of them), held as JS arrays
 * the way a decoder would hand them over. Each writer gets them in its own
 * input form, converted inside the timed region, writes SNAPPY Parquet with
 * row groups of 65,536 rows, and is then checked by DuckDB: row count, and
 * the logical types it recorded for the uuid and timestamptz columns.
 *
 * Prints one line per writer, then a JSON array as the last line.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as arrow from 'apache-arrow';
import * as parquetWasm from 'parquet-wasm/node';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { SchemaElement } from 'hyparquet';
import { snappyCompressor } from 'hysnappy';
import { DuckDBInstance, decimalValue, timestampTZValue, uuidValue } from '@duckdb/node-api';
import { columnFromValues, PartWriter, type RowGroupBatch } from '../shared/lake/parquet.ts';
import type { DatasetSchema } from '../shared/schema.ts';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' } } });
const N = Number(values.rows);
const GROUP = 65_536;

// ---------------------------------------------------------------------------
// The decoded data

const id = new BigInt64Array(N);
const qty = new Int32Array(N);
const amount: (bigint | null)[] = new Array(N);
const note: (string | null)[] = new Array(N);
const createdAt = new BigInt64Array(N);
const active: (boolean | null)[] = new Array(N);
const ref: Uint8Array[] = new Array(N);
const score = new Float64Array(N);
let rawBytes = 0;
for (let i = 0; i < N; i++) {
  id[i] = BigInt(i + 1);
  qty[i] = (i * 7919) % 100000;
  amount[i] = i % 41 === 0 ? null : BigInt((i * 104729) % 10000000);
  note[i] = i % 50 === 0 ? null : (i.toString(16) + 'abcdef0123456789').repeat(3).slice(0, 20 + (i % 21));
  createdAt[i] = 1704067200000000n + BigInt(i) * 1000000n;
  active[i] = i % 97 === 0 ? null : i % 3 === 0;
  const u = new Uint8Array(16);
  for (let k = 0; k < 16; k++) u[k] = (Math.imul(i + 1, 2654435761 + k * 40503) >>> 24) & 0xff;
  ref[i] = u;
  score[i] = ((i % 100000) * 1.5) / 7;
  rawBytes += 8 + 4 + 8 + (note[i]?.length ?? 0) + 8 + 1 + 16 + 8;
}

const schema: DatasetSchema = {
  columns: [
    { name: 'id', sourceType: 'bigint', nullable: false, parquet: { physical: 'INT64' } },
    { name: 'qty', sourceType: 'integer', nullable: false, parquet: { physical: 'INT32' } },
    { name: 'amount', sourceType: 'numeric(12,2)', nullable: true, parquet: { physical: 'INT64', logical: { type: 'DECIMAL', precision: 12, scale: 2 } } },
    { name: 'note', sourceType: 'text', nullable: true, parquet: { physical: 'BYTE_ARRAY', logical: { type: 'STRING' } } },
    { name: 'created_at', sourceType: 'timestamp with time zone', nullable: false, parquet: { physical: 'INT64', logical: { type: 'TIMESTAMP', unit: 'MICROS', isAdjustedToUTC: true } } },
    { name: 'active', sourceType: 'boolean', nullable: true, parquet: { physical: 'BOOLEAN' } },
    { name: 'ref', sourceType: 'uuid', nullable: false, parquet: { physical: 'FIXED_LEN_BYTE_ARRAY', length: 16, logical: { type: 'UUID' } } },
    { name: 'score', sourceType: 'double precision', nullable: false, parquet: { physical: 'DOUBLE' } },
  ],
};

const groups: [number, number][] = [];
for (let s = 0; s < N; s += GROUP) groups.push([s, Math.min(N, s + GROUP)]);

// ---------------------------------------------------------------------------
// The candidates: each returns its Parquet files.

function hyparquetWriter(compressor: 'js' | 'hysnappy'): Uint8Array[] {
  const elements: SchemaElement[] = [
    { name: 'root', num_children: 8 },
    { name: 'id', type: 'INT64', repetition_type: 'REQUIRED' },
    { name: 'qty', type: 'INT32', repetition_type: 'REQUIRED' },
    { name: 'amount', type: 'INT64', repetition_type: 'OPTIONAL', converted_type: 'DECIMAL', precision: 12, scale: 2, logical_type: { type: 'DECIMAL', precision: 12, scale: 2 } },
    { name: 'note', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL', converted_type: 'UTF8', logical_type: { type: 'STRING' } },
    { name: 'created_at', type: 'INT64', repetition_type: 'REQUIRED', converted_type: 'TIMESTAMP_MICROS', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' } },
    { name: 'active', type: 'BOOLEAN', repetition_type: 'OPTIONAL' },
    { name: 'ref', type: 'FIXED_LEN_BYTE_ARRAY', type_length: 16, repetition_type: 'REQUIRED', logical_type: { type: 'UUID' } },
    { name: 'score', type: 'DOUBLE', repetition_type: 'REQUIRED' },
  ];
  const writer = new ByteWriter();
  const pw = new ParquetWriter({ writer, schema: elements, compressors: compressor === 'hysnappy' ? { SNAPPY: snappyCompressor() } : undefined });
  for (const [s, e] of groups) {
    pw.write({
      rowGroupSize: GROUP,
      columnData: [
        { name: 'id', data: id.subarray(s, e) },
        { name: 'qty', data: qty.subarray(s, e) },
        { name: 'amount', data: amount.slice(s, e) },
        { name: 'note', data: note.slice(s, e) },
        { name: 'created_at', data: createdAt.subarray(s, e) },
        { name: 'active', data: active.slice(s, e) },
        { name: 'ref', data: ref.slice(s, e) },
        { name: 'score', data: score.subarray(s, e) },
      ],
    });
  }
  pw.finish();
  return [writer.getBytes()];
}

function validity<T>(values: readonly (T | null)[]): Uint8Array {
  const bits = new Uint8Array((values.length + 7) >> 3);
  values.forEach((v, i) => {
    if (v !== null) bits[i >> 3] |= 1 << (i & 7);
  });
  return bits;
}

function parquetWasmWriter(): Uint8Array[] {
  const files: Uint8Array[] = [];
  const props = new parquetWasm.WriterPropertiesBuilder().setCompression(parquetWasm.Compression.SNAPPY).setMaxRowGroupSize(GROUP).build();
  for (const [s, e] of groups) {
    const n = e - s;
    const am = amount.slice(s, e);
    const dec = new Uint32Array(n * 4);
    am.forEach((v, i) => {
      if (v === null) return;
      const u = BigInt.asUintN(128, v);
      for (let k = 0; k < 4; k++) dec[i * 4 + k] = Number((u >> BigInt(32 * k)) & 0xffffffffn);
    });
    const uuids = new Uint8Array(n * 16);
    for (let i = 0; i < n; i++) uuids.set(ref[s + i], i * 16);
    const table = new arrow.Table({
      id: arrow.makeVector(id.subarray(s, e)),
      qty: arrow.makeVector(qty.subarray(s, e)),
      amount: arrow.makeVector(arrow.makeData({ type: new arrow.Decimal(2, 12, 128), length: n, data: dec, nullBitmap: validity(am) })),
      note: arrow.vectorFromArray(note.slice(s, e), new arrow.Utf8()),
      created_at: arrow.makeVector(arrow.makeData({ type: new arrow.TimestampMicrosecond('UTC'), length: n, data: createdAt.subarray(s, e) })),
      active: arrow.vectorFromArray(active.slice(s, e), new arrow.Bool()),
      ref: arrow.makeVector(arrow.makeData({ type: new arrow.FixedSizeBinary(16), length: n, data: uuids })),
      score: arrow.makeVector(score.subarray(s, e)),
    });
    files.push(parquetWasm.writeParquet(parquetWasm.Table.fromIPCStream(arrow.tableToIPC(table, 'stream')), props));
  }
  return files;
}

async function duckdbWriter(dir: string): Promise<Uint8Array[]> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  await c.run(`CREATE TABLE t (id BIGINT, qty INTEGER, amount DECIMAL(12,2), note VARCHAR, created_at TIMESTAMPTZ, active BOOLEAN, ref UUID, score DOUBLE)`);
  const a = await c.createAppender('t');
  for (let i = 0; i < N; i++) {
    a.appendBigInt(id[i]);
    a.appendInteger(qty[i]);
    const am = amount[i];
    if (am === null) a.appendNull();
    else a.appendDecimal(decimalValue(am, 12, 2));
    const nt = note[i];
    if (nt === null) a.appendNull();
    else a.appendVarchar(nt);
    a.appendTimestampTZ(timestampTZValue(createdAt[i]));
    const ac = active[i];
    if (ac === null) a.appendNull();
    else a.appendBoolean(ac);
    a.appendUUID(uuidValue(BigInt('0x' + Buffer.from(ref[i]).toString('hex'))));
    a.appendDouble(score[i]);
    a.endRow();
  }
  a.closeSync();
  const path = join(dir, 'duckdb.parquet');
  await c.run(`COPY t TO '${path}' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE ${GROUP})`);
  c.closeSync();
  db.closeSync();
  const { readFileSync } = await import('node:fs');
  return [readFileSync(path)];
}

function batchFromValues(s: number, e: number): RowGroupBatch {
  const cols: unknown[][] = [
    Array.from(id.subarray(s, e)),
    Array.from(qty.subarray(s, e)),
    amount.slice(s, e),
    note.slice(s, e),
    Array.from(createdAt.subarray(s, e)),
    active.slice(s, e),
    ref.slice(s, e),
    Array.from(score.subarray(s, e)),
  ];
  return { rows: e - s, columns: schema.columns.map((c, i) => columnFromValues(c, cols[i])) };
}

async function reefWriter(batches: () => Iterable<RowGroupBatch>, offload: boolean): Promise<Uint8Array[]> {
  const files: Uint8Array[] = [];
  const w = new PartWriter({ schema, rowGroupsPerPart: 8, offload, sink: async (p) => void files.push(p.bytes.slice()) });
  for (const b of batches()) await w.writeRowGroup(b);
  await w.close();
  return files;
}

/** Builders filled ahead, the way the COPY decoder fills them, so only the writer is timed. */
function prebuilt(): RowGroupBatch[] {
  return groups.map(([s, e]) => batchFromValues(s, e));
}

// ---------------------------------------------------------------------------

interface Result {
  writer: string;
  rows_per_s: number;
  mb_per_s: number;
  file_mb: number;
  uuid_logical: string;
  timestamptz_logical: string;
  rows_read_back: number;
  note: string;
}

async function check(files: Uint8Array[], dir: string, tag: string): Promise<{ rows: number; uuid: string; ts: string }> {
  const paths = files.map((f, i) => {
    const p = join(dir, `${tag}-${i}.parquet`);
    writeFileSync(p, f);
    return p;
  });
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const list = `[${paths.map((p) => `'${p}'`).join(', ')}]`;
  const rows = Number((await c.runAndReadAll(`SELECT count(*) AS n FROM read_parquet(${list})`)).getRowObjectsJS()[0].n);
  const schemaRows = (await c.runAndReadAll(`SELECT name, logical_type, converted_type FROM parquet_schema('${paths[0]}')`)).getRowObjectsJS();
  const logical = (name: string): string => {
    const r = schemaRows.find((x) => x.name === name);
    return String(r?.logical_type ?? r?.converted_type ?? 'none').replace(/\(.*/, '');
  };
  c.closeSync();
  db.closeSync();
  return { rows, uuid: logical('ref'), ts: logical('created_at') };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'reef-writers-'));
  const results: Result[] = [];
  const built = prebuilt();
  const candidates: [string, string, () => Promise<Uint8Array[]> | Uint8Array[]][] = [
    ['hyparquet-writer (JS snappy)', 'pure JS; one JS value per cell in, explicit schema', () => hyparquetWriter('js')],
    ['hyparquet-writer + hysnappy', 'pure JS + WASM snappy', () => hyparquetWriter('hysnappy')],
    ['parquet-wasm (Arrow)', 'Rust in WASM; Arrow tables in, schema from Arrow types', () => parquetWasmWriter()],
    ['DuckDB (appender + COPY)', 'native binary (no Lambda ARM64 build in our bundle)', () => duckdbWriter(dir)],
    ['reef PartWriter, from JS values', 'columnFromValues + PartWriter, compression in a worker', () => reefWriter(() => groups.map(([s, e]) => batchFromValues(s, e)), true)],
    ['reef PartWriter, prebuilt columns', 'as in extraction: the COPY decoder fills the columns', () => reefWriter(() => built, true)],
    ['reef PartWriter, prebuilt, one thread', 'as above, compression in the same thread', () => reefWriter(() => built, false)],
  ];
  for (const [name, note, run] of candidates) {
    await run(); // warm-up: JIT, WASM instantiation
    const t0 = performance.now();
    const files = await run();
    const s = (performance.now() - t0) / 1000;
    const c = await check(files, dir, name.replace(/\W+/g, '-'));
    const r: Result = {
      writer: name,
      rows_per_s: Math.round(N / s),
      mb_per_s: Number((rawBytes / 1e6 / s).toFixed(1)),
      file_mb: Number((files.reduce((a, f) => a + f.length, 0) / 1e6).toFixed(1)),
      uuid_logical: c.uuid,
      timestamptz_logical: c.ts,
      rows_read_back: c.rows,
      note,
    };
    results.push(r);
    console.log(`${name.padEnd(40)} ${String(r.rows_per_s).padStart(9)} rows/s ${String(r.mb_per_s).padStart(7)} MB/s ${String(r.file_mb).padStart(6)} MB  uuid:${r.uuid_logical} ts:${r.timestamptz_logical} rows:${r.rows_read_back}`);
  }
  rmSync(dir, { recursive: true, force: true });
  console.log(JSON.stringify(results));
}

await main();
