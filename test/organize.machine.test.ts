/**
 * The organize state machine as AWS runs it, on the embedded default: the
 * ASL from buildOrganizeStateMachine executed by aws-local-stepfunctions,
 * with the organize slice's real handlers (bound through its definition, from
 * the environment a Lambda function would have) on a LocalRuntime's services.
 * Nothing comes from flow files: the pass reads the collect slice's stored
 * config and the applied view versions from the metadata, as in AWS.
 *
 * The shop demo is collected first with a flow that names no warehouse, so
 * nothing is loaded until the machine runs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFlow } from '../shared/flow/load.ts';
import type { Flow } from '../shared/flow/types.ts';
import { applyFreshFlow } from '../shared/local/apply.ts';
import { runFlow } from '../shared/local/run.ts';
import { LocalRuntime } from '../shared/local/runtime.ts';
import { freePort } from '../shared/local/standins.ts';
import { runLocalStateMachine } from '../shared/local/step-functions.ts';
import { buildOrganizeStateMachine } from '../shared/orchestration/organize-machine.ts';
import { ORGANIZE_TASKS, type OrganizeSummary } from '../shared/orchestration/organize-contracts.ts';
import { SLICE_ENV } from '../shared/runtime/env.ts';
import type { Handler } from '../shared/runtime/services.ts';
import { ORGANIZE_SLICE } from '../shared/slice.ts';
import { organizeRedshift } from '../slices/organize/redshift/definition.ts';
import { copyExample } from './support/flow.ts';

const HOUR = '20260310080000';
const QUARTERS = ['20260310080000', '20260310081500', '20260310083000', '20260310084500'];
const TABLES = ['customers', 'products', 'orders', 'order_items'];
const HOURLY_VIEWS = ['analytics.customer_ltv', 'analytics.product_sales', 'analytics.top_customers'];

/** Placeholder ARNs: locally each Task is bound to its handler by state name. */
const ARNS = {
  pass: 'arn:aws:lambda:eu-west-1:000000000000:function:shop-organize-pass',
  fail: 'arn:aws:lambda:eu-west-1:000000000000:function:shop-organize-fail',
};

/** The organize handlers as the Lambda functions get them: bound from the environment the organize stack sets. */
async function organizeHandlers(runtime: LocalRuntime, env: Record<string, string>): Promise<Record<string, Handler>> {
  const saved = { ...process.env };
  try {
    Object.assign(process.env, env);
    return (await organizeRedshift.runtime()).handlers(runtime.services);
  } finally {
    process.env = saved;
  }
}

/** The real handlers, each call's result or error kept, so the test sees every pass the machine ran. */
function recording(handlers: Record<string, Handler>, calls: Array<{ state: string; result?: unknown; error?: string }>): Record<string, Handler> {
  return Object.fromEntries(
    Object.entries(handlers).map(([state, handler]) => [
      state,
      async (input: unknown) => {
        try {
          const result = await handler(input);
          calls.push({ state, result });
          return result;
        } catch (e) {
          calls.push({ state, error: (e as Error).message });
          throw e;
        }
      },
    ]),
  );
}

function collectOnly(flow: Flow): Flow {
  const { warehouse: _warehouse, ...installation } = flow.installation;
  return { ...flow, installation, views: [] };
}

const sorted = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).sort();

