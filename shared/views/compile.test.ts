import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FlowConfigError, loadFlow } from '../flow/load.ts';
import { compileViews } from './compile.ts';

const here = dirname(fileURLToPath(import.meta.url));
const shopDir = resolve(here, '../../examples/shop');

const DATASETS = new Set(['shop.orders', 'shop.customers', 'shop.order_items', 'shop.products']);
const NO_PATTERNS = new Set<string>();

const tempDirs: string[] = [];
after(() => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

function writeFlow(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'reef-views-test-'));
  tempDirs.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

function header(...tags: string[]): string {
  return `/**\n${tags.map((t) => ` * ${t}\n`).join('')} */\n`;
}

const HOURLY_REPLACE = header('@refresh 1 hour', '@mode replace');

const CUSTOMER_LTV = `${header('@refresh 1 hour', '@mode merge', '@keys customer_id', '@check not_null(customer_id)', '@check unique(customer_id)', '@freshness 3 hours')}SELECT c.id AS customer_id, count(*) AS orders, sum(o.amount) AS revenue
FROM shop.orders o JOIN shop.customers c ON c.id = o.customer_id
GROUP BY 1
`;

/** 1-based line of the first line of `text` containing `needle`. */
function lineOf(text: string, needle: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(needle));
  assert.ok(i >= 0, `test bug: ${JSON.stringify(needle)} not in the text`);
  return i + 1;
}

/** The problem lines of a flow whose views must be refused. */
async function problems(dir: string, patterns: Set<string> = NO_PATTERNS): Promise<string[]> {
  try {
    await compileViews(dir, DATASETS, patterns);
  } catch (e) {
    assert.ok(e instanceof FlowConfigError, `expected a FlowConfigError, got ${String(e)}`);
    assert.equal(e.category, 'config');
    assert.equal(e.code, 'config.invalid');
    return e.message.split('\n');
  }
  assert.fail('the views compiled, but they should have been refused');
}

test('a flow without views/ has no views', async () => {
  assert.deepEqual(await compileViews(writeFlow({ 'reef.yaml': 'name: x\n' }), DATASETS, NO_PATTERNS), { views: [], upstream: {}, downstream: {} });
});

test('views on views: a deterministic DAG order, upstream and downstream maps, and each view as compiled', async () => {
  const daily = `${header('@refresh 1 day', '@mode merge', '@keys day')}SELECT date_trunc('day', h.hour) AS day, sum(h.revenue) AS revenue
FROM analytics.hourly_revenue h
GROUP BY 1
`;
  const dir = writeFlow({
    'views/analytics/customer_ltv.sql': CUSTOMER_LTV,
    'views/analytics/hourly_revenue.sql': `${HOURLY_REPLACE}SELECT date_trunc('hour', o.created_at) AS hour, sum(o.amount) AS revenue FROM shop.orders o GROUP BY 1\n`,
    'views/analytics/daily_revenue.sql': daily,
    'views/reports/top_customers.sql': `${HOURLY_REPLACE}SELECT l.customer_id, l.revenue, d.revenue AS day_revenue
FROM analytics.customer_ltv l CROSS JOIN (SELECT revenue FROM analytics.daily_revenue ORDER BY day DESC LIMIT 1) d\n`,
    'views/README.md': 'not a view: ignored',
  });
  const graph = await compileViews(dir, DATASETS, NO_PATTERNS);
  assert.deepEqual(
    graph.views.map((v) => v.name),
    ['analytics.customer_ltv', 'analytics.hourly_revenue', 'analytics.daily_revenue', 'reports.top_customers'],
  );
  assert.deepEqual(graph.upstream, {
    'analytics.customer_ltv': [],
    'analytics.hourly_revenue': [],
    'analytics.daily_revenue': ['analytics.hourly_revenue'],
    'reports.top_customers': ['analytics.customer_ltv', 'analytics.daily_revenue'],
  });
  assert.deepEqual(graph.downstream, {
    'analytics.customer_ltv': ['reports.top_customers'],
    'analytics.hourly_revenue': ['analytics.daily_revenue'],
    'analytics.daily_revenue': ['reports.top_customers'],
    'reports.top_customers': [],
  });

  const ltv = graph.views[0];
  assert.equal(ltv.file, 'views/analytics/customer_ltv.sql');
  assert.equal(ltv.bodyStartLine, 9);
  assert.equal(ltv.body, CUSTOMER_LTV.split('\n').slice(8).join('\n'));
  assert.equal(ltv.header.mode, 'merge');
  assert.deepEqual(ltv.header.keys, ['customer_id']);
  assert.deepEqual(ltv.outputs, ['customer_id', 'orders', 'revenue']);
  assert.deepEqual(ltv.inputs, [
    { relation: 'shop.customers', line: 10, columns: ['id'], ambiguous: [] },
    { relation: 'shop.orders', line: 10, columns: ['amount', 'customer_id'], ambiguous: [] },
  ]);
  const top = graph.views[3];
  assert.deepEqual(
    top.inputs.map((i) => [i.relation, i.columns]),
    [
      ['analytics.customer_ltv', ['customer_id', 'revenue']],
      ['analytics.daily_revenue', ['day', 'revenue']],
    ],
  );
  // Plain JSON: plans that hold views are stored.
  assert.deepEqual(JSON.parse(JSON.stringify(graph)), graph);
});

