/**
 * refreshView against a real PostgreSQL warehouse, with views compiled by
 * the real view compiler. Proves: replace, append and merge contents (merge
 * deletes vanished keys and is idempotent, with either strategy); a refreshed
 * (view, timelabel, version) is a no-op even after its inputs change or break,
 * and a new version refreshes again; the table follows the signature (columns
 * added, never dropped); each check kind passes and fails; a failed check, or
 * a failure in the middle of the transaction, leaves the table, its columns
 * and the markers exactly as they were; hostile identifiers are quoted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { startTestPostgres, type TestPostgres } from '../../../test/support/postgres.ts';
import { compileTestView, viewHeader } from '../../../test/support/views.ts';
import { isReefError } from '../../../shared/errors.ts';
import type { ViewSpec } from '../../../shared/views/types.ts';
import { refreshView, type RefreshViewInput } from './refresh.ts';

let server: TestPostgres;
const clients: pg.Client[] = [];
const DATASETS = ['shop.orders'];
const T1 = '20260305080000';
const T2 = '20260305090000';
const T3 = '20260305100000';

before(async () => {
  server = await startTestPostgres();
});

after(async () => {
  for (const c of clients) await c.end();
  await server?.stop();
});

/** A fresh warehouse database holding shop.orders with `rows` (id, customer_id, amount, status, qty). */
async function warehouse(rows: string): Promise<pg.Client> {
  const c = await server.client(await server.freshDatabase('reef_refresh_wh'));
  clients.push(c);
  await c.query(`CREATE SCHEMA shop; CREATE TABLE shop.orders (id integer, customer_id integer, amount numeric(10,2), status text, qty integer)`);
  if (rows) await c.query(`INSERT INTO shop.orders VALUES ${rows}`);
  return c;
}

function refresh(client: pg.Client, view: ViewSpec, timelabel: string, more: Partial<RefreshViewInput> = {}) {
  return refreshView({ client, dialect: 'postgres', view, timelabel, version: 1, runId: `run-${timelabel}`, ...more });
}

/** Every row of `table` as text, sorted, so contents compare whatever the physical order. */
async function contents(client: pg.Client, table: string): Promise<string[][]> {
  const r = await client.query({ text: `SELECT * FROM ${table}`, rowMode: 'array' });
  return r.rows.map((row: unknown[]) => row.map((v) => (v === null ? 'NULL' : String(v)))).sort((a, b) => a.join('|').localeCompare(b.join('|')));
}

async function columns(client: pg.Client, schema: string, table: string): Promise<string[]> {
  const r = await client.query(`SELECT column_name || ' ' || data_type AS c FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`, [schema, table]);
  return r.rows.map((row) => row.c);
}

async function markers(client: pg.Client): Promise<Record<string, unknown>[]> {
  const r = await client.query(`SELECT "view", "timelabel", "version", "rows"::int AS rows, "run_id", "refreshed_at"::text AS at FROM reef.refresh_markers ORDER BY 1, 2, 3`);
  return r.rows;
}

/** Everything a refresh may touch, to prove a failed one touched nothing. */
async function state(client: pg.Client, schema: string, table: string) {
  return { contents: await contents(client, `${schema}.${table}`), columns: await columns(client, schema, table), markers: await markers(client) };
}

