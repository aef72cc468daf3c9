/**
 * loadBatch against a real PostgreSQL warehouse, with batches extracted by
 * the real collect slice from a real source database through the real S3
 * client on s3rver. Proves: every type of the collect mapping table arrives
 * value for value; snapshot replaces, incremental merges by keys (both
 * strategies) or appends; a retried load is a no-op; source columns added
 * later are added to the table; a failure anywhere leaves the table and the
 * markers exactly as they were.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type pg from 'pg';
import { startTestPostgres, type TestPostgres } from '../../../test/support/postgres.ts';
import { startS3, type Running } from '../../../shared/local/standins.ts';
import { isReefError } from '../../../shared/errors.ts';
import { manifestKey } from '../../../shared/lake/layout.ts';
import { describeTable } from '../../collect/postgres/catalog.ts';
import { extractTable } from '../../collect/postgres/extract-table.ts';
import { pinTextForms } from '../../collect/postgres/types.ts';
import { loadBatch, type LoadBatchInput } from './load.ts';

let server: TestPostgres;
let s3: Running<S3Client>;
let s3dir: string;
let source: pg.Client;
let warehouse: pg.Client;
let hasCitext = false;
const BUCKET = 'lake';
const SLICE = 'shop';

before(async () => {
  server = await startTestPostgres();
  source = await server.client(await server.freshDatabase('reef_load_src'));
  warehouse = await server.client(await server.freshDatabase('reef_load_wh'));
  s3dir = mkdtempSync(join(tmpdir(), 'reef-load-s3-'));
  s3 = await startS3(s3dir, [BUCKET]);
  try {
    await source.query('CREATE EXTENSION citext');
    hasCitext = true;
  } catch {
    // Not every server ships contrib; the column is left out then.
  }
});

after(async () => {
  await source?.end();
  await warehouse?.end();
  await s3?.stop();
  rmSync(s3dir, { recursive: true, force: true });
  await server?.stop();
});

/** Extracts `table` from the source as batch `timelabel` and returns its manifest key. */
async function extract(table: string, timelabel: string, cursor?: { column: string; from: string | null; to: string | null }, rowGroupRows?: number): Promise<string> {
  const t = await describeTable(source, { schema: 'public', table });
  await extractTable({ client: source, table: t, s3: s3.client, bucket: BUCKET, slice: SLICE, loadunit: table, dataset: `public.${table}`, timelabel, cursor, rowGroupRows, rowGroupsPerPart: 2 });
  return manifestKey(SLICE, table, timelabel);
}

function load(key: string, table: string, more: Partial<LoadBatchInput> = {}) {
  return loadBatch({ client: warehouse, dialect: 'postgres', s3: s3.client, bucket: BUCKET, manifestKey: key, target: { schema: SLICE, table }, mode: 'snapshot', ...more });
}

/** Every row as text, in id order, under the same pinned text settings on both sides. */
async function rows(client: pg.Client, table: string, columns: string[]): Promise<Record<string, string | null>[]> {
  await pinTextForms(client);
  const r = await client.query(`SELECT ${columns.map((c) => `${c}::text AS ${c}`).join(', ')} FROM ${table} ORDER BY id`);
  return r.rows;
}

async function markers(): Promise<Record<string, unknown>[]> {
  const r = await warehouse.query(`SELECT dataset, timelabel, batch_manifest, row_count::int AS rows, loaded_at::text AS loaded_at FROM reef.load_markers ORDER BY dataset, timelabel`);
  return r.rows;
}

const EVERY_TYPE = `
  id integer PRIMARY KEY,
  c_int2 smallint, c_int4 integer, c_int8 bigint,
  c_num_9_3 numeric(9,3), c_num_12_2 numeric(12,2), c_num_18_0 numeric(18,0), c_num_20_2 numeric(20,2), c_num_38_10 numeric(38,10),
  c_num_free numeric, c_num_50_5 numeric(50,5),
  c_float4 real, c_float8 double precision, c_bool boolean,
  c_text text, c_varchar varchar(40), c_char char(6), c_name name, c_uuid uuid,
  c_date date, c_time time, c_ts timestamp, c_ts3 timestamp(3), c_tstz timestamptz, c_interval interval,
  c_json json, c_jsonb jsonb, c_bytea bytea, c_enum mood, c_domain positive_int,
  c_int_arr integer[], c_text_arr text[], c_num_arr numeric(10,2)[], c_uuid_arr uuid[], c_enum_arr mood[], c_tstz_arr timestamptz[],
  c_bytea_arr bytea[], c_date_arr date[], c_jsonb_arr jsonb[],
  c_inet_arr inet[], c_int_2d integer[][],
  c_inet inet, c_money money, c_timetz timetz, c_bit bit(4), c_point point, c_range int4range, c_tsvector tsvector, c_char1 "char",
  c_required integer NOT NULL`;

