/**
 * extractTable against a real PostgreSQL and the real S3 SDK on s3rver: parts
 * and manifest agree with the objects, keys come from the layout, the
 * checksum is the COPY stream's, cursor windows select exactly their rows,
 * hostile names stay names, and failures leave nothing that looks complete.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { downloadParts, queryParquet } from '../../../test/support/duckdb.ts';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { startTestPostgres, type TestPostgres } from '../../../test/support/postgres.ts';
import { startS3, type Running } from '../../../shared/local/standins.ts';
import { isReefError } from '../../../shared/errors.ts';
import { batchPrefix, manifestKey, partKey } from '../../../shared/lake/layout.ts';
import { findManifest, readManifest, type BatchManifest } from '../../../shared/lake/manifest.ts';
import { describeTable, listTables } from './catalog.ts';
import { copySql } from './copy-reader.ts';
import { cursorUpperBound, extractTable, type ExtractTableInput } from './extract-table.ts';
import { parseTableRef } from './sql.ts';
import { mapTable, pinTextForms } from './types.ts';

let server: TestPostgres;
let database: string;
let client: pg.Client;
let s3: Running<S3Client>;
let s3dir: string;
const BUCKET = 'lake';

before(async () => {
  server = await startTestPostgres();
  database = await server.freshDatabase('reef_extract');
  client = await server.client(database);
  s3dir = mkdtempSync(join(tmpdir(), 'reef-extract-s3-'));
  s3 = await startS3(s3dir, [BUCKET]);
  await client.query(`CREATE TABLE orders (id bigint PRIMARY KEY, customer text NOT NULL, amount numeric(12,2), updated_at timestamptz)`);
  await client.query(`INSERT INTO orders
    SELECT i, 'customer ' || (i % 97), (i * 37 % 100000) / 100.0,
           CASE WHEN i % 500 = 0 THEN NULL ELSE timestamptz '2026-01-01 00:00:00+00' + i * interval '1 minute' END
      FROM generate_series(1, 5000) AS i`);
});

after(async () => {
  await client?.end();
  await s3?.stop();
  rmSync(s3dir, { recursive: true, force: true });
  await server?.stop();
});

function input(table: ExtractTableInput['table'], more: Partial<ExtractTableInput> = {}): ExtractTableInput {
  return { client, table, s3: s3.client, bucket: BUCKET, slice: 'shop', loadunit: table.table, dataset: `${table.schema}.${table.table}`, timelabel: '20260105080000', ...more };
}

async function objects(prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) out.set(o.Key!, o.Size!);
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

/** The batch's rows as DuckDB reads them from the downloaded parts (the view `batch`). */
async function lakeRows(manifest: BatchManifest, select: string): Promise<Record<string, unknown>[]> {
  return queryParquet(await downloadParts(s3.client, BUCKET, manifest.files.map((f) => f.key)), select);
}