describe('organize state machine: one hour of the shop demo', () => {
  let runtime: LocalRuntime;
  let flow: Flow;
  const calls: Array<{ state: string; result?: unknown; error?: string }> = [];
  let output: unknown;

  before(async () => {
    flow = await loadFlow(copyExample('shop'));
    runtime = await LocalRuntime.start(collectOnly(flow), { full: true });
    const collected = await runFlow(runtime, { from: QUARTERS[0], to: QUARTERS[3] });
    assert.equal(collected.failed, 0);
    assert.equal(collected.organized.length, 0, 'a flow without a warehouse loads nothing');
    // What `reef apply` would have stored: the views' versions, from before the first timelabel.
    assert.ok(await applyFreshFlow(runtime, flow));
    const handlers = await organizeHandlers(runtime, { [SLICE_ENV.secretName]: 'shop-warehouse', [SLICE_ENV.collectSlices]: JSON.stringify(['shop']) });
    const machine = buildOrganizeStateMachine({ functionArns: ARNS, installation: 'shop' });
    output = await runLocalStateMachine(machine, { trigger: 'event', slice: 'shop', dataset: 'shop.orders', timelabel: QUARTERS[3] }, { handlers: recording(handlers, calls) });
  });
  after(async () => runtime?.stop());

  test('the first pass loads every batch and refreshes the complete hour; the pass it asks for finds nothing left and the execution succeeds', () => {
    const passes = calls.filter((c) => c.state === ORGANIZE_TASKS.pass).map((c) => c.result as OrganizeSummary);
    assert.equal(passes.length, 2, JSON.stringify(calls));
    const [first, second] = passes;
    assert.deepEqual([first.loaded, first.refreshed, first.failed, first.progressed], [TABLES.length * QUARTERS.length, HOURLY_VIEWS.length, 0, true]);
    assert.deepEqual([second.loaded, second.refreshed, second.failed, second.progressed], [0, 0, 0, false]);
    assert.equal(first.runId, second.runId, 'both passes hold records under the execution name');
    assert.deepEqual(output, second, 'the execution ends with the last pass\'s summary');
    assert.ok(!calls.some((c) => c.state === ORGANIZE_TASKS.fail));
  });

  test('each load and refresh is a committed record under the warehouse slice, with a data event', async () => {
    const records = await runtime.services.metadata.listBatches(ORGANIZE_SLICE);
    const committed = (name: string) => records.filter((r) => r.loadunit === name && r.status === 'committed').map((r) => r.timelabel).sort();
    for (const table of TABLES) assert.deepEqual(committed(`shop.${table}`), QUARTERS, table);
    for (const view of HOURLY_VIEWS) assert.deepEqual(committed(view), [HOUR], view);
    assert.deepEqual(committed('analytics.daily_revenue'), [], 'the day is not complete');
    assert.ok(records.every((r) => r.status === 'committed'));
    const events = await runtime.services.metadata.listEvents(ORGANIZE_SLICE);
    assert.equal(events.filter((e) => e.type === 'batch.loaded').length, TABLES.length * QUARTERS.length);
    assert.deepEqual(events.filter((e) => e.type === 'view.refreshed').map((e) => e.dataset).sort(), HOURLY_VIEWS);
  });

  test('the warehouse holds every source table row for row, and the hourly views', async () => {
    for (const table of TABLES) {
      const source = await runtime.withDatabase('shop', (c) => c.query(`SELECT * FROM public.${table}`));
      const loaded = await runtime.withDatabase('warehouse', (c) => c.query(`SELECT * FROM shop.${table}`));
      assert.ok(source.rows.length > 0, table);
      assert.deepEqual(sorted(loaded.rows), sorted(source.rows), table);
    }
    const customers = await runtime.withDatabase('shop', (c) => c.query<{ n: string }>('SELECT count(*) AS n FROM public.customers'));
    const ltv = await runtime.withDatabase('warehouse', (c) => c.query<{ n: string }>('SELECT count(*) AS n FROM analytics.customer_ltv'));
    assert.equal(ltv.rows[0].n, customers.rows[0].n, 'customer_ltv has one row per customer');
  });

  test('a second execution changes nothing: every batch and period is done', async () => {
    const handlers = await organizeHandlers(runtime, { [SLICE_ENV.secretName]: 'shop-warehouse', [SLICE_ENV.collectSlices]: JSON.stringify(['shop']) });
    const again = (await runLocalStateMachine(buildOrganizeStateMachine({ functionArns: ARNS, installation: 'shop' }), { trigger: 'schedule' }, { handlers })) as OrganizeSummary;
    assert.deepEqual([again.loaded, again.refreshed, again.failed, again.progressed], [0, 0, 0, false]);
  });
});

describe('organize state machine: a pass that cannot run', () => {
  let runtime: LocalRuntime;

  before(async () => {
    const flow = await loadFlow(copyExample('shop'));
    runtime = await LocalRuntime.start(collectOnly(flow), { full: true });
    assert.equal((await runFlow(runtime, { timelabel: QUARTERS[0] })).failed, 0);
  });
  after(async () => runtime?.stop());

  test('an unreachable warehouse is retried as transient, then recorded, and the execution fails with the cause', async () => {
    // A port nothing listens on: every connection is refused.
    runtime.secrets.put('dead-warehouse', { host: '127.0.0.1', port: await freePort(), database: 'warehouse', user: 'reef', password: 'unused' });
    const calls: Array<{ state: string; result?: unknown; error?: string }> = [];
    const handlers = await organizeHandlers(runtime, { [SLICE_ENV.secretName]: 'dead-warehouse', [SLICE_ENV.collectSlices]: JSON.stringify(['shop']) });
    const machine = buildOrganizeStateMachine({ functionArns: ARNS, installation: 'shop' });
    await assert.rejects(
      runLocalStateMachine(machine, { trigger: 'manual' }, { handlers: recording(handlers, calls), retryIntervalMs: 1, executionName: 'run-unreachable' }),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'target.unreachable');
        assert.match(e.message, /cannot reach the warehouse/);
        return true;
      },
    );
    // The first attempt and the three retries of the Retry on Reef.Transient, then the Catch.
    assert.deepEqual(calls.map((c) => c.state), [...Array(4).fill(ORGANIZE_TASKS.pass), ORGANIZE_TASKS.fail]);
    const failed = (await runtime.services.metadata.listEvents(ORGANIZE_SLICE)).filter((e) => e.type === 'organize.failed');
    assert.equal(failed.length, 1);
    assert.deepEqual(failed[0].detail.runId, 'run-unreachable');
    assert.equal((failed[0].detail.error as { code: string }).code, 'target.unreachable');
    assert.deepEqual(await runtime.services.metadata.listBatches(ORGANIZE_SLICE), [], 'nothing was claimed');
  });

  test('a missing secret is terminal: no retry, recorded, the execution fails naming the secret', async () => {
    const calls: Array<{ state: string; result?: unknown; error?: string }> = [];
    const handlers = await organizeHandlers(runtime, { [SLICE_ENV.secretName]: 'no-such-secret', [SLICE_ENV.collectSlices]: JSON.stringify(['shop']) });
    await assert.rejects(
      runLocalStateMachine(buildOrganizeStateMachine({ functionArns: ARNS, installation: 'shop' }), { trigger: 'manual' }, { handlers: recording(handlers, calls), retryIntervalMs: 1 }),
      (e: Error & { code?: string; category?: string }) => {
        assert.equal(e.category, 'config');
        assert.match(e.message, /secret no-such-secret/);
        return true;
      },
    );
    assert.deepEqual(calls.map((c) => c.state), [ORGANIZE_TASKS.pass, ORGANIZE_TASKS.fail]);
  });
});
