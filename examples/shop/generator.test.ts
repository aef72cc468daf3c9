import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { startTestPostgres, type TestPostgres } from '../../test/support/postgres.ts';
import { DEFAULT_CUSTOMERS, ORDERS_PER_CUSTOMER, PRODUCTS, fill, tick, type ShopTable } from './generator.ts';

const TABLES: readonly ShopTable[] = ['customers', 'products', 'orders', 'order_items'];
const INCREMENTAL: readonly ShopTable[] = ['customers', 'orders', 'order_items'];

let server: TestPostgres;
const clients: pg.Client[] = [];

before(async () => {
  server = await startTestPostgres();
});

after(async () => {
  for (const c of clients) await c.end();
  await server.stop();
});

async function freshClient(): Promise<pg.Client> {
  const c = await server.client(await server.freshDatabase('reef_shop'));
  clients.push(c);
  return c;
}

async function counts(c: pg.ClientBase): Promise<Record<ShopTable, number>> {
  const out = {} as Record<ShopTable, number>;
  for (const t of TABLES) out[t] = Number((await c.query(`SELECT count(*) AS n FROM public.${t}`)).rows[0].n);
  return out;
}

/** A digest of every row of every table, to tell "nothing changed" from "something changed". */
async function digest(c: pg.ClientBase): Promise<string> {
  const parts: string[] = [];
  for (const t of TABLES) {
    const r = await c.query(`SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS h FROM public.${t} x`);
    parts.push(`${t}:${r.rows[0].h}`);
  }
  return parts.join(' ');
}

/** The newest updated_at over the incremental tables, as PostgreSQL text (microseconds kept). */
async function newestUpdate(c: pg.ClientBase): Promise<string> {
  const r = await c.query(`SELECT greatest((SELECT max(updated_at) FROM public.customers), (SELECT max(updated_at) FROM public.orders),
                                           (SELECT max(updated_at) FROM public.order_items))::text AS m`);
  return r.rows[0].m;
}

async function scalar(c: pg.ClientBase, sql: string, params: unknown[] = []): Promise<number> {
  return Number(Object.values((await c.query(sql, params)).rows[0])[0]);
}

test('fill creates the shop with the expected row counts, NULLs, unicode and consistent totals', async () => {
  const c = await freshClient();
  await fill(c);
  const n = await counts(c);
  assert.equal(n.customers, DEFAULT_CUSTOMERS);
  assert.equal(n.products, PRODUCTS);
  assert.equal(n.orders, DEFAULT_CUSTOMERS * ORDERS_PER_CUSTOMER);
  assert.ok(n.order_items > 7000 && n.order_items < 9000, `order_items: ${n.order_items}`);

  for (const [table, column] of [
    ['customers', 'email'],
    ['customers', 'profile'],
    ['products', 'weight_kg'],
    ['orders', 'shipped_on'],
    ['orders', 'notes'],
    ['order_items', 'discount'],
  ]) {
    const nulls = await scalar(c, `SELECT count(*) FROM public.${table} WHERE ${column} IS NULL`);
    const values = await scalar(c, `SELECT count(*) FROM public.${table} WHERE ${column} IS NOT NULL`);
    assert.ok(nulls > 0 && values > 0, `${table}.${column}: ${nulls} NULLs, ${values} values; expected some of each`);
  }
  for (const fragment of ['é', 'ß', '日本', '🦊', "'", '"']) {
    assert.ok((await scalar(c, 'SELECT count(*) FROM public.customers WHERE position($1 in name) > 0', [fragment])) > 0, `no name with ${fragment}`);
  }
  assert.ok((await scalar(c, "SELECT count(*) FROM public.orders WHERE position(E'\\n' in notes) > 0")) > 0, 'no multi-line note');
  assert.ok((await scalar(c, "SELECT count(*) FROM public.customers WHERE tags = '{}'")) > 0, 'no empty tag array');
  assert.ok((await scalar(c, 'SELECT count(*) FROM public.customers WHERE cardinality(tags) > 1')) > 0, 'no multi-tag array');
  assert.equal(await scalar(c, 'SELECT count(DISTINCT category) FROM public.products'), 6);

  // Each order's total is the sum of its discounted lines, to the cent.
  const wrongTotals = await scalar(
    c,
    `SELECT count(*) FROM public.orders o
      WHERE o.total <> (SELECT sum(round(i.quantity * i.unit_price * (1 - coalesce(i.discount, 0)), 2))
                          FROM public.order_items i WHERE i.order_id = o.id)`,
  );
  assert.equal(wrongTotals, 0);
  assert.equal(await scalar(c, 'SELECT count(*) FROM public.orders o WHERE NOT EXISTS (SELECT 1 FROM public.order_items i WHERE i.order_id = o.id)'), 0);
  assert.equal(await scalar(c, 'SELECT count(*) FROM public.customers WHERE updated_at < created_at'), 0);
});

