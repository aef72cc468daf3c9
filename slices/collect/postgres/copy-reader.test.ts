/**
 * The binary COPY decoder against real COPY bytes from PostgreSQL: the same
 * rows and the same column data however the stream is cut into chunks (rows,
 * fields and lengths split anywhere), batches bounded by rows and by bytes,
 * and a damaged stream refused rather than half-read.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { startTestPostgres, type TestPostgres } from '../../../test/support/postgres.ts';
import { isReefError } from '../../../shared/errors.ts';
import { describeTable, type SourceTable } from './catalog.ts';
import { CopyReader, copySql, leanCopyTo } from './copy-reader.ts';
import { mapTable, pinTextForms, type ColumnMapping } from './types.ts';

let server: TestPostgres;
let client: pg.Client;
let table: SourceTable;
let mappings: ColumnMapping[];
let stream: Buffer;

before(async () => {
  server = await startTestPostgres();
  client = await server.client(await server.freshDatabase('reef_copy'));
  await pinTextForms(client);
  await client.query(`CREATE TABLE mixed (id int NOT NULL, t text, n numeric(20,4), tags text[], at timestamptz, u uuid, b boolean, f float8)`);
  await client.query(`INSERT INTO mixed
    SELECT i, CASE WHEN i % 7 = 0 THEN NULL ELSE repeat(chr(945 + i % 20), i % 90) END, i * 1.2345,
           CASE WHEN i % 5 = 0 THEN NULL WHEN i % 5 = 1 THEN '{}' ELSE ARRAY['x' || i, NULL, repeat('y', i % 300)] END,
           timestamptz '1999-12-31 23:00:00+00' + i * interval '1 hour', md5(i::text)::uuid, i % 3 = 0, i / 3.0
      FROM generate_series(1, 3000) AS i`);
  table = await describeTable(client, { schema: 'public', table: 'mixed' });
  mappings = mapTable(table);
  const chunks: Buffer[] = [];
  for await (const c of client.query(copyTo(copySql(table, mappings))) as AsyncIterable<Buffer>) chunks.push(c);
  stream = Buffer.concat(chunks);
});

after(async () => {
  await client?.end();
  await server?.stop();
});

/** Everything the decoder produced, per column, as one fingerprint per column plus batch sizes. */
async function decodeAll(cuts: (length: number) => number[], rowGroupRows = 1000, rowGroupBytes?: number): Promise<{ sizes: number[]; columns: string[]; checksum: string }> {
  const reader = new CopyReader({ mappings, rowGroupRows, rowGroupBytes });
  const hashes = mappings.map(() => createHash('sha256'));
  const sizes: number[] = [];
  async function* chunks(): AsyncGenerator<Buffer> {
    let at = 0;
    for (const n of cuts(stream.length)) {
      if (at >= stream.length) return;
      yield stream.subarray(at, at + n);
      at += n;
    }
    if (at < stream.length) yield stream.subarray(at);
  }
  for await (const batch of reader.decode(chunks())) {
    sizes.push(batch.rows);
    batch.columns.forEach((c, i) => {
      hashes[i].update(`${c.levels}|${c.count}|${c.nulls}|`);
      if (c.def) hashes[i].update(c.def);
      if (c.rep) hashes[i].update(c.rep);
      hashes[i].update(c.values);
    });
  }
  return { sizes, columns: hashes.map((h) => h.digest('hex')), checksum: reader.checksum() };
}

const whole = (n: number): number[] => [n];

test('the same rows and column data whatever the chunk boundaries', async () => {
  const reference = await decodeAll(whole);
  assert.equal(reference.sizes.reduce((a, b) => a + b, 0), 3000);
  assert.deepEqual(reference.sizes, [1000, 1000, 1000]);
  assert.equal(reference.checksum, createHash('sha256').update(stream).digest('hex'));
  let seed = 7;
  const random = (max: number): number => 1 + ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % max);
  const cuttings: [string, (n: number) => number[]][] = [
    ['1 byte (the first 20 KB)', () => Array(20_000).fill(1)],
    ['3 bytes (the first 60 KB)', () => Array(20_000).fill(3)],
    ['the header split', () => [5, 9, 4]],
    ['random up to 40 bytes', (n) => Array.from({ length: n }, () => random(40))],
    ['random up to 5000 bytes', (n) => Array.from({ length: n }, () => random(5000))],
    ['pages of 8 KiB', (n) => Array(Math.ceil(n / 8192)).fill(8192)],
  ];
  for (const [name, cut] of cuttings) {
    const got = await decodeAll(cut);
    assert.deepEqual(got, reference, `cut into ${name}`);
  }
});

test('a row group also closes at rowGroupBytes, so wide rows keep batches bounded', async () => {
  const got = await decodeAll(whole, 1000, 64 * 1024);
  assert.equal(got.sizes.reduce((a, b) => a + b, 0), 3000);
  assert.ok(got.sizes.length > 3, `more, smaller batches: ${got.sizes.join(', ')}`);
  assert.ok(got.sizes.every((n) => n <= 1000));
});

test('a stream without its trailer is a transient error; a foreign stream is refused', async () => {
  const cut = new CopyReader({ mappings, rowGroupRows: 10_000 });
  async function* truncated(): AsyncGenerator<Buffer> {
    yield stream.subarray(0, stream.length - 2);
  }
  await assert.rejects(async () => {
    for await (const _ of cut.decode(truncated())) assert.fail('no batch from a truncated stream');
  }, (e: unknown) => isReefError(e) && e.transient && e.code === 'source.truncated');
  const reader = new CopyReader({ mappings, rowGroupRows: 10 });
  async function* text(): AsyncGenerator<Buffer> {
    yield Buffer.from('1\tnot binary\n\\.\n'.padEnd(40, ' '));
  }
  await assert.rejects(async () => {
    for await (const _ of reader.decode(text())) assert.fail('no batch from a text stream');
  }, (e: unknown) => isReefError(e) && e.code === 'source.format');
  const extra = new CopyReader({ mappings, rowGroupRows: 10_000 });
  async function* trailing(): AsyncGenerator<Buffer> {
    yield Buffer.concat([stream, Buffer.from([0])]);
  }
  await assert.rejects(async () => {
    for await (const _ of extra.decode(trailing())) {
      // the last batch comes only after the trailer has been checked
    }
  }, /bytes after its trailer/);
});

test('leanCopyTo delivers exactly the bytes stock pg-copy-streams does', async () => {
  const sql = copySql(table, mappings);
  const lean: Buffer[] = [];
  for await (const c of client.query(leanCopyTo(sql)) as AsyncIterable<Buffer>) lean.push(c);
  assert.equal(Buffer.compare(Buffer.concat(lean), stream), 0);
  assert.equal((await client.query('SELECT 1 AS one')).rows[0].one, 1, 'the connection is handed back');
});

test('reading through a real COPY: rows, bytes and checksum', async () => {
  const reader = new CopyReader({ mappings, rowGroupRows: 512 });
  let rows = 0;
  for await (const b of reader.read(client, copySql(table, mappings))) rows += b.rows;
  assert.equal(rows, 3000);
  assert.equal(reader.rows, 3000);
  assert.equal(reader.bytes, stream.length);
  assert.equal(reader.checksum(), createHash('sha256').update(stream).digest('hex'));
});
