/**
 * A publication whose target is wrong, through the harness pass as `reef run`
 * drives it: wrong credentials, an unreachable target and a target table with
 * an incompatible column type each give a clear error, mark that publish
 * failed, write nothing, and are published by a later pass once fixed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFlow } from '../shared/flow/load.ts';
import { publishPass, runFlow } from '../shared/local/run.ts';
import { LocalRuntime } from '../shared/local/runtime.ts';
import { copyExample } from './support/flow.ts';

const DAY = '20260314';
const SECRET = 'shop-app';

describe('publications to a target that is wrong', () => {
  let runtime: LocalRuntime;
  let good: Record<string, unknown>;

  before(async () => {
    runtime = await LocalRuntime.start(await loadFlow(copyExample('shop')), { full: true });
    good = (await runtime.services.secrets.get(SECRET)).reveal();
    // Collect and refresh an hour with the target's password wrong: the refresh commits, the publish cannot.
    runtime.secrets.put(SECRET, { ...good, password: 'not-the-password' });
    await runFlow(runtime, { from: `${DAY}000000`, to: `${DAY}004500` });
  });
  after(async () => runtime?.stop());

  const record = () => runtime.services.metadata.getBatch('customer-scores', 'analytics.customer_ltv', `${DAY}000000`);
  const tableExists = () => runtime.withDatabase('app', async (c) => (await c.query(`SELECT to_regclass('public.customer_scores') AS t`)).rows[0].t !== null);

  test('wrong credentials: a terminal error that never shows the password; the publish is failed and nothing is written', async () => {
    const failed = await record();
    assert.equal(failed?.status, 'failed');
    assert.equal(failed.error?.code, 'target.credentials');
    assert.doesNotMatch(failed.error!.message, /not-the-password/);
    assert.equal(await tableExists(), false);
  });

  test('unreachable target: a transient error; still nothing written', async () => {
    runtime.secrets.put(SECRET, { ...good, port: 1 });
    const [outcome] = await publishPass(runtime);
    assert.deepEqual([outcome.timelabel, outcome.status, outcome.error?.code], [`${DAY}000000`, 'failed', 'target.unreachable']);
    assert.equal((await record())?.error?.name, 'Reef.Transient');
    assert.equal(await tableExists(), false);
  });

  test('a target column of an incompatible type: named with what was found and expected; the table is left as it was', async () => {
    runtime.secrets.put(SECRET, good);
    await runtime.withDatabase('app', (c) =>
      c.query('CREATE TABLE public.customer_scores (customer_id bigint PRIMARY KEY, name text, order_count bigint, lifetime_revenue integer); INSERT INTO public.customer_scores VALUES (1, $$kept$$, 1, 1)'),
    );
    const [outcome] = await publishPass(runtime);
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.error?.code, 'target.incompatible-column');
    assert.match(outcome.error!.message, /customer_scores.*lifetime_revenue.*integer.*numeric/s);
    const rows = await runtime.withDatabase('app', async (c) => (await c.query('SELECT * FROM public.customer_scores')).rows);
    assert.deepEqual(rows.map((r) => r.name), ['kept']);
  });

  test('once fixed, the next pass publishes the failed timelabel', async () => {
    await runtime.withDatabase('app', (c) => c.query('DROP TABLE public.customer_scores'));
    const [outcome] = await publishPass(runtime);
    assert.deepEqual([outcome.timelabel, outcome.status], [`${DAY}000000`, 'published']);
    assert.equal((await record())?.status, 'committed');
    assert.ok(outcome.rows > 1000);
  });
});