test('fill is deterministic: the same seed gives the same rows in another database, another seed does not', async () => {
  const a = await freshClient();
  const b = await freshClient();
  const other = await freshClient();
  await fill(a, { customers: 40, seed: 7 });
  await fill(b, { customers: 40, seed: 7 });
  await fill(other, { customers: 40, seed: 8 });
  assert.equal(await digest(a), await digest(b));
  assert.notEqual(await digest(a), await digest(other));
});

test('a second fill is a no-op, whatever its options', async () => {
  const c = await freshClient();
  await fill(c, { customers: 30 });
  const before = await digest(c);
  await fill(c, { customers: 30 });
  await fill(c, { customers: 500, seed: 99 });
  assert.equal(await digest(c), before);
  assert.equal((await counts(c)).customers, 30);
});

test('tick changes rows whose updated_at is above everything before it, and reports exactly those rows', async () => {
  const c = await freshClient();
  await fill(c, { customers: 100 });
  // A timelabel before the fill's data (2025) forces the "latest + 1 microsecond" path,
  // then later ones take their period's start; both must keep every tick above the last.
  for (const timelabel of ['20240101000000', '20260305080000', '20260305081500']) {
    const newest = await newestUpdate(c);
    const before = await counts(c);
    const result = await tick(c, timelabel);
    const afterCounts = await counts(c);
    for (const t of TABLES) {
      assert.equal(afterCounts[t], before[t] + result.inserted[t], `${timelabel} ${t}: row count grew by the inserted count`);
    }
    for (const t of INCREMENTAL) {
      const changed = await scalar(c, `SELECT count(*) FROM public.${t} WHERE updated_at > $1::timestamptz`, [newest]);
      assert.equal(changed, result.inserted[t] + result.updated[t], `${timelabel} ${t}: rows above the previous newest updated_at`);
      assert.ok(result.updated[t] > 0 || t === 'order_items', `${timelabel} ${t}: expected updates`);
    }
    assert.ok(result.inserted.customers >= 1 && result.inserted.orders >= 2 && result.inserted.order_items >= 2, JSON.stringify(result));
    assert.ok(result.updated.order_items >= 1, JSON.stringify(result));

    const oldest = (
      await c.query(
        `SELECT least((SELECT min(updated_at) FROM public.customers WHERE updated_at > $1::timestamptz),
                      (SELECT min(updated_at) FROM public.orders WHERE updated_at > $1::timestamptz),
                      (SELECT min(updated_at) FROM public.order_items WHERE updated_at > $1::timestamptz))::text AS m,
                $2::timestamptz > $1::timestamptz AS period_is_later,
                least((SELECT min(updated_at) FROM public.customers WHERE updated_at > $1::timestamptz),
                      (SELECT min(updated_at) FROM public.orders WHERE updated_at > $1::timestamptz),
                      (SELECT min(updated_at) FROM public.order_items WHERE updated_at > $1::timestamptz))
                  = CASE WHEN $2::timestamptz > $1::timestamptz THEN $2::timestamptz
                         ELSE $1::timestamptz + interval '1 microsecond' END AS starts_where_promised`,
        [newest, `${timelabel.slice(0, 4)}-${timelabel.slice(4, 6)}-${timelabel.slice(6, 8)}T${timelabel.slice(8, 10)}:${timelabel.slice(10, 12)}:00Z`],
      )
    ).rows[0];
    assert.ok(oldest.starts_where_promised, `${timelabel}: first changed row at ${oldest.m}, previous newest ${newest}`);
  }
  // Orders and totals stay consistent after ticks changed quantities.
  const wrongTotals = await scalar(
    c,
    `SELECT count(*) FROM public.orders o
      WHERE o.total <> (SELECT sum(round(i.quantity * i.unit_price * (1 - coalesce(i.discount, 0)), 2))
                          FROM public.order_items i WHERE i.order_id = o.id)`,
  );
  assert.equal(wrongTotals, 0);
});

test('a repeated tick for the same timelabel changes nothing and returns zeros', async () => {
  const c = await freshClient();
  await fill(c, { customers: 50 });
  const first = await tick(c, '20260305080000');
  assert.ok(first.inserted.orders > 0);
  const before = await digest(c);
  const again = await tick(c, '20260305080000');
  const zeros = { customers: 0, products: 0, orders: 0, order_items: 0 };
  assert.deepEqual(again, { inserted: zeros, updated: zeros });
  assert.equal(await digest(c), before);
});

test('ticks are deterministic: the same history gives the same rows', async () => {
  const a = await freshClient();
  const b = await freshClient();
  for (const c of [a, b]) {
    await fill(c, { customers: 40 });
    await tick(c, '20260305080000');
    await tick(c, '20260305081500');
  }
  assert.equal(await digest(a), await digest(b));
});

test('tick refuses an unfilled database and a malformed timelabel', async () => {
  const c = await freshClient();
  await assert.rejects(tick(c, '20260305080000'), /has not filled.*expected fill\(client\) before tick/);
  await fill(c, { customers: 10 });
  await assert.rejects(tick(c, '2026-03-05'), /timelabel: found "2026-03-05", expected YYYYMMDDHHmm00/);
});