/** Rows by column name; what is not named is NULL. Literals are PostgreSQL input syntax. */
const EVERY_ROW: Record<string, string>[] = [
  { id: '1', c_required: '0' },
  {
    id: '2', c_required: '1',
    c_int2: '-32768', c_int4: '-2147483648', c_int8: '-9223372036854775808',
    c_num_9_3: '-999999.999', c_num_12_2: '1234567890.12', c_num_18_0: '999999999999999999',
    // A double would round these: 12345678901234567.89 is 12345678901234568 as float8.
    c_num_20_2: '12345678901234567.89', c_num_38_10: '1234567890123456789012345678.0123456789',
    c_num_free: 'NaN', c_num_50_5: '123456789012345678901234567890123456789012345.12345',
    c_float4: '3.14159', c_float8: '0.1', c_bool: 'true',
    c_text: 'héllo wörld 🐟🚀 ✓ 日本語 "quoted" \\ back\\slash \\N not null', c_varchar: 'tab\there', c_char: 'ab', c_name: 'pg_name', c_uuid: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    c_date: '1900-01-01', c_time: '04:05:06.789012', c_ts: '1969-07-20 20:17:40.000001', c_ts3: '2024-02-29 23:59:59.999', c_tstz: '2024-03-10 01:30:00.123456-08',
    c_interval: '1 year 2 mons 3 days 04:05:06.789012',
    c_json: '{ "keep" : [1, 2.50, "spacing"] }', c_jsonb: '{"b": [1, 2, {"c": null}], "a": "x 🐟\\ty\\n\\"q\\""}',
    c_bytea: '\\x00ff5c0a09', c_enum: 'happy 😀', c_domain: '7',
    c_int_arr: '{1,NULL,3}', c_text_arr: '{"a b",NULL,"c,d","é🐟","","NULL","q\\"uote","back\\\\slash","{brace}","tab\there"}', c_num_arr: '{1.50,NULL,-2.25}',
    c_uuid_arr: '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,NULL}', c_enum_arr: '{sad,"happy 😀"}', c_tstz_arr: '{"2024-01-01 00:00:00+00","1960-06-01 12:00:00.5+02",NULL}',
    c_bytea_arr: '{"\\\\x00ff",NULL,"\\\\x"}', c_date_arr: '{2024-02-29,infinity,NULL,"0044-03-15 BC"}', c_jsonb_arr: '{"{\\"a\\": 1}",NULL,"[]"}',
    c_inet_arr: '{10.0.0.1,NULL,::1/128}', c_int_2d: '{{1,2},{3,4}}',
    c_inet: '192.168.0.1/24', c_money: '1234.56', c_timetz: '04:05:06+02', c_bit: '1010', c_point: '(1.5,-2)', c_range: '[1,10)', c_tsvector: 'fat cat', c_char1: 'x',
  },
  {
    id: '3', c_required: '2',
    c_int2: '32767', c_int4: '2147483647', c_int8: '9223372036854775807',
    c_num_9_3: '0.001', c_num_12_2: '-0.50', c_num_18_0: '-1', c_num_20_2: '-999999999999999999.99', c_num_38_10: '-0.0000000001',
    c_num_free: '-0.000000000000000000001', c_num_50_5: '0',
    c_float4: 'NaN', c_float8: 'Infinity', c_bool: 'false',
    c_text: '', c_varchar: 'cr\rlf\r\nend', c_char: 'abcdef', c_name: 'n', c_uuid: '00000000-0000-0000-0000-000000000000',
    c_date: '0044-03-15 BC', c_time: '00:00:00', c_ts: '0001-01-01 00:00:00', c_ts3: '1970-01-01 00:00:00', c_tstz: '0100-03-10 12:00:00+05:45 BC',
    c_interval: '-1 days -00:00:00.000001',
    c_json: '[]', c_jsonb: '[]', c_bytea: '\\x', c_enum: 'sad', c_domain: '1',
    c_int_arr: '{}', c_text_arr: '{}', c_num_arr: '{}', c_uuid_arr: '{}', c_enum_arr: '{}', c_tstz_arr: '{}', c_bytea_arr: '{}', c_date_arr: '{}', c_jsonb_arr: '{}',
    c_inet_arr: '{}', c_int_2d: '{}',
    c_money: '-0.01', c_timetz: '23:59:59.999999-11', c_char1: '\\',
  },
  { id: '4', c_required: '3', c_float4: '-Infinity', c_float8: '-1e308', c_date: 'infinity', c_ts: '-infinity', c_ts3: 'infinity', c_tstz: '-infinity', c_interval: '0', c_text: 'line1\nline2\ttab' },
  { id: '5', c_required: '4', c_float4: '-0', c_float8: 'NaN', c_date: '-infinity', c_ts: 'infinity', c_tstz: 'infinity', c_text: '\\', c_ts3: '9999-12-31 23:59:59.999' },
  { id: '6', c_required: '5', c_float4: '1e-45', c_float8: '5e-324', c_date: '9999-12-31', c_ts: '9999-12-31 23:59:59.999999', c_tstz: '1969-12-31 23:59:59.999999+00', c_time: '24:00:00' },
  { id: '7', c_required: '6', c_float8: '-0', c_tstz: '2000-01-01 00:00:00+14', c_date: '5874897-12-31', c_ts: '294246-12-31 23:59:59.999999' },
];

