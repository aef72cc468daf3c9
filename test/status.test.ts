/**
 * `reef status` per dataset on the shop demo: collected tables, their loads,
 * views and the publication, each with its last timelabel, lag, rows and last
 * check; when time passes without new periods the lag grows and the status
 * says why; when a slice fails it names the failure; a view waiting for an
 * input names what it waits for.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFlow } from '../shared/flow/load.ts';
import type { Flow } from '../shared/flow/types.ts';
import { faultsFromEnv } from '../shared/local/faults.ts';
import { runFlow } from '../shared/local/run.ts';
import { LocalRuntime } from '../shared/local/runtime.ts';
import { installationStatus, type DatasetStatus } from '../shared/local/status.ts';
import type { Faults } from '../shared/runtime/services.ts';
import { copyExample } from './support/flow.ts';

const DAY = '20260313';

describe('reef status per dataset', () => {
  let runtime: LocalRuntime;
  let flow: Flow;

  before(async () => {
    flow = await loadFlow(copyExample('shop'));
    runtime = await LocalRuntime.start(flow, { full: true });
    assert.equal((await runFlow(runtime, { from: `${DAY}000000`, to: `${DAY}004500` })).failed, 0);
  });
  after(async () => runtime?.stop());

  const find = (datasets: DatasetStatus[], dataset: string, kind: DatasetStatus['kind']) => datasets.find((d) => d.dataset === dataset && d.kind === kind)!;

  test('right after the run: every dataset is current, with rows and a passed check; the publication followed the view', async () => {
    const { datasets } = await installationStatus(flow, runtime.services.metadata, new Date(`2026-03-13T01:05:00Z`));
    const orders = find(datasets, 'shop.orders', 'collected');
    assert.deepEqual([orders.lastTimelabel, orders.lagSeconds, orders.why], [`${DAY}004500`, 300, null]);
    assert.ok(orders.rows > 0);
    assert.equal(find(datasets, 'shop.orders', 'loaded').lastTimelabel, `${DAY}004500`);
    const ltv = find(datasets, 'analytics.customer_ltv', 'view');
    assert.deepEqual([ltv.lastTimelabel, ltv.lastCheck, ltv.stale, ltv.why], [`${DAY}000000`, 'passed', false, null]);
    assert.ok(ltv.rows > 1000);
    assert.deepEqual(find(datasets, 'analytics.customer_ltv', 'published').lastTimelabel, `${DAY}000000`);
    const daily = find(datasets, 'analytics.daily_revenue', 'view');
    assert.equal(daily.lastTimelabel, null);
    assert.match(daily.why ?? '', /waiting for shop\.orders @ 20260313010000/, 'the daily view says what it waits for');
  });

  test('when no period comes for hours, the lag grows and the status says why', async () => {
    const { datasets } = await installationStatus(flow, runtime.services.metadata, new Date('2026-03-13T05:00:00Z'));
    const orders = find(datasets, 'shop.orders', 'collected');
    assert.equal(orders.lagSeconds, 4 * 3600);
    assert.match(orders.why ?? '', /no period finished since 20260313004500; expected one every every 15 minutes/);
    const ltv = find(datasets, 'analytics.customer_ltv', 'view');
    assert.equal(ltv.stale, true, 'beyond its @freshness of 3 hours');
    assert.match(ltv.why ?? '', /waiting for shop\.\w+ @ 20260313010000/);
  });

  test('when the slice fails, the status names the failure', async () => {
    const services = runtime.services as { faults: Faults };
    const healthy = services.faults;
    services.faults = faultsFromEnv('extract.start.shop.orders=throw');
    try {
      await runFlow(runtime, { timelabel: `${DAY}010000` });
    } finally {
      services.faults = healthy;
    }
    const { datasets } = await installationStatus(flow, runtime.services.metadata, new Date('2026-03-13T01:20:00Z'));
    const orders = find(datasets, 'shop.orders', 'collected');
    assert.equal(orders.failed, 1);
    assert.match(orders.why ?? '', /^20260313010000 failed: /);
    assert.equal(find(datasets, 'shop.customers', 'collected').why, null, 'the tables that did not fail are current');
  });
});
