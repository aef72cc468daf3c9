import { test } from 'node:test';
import assert from 'node:assert/strict';
import { queryParquet } from '../../test/support/duckdb.ts';
import type { DatasetSchema } from '../schema.ts';
import { columnFromValues, PartWriter, type FinishedPart, type PartWriterOptions, type RowGroupBatch } from './parquet.ts';

/** DuckDB, an independent reader, over Parquet bytes: the parts are the view `batch`. */
const duck = (parts: Uint8Array[], sql: string) => queryParquet(parts, sql);

const schema: DatasetSchema = {
  columns: [
    { name: 'id', sourceType: 'bigint', nullable: false, parquet: { physical: 'INT64' } },
    { name: 'small', sourceType: 'smallint', nullable: true, parquet: { physical: 'INT32', logical: { type: 'INTEGER', bitWidth: 16, signed: true } } },
    { name: 'flag', sourceType: 'boolean', nullable: true, parquet: { physical: 'BOOLEAN' } },
    { name: 'ratio', sourceType: 'real', nullable: true, parquet: { physical: 'FLOAT' } },
    { name: 'score', sourceType: 'double precision', nullable: true, parquet: { physical: 'DOUBLE' } },
    { name: 'price', sourceType: 'numeric(9,2)', nullable: true, parquet: { physical: 'INT32', logical: { type: 'DECIMAL', precision: 9, scale: 2 } } },
    { name: 'big', sourceType: 'numeric(38,10)', nullable: true, parquet: { physical: 'FIXED_LEN_BYTE_ARRAY', length: 16, logical: { type: 'DECIMAL', precision: 38, scale: 10 } } },
    { name: 'name', sourceType: 'text', nullable: true, parquet: { physical: 'BYTE_ARRAY', logical: { type: 'STRING' } } },
    { name: 'raw', sourceType: 'bytea', nullable: true, parquet: { physical: 'BYTE_ARRAY' } },
    { name: 'ref', sourceType: 'uuid', nullable: true, parquet: { physical: 'FIXED_LEN_BYTE_ARRAY', length: 16, logical: { type: 'UUID' } } },
    { name: 'day', sourceType: 'date', nullable: true, parquet: { physical: 'INT32', logical: { type: 'DATE' } } },
    { name: 'ts', sourceType: 'timestamp with time zone', nullable: true, parquet: { physical: 'INT64', logical: { type: 'TIMESTAMP', unit: 'MICROS', isAdjustedToUTC: true } } },
    { name: 'tags', sourceType: 'text[]', nullable: true, parquet: { physical: 'BYTE_ARRAY', logical: { type: 'STRING' }, list: true } },
    { name: 'nums', sourceType: 'integer[]', nullable: false, parquet: { physical: 'INT32', list: true } },
  ],
};