test('every type of the collect mapping reaches the warehouse value for value, in its native type', async () => {
  await source.query(`CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy 😀')`);
  await source.query(`CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0)`);
  await source.query(`CREATE TABLE every_type (${EVERY_TYPE}${hasCitext ? ', c_citext citext' : ''})`);
  const data = EVERY_ROW.map((r) => ({ ...r }));
  if (hasCitext) data[1].c_citext = 'MiXeD';
  for (const r of data) {
    const names = Object.keys(r);
    await source.query(`INSERT INTO every_type (${names.join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')})`, Object.values(r));
  }
  const columns = (await source.query<{ attname: string }>(`SELECT attname FROM pg_attribute WHERE attrelid = 'every_type'::regclass AND attnum > 0 ORDER BY attnum`)).rows.map((r) => r.attname);
  // Copies of row 2 with other ids, so the batch spans several row groups and parts.
  await source.query(`INSERT INTO every_type SELECT g, ${columns.slice(1).join(', ')} FROM every_type, generate_series(100, 2599) AS g WHERE id = 2`);

  const key = await extract('every_type', '20260101000000', undefined, 1000);
  const result = await load(key, 'every_type');
  assert.deepEqual(result, { status: 'loaded', rows: data.length + 2500, dataset: 'shop.every_type', timelabel: '20260101000000' });

  // Values: each column's text form on both sides. char(n) through format() too, which keeps its padding.
  const want = await rows(source, 'every_type', columns);
  const got = await rows(warehouse, 'shop.every_type', columns);
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) {
    for (const c of columns) assert.equal(got[i][c], want[i][c], `row id ${want[i].id}, column ${c}`);
  }
  const padded = async (client: pg.Client, t: string) => (await client.query(`SELECT format('%s|', c_char) AS c FROM ${t} WHERE id = 2`)).rows[0].c;
  assert.equal(await padded(warehouse, 'shop.every_type'), await padded(source, 'every_type'));
  assert.equal(await padded(warehouse, 'shop.every_type'), 'ab    |');

  // The warehouse types: native where PostgreSQL has the type, text where the source's type cannot exist there.
  const types = new Map(
    (await warehouse.query<{ attname: string; t: string }>(`SELECT attname, format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'shop.every_type'::regclass AND attnum > 0`)).rows.map((r) => [
      r.attname,
      r.t,
    ]),
  );
  const expected: Record<string, string> = {
    c_int2: 'smallint', c_int4: 'integer', c_int8: 'bigint', c_num_20_2: 'numeric(20,2)', c_num_38_10: 'numeric(38,10)', c_num_free: 'numeric', c_num_50_5: 'numeric(50,5)',
    c_float4: 'real', c_float8: 'double precision', c_text: 'text', c_varchar: 'text', c_char: 'character(6)', c_name: 'text', c_uuid: 'uuid',
    c_date: 'date', c_time: 'time without time zone', c_ts: 'timestamp without time zone', c_tstz: 'timestamp with time zone', c_interval: 'interval',
    c_json: 'json', c_jsonb: 'jsonb', c_bytea: 'bytea', c_enum: 'text', c_domain: 'integer', c_int_arr: 'integer[]', c_num_arr: 'numeric(10,2)[]', c_enum_arr: 'text[]',
    c_tstz_arr: 'timestamp with time zone[]', c_jsonb_arr: 'jsonb[]', c_inet_arr: 'inet[]', c_int_2d: 'integer[]', c_inet: 'inet', c_money: 'text', c_timetz: 'time with time zone',
    c_bit: 'bit(4)', c_range: 'int4range', c_char1: 'text', c_required: 'integer',
  };
  for (const [c, t] of Object.entries(expected)) assert.equal(types.get(c), t, `warehouse type of ${c}`);
  const notNull = await warehouse.query(`SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = 'shop.every_type'::regclass AND attnum > 0 AND attnotnull`);
  assert.equal(notNull.rows[0].n, 0, 'every warehouse column is NULLable (see createTableSql)');

  // The marker records the batch.
  const m = await markers();
  assert.deepEqual(
    m.filter((r) => r.dataset === 'shop.every_type').map((r) => ({ ...r, loaded_at: undefined })),
    [{ dataset: 'shop.every_type', timelabel: '20260101000000', batch_manifest: `s3://${BUCKET}/${key}`, rows: data.length + 2500, loaded_at: undefined }],
  );
});

