/**
 * `reef backfill` on the shop demo: a view's range refreshes again with
 * everything downstream (and nothing else), repairing a damaged table; a
 * collected table's failed periods are collected again and what reads them
 * catches up; a misspelled dataset or a misaligned range is one clear error.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFlow } from '../shared/flow/load.ts';
import type { Flow } from '../shared/flow/types.ts';
import { backfill } from '../shared/local/backfill.ts';
import { faultsFromEnv } from '../shared/local/faults.ts';
import { runFlow } from '../shared/local/run.ts';
import { LocalRuntime } from '../shared/local/runtime.ts';
import type { Faults } from '../shared/runtime/services.ts';
import { copyExample, reef } from './support/flow.ts';
import { inWarehouse, onSource } from './support/warehouse.ts';

const DAY = '20260311';
const H0 = `${DAY}000000`;
const H1 = `${DAY}010000`;
const LAST = `${DAY}014500`;

describe('reef backfill', () => {
  let runtime: LocalRuntime;
  let flow: Flow;

  before(async () => {
    flow = await loadFlow(copyExample('shop'));
    runtime = await LocalRuntime.start(flow, { full: true });
    const first = await runFlow(runtime, { from: H0, to: LAST });
    assert.equal(first.failed, 0);
  });
  after(async () => runtime?.stop());

  test('a view: its periods in the range and everything downstream refresh again, and a damaged table is whole again', async () => {
    const ltv = 'analytics.customer_ltv';
    await runtime.withDatabase('warehouse', (c) => c.query(`DELETE FROM ${ltv} WHERE customer_id % 3 = 0`));
    assert.notDeepEqual(await inWarehouse(runtime, ltv), await onSource(runtime, flow, ltv), 'the table is damaged');

    const report = await backfill(runtime, { dataset: ltv, from: H0, to: H1 });
    assert.equal(report.failed, 0);
    assert.deepEqual(
      report.reopened.map((r) => [r.view, r.timelabels]),
      [
        [ltv, [H0, H1]],
        ['analytics.top_customers', [H0, H1]],
      ],
      'the view and the view that reads it; not product_sales or daily_revenue',
    );
    assert.deepEqual(
      report.organized.map((o) => [o.dataset, o.timelabel, o.status]),
      [
        [ltv, H0, 'refreshed'],
        [ltv, H1, 'refreshed'],
        ['analytics.top_customers', H0, 'refreshed'],
        ['analytics.top_customers', H1, 'refreshed'],
      ],
      'in DAG order, each period once',
    );
    for (const view of [ltv, 'analytics.top_customers']) assert.deepEqual(await inWarehouse(runtime, view), await onSource(runtime, flow, view), view);
    const record = await runtime.services.metadata.getBatch('warehouse', ltv, H1);
    assert.equal(record?.status, 'committed');
    assert.match(record?.reopened?.reason ?? '', /backfill of analytics\.customer_ltv from/);
  });

  test('a collected table: failed periods are collected again and what reads them catches up', async () => {
    const next = { from: `${DAY}020000`, to: `${DAY}024500` };
    const services = runtime.services as { faults: Faults };
    const healthy = services.faults;
    services.faults = faultsFromEnv('extract.start.shop.orders=throw');
    try {
      const broken = await runFlow(runtime, next);
      assert.ok(broken.batches.filter((b) => b.dataset === 'shop.orders').every((b) => b.status === 'failed'));
    } finally {
      services.faults = healthy;
    }
    const report = await backfill(runtime, { dataset: 'shop.orders', ...next });
    assert.equal(report.failed, 0);
    assert.deepEqual(
      report.batches.filter((b) => b.dataset === 'shop.orders').map((b) => [b.timelabel, b.status]),
      [`${DAY}020000`, `${DAY}021500`, `${DAY}023000`, `${DAY}024500`].map((t) => [t, 'committed']),
    );
    const refreshed = report.organized.filter((o) => o.kind === 'refresh').map((o) => `${o.dataset}@${o.timelabel}`);
    for (const view of ['analytics.customer_ltv', 'analytics.top_customers']) assert.ok(refreshed.includes(`${view}@${next.from}`), `${view} caught up: ${refreshed.join(', ')}`);
    assert.equal(new Set(refreshed).size, refreshed.length, 'no period refreshed twice');
    for (const view of ['analytics.customer_ltv', 'analytics.product_sales']) assert.deepEqual(await inWarehouse(runtime, view), await onSource(runtime, flow, view), view);
  });

  test('bad input: an unknown dataset names close matches; a misaligned range says what is expected', async () => {
    await assert.rejects(backfill(runtime, { dataset: 'shop.ordrs', from: H0, to: H1 }), /dataset "shop\.ordrs": .*close matches: shop\.orders/);
    await assert.rejects(backfill(runtime, { dataset: 'analytics.customer_ltv', from: `${DAY}001500`, to: H1 }), /001500/);
  });
});

test('reef backfill through the CLI: --help explains it, --json reports it, --from and --to are required', async () => {
  const help = await reef(['backfill', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /everything downstream/);
  const missing = await reef(['backfill', 'examples/shop', 'shop.orders', '--from', H0]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /--to/);

  const dir = copyExample('shop');
  assert.equal((await reef(['run', dir, '--from', H0, '--to', `${DAY}004500`])).code, 0);
  const result = await reef(['backfill', dir, 'analytics.product_sales', '--from', H0, '--to', H0, '--json']);
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as { kind: string; reopened: { view: string; timelabels: string[] }[]; organized: { dataset: string; status: string }[] };
  assert.equal(report.kind, 'view');
  assert.deepEqual(report.reopened, [{ view: 'analytics.product_sales', timelabels: [H0], running: [] }]);
  assert.deepEqual(report.organized.map((o) => [o.dataset, o.status]), [['analytics.product_sales', 'refreshed']]);
});
