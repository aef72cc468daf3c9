import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatProblem } from '../flow/problems.ts';
import { viewLineage } from './lineage.ts';
import type { InputRead, ViewLineage } from './types.ts';

const FILE = 'views/analytics/v.sql';

/** Lineage of `sql` as a body starting on file line `startLine`. */
async function lineage(sql: string, startLine = 1): Promise<ViewLineage> {
  const result = await viewLineage(FILE, { text: sql, startLine });
  assert.deepEqual(result.problems.map(formatProblem), []);
  return result.lineage!;
}

async function problems(sql: string, startLine = 1): Promise<string[]> {
  const result = await viewLineage(FILE, { text: sql, startLine });
  assert.equal(result.lineage, undefined);
  return result.problems.map(formatProblem);
}

/** Inputs as `relation → columns | ambiguous`, compact enough to read in a test. */
function reads(l: ViewLineage): Record<string, string> {
  const show = (i: InputRead): string => `${i.columns.join(',')}${i.ambiguous.length > 0 ? ` | ?${i.ambiguous.join(',?')}` : ''}`;
  return Object.fromEntries(l.inputs.map((i) => [i.relation, show(i)]));
}

test('the DESIGN.md view: both inputs with the columns read through their aliases, the outputs, and the line of each input', async () => {
  const l = await lineage(
    `SELECT c.id AS customer_id, count(*) AS orders, sum(o.amount) AS revenue
FROM shop.orders o JOIN shop.customers c ON c.id = o.customer_id
GROUP BY 1`,
    9,
  );
  assert.deepEqual(l, {
    inputs: [
      { relation: 'shop.customers', line: 10, columns: ['id'], ambiguous: [] },
      { relation: 'shop.orders', line: 10, columns: ['amount', 'customer_id'], ambiguous: [] },
    ],
    outputs: ['customer_id', 'orders', 'revenue'],
  });
});

test('CTEs are not inputs; a SELECT * inside a CTE reads only the columns the outer query takes from it', async () => {
  const l = await lineage(`WITH paid AS (
  SELECT * FROM shop.orders WHERE status = 'paid'
), totals AS (
  SELECT customer_id, sum(amount) AS total FROM paid GROUP BY customer_id
)
SELECT t.customer_id, t.total, c.name
FROM totals t JOIN shop.customers c ON c.id = t.customer_id`);
  assert.deepEqual(reads(l), { 'shop.customers': 'id,name', 'shop.orders': 'amount,customer_id,status' });
  assert.deepEqual(l.outputs, ['customer_id', 'total', 'name']);
  assert.equal(l.inputs.find((i) => i.relation === 'shop.orders')?.line, 2);
});

test('subqueries in FROM, WHERE and the select list; correlated references resolve to the outer alias', async () => {
  const l = await lineage(`SELECT p.id, p.title,
  (SELECT count(*) FROM shop.order_items i WHERE i.product_id = p.id) AS sold
FROM (SELECT id, title FROM shop.products WHERE active) p
WHERE p.id IN (SELECT product_id FROM shop.featured)
  AND EXISTS (SELECT 1 FROM shop.stock s WHERE s.product_id = p.id AND s.qty > 0)`);
  assert.deepEqual(reads(l), {
    'shop.featured': 'product_id',
    'shop.order_items': 'product_id',
    'shop.products': 'active,id,title',
    'shop.stock': 'product_id,qty',
  });
  assert.deepEqual(l.outputs, ['id', 'title', 'sold']);
});

test('UNION: both arms are read; the output names come from the first arm', async () => {
  const l = await lineage(`SELECT id, name, 'customer' AS kind FROM shop.customers
UNION ALL
SELECT id, title, 'product' FROM shop.products`);
  assert.deepEqual(reads(l), { 'shop.customers': 'id,name', 'shop.products': 'id,title' });
  assert.deepEqual(l.outputs, ['id', 'name', 'kind']);
});

test('a * inside a UNION that feeds a CTE cannot be traced by name, so it reads every column', async () => {
  const l = await lineage(`WITH everyone AS (SELECT * FROM shop.customers UNION SELECT * FROM crm.leads)
SELECT e.id FROM everyone e`);
  assert.deepEqual(reads(l), { 'crm.leads': '*', 'shop.customers': '*' });
});

test('LEFT JOIN LATERAL sees the items before it; unnest in FROM with a column list is not an input', async () => {
  const l = await lineage(`SELECT c.id, last.at, tag
FROM shop.customers c
LEFT JOIN LATERAL (
  SELECT max(o.updated_at) AS at FROM shop.orders o WHERE o.customer_id = c.id
) last ON true
CROSS JOIN unnest(c.tags) AS t(tag)`);
  assert.deepEqual(reads(l), { 'shop.customers': 'id,tags', 'shop.orders': 'customer_id,updated_at' });
  assert.deepEqual(l.outputs, ['id', 'at', 'tag']);
});

test('* and alias.* read every column and leave the outputs to the warehouse', async () => {
  const star = await lineage('SELECT * FROM shop.orders');
  assert.deepEqual(reads(star), { 'shop.orders': '*' });
  assert.equal(star.outputs, null);

  const aliasStar = await lineage('SELECT o.*, c.name FROM shop.orders o JOIN shop.customers c ON c.id = o.customer_id');
  assert.deepEqual(reads(aliasStar), { 'shop.customers': 'id,name', 'shop.orders': '*' });
  assert.equal(aliasStar.outputs, null);
});