test('snapshot: each load replaces the table with the batch; a second load of the same batch is a no-op', async () => {
  await source.query(`CREATE TABLE customers (id integer PRIMARY KEY, name text, tier text)`);
  await source.query(`INSERT INTO customers VALUES (1, 'ann', 'gold'), (2, 'bob', NULL), (3, 'cyd', 'silver')`);
  const first = await extract('customers', '20260101000000');
  assert.equal((await load(first, 'customers')).status, 'loaded');

  await source.query(`DELETE FROM customers WHERE id = 1; UPDATE customers SET tier = 'gold' WHERE id = 2; INSERT INTO customers VALUES (4, 'dee', 'new')`);
  const second = await extract('customers', '20260101010000');
  assert.deepEqual(await load(second, 'customers'), { status: 'loaded', rows: 3, dataset: 'shop.customers', timelabel: '20260101010000' });
  const cols = ['id', 'name', 'tier'];
  assert.deepEqual(await rows(warehouse, 'shop.customers', cols), await rows(source, 'customers', cols));

  const before = { rows: await rows(warehouse, 'shop.customers', cols), markers: await markers() };
  await source.query(`INSERT INTO customers VALUES (5, 'eve', 'late')`);
  assert.deepEqual(await load(second, 'customers'), { status: 'already-loaded', rows: 3, dataset: 'shop.customers', timelabel: '20260101010000' });
  // Even a batch re-extracted under the same timelabel is not applied twice: the marker says the timelabel is in.
  const reExtracted = await extract('customers', '20260101010000');
  assert.equal((await load(reExtracted, 'customers')).status, 'already-loaded');
  assert.deepEqual({ rows: await rows(warehouse, 'shop.customers', cols), markers: await markers() }, before, 'table and markers unchanged');
});

for (const strategy of ['merge', 'delete-insert'] as const) {
  test(`incremental with keys (${strategy}): updated rows are replaced, new rows added, none duplicated`, async () => {
    const table = `orders_${strategy.replace('-', '_')}`;
    await source.query(`CREATE TABLE ${table} (id bigint, region text, amount numeric(12,2), updated_at timestamptz NOT NULL, PRIMARY KEY (id, region))`);
    await source.query(`INSERT INTO ${table} SELECT i, CASE WHEN i % 2 = 0 THEN 'eu' ELSE 'us' END, i * 1.25, timestamptz '2026-01-01 00:00:00+00' + i * interval '1 minute' FROM generate_series(1, 100) AS i`);
    const to1 = '2026-01-01 01:40:00+00';
    const k1 = await extract(table, '20260101000000', { column: 'updated_at', from: null, to: to1 });
    const opts = { mode: 'incremental' as const, keys: ['id', 'region'], strategy };
    assert.deepEqual(await load(k1, table, opts), { status: 'loaded', rows: 100, dataset: `shop.${table}`, timelabel: '20260101000000' });

    await source.query(`UPDATE ${table} SET amount = -amount, updated_at = timestamptz '2026-01-01 03:00:00+00' WHERE id IN (10, 20, 30)`);
    await source.query(`INSERT INTO ${table} SELECT i, 'apac', 7.77, timestamptz '2026-01-01 03:00:00+00' FROM generate_series(10, 12) AS i`);
    const k2 = await extract(table, '20260101010000', { column: 'updated_at', from: to1, to: '2026-01-01 03:00:00+00' });
    assert.deepEqual(await load(k2, table, opts), { status: 'loaded', rows: 6, dataset: `shop.${table}`, timelabel: '20260101010000' });

    const cols = ['id', 'region', 'amount', 'updated_at'];
    const order = (r: Record<string, string | null>[]) => r.sort((a, b) => Number(a.id) - Number(b.id) || String(a.region).localeCompare(String(b.region)));
    assert.deepEqual(order(await rows(warehouse, `shop.${table}`, cols)), order(await rows(source, table, cols)));
    const dup = await warehouse.query(`SELECT id, region FROM shop.${table} GROUP BY 1, 2 HAVING count(*) > 1`);
    assert.equal(dup.rows.length, 0);
    assert.equal((await load(k2, table, opts)).status, 'already-loaded');
    assert.equal((await warehouse.query(`SELECT count(*)::int AS n FROM shop.${table}`)).rows[0].n, 103);
  });
}