test('bad input: a syntax error in a view names the line in the file, not in the body', async () => {
  const text = `${HOURLY_REPLACE}SELECT o.id,\n  o.amount\nFROM shop.orders o\nWHRE o.amount > 0\n`;
  const dir = writeFlow({ 'views/analytics/big_orders.sql': text });
  assert.deepEqual(await problems(dir), [`views/analytics/big_orders.sql:${lineOf(text, 'WHRE')}: view: SQL syntax: syntax error at or near "WHRE"`]);
});

test('bad input: an unknown table names the file, its line, the relation and the close matches', async () => {
  const text = `${HOURLY_REPLACE}SELECT o.id\nFROM shop.ordrs o\n`;
  const dir = writeFlow({ 'views/analytics/big_orders.sql': text, 'views/analytics/orders_x.sql': `${HOURLY_REPLACE}SELECT 1 AS one\n` });
  assert.deepEqual(await problems(dir), [
    `views/analytics/big_orders.sql:${lineOf(text, 'shop.ordrs')}: view: found unknown input "shop.ordrs", expected a dataset collected by a source (<source>.<loadunit>) ` +
      'or another view (views/<schema>/<name>.sql); close matches: shop.orders',
  ]);

  const far = writeFlow({ 'views/analytics/x.sql': `${HOURLY_REPLACE}SELECT 1 AS one FROM billing.invoices\n` });
  assert.match((await problems(far))[0], /found unknown input "billing\.invoices", .*; no known relation is close \(known schemas: analytics, shop\)$/);
});

test('inputs under a slice with pattern loadunits are accepted, since its tables are known only at run time', async () => {
  const dir = writeFlow({ 'views/analytics/audit.sql': `${HOURLY_REPLACE}SELECT a.at FROM audit.events_2026 a\n` });
  const graph = await compileViews(dir, DATASETS, new Set(['audit']));
  assert.deepEqual(graph.views[0].inputs.map((i) => i.relation), ['audit.events_2026']);
  assert.match((await problems(dir))[0], /unknown input "audit\.events_2026"/);
});

