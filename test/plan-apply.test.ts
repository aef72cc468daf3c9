/**
 * `reef plan` and `reef apply` on copies of the shop demo, with the real CLI
 * and the embedded default: a fresh flow plans its four views; a flow that
 * runs what was applied plans nothing; a changed view that drops a column
 * another view reads is named as breaking and refused until that view changes
 * too; the update set of an hourly and a daily view waits for midnight; and
 * `reef run` refuses views that changed without an apply.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadFlow } from '../shared/flow/load.ts';
import type { Flow } from '../shared/flow/types.ts';
import { applyPlan, planFlow } from '../shared/local/apply.ts';
import { runFlow } from '../shared/local/run.ts';
import { LocalRuntime } from '../shared/local/runtime.ts';
import type { Plan } from '../shared/plan/types.ts';
import { ORGANIZE_SLICE } from '../slices/organize/redshift/organizer.ts';
import { copyExample, reef } from './support/flow.ts';

const DAY = '20260310';
const HOUR_0 = { from: `${DAY}000000`, to: `${DAY}004500` };
const HOUR_1 = { from: `${DAY}010000`, to: `${DAY}014500` };
const VIEWS = ['analytics.customer_ltv', 'analytics.daily_revenue', 'analytics.product_sales', 'analytics.top_customers'];

function edit(dir: string, view: string, from: string, to: string): void {
  const path = join(dir, 'views', ...view.split('.')) + '.sql';
  const text = readFileSync(path, 'utf8');
  assert.ok(text.includes(from), `${path} holds ${from}`);
  writeFileSync(path, text.replaceAll(from, to));
}

/** Every relation and column in the warehouse's user schemas, and each relation's row count: what a rolled-back describe must leave alone. */
async function warehouseShape(runtime: LocalRuntime): Promise<string[]> {
  return runtime.withDatabase('warehouse', async (c) => {
    const cols = await c.query<{ s: string; t: string; k: string; col: string; type: string }>(
      `SELECT t.table_schema AS s, t.table_name AS t, t.table_type AS k, c.column_name AS col, c.data_type AS type
       FROM information_schema.tables t JOIN information_schema.columns c USING (table_schema, table_name)
       WHERE t.table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2, c.ordinal_position`,
    );
    const out = cols.rows.map((r) => `${r.s}.${r.t} ${r.k} ${r.col} ${r.type}`);
    for (const t of [...new Set(cols.rows.map((r) => `${r.s}.${r.t}`))]) {
      out.push(`${t} rows ${(await c.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n}`);
    }
    return out;
  });
}

async function withRuntime<T>(flow: Flow, work: (runtime: LocalRuntime) => Promise<T>): Promise<T> {
  const runtime = await LocalRuntime.start(flow, { full: true });
  try {
    return await work(runtime);
  } finally {
    await runtime.stop();
  }
}

