/**
 * Schema evolution end to end, on a copy of the shop demo with the embedded
 * default, over one simulated day of 15-minute batches. During the day the
 * source adds a column (customers.segment, 06:00), widens a type
 * (orders.total numeric(14,2) → numeric(16,2), 09:00), drops a column one
 * view reads (products.category, read by analytics.product_sales, 12:15) and
 * drops a column nobody reads (products.weight_kg, 15:00). A publication
 * copies product_sales into the application database.
 *
 * Proven: every committed batch is loaded and the raw tables hold the source's
 * rows, with the dropped columns still there and the widened one altered;
 * product_sales pauses at exactly 12:00 (the hour that holds the first batch
 * without `category`) while every other view refreshes every period; the
 * events tell the story in order and name the command to run; after the fix,
 * `reef plan` shows the catch-up from 12:00 and, once applied, the missed
 * hours refresh in order with the fixed version, and the view and its
 * publication end with what the fixed SQL computes over the whole day.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadFlow } from '../shared/flow/load.ts';
import { applyPlan, planFlow, type ApplyResult } from '../shared/local/apply.ts';
import { organizePass, publishPass, runFlow, type RunReport } from '../shared/local/run.ts';
import { LocalRuntime } from '../shared/local/runtime.ts';
import type { ReefEvent } from '../shared/metadata/types.ts';
import { formatPlan } from '../shared/plan/format.ts';
import type { Plan } from '../shared/plan/types.ts';
import type { OrganizeOutcome } from '../slices/organize/redshift/organizer.ts';
import { ORGANIZE_SLICE } from '../slices/organize/redshift/organizer.ts';
import type { PublishOutcome } from '../shared/harness/pass.ts';
import { copyExample } from './support/flow.ts';

const D = '20260316';
const PAUSED_VIEW = 'analytics.product_sales';
const RUNNING_VIEWS = ['analytics.customer_ltv', 'analytics.top_customers'];
const hoursOf = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `${D}${String(from + i).padStart(2, '0')}0000`);

/** The source changes, each made just before the batch of `before` is collected. */
const CHANGES: { before: string; sql: string }[] = [
  { before: '0600', sql: "ALTER TABLE public.customers ADD COLUMN segment text DEFAULT 'retail'" },
  { before: '0900', sql: 'ALTER TABLE public.orders ALTER COLUMN total TYPE numeric(16,2)' },
  { before: '1215', sql: 'ALTER TABLE public.products DROP COLUMN category' },
  { before: '1500', sql: 'ALTER TABLE public.products DROP COLUMN weight_kg' },
];

const PUBLICATION = `type: harness/postgres
dataset: analytics.product_sales
connection:
  secret: shop-app
target:
  table: product_sales
mode: replace
columns:
  - column: product_id
  - column: sku
  - column: units
  - column: revenue
`;

const PUBLISHED_COLUMNS = 'product_id, sku, units::text AS units, revenue::text AS revenue';

async function rows(runtime: LocalRuntime, database: string, sql: string): Promise<string[]> {
  return runtime.withDatabase(database, async (c) => (await c.query(sql)).rows.map((r) => JSON.stringify(r)).sort());
}

const refreshes = (outcomes: OrganizeOutcome[], view: string, status: OrganizeOutcome['status']) =>
  outcomes.filter((o) => o.kind === 'refresh' && o.dataset === view && o.status === status).map((o) => o.timelabel).sort();