test('incremental without keys appends each batch', async () => {
  await source.query(`CREATE TABLE events (id bigint, kind text, at timestamptz)`);
  await source.query(`INSERT INTO events SELECT i, 'k' || (i % 3), timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second' FROM generate_series(1, 50) AS i`);
  const k1 = await extract('events', '20260101000000', { column: 'at', from: null, to: '2026-01-01 00:00:30+00' });
  const k2 = await extract('events', '20260101001500', { column: 'at', from: '2026-01-01 00:00:30+00', to: '2026-01-01 00:00:50+00' });
  assert.equal((await load(k1, 'events', { mode: 'incremental' })).rows, 30);
  assert.equal((await load(k2, 'events', { mode: 'incremental' })).rows, 20);
  assert.equal((await load(k1, 'events', { mode: 'incremental' })).status, 'already-loaded');
  const cols = ['id', 'kind', 'at'];
  assert.deepEqual(await rows(warehouse, 'shop.events', cols), await rows(source, 'events', cols));
});

test('a column added at the source is added to the warehouse table before the load; one dropped there stays', async () => {
  await source.query(`CREATE TABLE products (id integer PRIMARY KEY, name text, legacy text)`);
  await source.query(`INSERT INTO products VALUES (1, 'pen', 'x'), (2, 'ink', 'y')`);
  assert.equal((await load(await extract('products', '20260101000000'), 'products')).status, 'loaded');

  await source.query(`ALTER TABLE products ADD COLUMN price numeric(8,2), ADD COLUMN "Tags" text[], DROP COLUMN legacy`);
  await source.query(`UPDATE products SET price = 1.5, "Tags" = '{a,NULL}' WHERE id = 1; INSERT INTO products VALUES (3, 'cap', 9.99, '{}')`);
  assert.equal((await load(await extract('products', '20260101010000'), 'products')).status, 'loaded');

  const cols = await warehouse.query(`SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'shop' AND table_name = 'products' ORDER BY ordinal_position`);
  assert.deepEqual(cols.rows.map((r) => r.column_name), ['id', 'name', 'legacy', 'price', 'Tags']);
  const got = await warehouse.query(`SELECT id, name, legacy, price::text, "Tags"::text AS tags FROM shop.products ORDER BY id`);
  assert.deepEqual(got.rows, [
    { id: 1, name: 'pen', legacy: null, price: '1.50', tags: '{a,NULL}' },
    { id: 2, name: 'ink', legacy: null, price: null, tags: null },
    { id: 3, name: 'cap', legacy: null, price: '9.99', tags: '{}' },
  ]);
});

