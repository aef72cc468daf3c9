/**
 * Collect, load and refresh on the shop demo over a day of 15-minute
 * batches, on the embedded default: views refresh in DAG order once their
 * inputs are complete, and their contents equal the same SQL run directly on
 * the source. One input failing for one period holds back exactly what
 * depends on it until it is re-run.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFlow } from '../shared/flow/load.ts';
import { LocalRuntime } from '../shared/local/runtime.ts';
import { runFlow, type RunReport } from '../shared/local/run.ts';
import type { Flow } from '../shared/flow/types.ts';
import { copyExample } from './support/flow.ts';
import { inWarehouse, onSource } from './support/warehouse.ts';
import { faultsFromEnv } from '../shared/local/faults.ts';
import type { Faults } from '../shared/runtime/services.ts';

const DAY = '20260310';
const FIRST = `${DAY}000000`;
const LAST = `${DAY}234500`;
const VIEWS = ['analytics.customer_ltv', 'analytics.daily_revenue', 'analytics.product_sales', 'analytics.top_customers'];

const refreshes = (r: RunReport, view: string) => r.organized.filter((o) => o.kind === 'refresh' && o.dataset === view);

describe('organize: a day of the shop demo', () => {
  let runtime: LocalRuntime;
  let flow: Flow;
  let report: RunReport;

  before(async () => {
    flow = await loadFlow(copyExample('shop'));
    runtime = await LocalRuntime.start(flow, { full: true });
    report = await runFlow(runtime, { from: FIRST, to: LAST });
  });
  after(async () => runtime?.stop());

  test('every batch is loaded once, in order, and the report lists every load and refresh with its timelabel', () => {
    assert.equal(report.failed, 0, JSON.stringify([...report.batches, ...report.organized].filter((x) => x.status === 'failed')));
    const loads = report.organized.filter((o) => o.kind === 'load');
    assert.equal(loads.length, 96 * 4);
    for (const dataset of ['shop.customers', 'shop.orders', 'shop.order_items', 'shop.products']) {
      const tls = loads.filter((l) => l.dataset === dataset).map((l) => l.timelabel);
      assert.deepEqual(tls, [...tls].sort(), `${dataset} loads in timelabel order`);
      assert.equal(new Set(tls).size, 96);
    }
  });

  test('hourly views refresh for each of the 24 hours, the daily view once, each after what it reads', () => {
    for (const view of ['analytics.customer_ltv', 'analytics.product_sales', 'analytics.top_customers']) {
      assert.equal(refreshes(report, view).length, 24, view);
      assert.deepEqual(refreshes(report, view).map((r) => r.status), Array(24).fill('refreshed'));
    }
    assert.deepEqual(refreshes(report, 'analytics.daily_revenue').map((r) => r.timelabel), [FIRST]);
    const at = (view: string, tl: string) => report.organized.findIndex((o) => o.dataset === view && o.timelabel === tl);
    // An hour refreshes only after its four quarters are loaded, and a view after the view it reads.
    assert.ok(at('analytics.customer_ltv', `${DAY}050000`) > at('shop.orders', `${DAY}054500`));
    assert.ok(at('analytics.top_customers', `${DAY}050000`) > at('analytics.customer_ltv', `${DAY}050000`));
    assert.ok(at('analytics.daily_revenue', FIRST) > at('shop.orders', LAST));
  });

  test('each view equals the same SQL run directly on the source data', async () => {
    for (const view of VIEWS) {
      const expected = await onSource(runtime, flow, view);
      assert.ok(expected.length > 0, `${view} has rows`);
      assert.deepEqual(await inWarehouse(runtime, view), expected, view);
    }
  });
});

describe('organize: deterministic orchestration when an input fails', () => {
  let runtime: LocalRuntime;
  let flow: Flow;
  const broken = `${DAY}134500`;

  before(async () => {
    flow = await loadFlow(copyExample('shop'));
    runtime = await LocalRuntime.start(flow, { full: true });
  });
  after(async () => runtime?.stop());

  test('the daily view waits for the day until the failed input is re-run, then refreshes with the right result', async () => {
    await runFlow(runtime, { from: FIRST, to: `${DAY}133000` });
    // Extracting orders fails from 13:45 on (the fault hook the local runtime reads from REEF_FAULT).
    const services = runtime.services as { faults: Faults };
    const healthy = services.faults;
    services.faults = faultsFromEnv('extract.start.shop.orders=throw');
    const during = await runFlow(runtime, { from: broken, to: LAST });
    services.faults = healthy;
    const orders = during.batches.filter((b) => b.dataset === 'shop.orders');
    assert.ok(orders.every((b) => b.status === 'failed'));
    const marks = (view: string) => refreshes(during, view).map((r) => [r.timelabel, r.status, r.error?.code]);
    // Each held-back period is marked failed once, naming the collect that failed, not once per pass.
    assert.deepEqual(marks('analytics.daily_revenue'), [[FIRST, 'failed', 'upstream.failed']], 'no daily refresh while a quarter of the day is missing');
    assert.match(refreshes(during, 'analytics.daily_revenue')[0].error!.message, new RegExp(`collect of shop\\.orders @ ${broken} failed`));
    const hours = marks('analytics.customer_ltv');
    assert.equal(hours.length, 11, 'hours from 13:00 on are held back for their orders');
    assert.ok(hours.every(([, status, code]) => status === 'failed' && code === 'upstream.failed'));
    assert.equal(refreshes(during, 'analytics.product_sales').length, 11, 'a view that does not read orders goes on: 13:00 to 23:00');

    const rerun = await runFlow(runtime, { from: broken, to: LAST });
    assert.equal(rerun.failed, 0);
    assert.deepEqual(refreshes(rerun, 'analytics.daily_revenue').map((r) => [r.timelabel, r.status]), [[FIRST, 'refreshed']]);
    assert.equal(refreshes(rerun, 'analytics.customer_ltv').length, 11);
    for (const view of ['analytics.daily_revenue', 'analytics.customer_ltv']) {
      assert.deepEqual(await inWarehouse(runtime, view), await onSource(runtime, flow, view), view);
    }
  });
});