test('an unnamed expression leaves the outputs unknown; a cast column keeps its name', async () => {
  assert.equal((await lineage('SELECT o.amount * 2 FROM shop.orders o')).outputs, null);
  assert.deepEqual((await lineage('SELECT o.amount::numeric(12,2), o.id AS order_id FROM shop.orders o')).outputs, ['amount', 'order_id']);
});

test('unqualified columns: certain with one input, ambiguous for each candidate with several', async () => {
  const one = await lineage('SELECT id, amount FROM shop.orders WHERE status = 1');
  assert.deepEqual(reads(one), { 'shop.orders': 'amount,id,status' });

  const two = await lineage('SELECT amount, c.name FROM shop.orders o JOIN shop.customers c ON c.id = o.customer_id');
  assert.deepEqual(reads(two), { 'shop.customers': 'id,name | ?amount', 'shop.orders': 'customer_id | ?amount' });

  // A derived table that surely has the column settles it: valid SQL cannot have two candidates.
  const settled = await lineage('SELECT total FROM (SELECT sum(amount) AS total FROM shop.orders) t CROSS JOIN shop.customers');
  assert.deepEqual(reads(settled), { 'shop.customers': '', 'shop.orders': 'amount' });
});

test('schema.table.col and USING columns; GROUP BY an output alias is in doubt, ORDER BY an output name is not a read', async () => {
  const l = await lineage(`SELECT shop.orders.customer_id, date_trunc('day', shop.orders.created_at) AS day, sum(amount) AS revenue
FROM shop.orders JOIN shop.customers USING (customer_id)
GROUP BY 1, day
ORDER BY revenue DESC`);
  assert.deepEqual(reads(l), { 'shop.customers': 'customer_id | ?amount,?day', 'shop.orders': 'created_at,customer_id | ?amount,?day' });
});

test('a syntax error is reported on its line in the file, not in the body', async () => {
  const found = await problems('SELECT id,\n  amount\nFROM shop.orders\nWHRE amount > 0', 9);
  assert.deepEqual(found, [`${FILE}:12: view: SQL syntax: syntax error at or near "amount"`]);
  // Characters before the error that take several bytes must not shift the line.
  assert.deepEqual(await problems("SELECT 'é😀' AS x\n,\nFROM shop.orders", 3), [`${FILE}:5: view: SQL syntax: syntax error at or near "FROM"`]);
});

test('locations after multi-byte text still map to the right line', async () => {
  const l = await lineage("SELECT 'café ☕' AS label\nFROM\n\nshop.orders", 20);
  assert.equal(l.inputs[0].line, 23);
});

test('what a view body must not be: unqualified tables, two statements, no statement, other statements, writing CTEs', async () => {
  assert.deepEqual(await problems('SELECT id\nFROM orders', 5), [
    `${FILE}:6: view: found table "orders" without a schema, expected schema.table (a collected dataset <source>.<loadunit> or a view <schema>.<name>), or the name of a WITH query`,
  ]);
  assert.deepEqual(await problems('SELECT 1 AS a;\nSELECT 2 AS b', 5), [
    `${FILE}:6: view: found 2 statements, expected exactly one SELECT (one query per file; a ";" inside the SQL ends it)`,
  ]);
  assert.deepEqual(await problems('-- nothing yet\n', 7), [`${FILE}:7: view: found no SQL statement, expected one SELECT`]);
  assert.deepEqual(await problems('\nDELETE FROM shop.orders', 2), [`${FILE}:3: view: found a Delete statement, expected one SELECT`]);
  assert.match((await problems('WITH d AS (DELETE FROM shop.orders RETURNING id) SELECT id FROM d'))[0], /^views\/analytics\/v\.sql:1: view: found a Delete statement in WITH d, expected only SELECT/);
  assert.deepEqual(await problems('SELECT a.b.c.d FROM db.shop.orders'), [
    `${FILE}:1: view: found "db.shop.orders", expected schema.table (no database name: the view runs in the warehouse's database)`,
  ]);
  assert.deepEqual(await problems('SELECT o.id AS x,\n o.amount AS x FROM shop.orders o'), [
    `${FILE}:2: view: found output column "x" more than once, expected distinct output names (give one an alias with AS)`,
  ]);
});

test('a recursive CTE reads its table once per arm; AS t(col) names the columns of a subquery or VALUES', async () => {
  const tree = await lineage(`WITH RECURSIVE tree AS (
  SELECT id, parent_id FROM shop.categories WHERE parent_id IS NULL
  UNION ALL
  SELECT c.id, c.parent_id FROM shop.categories c JOIN tree t ON c.parent_id = t.id
)
SELECT id FROM tree`);
  assert.deepEqual(reads(tree), { 'shop.categories': 'id,parent_id' });
  assert.deepEqual(tree.outputs, ['id']);

  const renamed = await lineage('SELECT t.total, v.label FROM (SELECT sum(amount) FROM shop.orders) AS t(total) CROSS JOIN (VALUES (1)) AS v(label)');
  assert.deepEqual(reads(renamed), { 'shop.orders': 'amount' });
  assert.deepEqual(renamed.outputs, ['total', 'label']);
});
