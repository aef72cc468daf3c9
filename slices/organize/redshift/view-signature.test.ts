/**
 * describeView against a real PostgreSQL warehouse. Proves: output names
 * and types (with their modifiers) come from the warehouse for expressions,
 * aliases and `*`; the view's rows are never computed; the user's SQL errors
 * are config errors at the file's line; unnamed and duplicate outputs are
 * refused.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { startTestPostgres, type TestPostgres } from '../../../test/support/postgres.ts';
import { compileTestView, viewHeader } from '../../../test/support/views.ts';
import { isReefError } from '../../../shared/errors.ts';
import type { ViewSpec } from '../../../shared/views/types.ts';
import { describeView } from './view-signature.ts';

let server: TestPostgres;
let warehouse: pg.Client;
const DATASETS = ['shop.orders', 'shop.customers', 'shop.gone'];
const REPLACE = viewHeader('@refresh 1 hour', '@mode replace');

before(async () => {
  server = await startTestPostgres();
  warehouse = await server.client(await server.freshDatabase('reef_sig_wh'));
  await warehouse.query(`
    CREATE SCHEMA shop;
    CREATE TABLE shop.customers (id integer PRIMARY KEY, name varchar(40), email text);
    CREATE TABLE shop.orders (id bigint PRIMARY KEY, customer_id integer, amount numeric(10,2), created_at timestamptz, status text);
    INSERT INTO shop.customers VALUES (1, 'Ada', 'ada@example.com');
    INSERT INTO shop.orders VALUES (10, 1, 5.00, '2026-03-05 08:10:00+00', 'paid');
  `);
});

after(async () => {
  await warehouse?.end();
  await server?.stop();
});

function view(name: string, body: string): Promise<ViewSpec> {
  return compileTestView(name, REPLACE + body, DATASETS);
}

async function refusal(p: Promise<unknown>): Promise<{ category: string; code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    assert.ok(isReefError(e), `expected a Reef error, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the view to be refused');
}

test('expressions and aliases: names as aliased, types as the warehouse infers them, modifiers kept', async () => {
  const v = await view(
    'analytics.customer_ltv',
    `SELECT c.id AS customer_id, c.name, count(*) AS orders, sum(o.amount) AS revenue,
       CAST(sum(o.amount) AS numeric(12,2)) AS revenue_rounded, max(o.created_at) AS last_order,
       date_trunc('day', max(o.created_at))::date AS last_day, count(*) > 1 AS repeat, upper(c.email) AS "Email"
FROM shop.orders o JOIN shop.customers c ON c.id = o.customer_id
GROUP BY c.id, c.name, c.email
`,
  );
  assert.deepEqual((await describeView(warehouse, 'postgres', v)).columns, [
    { name: 'customer_id', type: 'integer' },
    { name: 'name', type: 'character varying(40)' },
    { name: 'orders', type: 'bigint' },
    { name: 'revenue', type: 'numeric' },
    { name: 'revenue_rounded', type: 'numeric(12,2)' },
    { name: 'last_order', type: 'timestamp with time zone' },
    { name: 'last_day', type: 'date' },
    { name: 'repeat', type: 'boolean' },
    { name: 'Email', type: 'text' },
  ]);
});

test('a view of * has the columns of its input, and a trailing semicolon and comment are fine', async () => {
  const v = await view('analytics.all_orders', 'SELECT * FROM shop.orders; -- every order\n');
  assert.deepEqual((await describeView(warehouse, 'postgres', v)).columns, [
    { name: 'id', type: 'bigint' },
    { name: 'customer_id', type: 'integer' },
    { name: 'amount', type: 'numeric(10,2)' },
    { name: 'created_at', type: 'timestamp with time zone' },
    { name: 'status', type: 'text' },
  ]);
});

test('the rows are never computed: a body that fails on every row still describes', async () => {
  const v = await view('analytics.broken_rows', 'SELECT id, amount / (id - id) AS ratio FROM shop.orders\n');
  assert.deepEqual((await describeView(warehouse, 'postgres', v)).columns, [
    { name: 'id', type: 'bigint' },
    { name: 'ratio', type: 'numeric' },
  ]);
  await assert.rejects(warehouse.query(`SELECT id, amount / (id - id) AS ratio FROM shop.orders`), /division by zero/);
});

test('an unknown column: a config error naming the file and the line it is on', async () => {
  const text = `SELECT o.id,
       o.amount,
       o.discount AS discount
FROM shop.orders o
`;
  const v = await view('analytics.bad_column', text);
  // Header: 4 lines, so the body starts on line 5 and o.discount is on line 7.
  assert.equal(v.bodyStartLine, 5);
  const e = await refusal(describeView(warehouse, 'postgres', v));
  assert.equal(e.category, 'config');
  assert.equal(e.code, 'config.view-sql');
  assert.match(e.message, /^views\/analytics\/bad_column\.sql:7: view analytics\.bad_column: the warehouse said "column o\.discount does not exist"/);
  assert.match(e.message, /SQLSTATE 42703/);
});

test('an unknown table (declared by a source, absent in the warehouse): file and line of its FROM', async () => {
  const v = await view('analytics.from_gone', 'SELECT g.id\n\nFROM   shop.gone g\n');
  const e = await refusal(describeView(warehouse, 'postgres', v));
  assert.equal(e.category, 'config');
  assert.match(e.message, /^views\/analytics\/from_gone\.sql:7: .*relation \\"shop\.gone\\" does not exist/);
});

test('a type error: line of the operator, even after multi-byte text on earlier lines', async () => {
  const v = await view('analytics.type_error', `SELECT 'café ☕ 🐟' AS label,\n       o.status + 1 AS bumped\nFROM shop.orders o\n`);
  const e = await refusal(describeView(warehouse, 'postgres', v));
  assert.equal(e.category, 'config');
  assert.match(e.message, /^views\/analytics\/type_error\.sql:6: .*operator does not exist: text \+ integer/);
});

test('an output without a name, or a name twice, is refused', async () => {
  const unnamed = await view('analytics.unnamed', 'SELECT id, amount * 2 FROM shop.orders\n');
  const e1 = await refusal(describeView(warehouse, 'postgres', unnamed));
  assert.equal(e1.category, 'config');
  assert.match(e1.message, /^views\/analytics\/unnamed\.sql:5: view analytics\.unnamed: output column 2 has no name; expected every output column named \(add AS <name>\)/);

  // The compiler refuses a name written twice; one that only `*` brings in is for the warehouse to reveal.
  const twice = await view('analytics.twice', 'SELECT o.id, c.* FROM shop.orders o JOIN shop.customers c ON c.id = o.customer_id\n');
  const e2 = await refusal(describeView(warehouse, 'postgres', twice));
  assert.equal(e2.category, 'config');
  assert.match(e2.message, /found output column "id" more than once/);
});

test('an output whose type no table can hold is refused with a cast to add', async () => {
  const v = await view('analytics.record_out', 'SELECT id, ROW(id, status) AS pair FROM shop.orders\n');
  const e = await refusal(describeView(warehouse, 'postgres', v));
  assert.equal(e.category, 'config');
  assert.match(e.message, /found output column "pair" of type record, which a table cannot hold/);
});