describe('schema evolution: a day of source changes on the shop demo', () => {
  let dir: string;
  let runtime: LocalRuntime | undefined;
  const reports: RunReport[] = [];
  let plan: Plan;
  let applied: ApplyResult;
  let catchUp: OrganizeOutcome[];
  let catchUpPublished: PublishOutcome[];
  let fixedBody: string;
  let pausedRecords: { timelabel: string; code?: string; message?: string }[];

  before(async () => {
    dir = copyExample('shop');
    writeFileSync(join(dir, 'publications/product-sales.yaml'), PUBLICATION);
    runtime = await LocalRuntime.start(await loadFlow(dir), { full: true });
    let from = `${D}000000`;
    for (const change of CHANGES) {
      const until = new Date(Date.UTC(2026, 2, 16, Number(change.before.slice(0, 2)), Number(change.before.slice(2)) - 15));
      reports.push(await runFlow(runtime, { from, to: `${D}${until.toISOString().slice(11, 16).replace(':', '')}00` }));
      await runtime.withDatabase('shop', (c) => c.query(change.sql));
      from = `${D}${change.before}00`;
    }
    reports.push(await runFlow(runtime, { from, to: `${D}234500` }));
    pausedRecords = (await runtime.services.metadata.listBatches(ORGANIZE_SLICE))
      .filter((b) => b.loadunit === PAUSED_VIEW && b.status === 'paused')
      .map((b) => ({ timelabel: b.timelabel, code: b.error?.code, message: b.error?.message }));
    await runtime.stop();
    runtime = undefined;

    // The fix: product_sales no longer reads the dropped column.
    const file = join(dir, 'views/analytics/product_sales.sql');
    const text = readFileSync(file, 'utf8');
    assert.ok(text.includes('p.sku, p.category,') && text.includes('GROUP BY p.id, p.sku, p.category'));
    writeFileSync(file, text.replace('p.sku, p.category,', 'p.sku,').replace('GROUP BY p.id, p.sku, p.category', 'GROUP BY p.id, p.sku'));
    const fixed = await loadFlow(dir);
    fixedBody = fixed.views.find((v) => v.name === PAUSED_VIEW)!.body;
    runtime = await LocalRuntime.start(fixed, { full: true });
    plan = await planFlow(runtime, fixed);
    applied = await applyPlan(runtime, plan, { allowBreaking: false });
    catchUp = await organizePass(runtime);
    catchUpPublished = await publishPass(runtime);
  });
  after(async () => runtime?.stop());

  const organized = () => reports.flatMap((r) => r.organized);

  test('nothing failed during the day', () => {
    for (const r of reports) assert.equal(r.failed, 0, JSON.stringify([...r.batches, ...r.organized, ...r.published].filter((x) => x.status === 'failed')));
  });

  test('every committed batch was loaded, and the raw tables hold the source rows; nothing was dropped in the warehouse', async () => {
    const committed = reports.flatMap((r) => r.batches).filter((b) => b.status === 'committed').map((b) => `${b.dataset} ${b.timelabel}`).sort();
    const loaded = organized().filter((o) => o.kind === 'load' && o.status === 'loaded').map((o) => `${o.dataset} ${o.timelabel}`).sort();
    assert.equal(committed.length, 4 * 96);
    assert.deepEqual(loaded, committed);
    const rt = runtime!;
    assert.deepEqual(
      await rows(rt, 'warehouse', 'SELECT id, name, email, updated_at::text AS updated_at FROM shop.customers'),
      await rows(rt, 'shop', 'SELECT id, name, email, updated_at::text AS updated_at FROM public.customers'),
    );
    assert.deepEqual(
      await rows(rt, 'warehouse', 'SELECT id, status, total::text AS total FROM shop.orders'),
      await rows(rt, 'shop', 'SELECT id, status, total::text AS total FROM public.orders'),
    );
    assert.deepEqual(
      await rows(rt, 'warehouse', 'SELECT order_id, line_no, quantity FROM shop.order_items'),
      await rows(rt, 'shop', 'SELECT order_id, line_no, quantity FROM public.order_items'),
    );
    assert.deepEqual(
      await rows(rt, 'warehouse', 'SELECT id, sku, price::text AS price FROM shop.products'),
      await rows(rt, 'shop', 'SELECT id, sku, price::text AS price FROM public.products'),
    );
    const types = await rows(
      rt, 'warehouse',
      `SELECT table_name || '.' || column_name AS col, format_type(a.atttypid, a.atttypmod) AS type
         FROM information_schema.columns i JOIN pg_attribute a ON a.attrelid = ('shop.' || quote_ident(i.table_name))::regclass AND a.attname = i.column_name
        WHERE i.table_schema = 'shop' AND (i.table_name, i.column_name) IN (('products', 'category'), ('products', 'weight_kg'), ('orders', 'total'), ('customers', 'segment'))`,
    );
    assert.deepEqual(types, [
      { col: 'customers.segment', type: 'text' },
      { col: 'orders.total', type: 'numeric(16,2)' },
      { col: 'products.category', type: 'text' },
      { col: 'products.weight_kg', type: 'numeric(8,3)' },
    ].map((r) => JSON.stringify(r)).sort());
    // Dropped at the source: kept, NULL on the rows loaded since (a snapshot replaced them all).
    assert.deepEqual(await rows(rt, 'warehouse', 'SELECT count(*)::int AS n FROM shop.products WHERE category IS NOT NULL OR weight_kg IS NOT NULL'), ['{"n":0}']);
    // Added at the source: rows changed since then carry it.
    assert.ok(Number(JSON.parse((await rows(rt, 'warehouse', "SELECT count(*)::int AS n FROM shop.customers WHERE segment = 'retail'"))[0]).n) > 0);
  });

  test('product_sales paused at exactly 12:00, the hour of the first batch without category; the others refreshed every period', () => {
    assert.deepEqual(refreshes(organized(), PAUSED_VIEW, 'refreshed'), hoursOf(0, 11));
    assert.deepEqual(refreshes(organized(), PAUSED_VIEW, 'paused'), hoursOf(12, 23));
    assert.deepEqual(pausedRecords.map((p) => p.timelabel).sort(), hoursOf(12, 23));
    for (const p of pausedRecords) {
      assert.equal(p.code, 'schema.paused');
      assert.match(p.message!, /reads shop\.products\.category, and the source dropped it/);
    }
    for (const view of RUNNING_VIEWS) {
      assert.deepEqual(refreshes(organized(), view, 'refreshed'), hoursOf(0, 23), view);
      assert.deepEqual(refreshes(organized(), view, 'paused'), [], view);
    }
    assert.deepEqual(refreshes(organized(), 'analytics.daily_revenue', 'refreshed'), [`${D}000000`]);
    // The publication stopped with its dataset: nothing after 11:00 was published during the day.
    const published = reports.flatMap((r) => r.published).filter((p) => p.publication === 'product-sales' && p.status === 'published').map((p) => p.timelabel);
    assert.deepEqual(published, hoursOf(0, 11));
  });

  test('the events say what happened, in order, with the command to run', async () => {
    const { metadata } = runtime!.services;
    const events: ReefEvent[] = [...(await metadata.listEvents('shop')), ...(await metadata.listEvents(ORGANIZE_SLICE))]
      .filter((e) => e.kind === 'metadata' && ['column.added', 'column.dropped', 'column.retyped', 'view.paused'].includes(e.type))
      .sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
    const told = events.map((e) => [e.type, e.dataset, e.timelabel, (e.detail as { column?: string }).column, (e.detail as { change?: string }).change]);
    assert.deepEqual(told, [
      ['column.added', 'shop.customers', `${D}060000`, 'segment', undefined],
      ['column.retyped', 'shop.orders', `${D}090000`, 'total', 'widening'],
      ['column.dropped', 'shop.products', `${D}121500`, 'category', undefined],
      ['view.paused', PAUSED_VIEW, `${D}120000`, 'category', 'dropped'],
      ['column.dropped', 'shop.products', `${D}150000`, 'weight_kg', undefined],
    ]);
    const paused = events.find((e) => e.type === 'view.paused')!.detail as { command: string; file: string };
    assert.equal(paused.file, 'views/analytics/product_sales.sql');
    assert.equal(paused.command, `edit views/analytics/product_sales.sql so it no longer reads category, then reef plan ${dir} && reef apply ${dir}`);
  });

  test('reef plan shows the fix with the catch-up from the first paused period', () => {
    assert.equal(applied.applied, true, applied.messages.join('\n'));
    assert.deepEqual(plan.updateSet?.catchUp, [{ view: PAUSED_VIEW, from: `${D}120000` }]);
    assert.deepEqual(plan.stages.filter((s) => s.kind === 'backfill'), [{ kind: 'backfill', view: PAUSED_VIEW, from: `${D}120000`, reason: 'paused' }]);
    assert.match(formatPlan(plan), new RegExp(`Paused view ${PAUSED_VIEW} catches up from timelabel ${D}120000`));
  });

  test('after apply the missed hours refresh in order with the fixed version, and the publication catches up', async () => {
    const caught = catchUp.filter((o) => o.kind === 'refresh' && o.dataset === PAUSED_VIEW);
    assert.deepEqual(caught.map((o) => [o.timelabel, o.status, o.version]), hoursOf(12, 23).map((t) => [t, 'refreshed', 2]));
    assert.deepEqual(
      catchUpPublished.filter((p) => p.publication === 'product-sales').map((p) => [p.timelabel, p.status]),
      hoursOf(12, 23).map((t) => [t, 'published']),
    );
    const markers = await rows(runtime!, 'warehouse', `SELECT timelabel, version FROM reef.refresh_markers WHERE "view" = '${PAUSED_VIEW}'`);
    assert.deepEqual(markers, [...hoursOf(0, 11).map((t) => ({ timelabel: t, version: 1 })), ...hoursOf(12, 23).map((t) => ({ timelabel: t, version: 2 }))].map((m) => JSON.stringify(m)).sort());
  });

  test('the view and its publication hold what the fixed SQL computes over the whole day', async () => {
    const clean = await rows(runtime!, 'warehouse', `SELECT ${PUBLISHED_COLUMNS} FROM (${fixedBody}) AS d`);
    assert.ok(clean.length > 0);
    assert.deepEqual(await rows(runtime!, 'warehouse', `SELECT ${PUBLISHED_COLUMNS} FROM ${PAUSED_VIEW}`), clean);
    assert.deepEqual(await rows(runtime!, 'app', `SELECT ${PUBLISHED_COLUMNS} FROM public.product_sales`), clean);
  });
});