test('bad input: a cycle names every view on it and the file and line of each edge', async () => {
  const x = `${HOURLY_REPLACE}SELECT y.id\nFROM analytics.y y\n`;
  const y = `${HOURLY_REPLACE}-- reads x back\nSELECT x.id\nFROM analytics.x x\n`;
  const dir = writeFlow({ 'views/analytics/x.sql': x, 'views/analytics/y.sql': y, 'views/analytics/z.sql': `${HOURLY_REPLACE}SELECT id FROM analytics.z\n` });
  assert.deepEqual(await problems(dir), [
    `views/analytics/x.sql:${lineOf(x, 'analytics.y')}: view: found a cycle analytics.x → analytics.y → analytics.x ` +
      `(views/analytics/x.sql:${lineOf(x, 'analytics.y')} reads analytics.y; views/analytics/y.sql:${lineOf(y, 'analytics.x')} reads analytics.x), ` +
      'expected views that never read themselves, directly or through others',
    `views/analytics/z.sql:${lineOf(HOURLY_REPLACE, '*/') + 1}: view: found a cycle analytics.z → analytics.z (views/analytics/z.sql:${lineOf(HOURLY_REPLACE, '*/') + 1} reads analytics.z), ` +
      'expected views that never read themselves, directly or through others',
  ]);
});

test('bad input: merge without keys names the @mode line', async () => {
  const text = `${header('@refresh 1 hour', '@mode merge')}SELECT o.id FROM shop.orders o\n`;
  const dir = writeFlow({ 'views/analytics/orders.sql': text });
  assert.deepEqual(await problems(dir), [
    `views/analytics/orders.sql:${lineOf(text, '@mode')}: @keys: missing, expected "@keys <column>[, <column>]" with @mode merge (a merge upserts and deletes rows by their keys)`,
  ]);
});

test('bad input: a check or a key on a column the view does not output names its tag line and the outputs', async () => {
  const text = `${header('@refresh 1 hour', '@mode merge', '@keys customer', '@check not_null(customer_id)', "@check accepted_values(tier, 'gold')", '@check unique(customer_id, revenu)')}SELECT c.id AS customer_id, sum(o.amount) AS revenue
FROM shop.orders o JOIN shop.customers c ON c.id = o.customer_id GROUP BY 1
`;
  const dir = writeFlow({ 'views/analytics/ltv.sql': text });
  const file = 'views/analytics/ltv.sql';
  assert.deepEqual(await problems(dir), [
    `${file}:${lineOf(text, '@keys')}: @keys: found column "customer", which the view does not output (did you mean "customer_id"?), expected one of its output columns customer_id, revenue`,
    `${file}:${lineOf(text, 'accepted_values')}: @check accepted_values: found column "tier", which the view does not output, expected one of its output columns customer_id, revenue`,
    `${file}:${lineOf(text, 'unique')}: @check unique: found column "revenu", which the view does not output (did you mean "revenue"?), expected one of its output columns customer_id, revenue`,
  ]);
});

test('columns are not checked when the SQL does not name every output (the warehouse will say them)', async () => {
  const dir = writeFlow({ 'views/analytics/o.sql': `${header('@refresh 1 hour', '@mode merge', '@keys whatever')}SELECT * FROM shop.orders\n` });
  const graph = await compileViews(dir, DATASETS, NO_PATTERNS);
  assert.equal(graph.views[0].outputs, null);
});

test('a syntax error in @check sql is reported on its line in the header', async () => {
  const text = `${header('@refresh 1 hour', '@mode replace', '@check sql SELECT *', '  FROM analytics.o', '  WHER amount < 0')}SELECT o.amount FROM shop.orders o\n`;
  const dir = writeFlow({ 'views/analytics/o.sql': text });
  assert.deepEqual(await problems(dir), [`views/analytics/o.sql:${lineOf(text, 'WHER')}: @check sql: SQL syntax: syntax error at or near "amount"`]);
});

