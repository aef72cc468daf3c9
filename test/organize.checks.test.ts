/**
 * A failed check on a view: the refresh is marked failed with the check's
 * file and line, a metadata event says so, the view keeps no new contents,
 * what reads the view is marked failed for that period (naming the check),
 * and views that do not read it go on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadFlow } from '../shared/flow/load.ts';
import { LocalRuntime } from '../shared/local/runtime.ts';
import { runFlow } from '../shared/local/run.ts';
import { copyExample } from './support/flow.ts';

test('a failed check stops that view and what reads it for the period, and says where', async () => {
  const dir = copyExample('shop');
  const file = join(dir, 'views/analytics/customer_ltv.sql');
  // The demo has about a thousand customers: a bound of five cannot hold.
  writeFileSync(file, readFileSync(file, 'utf8').replace(' * @freshness 3 hours', ' * @freshness 3 hours\n * @check row_count(0, 5)'));
  const line = readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes('row_count(0, 5)')) + 1;
  const runtime = await LocalRuntime.start(await loadFlow(dir), { full: true });
  try {
    const report = await runFlow(runtime, { from: '20260312100000', to: '20260312104500' });
    const refresh = (view: string) => report.organized.filter((o) => o.kind === 'refresh' && o.dataset === view);
    const [ltv] = refresh('analytics.customer_ltv');
    assert.equal(ltv.status, 'failed');
    assert.equal(ltv.error?.code, 'check.failed');
    assert.match(ltv.error!.message, new RegExp(`views/analytics/customer_ltv\\.sql:${line}`));
    const [top] = refresh('analytics.top_customers');
    assert.equal(top?.status, 'failed', 'the view that reads it is marked failed for the period');
    assert.equal(top.error?.code, 'upstream.failed');
    assert.match(top.error!.message, new RegExp(`refresh of analytics\\.customer_ltv @ ${ltv.timelabel} failed: .*customer_ltv\\.sql:${line}`));
    const top2 = await runtime.services.metadata.getBatch('warehouse', 'analytics.top_customers', ltv.timelabel);
    assert.equal(top2?.status, 'failed', 'the mark is in the metadata, where status reads it');
    assert.deepEqual(refresh('analytics.product_sales').map((o) => o.status), ['refreshed'], 'a view that does not read it goes on');
    const events = await runtime.services.metadata.listEvents('warehouse');
    const failed = events.find((e) => e.type === 'check.failed' && e.dataset === 'analytics.customer_ltv');
    assert.ok(failed, 'a metadata event names the failed check');
    assert.deepEqual((failed.detail.checks as { line: number }[]).map((c) => c.line), [line]);
    const kept = await runtime.withDatabase('warehouse', async (c) => (await c.query(`SELECT to_regclass('analytics.customer_ltv') AS t`)).rows[0].t);
    assert.equal(kept, null, 'the first refresh rolled back: no contents were published');
  } finally {
    await runtime.stop();
  }
});
