/**
 * A warehouse load killed in the middle of its transaction on the real CLI:
 * the process dies by SIGKILL with the load uncommitted and its metadata
 * record left `running`; the next run must load it, exactly once, so every
 * warehouse table equals its source table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFlow } from '../shared/flow/load.ts';
import { LocalRuntime } from '../shared/local/runtime.ts';
import { copyExample, reef } from './support/flow.ts';

const T = '20260302120000';
const TABLES = ['customers', 'products', 'orders', 'order_items'];
/** Past the marker check and the staging table's creation: the COPY into staging of the first load. */
const STEP = 12;

test('a run killed in the middle of a load is finished exactly by the next run', async () => {
  const dir = copyExample('shop');
  const killed = await reef(['run', dir, '--timelabel', T, '--json'], { REEF_FAULT: `load.step:${STEP}=kill` });
  assert.equal(killed.signal, 'SIGKILL', `the fault killed the run (exit ${killed.code}: ${killed.stderr})`);

  const rerun = await reef(['run', dir, '--timelabel', T, '--json']);
  assert.equal(rerun.code, 0, rerun.stderr);
  const report = JSON.parse(rerun.stdout) as { organized: { kind: string; dataset: string; status: string }[] };
  const loads = report.organized.filter((o) => o.kind === 'load');
  assert.deepEqual(loads.map((o) => `${o.dataset}:${o.status}`).sort(), TABLES.map((t) => `shop.${t}:loaded`).sort(), 'the rerun loads every table, the interrupted one included');

  const runtime = await LocalRuntime.start(await loadFlow(dir), { full: true });
  try {
    const organized = await runtime.services.metadata.listBatches('warehouse');
    assert.deepEqual(organized.filter((b) => b.status !== 'committed').map((b) => `${b.loadunit}:${b.status}`), [], 'no load or refresh left running or failed');
    for (const table of TABLES) {
      const all = (sql: string) => async (c: { query(s: string): Promise<{ rows: unknown[] }> }) => (await c.query(sql)).rows.map((r) => JSON.stringify(r)).sort();
      const source = await runtime.withDatabase('shop', all(`SELECT * FROM public.${table}`));
      const warehouse = await runtime.withDatabase('warehouse', all(`SELECT * FROM shop.${table}`));
      assert.ok(source.length > 0, `${table} has rows`);
      assert.deepEqual(warehouse, source, `shop.${table} in the warehouse equals the source, each row once`);
      const markers = await runtime.withDatabase('warehouse', all(`SELECT dataset, timelabel FROM reef.load_markers WHERE dataset = 'shop.${table}'`));
      assert.deepEqual(markers, [JSON.stringify({ dataset: `shop.${table}`, timelabel: T })]);
    }
  } finally {
    await runtime.stop();
  }
});