async function refusal(p: Promise<unknown>): Promise<{ category: string; code: string; message: string; transient: boolean }> {
  try {
    await p;
  } catch (e) {
    assert.ok(isReefError(e), `expected a Reef error, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the refresh to fail');
}

const BY_STATUS = `${viewHeader('@refresh 1 hour', '@mode replace')}SELECT status, count(*) AS orders, sum(amount) AS revenue
FROM shop.orders
GROUP BY status
`;

const LTV_TAGS = ['@refresh 1 hour', '@mode merge', '@keys customer_id'];
const LTV_BODY = `SELECT customer_id, count(*) AS orders, sum(amount) AS revenue
FROM shop.orders
GROUP BY customer_id
`;

test('replace: the table holds exactly the rows of the latest refresh; a marker per timelabel', async () => {
  const wh = await warehouse(`(1, 10, 5.00, 'paid', 1), (2, 10, 7.50, 'open', 1), (3, 11, 2.25, 'paid', 1)`);
  const view = await compileTestView('analytics.by_status', BY_STATUS, DATASETS);
  const r1 = await refresh(wh, view, T1);
  assert.deepEqual(r1, { status: 'refreshed', view: 'analytics.by_status', timelabel: T1, version: 1, rows: 2, checks: [], addedColumns: [] });
  assert.deepEqual(await columns(wh, 'analytics', 'by_status'), ['status text', 'orders bigint', 'revenue numeric']);
  assert.deepEqual(await contents(wh, 'analytics.by_status'), [['open', '1', '7.50'], ['paid', '2', '7.25']]);

  await wh.query(`DELETE FROM shop.orders WHERE status = 'open'; INSERT INTO shop.orders VALUES (4, 12, 1.00, 'refunded', 1)`);
  const r2 = await refresh(wh, view, T2);
  assert.equal(r2.status, 'refreshed');
  assert.deepEqual(await contents(wh, 'analytics.by_status'), [['paid', '2', '7.25'], ['refunded', '1', '1.00']]);
  assert.deepEqual(
    (await markers(wh)).map(({ at: _at, ...m }) => m),
    [
      { view: 'analytics.by_status', timelabel: T1, version: 1, rows: 2, run_id: `run-${T1}` },
      { view: 'analytics.by_status', timelabel: T2, version: 1, rows: 2, run_id: `run-${T2}` },
    ],
  );
});

test('append: each refresh adds its rows to the ones before', async () => {
  const wh = await warehouse(`(1, 10, 5.00, 'new', 1), (2, 11, 7.50, 'paid', 1)`);
  const view = await compileTestView('analytics.new_orders', `${viewHeader('@refresh 1 hour', '@mode append')}SELECT id, amount FROM shop.orders WHERE status = 'new'\n`, DATASETS);
  assert.equal((await refresh(wh, view, T1)).rows, 1);
  await wh.query(`UPDATE shop.orders SET status = 'paid'; INSERT INTO shop.orders VALUES (3, 12, 1.00, 'new', 1), (4, 12, 2.00, 'new', 1)`);
  assert.equal((await refresh(wh, view, T2)).rows, 2);
  assert.deepEqual(await contents(wh, 'analytics.new_orders'), [['1', '5.00'], ['3', '1.00'], ['4', '2.00']]);
});

for (const strategy of ['merge', 'delete-insert'] as const) {
  test(`merge (${strategy}): upserts by the keys, deletes keys the view no longer yields, and is idempotent`, async () => {
    const wh = await warehouse(`(1, 10, 5.00, 'paid', 1), (2, 11, 7.50, 'paid', 1), (3, 12, 1.00, 'paid', 1)`);
    const view = await compileTestView('analytics.customer_ltv', viewHeader(...LTV_TAGS) + LTV_BODY, DATASETS);
    await refresh(wh, view, T1, { strategy });
    assert.deepEqual(await contents(wh, 'analytics.customer_ltv'), [['10', '1', '5.00'], ['11', '1', '7.50'], ['12', '1', '1.00']]);

    // Customer 12 vanishes, 10 gains an order, 13 is new, 11 is untouched.
    await wh.query(`DELETE FROM shop.orders WHERE customer_id = 12; INSERT INTO shop.orders VALUES (4, 10, 2.00, 'paid', 1), (5, 13, 9.00, 'paid', 1)`);
    const expected = [['10', '2', '7.00'], ['11', '1', '7.50'], ['13', '1', '9.00']];
    assert.equal((await refresh(wh, view, T2, { strategy })).rows, 3);
    assert.deepEqual(await contents(wh, 'analytics.customer_ltv'), expected);

    // The same rows merged again change nothing.
    assert.equal((await refresh(wh, view, T3, { strategy })).status, 'refreshed');
    assert.deepEqual(await contents(wh, 'analytics.customer_ltv'), expected);
  });
}

test('merge with only key columns inserts the new keys and deletes the vanished ones', async () => {
  const wh = await warehouse(`(1, 10, 5.00, 'paid', 1), (2, 11, 7.50, 'paid', 1)`);
  const view = await compileTestView('analytics.customers', `${viewHeader('@refresh 1 hour', '@mode merge', '@keys customer_id')}SELECT DISTINCT customer_id FROM shop.orders\n`, DATASETS);
  await refresh(wh, view, T1);
  await wh.query(`DELETE FROM shop.orders WHERE customer_id = 10; INSERT INTO shop.orders VALUES (3, 12, 1.00, 'paid', 1)`);
  await refresh(wh, view, T2);
  assert.deepEqual(await contents(wh, 'analytics.customers'), [['11'], ['12']]);
});

test('a refreshed (view, timelabel, version) is a no-op even when its inputs changed or broke; a new version refreshes it', async () => {
  const wh = await warehouse(`(1, 10, 5.00, 'paid', 1), (2, 11, 7.50, 'open', 1)`);
  const view = await compileTestView('analytics.by_status', BY_STATUS, DATASETS);
  await refresh(wh, view, T1);
  const before = await state(wh, 'analytics', 'by_status');

  await wh.query(`INSERT INTO shop.orders VALUES (3, 12, 1.00, 'refunded', 1)`);
  assert.deepEqual(await refresh(wh, view, T1, { runId: 'retry' }), {
    status: 'already-refreshed', view: 'analytics.by_status', timelabel: T1, version: 1, rows: 2, checks: [], addedColumns: [],
  });
  assert.deepEqual(await state(wh, 'analytics', 'by_status'), before);

  // Even a body that no longer runs: the marker is read before the view's SQL.
  await wh.query(`ALTER TABLE shop.orders RENAME COLUMN amount TO amount_old`);
  assert.equal((await refresh(wh, view, T1)).status, 'already-refreshed');
  await wh.query(`ALTER TABLE shop.orders RENAME COLUMN amount_old TO amount`);

  const r = await refresh(wh, view, T1, { version: 2 });
  assert.equal(r.status, 'refreshed');
  assert.equal(r.rows, 3);
  assert.deepEqual(await contents(wh, 'analytics.by_status'), [['open', '1', '7.50'], ['paid', '1', '5.00'], ['refunded', '1', '1.00']]);
  assert.deepEqual((await markers(wh)).map((m) => [m.timelabel, m.version, m.rows]), [[T1, 1, 2], [T1, 2, 3]]);
});

test('the table follows the signature: a gained column is added, a lost one kept (NULL on new rows, kept on merged ones)', async () => {
  const wh = await warehouse(`(1, 10, 5.00, 'paid', 1), (2, 11, 7.50, 'paid', 1)`);
  const v1 = await compileTestView('analytics.customer_ltv', `${viewHeader(...LTV_TAGS)}SELECT customer_id, count(*) AS orders FROM shop.orders GROUP BY customer_id\n`, DATASETS);
  await refresh(wh, v1, T1);
  const v2 = await compileTestView('analytics.customer_ltv', `${viewHeader(...LTV_TAGS)}SELECT customer_id, sum(amount) AS revenue FROM shop.orders GROUP BY customer_id\n`, DATASETS);
  await wh.query(`INSERT INTO shop.orders VALUES (3, 12, 1.00, 'paid', 1)`);
  const r = await refresh(wh, v2, T2, { version: 2 });
  assert.deepEqual(r.addedColumns, ['revenue']);
  assert.deepEqual(await columns(wh, 'analytics', 'customer_ltv'), ['customer_id integer', 'orders bigint', 'revenue numeric']);
  assert.deepEqual(await contents(wh, 'analytics.customer_ltv'), [['10', '1', '5.00'], ['11', '1', '7.50'], ['12', 'NULL', '1.00']]);
});

test('each check kind passes and fails, counting the failing rows; a failed check is reported, not applied', async () => {
  const wh = await warehouse(`(1, 10, 5.00, 'paid', 1), (2, 10, 7.50, 'open', 1), (3, NULL, 2.25, 'paid', 1), (4, 11, 1.00, 'refunded', 1)`);
  const checks = [
    'not_null(id)',
    'not_null(customer_id)',
    'unique(id)',
    'unique(customer_id)',
    'unique(customer_id, status)',
    "accepted_values(status, 'paid', 'open', 'refunded')",
    "accepted_values(status, 'paid', 'open')",
    'accepted_values(id, 1, 2, 3, 4)',
    'row_count(1, 4)',
    'row_count(5, 10)',
    'sql SELECT id FROM analytics.checked WHERE amount < 0',
    "sql SELECT id FROM analytics.checked WHERE status = 'refunded' OR customer_id IS NULL",
  ];
  const view = await compileTestView('analytics.checked', `${viewHeader('@refresh 1 hour', '@mode replace', ...checks.map((c) => `@check ${c}`))}SELECT id, customer_id, amount, status FROM shop.orders\n`, DATASETS);
  const r = await refresh(wh, view, T1);
  assert.equal(r.status, 'check-failed');
  assert.equal(r.rows, 4);
  assert.deepEqual(
    r.checks.map((c) => [c.check, c.line, c.passed, c.failingRows]),
    [
      ['not_null(id)', 4, true, 0],
      ['not_null(customer_id)', 5, false, 1],
      ['unique(id)', 6, true, 0],
      ['unique(customer_id)', 7, false, 2], // NULL is not a duplicate: not_null's business
      ['unique(customer_id, status)', 8, true, 0],
      ["accepted_values(status, 'paid', 'open', 'refunded')", 9, true, 0],
      ["accepted_values(status, 'paid', 'open')", 10, false, 1],
      ['accepted_values(id, 1, 2, 3, 4)', 11, true, 0],
      ['row_count(1, 4)', 12, true, 0],
      ['row_count(5, 10)', 13, false, 4],
      ['sql', 14, true, 0],
      ['sql', 15, false, 2],
    ],
  );
  assert.equal(r.checks[9].message, 'found 4 rows, expected 5 to 10');
  assert.equal(r.checks[1].message, 'found 1 rows with customer_id NULL, expected none');
  // Rolled back: not even the table or the markers table was left behind.
  assert.equal((await wh.query(`SELECT to_regclass('analytics.checked') AS t, to_regclass('reef.refresh_markers') AS m`)).rows[0].t, null);

  const passing = await compileTestView('analytics.checked', `${viewHeader('@refresh 1 hour', '@mode replace', ...checks.filter((_c, i) => [0, 2, 4, 5, 7, 8, 10].includes(i)).map((c) => `@check ${c}`))}SELECT id, customer_id, amount, status FROM shop.orders\n`, DATASETS);
  const ok = await refresh(wh, passing, T1);
  assert.equal(ok.status, 'refreshed');
  assert.equal(ok.checks.length, 7);
  assert.ok(ok.checks.every((c) => c.passed && c.failingRows === 0));
});

test('a failed check leaves the previous contents, columns and markers exactly as they were; a later good refresh goes through', async () => {
  const wh = await warehouse(`(1, 10, 5.00, 'paid', 1), (2, 11, 7.50, 'paid', 1)`);
  const view = await compileTestView('analytics.customer_ltv', viewHeader(...LTV_TAGS, '@check sql SELECT * FROM analytics.customer_ltv WHERE revenue < 0') + LTV_BODY, DATASETS);
  await refresh(wh, view, T1);
  const before = await state(wh, 'analytics', 'customer_ltv');

  await wh.query(`INSERT INTO shop.orders VALUES (3, 10, -50.00, 'refund', 1), (4, 12, 3.00, 'paid', 1)`);
  const failed = await refresh(wh, view, T2);
  assert.equal(failed.status, 'check-failed');
  assert.deepEqual(failed.checks.map((c) => [c.line, c.passed, c.failingRows]), [[5, false, 1]]);
  assert.deepEqual(await state(wh, 'analytics', 'customer_ltv'), before);

  await wh.query(`DELETE FROM shop.orders WHERE id = 3`);
  assert.equal((await refresh(wh, view, T2)).status, 'refreshed');
  assert.deepEqual(await contents(wh, 'analytics.customer_ltv'), [['10', '1', '5.00'], ['11', '1', '7.50'], ['12', '1', '3.00']]);
});

test('a failure in the middle (division by zero on one row, after a column was added) changes nothing and names the line', async () => {
  const wh = await warehouse(`(1, 10, 5.00, 'paid', 1), (2, 11, 7.50, 'paid', 2)`);
  const v1 = await compileTestView('analytics.customer_ltv', viewHeader(...LTV_TAGS) + LTV_BODY, DATASETS);
  await refresh(wh, v1, T1);
  const before = await state(wh, 'analytics', 'customer_ltv');

  const v2 = await compileTestView(
    'analytics.customer_ltv',
    `${viewHeader(...LTV_TAGS)}SELECT customer_id, count(*) AS orders, sum(amount) AS revenue,
       sum(amount / qty) AS per_unit
FROM shop.orders
GROUP BY customer_id
`,
    DATASETS,
  );
  await wh.query(`INSERT INTO shop.orders VALUES (3, 12, 1.00, 'paid', 0)`);
  const e = await refusal(refresh(wh, v2, T2, { version: 2 }));
  assert.equal(e.category, 'config');
  assert.equal(e.transient, false);
  // The warehouse gives no position for a runtime error: the body's first line stands for it.
  assert.match(e.message, /^views\/analytics\/customer_ltv\.sql:6: view analytics\.customer_ltv: the warehouse said "division by zero"/);
  assert.deepEqual(await state(wh, 'analytics', 'customer_ltv'), before);

  // The session is clean: the same client refreshes once the data is fixed.
  await wh.query(`UPDATE shop.orders SET qty = 1 WHERE id = 3`);
  assert.equal((await refresh(wh, v2, T2, { version: 2 })).status, 'refreshed');
  assert.deepEqual(await contents(wh, 'analytics.customer_ltv'), [['10', '1', '5.00', '5.0000000000000000'], ['11', '1', '7.50', '3.7500000000000000'], ['12', '1', '1.00', '1.00000000000000000000']]);
});

test('an unknown column in the body: config error at its line, nothing created', async () => {
  const wh = await warehouse('');
  const view = await compileTestView('analytics.bad', `${viewHeader('@refresh 1 hour', '@mode replace')}SELECT id,\n  discount\nFROM shop.orders\n`, DATASETS);
  const e = await refusal(refresh(wh, view, T1));
  assert.equal(e.category, 'config');
  assert.match(e.message, /^views\/analytics\/bad\.sql:6: .*column \\"discount\\" does not exist/);
  assert.equal((await wh.query(`SELECT to_regnamespace('analytics') AS s`)).rows[0].s, null);
});

test('merge keys the view yields twice or NULL: config error at the @keys line, nothing applied', async () => {
  const wh = await warehouse(`(1, 10, 5.00, 'paid', 1), (2, 11, 7.50, 'paid', 1)`);
  const view = await compileTestView('analytics.by_customer', `${viewHeader(...LTV_TAGS)}SELECT customer_id, status FROM shop.orders\n`, DATASETS);
  await refresh(wh, view, T1);
  const before = await state(wh, 'analytics', 'by_customer');
  await wh.query(`INSERT INTO shop.orders VALUES (3, 10, 1.00, 'open', 1)`);
  const dup = await refusal(refresh(wh, view, T2));
  assert.equal(dup.category, 'config');
  assert.match(dup.message, /^views\/analytics\/by_customer\.sql:4: @keys: view analytics\.by_customer yields the key \(customer_id\) = \(10\) on 2 rows/);
  await wh.query(`DELETE FROM shop.orders WHERE id = 3; INSERT INTO shop.orders VALUES (3, NULL, 1.00, 'open', 1)`);
  const nul = await refusal(refresh(wh, view, T2));
  assert.match(nul.message, /^views\/analytics\/by_customer\.sql:4: @keys: .* holds NULL/);
  assert.deepEqual(await state(wh, 'analytics', 'by_customer'), before);
});

test('checks that do not fit the view: a column it does not yield, a custom query that fails; config errors at the @check line', async () => {
  const wh = await warehouse(`(1, 10, 5.00, 'paid', 1)`);
  // With `*` the compiler cannot know the outputs; the warehouse's signature can.
  const star = await compileTestView('analytics.star', `${viewHeader('@refresh 1 hour', '@mode replace', '@check not_null(customer)')}SELECT * FROM shop.orders\n`, DATASETS);
  const e1 = await refusal(refresh(wh, star, T1));
  assert.equal(e1.category, 'config');
  assert.match(e1.message, /^views\/analytics\/star\.sql:4: @check not_null: found column "customer", which view analytics\.star does not output; expected one of id, customer_id, amount, status, qty$/);

  const custom = await compileTestView('analytics.custom', `${viewHeader('@refresh 1 hour', '@mode replace', '@check sql SELECT * FROM analytics.custom WHERE nope > 0')}SELECT id FROM shop.orders\n`, DATASETS);
  const e2 = await refusal(refresh(wh, custom, T1));
  assert.equal(e2.category, 'config');
  assert.match(e2.message, /^views\/analytics\/custom\.sql:4: @check sql of view analytics\.custom: the warehouse said "column \\"nope\\" does not exist"/);

  const typed = await compileTestView('analytics.typed', `${viewHeader('@refresh 1 hour', '@mode replace', "@check accepted_values(id, 'one')")}SELECT id FROM shop.orders\n`, DATASETS);
  const e3 = await refusal(refresh(wh, typed, T1));
  assert.match(e3.message, /^views\/analytics\/typed\.sql:4: @check accepted_values\(id, 'one'\) of view analytics\.typed: .*invalid input syntax for type integer/);
  assert.equal((await wh.query(`SELECT to_regnamespace('analytics') AS s`)).rows[0].s, null);
});

test('hostile identifiers in the view name, its columns and its check values are quoted, never run', async () => {
  const wh = await warehouse(`(1, 10, 5.00, 'it''s \\ "x"', 1), (2, 11, 7.50, 'paid', 1)`);
  const column = 'a"b; DROP TABLE shop.orders; --';
  const view: ViewSpec = {
    name: 'we"ird.t; DROP TABLE shop.orders; --',
    file: 'views/hand/made.sql',
    header: {
      refresh: { kind: 'interval', minutes: 60 } as unknown as ViewSpec['header']['refresh'],
      refreshText: '1 hour',
      mode: 'merge',
      keys: ['id'],
      checks: [
        { kind: 'not_null', column, line: 2 },
        { kind: 'accepted_values', column: 'status', values: [`it's \\ "x"`, 'paid'], line: 3 },
        { kind: 'unique', columns: ['id', column], line: 4 },
      ],
      tagLines: {},
    },
    body: `SELECT id, customer_id AS "${column.replaceAll('"', '""')}", status FROM shop.orders`,
    bodyStartLine: 5,
    inputs: [],
    outputs: null,
  };
  const r = await refresh(wh, view, T1, { runId: `r'; DROP TABLE shop.orders; --` });
  assert.equal(r.status, 'refreshed');
  assert.ok(r.checks.every((c) => c.passed));
  assert.deepEqual(await columns(wh, 'we"ird', 't; DROP TABLE shop.orders; --'), ['id integer', `${column} integer`, 'status text']);
  assert.deepEqual(await contents(wh, `"we""ird"."t; DROP TABLE shop.orders; --"`), [['1', '10', `it's \\ "x"`], ['2', '11', 'paid']]);
  assert.equal((await wh.query(`SELECT count(*)::int AS n FROM shop.orders`)).rows[0].n, 2);
  assert.equal((await refresh(wh, view, T1)).status, 'already-refreshed');
});
