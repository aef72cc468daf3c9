/**
 * The collect/postgres slice end to end on the embedded default: the shop
 * demo's real PostgreSQL, the real state machine JSON, the real SDK clients on
 * the stand-ins. The lake is read back with DuckDB, a reader independent of
 * the writer, and compared value by value with the source.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFlow } from '../shared/flow/load.ts';
import { LocalRuntime } from '../shared/local/runtime.ts';
import { runFlow } from '../shared/local/run.ts';
import type { BatchOutcome } from '../shared/orchestration/contracts.ts';
import { copyExample } from './support/flow.ts';
import { listKeys, queryBatch, readManifest } from './support/lake.ts';

const T1 = '20260301100000';
const T2 = '20260301101500';
const TABLES = ['customers', 'products', 'orders', 'order_items'];

describe('collect/postgres on the shop demo', () => {
  let runtime: LocalRuntime;
  let first: BatchOutcome[];

  before(async () => {
    const flow = await loadFlow(copyExample('shop'));
    runtime = await LocalRuntime.start(flow, { full: true });
    first = (await runFlow(runtime, { timelabel: T1 })).batches;
  });
  after(async () => {
    await runtime?.stop();
  });

  const source = <T extends Record<string, unknown>>(sql: string, params: unknown[] = []) =>
    runtime.withDatabase('shop', async (c) => (await c.query(sql, params)).rows as T[]);
  const lake = (manifestKey: string, sql: string) => queryBatch(runtime.services.s3, runtime.services.bucket, manifestKey, sql);
  const batchOf = (batches: BatchOutcome[], table: string) => {
    const b = batches.find((x) => x.dataset === `shop.${table}`);
    assert.ok(b, `a batch for shop.${table}`);
    return b;
  };

  test('the first run commits one batch per table holding every source row', async () => {
    assert.deepEqual(first.map((b) => b.dataset).sort(), TABLES.map((t) => `shop.${t}`).sort());
    for (const table of TABLES) {
      const b = batchOf(first, table);
      assert.equal(b.status, 'committed', `${table}: ${b.error?.message}`);
      const [{ n }] = await source<{ n: string }>(`SELECT count(*) AS n FROM public.${table}`);
      assert.equal(b.rows, Number(n), `${table}: rows in the batch equal rows at the source`);
      const [{ rows }] = await lake(b.manifestKey!, 'SELECT count(*)::INTEGER AS rows FROM batch');
      assert.equal(rows, Number(n), `${table}: DuckDB reads back every row`);
    }
  });

  test('customers read back equal the source: unicode, NULLs, uuid, arrays, jsonb, zoned timestamps', async () => {
    const b = batchOf(first, 'customers');
    const expected = await source<Record<string, unknown>>(`
      SELECT id::text AS id, uuid::text AS uuid, name, email, country, tags,
             profile::text AS profile,
             (extract(epoch FROM created_at) * 1000000)::bigint::text AS created_us,
             (extract(epoch FROM updated_at) * 1000000)::bigint::text AS updated_us
      FROM public.customers ORDER BY id`);
    const got = await lake(b.manifestKey!, `
      SELECT id::VARCHAR AS id, uuid::VARCHAR AS uuid, name, email, country, tags,
             profile::VARCHAR AS profile,
             epoch_us(created_at)::VARCHAR AS created_us, epoch_us(updated_at)::VARCHAR AS updated_us
      FROM batch ORDER BY id`);
    assert.equal(got.length, expected.length);
    assert.ok(expected.some((r) => r.email === null), 'the demo has NULL emails');
    assert.ok(expected.some((r) => [...String(r.name)].some((ch) => ch.codePointAt(0)! > 127)), 'the demo has non-ASCII names');
    for (let i = 0; i < expected.length; i++) {
      const e = expected[i];
      const g = got[i];
      assert.equal(g.id, e.id);
      assert.equal(g.uuid, e.uuid);
      assert.equal(g.name, e.name, `name of customer ${e.id}`);
      assert.equal(g.email, e.email);
      assert.equal(g.country, e.country);
      assert.deepEqual(g.tags, e.tags);
      assert.deepEqual(g.profile === null ? null : JSON.parse(String(g.profile)), e.profile === null ? null : JSON.parse(String(e.profile)));
      assert.equal(g.created_us, e.created_us, `created_at of customer ${e.id} to the microsecond`);
      assert.equal(g.updated_us, e.updated_us);
    }
  });

  test('money keeps full precision: numeric columns equal the source digit for digit', async () => {
    const orders = batchOf(first, 'orders');
    const expected = await source<{ id: string; total: string }>('SELECT id::text AS id, total::text AS total FROM public.orders ORDER BY id');
    const got = await lake(orders.manifestKey!, 'SELECT id::VARCHAR AS id, total::VARCHAR AS total FROM batch ORDER BY id');
    assert.deepEqual(got, expected);
    const products = batchOf(first, 'products');
    const p = await source<{ id: string; price: string; weight: string | null }>(
      'SELECT id::text AS id, price::text AS price, weight_kg::text AS weight FROM public.products ORDER BY id',
    );
    const gp = await lake(products.manifestKey!, 'SELECT id::VARCHAR AS id, price::VARCHAR AS price, weight_kg::VARCHAR AS weight FROM batch ORDER BY id');
    assert.deepEqual(gp, p);
    assert.ok(p.some((r) => r.weight === null), 'the demo has NULL weights');
  });

  test('the manifest agrees with the objects in the lake and the registry holds the schema', async () => {
    const { s3, bucket, metadata } = runtime.services;
    for (const table of TABLES) {
      const b = batchOf(first, table);
      const manifest = await readManifest(s3, bucket, b.manifestKey!);
      const objects = await listKeys(s3, bucket, `shop/${table}/timelabel=${T1}/`);
      const parts = objects.filter((o) => o.key.endsWith('.parquet'));
      assert.deepEqual(parts.map((o) => o.key).sort(), manifest.files.map((f) => f.key).sort());
      for (const f of manifest.files) assert.equal(parts.find((o) => o.key === f.key)!.size, f.bytes);
      assert.equal(manifest.rows, b.rows);
      assert.match(manifest.checksum.value, /^[0-9a-f]{64}$/);
      const schema = await metadata.getLatestSchema('shop', `shop.${table}`);
      assert.deepEqual(schema?.schema.columns.map((c) => c.name), manifest.schema.columns.map((c) => c.name));
    }
    const events = await metadata.listEvents('shop');
    assert.equal(events.filter((e) => e.type === 'dataset.created').length, TABLES.length, 'one metadata event per new table');
    assert.equal(events.filter((e) => e.type === 'batch.committed' && e.timelabel === T1).length, TABLES.length, 'one data event per batch');
  });

  test('incremental: the next timelabel holds exactly the rows the generator changed', async () => {
    const cursorOf = async (table: string) => (await runtime.services.metadata.getBatch('shop', table, T1))!.cursor!.to!;
    const bounds = Object.fromEntries(await Promise.all(['customers', 'orders', 'order_items'].map(async (t) => [t, await cursorOf(t)])));
    // The runtime ticks the demo generator for T2 before collecting it: the source changes during the period.
    const second = (await runFlow(runtime, { timelabel: T2 })).batches;
    const changedIds = async (table: string, key: string) =>
      (await source<{ k: string }>(`SELECT ${key} AS k FROM public.${table} WHERE updated_at > $1::timestamptz ORDER BY 1`, [bounds[table]])).map((r) => r.k);
    for (const [table, key, lakeKey] of [
      ['customers', 'id::text', 'id::VARCHAR'],
      ['orders', 'id::text', 'id::VARCHAR'],
      ['order_items', `order_id::text || '/' || line_no::text`, `order_id::VARCHAR || '/' || line_no::VARCHAR`],
    ]) {
      const b = batchOf(second, table);
      assert.equal(b.status, 'committed');
      const expected = await changedIds(table, key);
      assert.ok(expected.length > 0, `the generator changed some ${table}`);
      const got = (await lake(b.manifestKey!, `SELECT ${lakeKey} AS k FROM batch ORDER BY 1`)).map((r) => r.k);
      assert.deepEqual(got, expected, `${table} @ ${T2} holds exactly the changed rows`);
    }
    const products = batchOf(second, 'products');
    const [{ n }] = await source<{ n: string }>('SELECT count(*) AS n FROM public.products');
    assert.equal(products.rows, Number(n), 'a snapshot loadunit copies the whole table again');
  });

  test('re-running a committed timelabel changes nothing', async () => {
    const { s3, bucket, metadata } = runtime.services;
    const objectsBefore = await listKeys(s3, bucket, 'shop/');
    const batchesBefore = await metadata.listBatches('shop');
    const statesBefore = await metadata.listLoadunitStates('shop');
    const again = (await runFlow(runtime, { timelabel: T2 })).batches;
    assert.deepEqual([...new Set(again.map((b) => b.status))], ['skipped']);
    assert.deepEqual(await listKeys(s3, bucket, 'shop/'), objectsBefore);
    assert.deepEqual(await metadata.listBatches('shop'), batchesBefore);
    assert.deepEqual(await metadata.listLoadunitStates('shop'), statesBefore);
  });

  test('incremental loadunits move forward only: an older timelabel is refused and never blocks the next one', async () => {
    const earlier = '20260301094500';
    const T3 = '20260301103000';
    const old = (await runFlow(runtime, { timelabel: earlier })).batches;
    for (const table of ['customers', 'orders', 'order_items']) {
      const b = batchOf(old, table);
      assert.equal(b.status, 'failed');
      assert.equal(b.error?.code, 'batch.behind');
      assert.match(b.error!.message, new RegExp(`shop\\.${table} timelabel ${earlier} is older than the newest committed timelabel ${T2}`));
    }
    assert.equal(batchOf(old, 'products').status, 'committed', 'a snapshot can be taken for any timelabel');
    const next = (await runFlow(runtime, { timelabel: T3 })).batches;
    assert.deepEqual(next.map((b) => `${b.dataset}@${b.timelabel}:${b.status}`).sort(), TABLES.map((t) => `shop.${t}@${T3}:committed`).sort(), 'the refused timelabel is not run again');
    const from = (await runtime.services.metadata.getBatch('shop', 'customers', T3))!.cursor!.from;
    assert.equal(from, (await runtime.services.metadata.getBatch('shop', 'customers', T2))!.cursor!.to, 'T3 starts where T2 stopped');
  });
});
