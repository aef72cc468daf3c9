/**
 * Schema policies and publications that lose a column, end to end on a copy
 * of the shop demo with the embedded default, over a few 15-minute batches.
 *
 * Collect: the source freezes (`schemaPolicy: freeze`), products ignore new
 * columns and orders evolve. At 00:30 every one of them gains a column.
 * Proven: customers pause at 00:30 and 00:45 (records `paused`, one
 * `loadunit.paused` event naming the change and `reef accept`), products go
 * on without the new column, orders carry theirs; `reef accept` records the
 * source's schema from 00:30, and the next run collects the paused periods so
 * that the warehouse holds every source row (nothing lost).
 *
 * Harness: shop.products drops `category` and gains `colour` at 00:30. The
 * publication that lists `category` pauses at 00:30 (a `paused` record and one
 * `publication.paused` event naming the file to edit) instead of failing or
 * publishing NULLs; the one with `columns: all` adds `colour` to its target
 * and publishes it. Once the list no longer names `category`, the paused
 * timelabels publish, without `colour`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isReefError } from '../shared/errors.ts';
import { loadFlow } from '../shared/flow/load.ts';
import { acceptSchemaChange } from '../shared/local/accept.ts';
import { publishPass, runFlow, type RunReport } from '../shared/local/run.ts';
import { LocalRuntime } from '../shared/local/runtime.ts';
import { installationStatus } from '../shared/local/status.ts';
import type { SchemaAcceptance } from '../shared/slice.ts';
import type { PublishOutcome } from '../shared/harness/pass.ts';
import { copyExample } from './support/flow.ts';

const D = '20260316';
const at = (hhmm: string) => `${D}${hhmm}00`;

async function rows(runtime: LocalRuntime, database: string, sql: string): Promise<string[]> {
  return runtime.withDatabase(database, async (c) => (await c.query(sql)).rows.map((r) => JSON.stringify(r)).sort());
}

function noFailures(reports: RunReport[]): void {
  for (const r of reports) assert.equal(r.failed, 0, JSON.stringify([...r.batches, ...r.organized, ...r.published].filter((x) => x.status === 'failed')));
}

describe('schema policies: freeze, ignore_new_columns and evolve on one source', () => {
  let dir: string;
  let runtime: LocalRuntime | undefined;
  const reports: RunReport[] = [];
  let accepted: SchemaAcceptance;
  let refusal: unknown;
  let pausedBeforeAccept: { timelabel: string; code?: string; message?: string }[];
  let statusWhy: string | null | undefined;

  before(async () => {
    dir = copyExample('shop');
    const file = join(dir, 'sources/shop.yaml');
    const text = readFileSync(file, 'utf8');
    writeFileSync(
      file,
      text
        .replace('loadunits:\n', 'schemaPolicy: freeze\nloadunits:\n')
        .replace('  - table: public.products\n    mode: snapshot\n', '  - table: public.products\n    mode: snapshot\n    schemaPolicy: ignore_new_columns\n')
        .replace('  - table: public.orders\n    mode: incremental\n', '  - table: public.orders\n    mode: incremental\n    schemaPolicy: evolve\n'),
    );
    const flow = await loadFlow(dir);
    assert.equal((flow.sources[0].config as { schemaPolicy?: string }).schemaPolicy, 'freeze', 'the edited source file holds the policies');
    runtime = await LocalRuntime.start(flow, { full: true });
    reports.push(await runFlow(runtime, { from: at('0000'), to: at('0015') }));
    await runtime.withDatabase('shop', (c) =>
      c.query(`ALTER TABLE public.customers ADD COLUMN segment text DEFAULT 'retail';
               ALTER TABLE public.products ADD COLUMN colour text DEFAULT 'red';
               ALTER TABLE public.orders ADD COLUMN channel text DEFAULT 'web'`),
    );
    reports.push(await runFlow(runtime, { from: at('0030'), to: at('0045') }));
    pausedBeforeAccept = (await runtime.services.metadata.listBatches('shop', 'customers'))
      .filter((b) => b.status === 'paused')
      .map((b) => ({ timelabel: b.timelabel, code: b.error?.code, message: b.error?.message }));
    const status = await installationStatus(runtime.flow, runtime.services.metadata, runtime.services.now());
    statusWhy = status.datasets.find((d) => d.dataset === 'shop.customers' && d.kind === 'collected')?.why;
    refusal = await acceptSchemaChange(runtime, 'shop.orders').catch((e: unknown) => e);
    accepted = await acceptSchemaChange(runtime, 'shop.customers');
    reports.push(await runFlow(runtime, { from: at('0100'), to: at('0100') }));
  });
  after(async () => runtime?.stop());

  const batches = (report: RunReport, dataset: string) => report.batches.filter((b) => b.dataset === dataset).map((b) => [b.timelabel, b.status]);

  test('nothing failed', () => noFailures(reports));

  test('freeze: customers paused at 00:30 and 00:45, told once, with the change and the command to accept it', async () => {
    // The 00:45 run tries 00:30 again first (a paused period is never skipped), and pauses it again.
    assert.deepEqual(batches(reports[1], 'shop.customers'), [[at('0030'), 'paused'], [at('0030'), 'paused'], [at('0045'), 'paused']]);
    assert.deepEqual(pausedBeforeAccept.map((p) => [p.timelabel, p.code]), [[at('0030'), 'schema.frozen'], [at('0045'), 'schema.frozen']]);
    for (const p of pausedBeforeAccept) {
      assert.match(p.message!, /^shop\.customers is paused: its source table public\.customers changed \(added segment \(text\)\) and its schemaPolicy is freeze/);
      assert.match(p.message!, /to resume: reef accept <flow> shop\.customers, then reef run <flow>/);
    }
    assert.match(statusWhy ?? '', /^paused since 20260316003000: shop\.customers is paused: its source table public\.customers changed/, 'reef status says why');
    const events = (await runtime!.services.metadata.listEvents('shop')).filter((e) => e.type === 'loadunit.paused');
    assert.deepEqual(events.map((e) => [e.kind, e.dataset, e.timelabel, (e.detail as { changes: string[] }).changes]), [['metadata', 'shop.customers', at('0030'), ['added segment (text)']]]);
    const held = reports[1].organized.filter((o) => o.kind === 'refresh' && o.dataset === 'analytics.customer_ltv');
    assert.deepEqual(held.map((o) => [o.timelabel, o.status, o.error?.code]), [[at('0000'), 'paused', 'upstream.paused']], 'the view reading customers pauses, once, saying why');
    assert.match(held[0].error!.message, /reef accept <flow> shop\.customers/);
    // order_items is frozen too, but its source did not change: it went on.
    assert.deepEqual(batches(reports[1], 'shop.order_items'), [[at('0030'), 'committed'], [at('0045'), 'committed']]);
  });

  test('ignore_new_columns: products went on without colour; evolve: orders carry channel', async () => {
    const { metadata } = runtime!.services;
    assert.deepEqual(batches(reports[1], 'shop.products'), [[at('0030'), 'committed'], [at('0045'), 'committed']]);
    const products = await metadata.getLatestSchema('shop', 'shop.products');
    assert.equal(products!.version, 1);
    assert.ok(!products!.schema.columns.some((c) => c.name === 'colour'));
    const orders = await metadata.getLatestSchema('shop', 'shop.orders');
    assert.deepEqual(orders!.diff?.added.map((c) => c.name), ['channel']);
    const columns = await rows(runtime!, 'warehouse', "SELECT table_name || '.' || column_name AS c FROM information_schema.columns WHERE table_schema = 'shop' AND column_name IN ('colour', 'channel', 'segment')");
    assert.deepEqual(columns, ['{"c":"customers.segment"}', '{"c":"orders.channel"}']);
  });

  test('reef accept records the source schema from the first paused period, and refuses a dataset with nothing paused', () => {
    assert.deepEqual(accepted, { dataset: 'shop.customers', version: 2, since: at('0030'), changes: ['added segment (text)'], paused: [at('0030'), at('0045')] });
    const e = refusal;
    assert.ok(isReefError(e), String(e));
    assert.equal(e.code, 'schema.nothing-to-accept');
    assert.match(e.message, /shop\.orders has no period paused by schemaPolicy: freeze/);
  });

  test('after accepting, the next run collects the paused periods and the warehouse holds every source row', async () => {
    assert.deepEqual(batches(reports[2], 'shop.customers'), [[at('0030'), 'committed'], [at('0045'), 'committed'], [at('0100'), 'committed']]);
    const rt = runtime!;
    const columns = 'id, name, email, updated_at::text AS updated_at';
    assert.deepEqual(await rows(rt, 'warehouse', `SELECT ${columns} FROM shop.customers`), await rows(rt, 'shop', `SELECT ${columns} FROM public.customers`));
    assert.ok(Number(JSON.parse((await rows(rt, 'warehouse', "SELECT count(*)::int AS n FROM shop.customers WHERE segment = 'retail'"))[0]).n) > 0);
    const refreshed = reports[2].organized.filter((o) => o.kind === 'refresh' && o.dataset === 'analytics.customer_ltv' && o.status === 'refreshed').map((o) => o.timelabel);
    assert.ok(refreshed.includes(at('0000')), `the hour the freeze held back refreshed: ${refreshed.join(', ')}`);
  });
});

const LISTED = `type: harness/postgres
dataset: shop.products
connection:
  secret: shop-app
target:
  table: product_feed
mode: replace
columns:
  - column: id
  - column: sku
  - column: category
`;

const ALL = `type: harness/postgres
dataset: shop.products
connection:
  secret: shop-app
target:
  table: product_all
mode: replace
columns: all
`;

describe('publications when their dataset loses or gains a column', () => {
  let dir: string;
  let runtime: LocalRuntime | undefined;
  const reports: RunReport[] = [];
  let resumed: PublishOutcome[];
  let pausedRecord: { status: string; code?: string; message?: string } | undefined;

  before(async () => {
    dir = copyExample('shop');
    writeFileSync(join(dir, 'publications/product-feed.yaml'), LISTED);
    writeFileSync(join(dir, 'publications/product-all.yaml'), ALL);
    runtime = await LocalRuntime.start(await loadFlow(dir), { full: true });
    reports.push(await runFlow(runtime, { from: at('0000'), to: at('0015') }));
    await runtime.withDatabase('shop', (c) => c.query(`ALTER TABLE public.products DROP COLUMN category; ALTER TABLE public.products ADD COLUMN colour text DEFAULT 'red'`));
    reports.push(await runFlow(runtime, { from: at('0030'), to: at('0045') }));
    const record = await runtime.services.metadata.getBatch('product-feed', 'shop.products', at('0030'));
    pausedRecord = record && { status: record.status, code: record.error?.code, message: record.error?.message };
    await runtime.stop();
    runtime = undefined;

    // The fix: the list no longer names the dropped column.
    writeFileSync(join(dir, 'publications/product-feed.yaml'), LISTED.replace('  - column: category\n', ''));
    runtime = await LocalRuntime.start(await loadFlow(dir), { full: true });
    resumed = await publishPass(runtime);
  });
  after(async () => runtime?.stop());

  const published = (report: RunReport | PublishOutcome[], publication: string) =>
    ('published' in report ? report.published : report).filter((p) => p.publication === publication).map((p) => [p.timelabel, p.status]);

  test('nothing failed', () => noFailures(reports));

  test('the listed publication paused at the first timelabel without category, told once, naming the file to edit', async () => {
    assert.deepEqual(published(reports[0], 'product-feed'), [[at('0000'), 'published'], [at('0015'), 'published']]);
    assert.deepEqual(published(reports[1], 'product-feed'), [[at('0030'), 'paused']]);
    assert.equal(pausedRecord?.status, 'paused');
    assert.equal(pausedRecord?.code, 'publication.paused');
    assert.match(pausedRecord!.message!, /^publication product-feed is paused: it publishes shop\.products\.category, and the source dropped it \(it was [^)]+\) from 20260316003000 on/);
    const events = (await runtime!.services.metadata.listEvents('product-feed')).filter((e) => e.type === 'publication.paused');
    assert.deepEqual(events.map((e) => [e.kind, e.dataset, e.timelabel]), [['metadata', 'shop.products', at('0030')]]);
    const detail = events[0].detail as { publication: string; column: string; change: string; file: string; command: string };
    assert.deepEqual([detail.publication, detail.column, detail.change, detail.file], ['product-feed', 'category', 'dropped', 'publications/product-feed.yaml']);
    assert.match(detail.command, /^edit publications\/product-feed\.yaml so its columns no longer list category/);
  });

  test('columns: all added colour to its target and publishes it', async () => {
    assert.deepEqual(published(reports[1], 'product-all'), [[at('0030'), 'published'], [at('0045'), 'published']]);
    const rt = runtime!;
    assert.deepEqual(await rows(rt, 'app', 'SELECT id, sku, colour FROM public.product_all'), await rows(rt, 'shop', 'SELECT id, sku, colour FROM public.products'));
  });

  test('once the list no longer names category, the paused timelabels publish, without colour', async () => {
    assert.deepEqual(published(resumed, 'product-feed'), [[at('0030'), 'published'], [at('0045'), 'published']]);
    const rt = runtime!;
    assert.deepEqual(await rows(rt, 'app', 'SELECT id, sku FROM public.product_feed'), await rows(rt, 'shop', 'SELECT id, sku FROM public.products'));
    assert.deepEqual(await rows(rt, 'app', "SELECT column_name AS c FROM information_schema.columns WHERE table_name = 'product_feed'"), ['{"c":"category"}', '{"c":"id"}', '{"c":"sku"}']);
  });
});