/** Row i of the test data, as JS values in column order. */
function row(i: number): unknown[] {
  return [
    BigInt(i),
    i % 5 === 0 ? null : (i % 65536) - 32768,
    i % 7 === 0 ? null : i % 2 === 0,
    i % 11 === 0 ? null : i / 8,
    i % 13 === 0 ? null : i === 1 ? NaN : i * 1.5 - 1000,
    i % 3 === 0 ? null : `${(i * 7) % 100000}.${String(i % 100).padStart(2, '0')}`,
    i % 4 === 0 ? null : `-${i}1234567890123456789.0123456789`,
    i % 6 === 0 ? null : `row ${i} ✓ 🐟`.repeat(1 + (i % 3)),
    i % 9 === 0 ? null : new Uint8Array([0, i & 0xff, 0, 255]),
    i % 8 === 0 ? null : `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    i % 10 === 0 ? null : i - 20000,
    i % 12 === 0 ? null : BigInt(i) * 1_000_000n - 2_000_000_000_000n,
    i % 5 === 1 ? null : i % 5 === 2 ? [] : [`a${i}`, null, `b${i}`],
    i % 4 === 0 ? [] : [i, i + 1],
  ];
}

function batch(from: number, n: number): RowGroupBatch {
  const rows = Array.from({ length: n }, (_, k) => row(from + k));
  return { rows: n, columns: schema.columns.map((c, j) => columnFromValues(c, rows.map((r) => r[j]))) };
}

async function writeAll(options: Partial<PartWriterOptions>, groups: number[]): Promise<FinishedPart[]> {
  const parts: FinishedPart[] = [];
  const w = new PartWriter({ schema, rowGroupsPerPart: 2, sink: async (p) => void parts.push({ ...p, bytes: p.bytes.slice() }), ...options });
  let from = 0;
  for (const n of groups) {
    await w.writeRowGroup(batch(from, n));
    from += n;
  }
  const summary = await w.close();
  assert.equal(summary.parts, parts.length);
  assert.equal(summary.rows, from);
  assert.equal(summary.bytes, parts.reduce((s, p) => s + p.bytes.length, 0));
  return parts.sort((a, b) => a.n - b.n);
}

test('PartWriter: every physical type, NULLs and lists read back value for value with DuckDB', async () => {
  const groups = [500, 1, 700, 300, 20];
  const parts = await writeAll({}, groups);
  assert.deepEqual(parts.map((p) => p.rows), [501, 1000, 20], 'rowGroupsPerPart row groups per part');
  const got = await duck(
    parts.map((p) => p.bytes),
    `SELECT id, small, flag, ratio, score, price::VARCHAR AS price, big::VARCHAR AS big, name, hex(raw) AS raw, ref::VARCHAR AS ref,
            day::VARCHAR AS day, epoch_us(ts) AS ts, tags, nums
       FROM batch ORDER BY id`,
  );
  const total = groups.reduce((a, b) => a + b, 0);
  assert.equal(got.length, total);
  for (let i = 0; i < total; i++) {
    const [id, small, flag, ratio, score, price, big, name, raw, ref, day, ts, tags, nums] = row(i);
    const g = got[i];
    assert.equal(g.id, id);
    assert.equal(g.small, small);
    assert.equal(g.flag, flag);
    assert.equal(g.ratio, ratio === null ? null : Math.fround(ratio as number));
    if (Number.isNaN(score)) assert.ok(Number.isNaN(g.score));
    else assert.equal(g.score, score);
    assert.equal(g.price, price === null ? null : Number(price).toFixed(2));
    assert.equal(g.big, big);
    assert.equal(g.name, name);
    assert.equal(g.raw, raw === null ? null : Buffer.from(raw as Uint8Array).toString('hex').toUpperCase());
    assert.equal(g.ref, ref);
    assert.equal(g.day, day === null ? null : new Date((day as number) * 86_400_000).toISOString().slice(0, 10));
    assert.equal(g.ts, ts);
    assert.deepEqual(g.tags, tags);
    assert.deepEqual(g.nums, nums);
  }
});

test('PartWriter: the worker and this thread write the same bytes', async () => {
  const a = await writeAll({ offload: true }, [800, 800, 50]);
  const b = await writeAll({ offload: false }, [800, 800, 50]);
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.equal(Buffer.compare(Buffer.from(a[i].bytes), Buffer.from(b[i].bytes)), 0, `part ${i}`);
});

test('PartWriter: column chunks above a page split into pages at row starts and still read back', async () => {
  const wide: DatasetSchema = {
    columns: [
      { name: 'id', sourceType: 'integer', nullable: false, parquet: { physical: 'INT32' } },
      { name: 'doc', sourceType: 'text', nullable: true, parquet: { physical: 'BYTE_ARRAY', logical: { type: 'STRING' } } },
      { name: 'words', sourceType: 'text[]', nullable: true, parquet: { physical: 'BYTE_ARRAY', logical: { type: 'STRING' }, list: true } },
    ],
  };
  const n = 3000;
  const doc = (i: number): string | null => (i % 17 === 0 ? null : `${i}:`.padEnd(500 + (i % 300), String.fromCharCode(97 + (i % 26))));
  const words = (i: number): (string | null)[] | null => (i % 19 === 0 ? null : Array.from({ length: i % 5 }, (_, k) => (k === 1 ? null : `${i}-${k}`.padEnd(300, 'w'))));
  let file: Uint8Array | undefined;
  const w = new PartWriter({ schema: wide, rowGroupsPerPart: 1, sink: async (p) => void (file = p.bytes.slice()) });
  const ids = Array.from({ length: n }, (_, i) => i);
  await w.writeRowGroup({
    rows: n,
    columns: [columnFromValues(wide.columns[0], ids), columnFromValues(wide.columns[1], ids.map(doc)), columnFromValues(wide.columns[2], ids.map(words))],
  });
  await w.close();
  assert.ok(file!.length > 0);
  const got = await duck([file!], 'SELECT id, doc, words FROM batch ORDER BY id');
  assert.equal(got.length, n);
  for (const g of got) {
    const i = g.id as number;
    assert.equal(g.doc, doc(i));
    assert.deepEqual(g.words, words(i));
  }
});

test('PartWriter: logical types, statistics and codecs as Parquet readers see them', async () => {
  const parts = await writeAll({}, [400, 400]);
  const file = [parts[0].bytes];
  const types = await duck(file, `SELECT name, type, type_length, converted_type, logical_type FROM parquet_schema(files)`);
  const byName = new Map(types.map((t) => [t.name, t]));
  // INT_16, not IntType: see leafElement.
  assert.equal(byName.get('small')!.converted_type, 'INT_16');
  assert.match(String(byName.get('price')!.logical_type), /DecimalType\(scale=2, precision=9\)/);
  assert.equal(byName.get('big')!.type_length, '16');
  assert.match(String(byName.get('ref')!.logical_type), /UUIDType/);
  assert.match(String(byName.get('ts')!.logical_type), /TimestampType\(isAdjustedToUTC=1, unit=TimeUnit\(MILLIS=<null>, MICROS=MicroSeconds/);
  assert.match(String(byName.get('tags')!.logical_type), /ListType/);
  assert.equal(byName.get('name')!.converted_type, 'UTF8');
  const meta = await duck(file, `SELECT path_in_schema, stats_min_value, stats_max_value, stats_null_count, compression FROM parquet_metadata(files) WHERE row_group_id = 0`);
  const m = new Map(meta.map((r) => [r.path_in_schema, r]));
  assert.equal(m.get('id')!.stats_min_value, '0');
  assert.equal(m.get('id')!.stats_max_value, '399');
  assert.equal(m.get('small')!.stats_null_count, 80n);
  assert.equal(m.get('price')!.stats_min_value, '7.01', 'the unscaled minimum, read at its scale');
  assert.equal(m.get('ts')!.compression, 'SNAPPY');
});

test('PartWriter: a column snappy cannot shrink is stored uncompressed from its next row group, and reads back', async () => {
  const noisy: DatasetSchema = {
    columns: [
      { name: 'id', sourceType: 'integer', nullable: false, parquet: { physical: 'INT32' } },
      { name: 'noise', sourceType: 'bytea', nullable: false, parquet: { physical: 'BYTE_ARRAY' } },
    ],
  };
  let seed = 42;
  const random = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  const data: Uint8Array[] = [];
  let file: Uint8Array | undefined;
  const w = new PartWriter({ schema: noisy, rowGroupsPerPart: 4, sink: async (p) => void (file = p.bytes.slice()) });
  for (let g = 0; g < 4; g++) {
    const ids = Array.from({ length: 1000 }, (_, k) => g * 1000 + k);
    const noise = ids.map(() => Uint8Array.from({ length: 64 }, random));
    data.push(...noise);
    await w.writeRowGroup({ rows: 1000, columns: [columnFromValues(noisy.columns[0], ids), columnFromValues(noisy.columns[1], noise)] });
  }
  await w.close();
  const codecs = await duck([file!], `SELECT compression FROM parquet_metadata(files) WHERE path_in_schema = 'noise' ORDER BY row_group_id`);
  // The first chunk is compressed and measured; one more is prepared before that measurement
  // arrives (compression runs a row group behind); from then on the column is stored as is.
  assert.deepEqual(codecs.map((r) => r.compression), ['SNAPPY', 'SNAPPY', 'UNCOMPRESSED', 'UNCOMPRESSED']);
  const got = await duck([file!], 'SELECT id, hex(noise) AS noise FROM batch ORDER BY id');
  got.forEach((g, i) => assert.equal(g.noise, Buffer.from(data[i]).toString('hex').toUpperCase()));
});

test('PartWriter: at most two uploads in flight, writing waits for a slot, parts reach the sink in order', async () => {
  let inFlight = 0;
  let most = 0;
  const started: number[] = [];
  const release: (() => void)[] = [];
  const w = new PartWriter({
    schema,
    rowGroupsPerPart: 1,
    sink: async (p) => {
      started.push(p.n);
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise<void>((resolve) => release.push(resolve));
      inFlight--;
    },
  });
  let from = 0;
  const write = (): Promise<void> => w.writeRowGroup(batch((from += 10) - 10, 10));
  await write();
  await write();
  // Two parts uploading: the third row group is accepted, its part waits for a slot.
  let third = false;
  const pending = write().then(() => void (third = true));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(inFlight, 2);
  release.shift()!();
  await pending;
  assert.ok(third);
  const closing = w.close();
  while (started.length < 3 || release.length > 0) {
    await new Promise((r) => setTimeout(r, 5));
    release.shift()?.();
  }
  await closing;
  assert.equal(most, 2);
  assert.deepEqual(started, [0, 1, 2]);
});

test('PartWriter: a failed upload fails the writer, and the error is the sink\'s', async () => {
  const boom = new Error('upload refused');
  const w = new PartWriter({ schema, rowGroupsPerPart: 1, sink: async () => Promise.reject(boom) });
  await w.writeRowGroup(batch(0, 5));
  await assert.rejects(async () => {
    for (let i = 1; i < 5; i++) await w.writeRowGroup(batch(i * 5, 5));
    await w.close();
  }, (e) => e === boom);
  await w.abort();
});
