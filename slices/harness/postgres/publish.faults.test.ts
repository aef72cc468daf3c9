/**
 * All or nothing at every step: a publish (the first one, which creates the
 * target; one over an earlier timelabel, with rows updated, deleted and
 * added; one already published) fails at each of its steps in turn, pages of
 * the warehouse read included. Each failed attempt must leave the application
 * database exactly as it was and the warehouse connection idle, and the retry
 * must leave it exactly as one clean run leaves a twin database. The steps are
 * counted by recording the fault hook on the twin's run, so steps added later
 * are covered without touching this test.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { faultsFromEnv } from '../../../shared/local/faults.ts';
import { isReefError } from '../../../shared/errors.ts';
import type { Faults } from '../../../shared/runtime/services.ts';
import type { PublishResult } from '../../../shared/harness/publication.ts';
import type { HarnessPostgresConfig, PublishMode } from './config.ts';
import { publish } from './publish.ts';
import { idle, publishInput, snapshot, startWorld, type World } from './publish-test-support.ts';

let world: World;
/** Small pages, so the dataset's ten rows take three FETCHes and a fault can land between pages. */
const FETCH_ROWS = 4;
const T1 = '20260305080000';
const T2 = '20260305090000';

before(async () => {
  world = await startWorld();
  await world.warehouse.query('CREATE SCHEMA analytics');
});

after(async () => {
  await world?.stop();
});

let datasets = 0;
async function freshDataset(): Promise<string> {
  const name = `analytics.orders_${++datasets}`;
  await world.warehouse.query(`CREATE TABLE ${name} (id integer, total numeric(12,2), note text, placed timestamptz)`);
  await world.warehouse.query(
    `INSERT INTO ${name} SELECT i, i * 1.25, 'order ' || i || E'\\t🐟', timestamptz '2026-03-05 08:00:00+00' + i * interval '1 minute' FROM generate_series(1, 10) AS i`,
  );
  return name;
}

function run(config: HarnessPostgresConfig, timelabel: string, faults: Faults): Promise<PublishResult> {
  const input = publishInput(world, config, { timelabel, keys: ['id'] });
  return publish({ ...input, services: { ...world.services, faults } }, { fetchRows: FETCH_ROWS });
}

interface Scenario {
  /** What both databases hold before the publish under test (earlier timelabels published). */
  earlier: string[];
  /** Changes to the dataset after the earlier timelabels were published. */
  change?: (dataset: string) => Promise<void>;
  timelabel: string;
  status: PublishResult['status'];
  /** A floor for the steps counted, so a hook that stopped being hit cannot pass for a short publish. */
  minSteps: number;
}

async function failAtEveryStep(mode: PublishMode, scenario: Scenario): Promise<void> {
  const dataset = await freshDataset();
  const configFor = (secret: string): HarnessPostgresConfig => ({
    type: 'harness/postgres',
    dataset,
    connection: { secret },
    target: { schema: 'app', table: 'orders' },
    mode,
  });
  const main = await world.client(await world.appDatabase(`main-${datasets}`));
  const twin = await world.client(await world.appDatabase(`twin-${datasets}`));
  for (const secret of [`main-${datasets}`, `twin-${datasets}`]) {
    for (const t of scenario.earlier) await run(configFor(secret), t, faultsFromEnv(''));
  }
  await scenario.change?.(dataset);

  let steps = 0;
  const counting: Faults = { hit: (point, n) => void (point === 'publish.step' && n !== undefined && (steps = Math.max(steps, n))) };
  const clean = await run(configFor(`twin-${datasets}`), scenario.timelabel, counting);
  assert.equal(clean.status, scenario.status);
  const expected = await snapshot(twin);
  assert.ok(steps >= scenario.minSteps, `expected at least ${scenario.minSteps} steps, counted ${steps}`);

  const before = await snapshot(main);
  for (let n = 1; n <= steps; n++) {
    await assert.rejects(run(configFor(`main-${datasets}`), scenario.timelabel, faultsFromEnv(`publish.step:${n}=throw`)), (e: unknown) => {
      assert.ok(isReefError(e) && e.code === 'fault.injected', `step ${n}: expected the injected fault, got ${String(e)}`);
      return true;
    });
    assert.deepEqual(await snapshot(main), before, `a publish that failed at step ${n} of ${steps} left the application database changed`);
    assert.deepEqual(await idle(world.warehouse), { readOnly: 'off', cursors: 0 }, `a publish that failed at step ${n} left the warehouse connection busy`);
  }
  const retried = await run(configFor(`main-${datasets}`), scenario.timelabel, faultsFromEnv(''));
  assert.deepEqual(retried, clean);
  assert.deepEqual(await snapshot(main), expected, 'the retry leaves what one clean run leaves');
}

async function changeRows(dataset: string): Promise<void> {
  await world.warehouse.query(`UPDATE ${dataset} SET total = NULL, note = 'changed' WHERE id = 2; DELETE FROM ${dataset} WHERE id IN (3, 9); INSERT INTO ${dataset} VALUES (11, 99.99, 'new', NULL)`);
}

for (const mode of ['merge', 'replace'] as const) {
  test(`${mode}: the first publish, which creates the target, fails at each step without a trace`, async () => {
    await failAtEveryStep(mode, { earlier: [], timelabel: T1, status: 'published', minSteps: 15 });
  });

  test(`${mode}: a publish over an earlier timelabel, with rows updated, deleted and added, fails at each step without a trace`, async () => {
    await failAtEveryStep(mode, { earlier: [T1], change: changeRows, timelabel: T2, status: 'published', minSteps: 15 });
  });
}

test('a publish of a timelabel already published fails at each step without a trace, and then answers already-published', async () => {
  await failAtEveryStep('merge', { earlier: [T1], change: changeRows, timelabel: T1, status: 'already-published', minSteps: 5 });
});