/** sha256 of the same COPY, drained independently with stock pg-copy-streams. */
async function independentChecksum(table: Awaited<ReturnType<typeof describeTable>>, window?: Parameters<typeof copySql>[2]): Promise<string> {
  await pinTextForms(client);
  const hash = createHash('sha256');
  for await (const chunk of client.query(copyTo(copySql(table, mapTable(table), window))) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

test('rows split into row groups and parts; the manifest matches the objects, the layout and the COPY stream', async () => {
  const table = await describeTable(client, { schema: 'public', table: 'orders' });
  const reported: { n: number; key: string; rows: number }[] = [];
  const manifest = await extractTable(input(table, { rowGroupRows: 700, rowGroupsPerPart: 2, onPart: (n, p) => void reported.push({ n, key: p.key, rows: p.rows }) }));

  // 5000 rows in row groups of 700 (8 groups: 7 x 700 + 100), two groups per part.
  assert.equal(manifest.rows, 5000);
  assert.deepEqual(manifest.files.map((f) => f.rows), [1400, 1400, 1400, 800]);
  assert.deepEqual(manifest.files.map((f) => f.key), [0, 1, 2, 3].map((n) => partKey('shop', 'orders', '20260105080000', n)));
  assert.deepEqual(reported.map((r) => r.n), [0, 1, 2, 3], 'progress in part order, once per part');
  assert.deepEqual(reported.map((r) => r.key), manifest.files.map((f) => f.key));

  // Exactly the manifest's files (and the manifest) under the batch prefix, at the sizes it says.
  const listed = await objects(batchPrefix('shop', 'orders', '20260105080000'));
  const key = manifestKey('shop', 'orders', '20260105080000');
  assert.deepEqual([...listed.keys()].sort(), [...manifest.files.map((f) => f.key), key].sort());
  for (const f of manifest.files) assert.equal(listed.get(f.key), f.bytes, `${f.key} size`);
  assert.equal(manifest.bytes, manifest.files.reduce((s, f) => s + f.bytes, 0));
  assert.deepEqual(await readManifest(s3.client, BUCKET, key), manifest);
  assert.deepEqual(manifest.cursor, { column: null, from: null, to: null });
  assert.equal(manifest.dataset, 'public.orders');
  assert.ok(!Number.isNaN(Date.parse(manifest.createdAt)));

  // The checksum is the COPY stream's as PostgreSQL sent it, and the same data gives the same one.
  assert.equal(manifest.checksum.algorithm, 'sha256');
  assert.equal(manifest.checksum.value, await independentChecksum(table));
  const again = await extractTable(input(table, { rowGroupRows: 700, rowGroupsPerPart: 2 }));
  assert.equal(again.checksum.value, manifest.checksum.value);

  const rows = await lakeRows(manifest, 'SELECT count(*) AS n, count(DISTINCT id) AS ids, sum(amount)::VARCHAR AS total, count(updated_at) AS stamped FROM batch');
  const source = await client.query(`SELECT count(*)::int AS n, sum(amount)::text AS total, count(updated_at)::int AS stamped FROM orders`);
  assert.deepEqual(rows[0], { n: 5000n, ids: 5000n, total: source.rows[0].total, stamped: BigInt(source.rows[0].stamped) });
});

test('a retry of the same batch rewrites the same keys and removes parts the earlier attempt had beyond its count', async () => {
  await client.query(`CREATE TABLE shrinking AS SELECT * FROM orders`);
  const table = await describeTable(client, { schema: 'public', table: 'shrinking' });
  const first = await extractTable(input(table, { rowGroupRows: 1000, rowGroupsPerPart: 1 }));
  assert.equal(first.files.length, 5);
  await client.query(`DELETE FROM shrinking WHERE id > 1500`);
  const second = await extractTable(input(table, { rowGroupRows: 1000, rowGroupsPerPart: 1 }));
  assert.deepEqual(second.files.map((f) => f.key), first.files.slice(0, 2).map((f) => f.key));
  const listed = await objects(batchPrefix('shop', 'shrinking', '20260105080000'));
  assert.deepEqual([...listed.keys()].sort(), [...second.files.map((f) => f.key), manifestKey('shop', 'shrinking', '20260105080000')].sort());
  assert.notEqual(second.checksum.value, first.checksum.value);
});

test('an incremental window holds exactly the rows with from < cursor <= to; no upper bound means the current maximum', async () => {
  const table = await describeTable(client, { schema: 'public', table: 'orders' });
  const to = await cursorUpperBound(client, table, 'updated_at');
  assert.equal(to, '2026-01-04 11:19:00+00', 'max(updated_at) (id 4999; 5000 has none) in the pinned ISO/UTC text form');

  const from = '2026-01-01 01:40:00+00'; // id 100
  const window = await extractTable(input(table, { timelabel: '20260105090000', cursor: { column: 'updated_at', from, to: '2026-01-01 03:20:00+00' } }));
  assert.deepEqual(window.cursor, { column: 'updated_at', from, to: '2026-01-01 03:20:00+00' });
  const ids = (await lakeRows(window, 'SELECT id FROM batch ORDER BY id')).map((r) => Number(r.id));
  assert.deepEqual(ids, Array.from({ length: 100 }, (_, i) => 101 + i), 'ids 101..200: after from, up to and including to');
  assert.equal(window.checksum.value, await independentChecksum(table, { column: table.columns[3], from, to: '2026-01-01 03:20:00+00' }));

  // First batch (no lower bound) and an open upper bound, fixed at the current maximum.
  const all = await extractTable(input(table, { timelabel: '20260105100000', cursor: { column: 'updated_at', from: null, to: null } }));
  assert.equal(all.cursor.to, to);
  assert.equal(all.rows, 5000 - 10, 'rows whose cursor is NULL belong to no window');

  // Past the maximum: an empty batch, still with a manifest and schema.
  const none = await extractTable(input(table, { timelabel: '20260105110000', cursor: { column: 'updated_at', from: to, to } }));
  assert.equal(none.rows, 0);
  assert.deepEqual(none.files, []);
  assert.equal(none.schema.columns.length, 4);

  // An integer cursor, and a bound that is hostile text: quoted, cast, never SQL.
  const byId = await extractTable(input(table, { timelabel: '20260105120000', cursor: { column: 'id', from: '4990', to: null } }));
  assert.equal(byId.rows, 10);
  await assert.rejects(
    extractTable(input(table, { timelabel: '20260105130000', cursor: { column: 'id', from: "1'; DROP TABLE orders; --", to: '5' } })),
    (e: unknown) => isReefError(e) && e.category === 'source' && /invalid input syntax for type bigint/.test(e.message),
  );
  assert.equal((await client.query(`SELECT count(*)::int AS n FROM orders`)).rows[0].n, 5000);
});

test('cursor columns must exist and be of a type that grows', async () => {
  const table = await describeTable(client, { schema: 'public', table: 'orders' });
  await assert.rejects(cursorUpperBound(client, table, 'nope'), (e: unknown) => isReefError(e) && e.code === 'config.cursor' && /"nope" is not a column of public\.orders/.test(e.message));
  await client.query(`CREATE TABLE floaty (x double precision)`);
  const floaty = await describeTable(client, { schema: 'public', table: 'floaty' });
  await assert.rejects(cursorUpperBound(client, floaty, 'x'), (e: unknown) => isReefError(e) && e.code === 'config.cursor-type');
});

test('a table literally named weird"; drop table x; -- is extracted as a name, and x survives', async () => {
  await client.query(`CREATE TABLE x (keep integer)`);
  const hostile = 'weird"; drop table x; --';
  const ref = parseTableRef(`"weird""; drop table x; --"`, 'test');
  assert.equal(ref.table, hostile);
  await client.query(`CREATE TABLE "weird""; drop table x; --" ("col""; drop table x; --" text, n integer)`);
  await client.query(`INSERT INTO "weird""; drop table x; --" VALUES ('it''s fine', 1), (NULL, 2)`);
  const table = await describeTable(client, ref);
  assert.deepEqual(table.columns.map((c) => c.name), ['col"; drop table x; --', 'n']);
  const manifest = await extractTable(input(table, { loadunit: 'weird', cursor: { column: 'n', from: '0', to: null } }));
  assert.equal(manifest.rows, 2);
  assert.deepEqual(
    (await lakeRows(manifest, `SELECT "col""; drop table x; --" AS c, n FROM batch ORDER BY n`)).map((r) => [r.c, r.n]),
    [["it's fine", 1], [null, 2]],
  );
  assert.equal((await client.query(`SELECT to_regclass('public.x') IS NOT NULL AS present`)).rows[0].present, true);
});

test('a missing table is a terminal source error naming it', async () => {
  await assert.rejects(describeTable(client, { schema: 'public', table: 'no_such_table' }), (e: unknown) => {
    assert.ok(isReefError(e));
    assert.equal(e.category, 'source');
    assert.equal(e.code, 'source.missing-table');
    assert.equal(e.transient, false);
    assert.match(e.message, /public\.no_such_table/);
    return true;
  });
  await assert.rejects(describeTable(client, { schema: 'nowhere', table: 'orders' }), /nowhere\.orders/);
});

test('a failure part-way (a throwing onPart) leaves no manifest; a retry on a fresh connection completes the batch', async () => {
  const table = await describeTable(client, { schema: 'public', table: 'orders' });
  const doomed = await server.client(database);
  const boom = new Error('injected after part 1');
  await assert.rejects(
    extractTable(input(table, { client: doomed, timelabel: '20260106000000', rowGroupRows: 500, rowGroupsPerPart: 1, onPart: (n) => { if (n === 1) throw boom; } })),
    (e) => e === boom,
  );
  await doomed.end().catch(() => {});
  assert.equal(await findManifest(s3.client, BUCKET, manifestKey('shop', 'orders', '20260106000000')), undefined);

  const manifest = await extractTable(input(table, { timelabel: '20260106000000', rowGroupRows: 500, rowGroupsPerPart: 1 }));
  assert.equal(manifest.files.length, 10);
  const listed = await objects(batchPrefix('shop', 'orders', '20260106000000'));
  assert.equal(listed.size, 11, 'ten parts and the manifest');
});

test('an error PostgreSQL raises mid-COPY is a terminal source error, and the connection stays usable', async () => {
  await client.query(`CREATE VIEW breaks_at_4000 AS SELECT i, 1 / (i - 4000) AS r FROM generate_series(1, 5000) AS i`);
  const table = await describeTable(client, { schema: 'public', table: 'breaks_at_4000' });
  await assert.rejects(extractTable(input(table, { rowGroupRows: 1000 })), (e: unknown) => {
    assert.ok(isReefError(e));
    assert.equal(e.category, 'source');
    assert.equal(e.transient, false);
    assert.match(e.message, /division by zero/);
    assert.match(e.message, /SQLSTATE 22012/);
    return true;
  });
  assert.equal((await client.query('SELECT 41 + 1 AS answer')).rows[0].answer, 42);
});

test('listTables finds base tables by schema.prefix*, escaping LIKE wildcards, without partitions', async () => {
  await client.query(`CREATE SCHEMA audit`);
  await client.query(`CREATE TABLE audit.log_a (x int); CREATE TABLE audit.log_b (x int); CREATE TABLE audit.logxc (x int); CREATE TABLE audit.other (x int)`);
  await client.query(`CREATE TABLE audit.log_parted (x int) PARTITION BY RANGE (x); CREATE TABLE audit.log_part1 PARTITION OF audit.log_parted FOR VALUES FROM (0) TO (10)`);
  await client.query(`CREATE VIEW audit.log_view AS SELECT 1 AS x`);
  const found = (await listTables(client, 'audit.log_*')).map((t) => `${t.schema}.${t.table}`);
  assert.deepEqual(found, ['audit.log_a', 'audit.log_b', 'audit.log_parted'], 'the _ is literal, so logxc is not matched; the partition and the view are not listed');
  assert.equal((await listTables(client, 'audit.*')).length, 5);
  await assert.rejects(listTables(client, 'audit.%'), (e: unknown) => isReefError(e) && e.code === 'config.pattern');
});