test('a failure in the middle of a load leaves the table, its columns and the markers exactly as before', async () => {
  await source.query(`CREATE TABLE accounts (id integer PRIMARY KEY, owner text, balance numeric(12,2))`);
  await source.query(`INSERT INTO accounts SELECT i, 'o' || i, i FROM generate_series(1, 500) AS i`);
  assert.equal((await load(await extract('accounts', '20260101000000'), 'accounts')).status, 'loaded');
  // The warehouse owner requires a balance; the next snapshot has a row without one and a new column.
  await warehouse.query(`ALTER TABLE shop.accounts ALTER COLUMN balance SET NOT NULL`);
  await source.query(`UPDATE accounts SET balance = NULL WHERE id = 250; ALTER TABLE accounts ADD COLUMN opened date`);
  const key = await extract('accounts', '20260101010000');

  const cols = ['id', 'owner', 'balance'];
  const before = {
    rows: await rows(warehouse, 'shop.accounts', cols),
    markers: await markers(),
    columns: (await warehouse.query(`SELECT column_name FROM information_schema.columns WHERE table_schema = 'shop' AND table_name = 'accounts'`)).rows,
  };
  await assert.rejects(load(key, 'accounts'), (e: unknown) => {
    assert.ok(isReefError(e));
    assert.equal(e.category, 'target');
    assert.equal(e.transient, false);
    assert.equal(e.code, 'target.constraint');
    assert.match(e.message, /shop\.accounts/);
    assert.match(e.message, /balance/);
    return true;
  });
  const afterwards = {
    rows: await rows(warehouse, 'shop.accounts', cols),
    markers: await markers(),
    columns: (await warehouse.query(`SELECT column_name FROM information_schema.columns WHERE table_schema = 'shop' AND table_name = 'accounts'`)).rows,
  };
  assert.deepEqual(afterwards, before, 'the DELETE, the added column and the marker were all rolled back');
  assert.equal(before.rows.length, 500);

  // The connection is usable, and once the data is fixed the same timelabel loads.
  await source.query(`UPDATE accounts SET balance = 0 WHERE id = 250`);
  assert.equal((await load(await extract('accounts', '20260101010000'), 'accounts')).status, 'loaded');
  assert.equal((await warehouse.query(`SELECT balance::text FROM shop.accounts WHERE id = 250`)).rows[0].balance, '0.00');
});

test('merge keys that are NULL or repeated in a batch fail the load, naming the key, and change nothing', async () => {
  await source.query(`CREATE TABLE visits (id integer, page text, seen timestamptz)`);
  await source.query(`INSERT INTO visits VALUES (1, 'a', '2026-01-01 00:00:01+00'), (1, 'b', '2026-01-01 00:00:02+00'), (NULL, 'c', '2026-01-01 00:00:03+00')`);
  const dup = await extract('visits', '20260101000000', { column: 'seen', from: null, to: '2026-01-01 00:00:02+00' });
  const nul = await extract('visits', '20260101001500', { column: 'seen', from: '2026-01-01 00:00:02+00', to: '2026-01-01 00:00:03+00' });
  const opts = { mode: 'incremental' as const, keys: ['id'] };
  await assert.rejects(load(dup, 'visits', opts), (e: unknown) => isReefError(e) && e.code === 'target.duplicate-key' && /\(id\) = \(1\) on 2 rows/.test(e.message));
  await assert.rejects(load(nul, 'visits', opts), (e: unknown) => isReefError(e) && e.code === 'target.null-key' && /shop\.visits/.test(e.message));
  assert.equal((await warehouse.query(`SELECT count(*)::int AS n FROM reef.load_markers WHERE dataset = 'shop.visits'`)).rows[0].n, 0);
});

test('a missing manifest is a terminal target error naming it', async () => {
  await assert.rejects(load(manifestKey(SLICE, 'nothing', '20260101000000'), 'nothing'), (e: unknown) => isReefError(e) && e.code === 'target.missing-manifest' && /nothing/.test(e.message));
});

test('two loads of the same batch at once: one loads, the other waits for it and finds the marker', async () => {
  await source.query(`CREATE TABLE ledger (id integer, amount integer, at timestamptz)`);
  await source.query(`INSERT INTO ledger SELECT i, i, timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second' FROM generate_series(1, 2000) AS i`);
  const k0 = await extract('ledger', '20260101000000', { column: 'at', from: null, to: '2026-01-01 00:00:10+00' });
  const k1 = await extract('ledger', '20260101001500', { column: 'at', from: '2026-01-01 00:00:10+00', to: null });
  await load(k0, 'ledger', { mode: 'incremental' });
  const other = await server.client(warehouse.database!);
  try {
    const results = await Promise.all([load(k1, 'ledger', { mode: 'incremental' }), loadBatch({ client: other, dialect: 'postgres', s3: s3.client, bucket: BUCKET, manifestKey: k1, target: { schema: SLICE, table: 'ledger' }, mode: 'incremental' })]);
    assert.deepEqual(results.map((r) => r.status).sort(), ['already-loaded', 'loaded']);
    assert.equal((await warehouse.query(`SELECT count(*)::int AS n FROM shop.ledger`)).rows[0].n, 2000, 'appended once');
  } finally {
    await other.end();
  }
});