test('file names and schemas: plain lowercase names, one folder deep, never a source slice schema', async () => {
  const ok = `${HOURLY_REPLACE}SELECT 1 AS one\n`;
  const dir = writeFlow({
    'views/loose.sql': ok,
    'views/analytics/deep/x.sql': ok,
    'views/Analytics/x.sql': ok,
    'views/analytics/daily-revenue.sql': ok,
    'views/shop/extra.sql': ok,
  });
  assert.deepEqual(await problems(dir), [
    'views/Analytics/x.sql: view schema (the folder name): found "Analytics", expected lowercase letters, digits and _ starting with a letter or _ (^[a-z_][a-z0-9_]*$); rename it',
    'views/analytics/daily-revenue.sql: view name (the file name): found "daily-revenue", expected lowercase letters, digits and _ starting with a letter or _ (^[a-z_][a-z0-9_]*$); rename it',
    'views/analytics/deep/x.sql: found a view file nested below a schema folder in views/, expected views/<schema>/<name>.sql',
    'views/loose.sql: found a view file directly in views/, expected views/<schema>/<name>.sql',
    'views/shop/extra.sql: view schema: found "shop", which is the schema the source sources/shop.yaml loads its tables into, expected a schema of views only (e.g. views/analytics/)',
  ]);
});

test('problems of every file come together, sorted by file and line', async () => {
  const dir = writeFlow({
    'views/b/two.sql': `${header('@refresh 1 hour', '@mode nope')}SELECT 1 AS one FROM shop.nothing\n`,
    'views/a/one.sql': `${header('@refresh 1 hour', '@mode merge')}SELECT FROM WHERE\n`,
  });
  const found = await problems(dir);
  assert.deepEqual(
    found.map((l) => l.split(': ')[0]),
    ['views/a/one.sql:3', 'views/a/one.sql:5', 'views/b/two.sql:3', 'views/b/two.sql:5'],
    found.join('\n'),
  );
});

test('loadFlow: the views of examples/shop come in DAG order; a flow with views and sources gets them in order, and reef validate sees their problems', async () => {
  const shop = (await loadFlow(shopDir)).views.map((v) => v.name);
  assert.deepEqual(shop, ['analytics.customer_ltv', 'analytics.daily_revenue', 'analytics.product_sales', 'analytics.top_customers']);
  assert.ok(shop.indexOf('analytics.top_customers') > shop.indexOf('analytics.customer_ltv'), 'a view comes after the view it reads');

  const source = `type: collect/postgres
schedule: every 15 minutes
connection:
  secret: shop-source
loadunits:
  - table: public.orders
    mode: snapshot
  - table: public.Customers
    as: Customers
    mode: snapshot
  - pattern: audit.*
    mode: snapshot
`;
  const flowFiles = {
    'reef.yaml': 'name: demo\n',
    'sources/shop.yaml': source,
    'views/analytics/by_customer.sql': `${HOURLY_REPLACE}SELECT c.id, count(*) AS n, max(a.at) AS last_audit\nFROM shop.orders o JOIN shop.customers c ON c.id = o.customer_id\nLEFT JOIN shop.audit_log a ON a.id = o.id\nGROUP BY 1\n`,
    'views/analytics/top.sql': `${HOURLY_REPLACE}SELECT b.id FROM analytics.by_customer b ORDER BY b.n DESC LIMIT 10\n`,
  };
  const flow = await loadFlow(writeFlow(flowFiles));
  assert.deepEqual(
    flow.views.map((v) => v.name),
    ['analytics.by_customer', 'analytics.top'],
  );

  const broken = writeFlow({ ...flowFiles, 'views/analytics/top.sql': `${HOURLY_REPLACE}SELECT b.id FROM analytics.by_custmer b\n` });
  await assert.rejects(loadFlow(broken), (e: unknown) => {
    assert.ok(e instanceof FlowConfigError);
    assert.match(e.message, /^views\/analytics\/top\.sql:5: view: found unknown input "analytics\.by_custmer", expected a dataset collected by a source \(<source>\.<loadunit>\) or any table of shop \(pattern loadunits\) or another view .*; close matches: analytics\.by_customer/);
    return true;
  });
});