describe('reef plan on a fresh flow', () => {
  test('before anything is collected, plan says which dataset to collect first', async () => {
    const r = await reef(['plan', copyExample('shop'), '--json']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /dataset shop\.\w+ \(read by analytics\.\w+.*\) has not been collected yet.*run `reef run` first/);
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  });

  test('after a first collect, plan lists the four views as create-view and one update set from the start', async () => {
    const dir = copyExample('shop');
    const flow = await loadFlow(dir);
    // Collect only: without a warehouse nothing is loaded, refreshed or applied.
    await withRuntime({ ...flow, installation: { ...flow.installation, warehouse: undefined } }, async (runtime) => {
      const report = await runFlow(runtime, { timelabel: HOUR_0.from });
      assert.equal(report.failed, 0);
      assert.equal(report.applied, undefined);
    });
    const r = await reef(['plan', dir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout) as Plan;
    assert.deepEqual(plan.stages.filter((s) => s.kind === 'create-view').map((s) => s.view).sort(), VIEWS);
    assert.deepEqual(plan.updateSet?.views, VIEWS);
    assert.equal(plan.summary.breaking, 0);
  });
});

describe('reef plan and reef apply on a flow that runs', () => {
  let dir: string;
  let firstUpdateSet: string | undefined;

  before(async () => {
    dir = copyExample('shop');
    await withRuntime(await loadFlow(dir), async (runtime) => {
      const report = await runFlow(runtime, HOUR_0);
      assert.equal(report.failed, 0, JSON.stringify(report.organized.filter((o) => o.status === 'failed')));
      firstUpdateSet = report.applied;
    });
  });

  test('the first run applies the fresh flow itself, and then the same flow plans nothing', async () => {
    assert.match(firstUpdateSet ?? '', /^us-/);
    await withRuntime(await loadFlow(dir), async (runtime) => {
      for (const view of VIEWS) assert.deepEqual((await runtime.services.metadata.listViewVersions(ORGANIZE_SLICE, view)).map((v) => v.version), [1], view);
      const plan = await planFlow(runtime, runtime.flow);
      assert.deepEqual(plan.stages, []);
      assert.equal(plan.updateSet, null);
    });
  });

  test('a removed column another view reads is breaking: plan names it, run and apply refuse, nothing is stored', async () => {
    edit(dir, 'analytics.customer_ltv', 'c.id AS customer_id, c.name, c.country', 'c.id AS customer_id, c.country');
    edit(dir, 'analytics.customer_ltv', 'GROUP BY c.id, c.name, c.country', 'GROUP BY c.id, c.country');
    edit(dir, 'analytics.daily_revenue', 'count(*) AS orders', 'count(o.id) AS orders');
    await withRuntime(await loadFlow(dir), async (runtime) => {
      const before = await warehouseShape(runtime);
      const plan = await planFlow(runtime, runtime.flow);
      assert.deepEqual(await warehouseShape(runtime), before, 'describing the views left the warehouse as it was');

      assert.deepEqual(
        plan.breaking.map((b) => [b.view, b.upstream, b.column, b.change, b.resolved]),
        [['analytics.top_customers', 'analytics.customer_ltv', 'name', 'removed', false]],
      );
      const changed = plan.stages.filter((s) => s.kind === 'change-view');
      assert.deepEqual(changed.map((s) => s.view).sort(), ['analytics.customer_ltv', 'analytics.daily_revenue']);
      const daily = changed.find((s) => s.view === 'analytics.daily_revenue');
      assert.ok(daily?.kind === 'change-view' && daily.sqlChanged && daily.affected.length === 0, 'daily_revenue changes, breaks nothing');

      await assert.rejects(runFlow(runtime, HOUR_1), (e: Error) => {
        assert.match(e.message, /view analytics\.customer_ltv \(views\/analytics\/customer_ltv\.sql\): found it different from applied version 1/);
        assert.match(e.message, /run `reef plan .*` to see the change, then `reef apply .*`/);
        return true;
      });
      const refused = await applyPlan(runtime, plan, { allowBreaking: false });
      assert.equal(refused.applied, false);
      for (const view of VIEWS) assert.equal((await runtime.services.metadata.listViewVersions(ORGANIZE_SLICE, view)).length, 1, `${view}: nothing stored`);
    });

    const r = await reef(['apply', dir]);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /view analytics\.top_customers reads column name of analytics\.customer_ltv, which this plan removes/);
    assert.match(lines[0], /--allow-breaking/);
  });

  test('with the reader changed too, apply stores the update set, which waits for midnight, and old periods keep the old version', async () => {
    edit(dir, 'analytics.top_customers', 'SELECT l.customer_id, l.name, l.revenue', 'SELECT l.customer_id, l.revenue');
    const r = await reef(['apply', dir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { applied: boolean; updateSet: { id: string; effectiveFrom: string; views: string[] } };
    assert.equal(result.applied, true);
    // Hourly customer_ltv and top_customers with daily daily_revenue: the next midnight after the last refreshed hour.
    assert.equal(result.updateSet.effectiveFrom, '20260311000000');
    assert.deepEqual(result.updateSet.views, ['analytics.customer_ltv', 'analytics.daily_revenue', 'analytics.top_customers']);

    await withRuntime(await loadFlow(dir), async (runtime) => {
      const { metadata } = runtime.services;
      const ltv = await metadata.listViewVersions(ORGANIZE_SLICE, 'analytics.customer_ltv');
      assert.deepEqual(ltv.map((v) => [v.version, v.effectiveFrom, v.updateSet]), [[1, ltv[0].effectiveFrom, firstUpdateSet], [2, '20260311000000', result.updateSet.id]]);
      assert.equal((await metadata.listViewVersions(ORGANIZE_SLICE, 'analytics.product_sales')).length, 1, 'an unaffected view keeps its version');
      assert.equal((await planFlow(runtime, runtime.flow)).stages.length, 0, 'nothing left to apply');

      // Before midnight the hourly views still refresh with version 1: the day does not mix two versions.
      const report = await runFlow(runtime, HOUR_1);
      assert.equal(report.failed, 0, JSON.stringify(report.organized.filter((o) => o.status === 'failed')));
      const refreshed = report.organized.filter((o) => o.kind === 'refresh' && o.timelabel === HOUR_1.from);
      assert.deepEqual(refreshed.map((o) => [o.dataset, o.version]).sort(), [
        ['analytics.customer_ltv', 1],
        ['analytics.product_sales', 1],
        ['analytics.top_customers', 1],
      ]);
      const columns = await runtime.withDatabase('warehouse', async (c) =>
        (await c.query(`SELECT column_name FROM information_schema.columns WHERE table_schema = 'analytics' AND table_name = 'customer_ltv' ORDER BY ordinal_position`)).rows.map((x) => x.column_name),
      );
      assert.ok(columns.includes('name'), 'version 1 still fills name');
    });
  });
});
