/**
 * Rollouts over 50 simulated installations, each a directory with its own
 * state: the canary's failing gate halts everything at the canary; passing
 * gates take the channel through the waves in order; a failure in a later
 * wave halts there; a halted rollout resumes or rolls back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TerminalError } from '../errors.ts';
import { addInstallation, readRegistry } from './registry.ts';
import { parseWaves, planWaves, readRolloutState, resumeRollout, rollbackRollout, startRollout, type Wave } from './rollout.ts';
import { createSimulatedFleet, plantFault, readSimulated, SimulatedFleet } from './simulated.ts';

const OLD = '1.4.0';
const NEW = '1.5.0';
const WAVES = [1, 10, 50, 100];

function fleet(count = 50): { root: string; registry: string; driver: SimulatedFleet; waves: { label: string; names: string[]; passed: boolean }[]; onWave: (w: Wave, i: number, passed: boolean) => void } {
  const dir = mkdtempSync(join(tmpdir(), 'reef-fleet-'));
  const root = join(dir, 'installations');
  const registry = join(dir, 'fleet.json');
  createSimulatedFleet({ root, registry, count, version: OLD, channel: 'stable' });
  const waves: { label: string; names: string[]; passed: boolean }[] = [];
  return { root, registry, driver: new SimulatedFleet(root), waves, onWave: (w, _i, passed) => waves.push({ label: w.label, names: w.installations, passed }) };
}

const names = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `sim-${String(from + i).padStart(3, '0')}`);

function versions(root: string, registry: string): { onDisk: Map<string, string>; registered: Map<string, string> } {
  const registered = new Map(readRegistry(registry).installations.map((i) => [i.name, i.version]));
  return { registered, onDisk: new Map([...registered.keys()].map((n) => [n, readSimulated(root, n).version])) };
}

test('waves: canary, then cumulative percentages; a wave that adds nobody is left out', () => {
  const plan = planWaves(names(1, 50), WAVES);
  assert.deepEqual(plan.map((w) => [w.label, w.installations.length]), [['canary', 1], ['10%', 4], ['50%', 20], ['100%', 25]]);
  assert.deepEqual(plan.flatMap((w) => w.installations), names(1, 50), 'each installation once, in registry order');
  assert.deepEqual(planWaves(['a'], WAVES).map((w) => w.label), ['canary']);
  assert.deepEqual(planWaves([], WAVES), []);
  for (const bad of ['10,1,100', '1,10,50', '0,100', '1,10,101', '1,,100', '1.5,100', 'abc']) {
    assert.throws(() => parseWaves(bad), (e: unknown) => e instanceof TerminalError && e.code === 'fleet.invalid-waves' && e.message.includes(JSON.stringify(bad)), bad);
  }
  assert.deepEqual(parseWaves(' 1, 10,50 ,100'), WAVES);
});

test('the canary fails its gate: the rollout halts at the canary and the other 49 stay untouched', async () => {
  const f = fleet();
  plantFault(f.root, 'sim-001', NEW, { kind: 'unhealthy', slice: 'warehouse', reason: 'refresh of analytics.customer_ltv keeps timing out' });
  const state = await startRollout({ registry: f.registry, driver: f.driver, version: NEW, channel: 'stable', percentages: WAVES, onWave: f.onWave });

  assert.equal(state.status, 'halted');
  assert.equal(state.currentWave, 0);
  assert.deepEqual(f.waves, [{ label: 'canary', names: ['sim-001'], passed: false }]);
  assert.deepEqual(state.failed.map((x) => [x.installation, x.wave]), [['sim-001', 'canary']]);
  assert.match(state.failed[0].reason, /slice warehouse unhealthy: refresh of analytics.customer_ltv keeps timing out/);
  const { onDisk, registered } = versions(f.root, f.registry);
  assert.equal(onDisk.get('sim-001'), NEW, 'the canary runs the new version (the gate judged it there)');
  for (const n of names(2, 50)) {
    assert.equal(onDisk.get(n), OLD, `${n} untouched`);
    assert.equal(registered.get(n), OLD);
    assert.equal(state.installations[n].status, 'pending');
  }
  assert.equal(readRolloutState(f.registry)?.status, 'halted', 'the halt is in the state file');
  await assert.rejects(startRollout({ registry: f.registry, driver: f.driver, version: '1.6.0', channel: 'stable', percentages: WAVES }), /is halted at wave canary; expected it resumed/);
});

test('every gate passes: the channel goes through canary, 10%, 50%, 100% in order and ends on the new version', async () => {
  const f = fleet();
  const state = await startRollout({ registry: f.registry, driver: f.driver, version: NEW, channel: 'stable', percentages: WAVES, onWave: f.onWave });

  assert.equal(state.status, 'completed');
  assert.deepEqual(f.waves.map((w) => [w.label, w.names.length, w.passed]), [['canary', 1, true], ['10%', 4, true], ['50%', 20, true], ['100%', 25, true]]);
  assert.deepEqual(f.waves.flatMap((w) => w.names), names(1, 50));
  const { onDisk, registered } = versions(f.root, f.registry);
  for (const n of names(1, 50)) {
    assert.equal(onDisk.get(n), NEW, n);
    assert.equal(registered.get(n), NEW, n);
    assert.equal(state.installations[n].status, 'healthy');
  }
  // sim-010, sim-020, … carry a failed batch from before the upgrade: it did not count against them.
  assert.equal(readSimulated(f.root, 'sim-010').batches.filter((b) => b.status === 'failed').length, 1);
});

test('a batch that fails in the 50% wave halts the rollout there; canary and 10% stay upgraded, the last 25 untouched; resume after a fix completes', async () => {
  const f = fleet();
  plantFault(f.root, 'sim-012', NEW, { kind: 'failed-batch', slice: 'shop', reason: 'new extractor' });
  const halted = await startRollout({ registry: f.registry, driver: f.driver, version: NEW, channel: 'stable', percentages: WAVES, onWave: f.onWave });

  assert.equal(halted.status, 'halted');
  assert.deepEqual(f.waves.map((w) => [w.label, w.passed]), [['canary', true], ['10%', true], ['50%', false]]);
  assert.deepEqual(halted.failed.map((x) => [x.installation, x.wave]), [['sim-012', '50%']]);
  assert.match(halted.failed[0].reason, /batch shop\.orders @ \d{14} failed at .*, after the upgrade/);
  const { onDisk } = versions(f.root, f.registry);
  for (const n of names(1, 25)) assert.equal(onDisk.get(n), NEW, `${n} upgraded in waves 1-3`);
  for (const n of names(26, 50)) assert.equal(onDisk.get(n), OLD, `${n} untouched`);

  // The fix: the failed period of sim-012 is run again and commits (a re-run overwrites the batch record); then resume.
  const sim = readSimulated(f.root, 'sim-012');
  const since = halted.installations['sim-012'].upgradeStartedAt!;
  writeFileSync(join(f.root, 'sim-012', 'installation.json'), JSON.stringify({ ...sim, batches: sim.batches.map((b) => (b.finishedAt >= since ? { ...b, status: 'committed' } : b)) }));
  f.waves.length = 0;
  const resumed = await resumeRollout({ registry: f.registry, driver: f.driver, onWave: f.onWave });
  assert.equal(resumed.status, 'completed');
  assert.deepEqual(f.waves.map((w) => [w.label, w.passed]), [['50%', true], ['100%', true]], 'resumed at the wave it halted at');
  assert.ok([...versions(f.root, f.registry).onDisk.values()].every((v) => v === NEW));
});

test('an upgrade that fails halts like a failed gate; rollback takes every touched installation back and leaves the rest alone', async () => {
  const f = fleet();
  plantFault(f.root, 'sim-004', NEW, { kind: 'upgrade-fails', slice: 'shop', reason: 'stack UPDATE_ROLLBACK_COMPLETE' });
  const halted = await startRollout({ registry: f.registry, driver: f.driver, version: NEW, channel: 'stable', percentages: WAVES });
  assert.equal(halted.status, 'halted');
  assert.deepEqual(halted.failed.map((x) => [x.installation, x.wave]), [['sim-004', '10%']]);
  assert.match(halted.failed[0].reason, /upgrade failed: target error \(fleet.upgrade-failed\): deploy of 1.5.0 to sim-004 failed: stack UPDATE_ROLLBACK_COMPLETE/);
  assert.equal(readRegistry(f.registry).installations.find((i) => i.name === 'sim-004')!.version, OLD, 'the registry records what it runs');

  const { state, errors } = await rollbackRollout({ registry: f.registry, driver: f.driver });
  assert.deepEqual(errors, []);
  assert.equal(state.status, 'rolled-back');
  const { onDisk, registered } = versions(f.root, f.registry);
  for (const n of names(1, 50)) {
    assert.equal(onDisk.get(n), OLD, n);
    assert.equal(registered.get(n), OLD, n);
  }
  assert.deepEqual(names(1, 5).map((n) => state.installations[n].status), ['rolled-back', 'rolled-back', 'rolled-back', 'rolled-back', 'rolled-back']);
  assert.equal(state.installations['sim-006'].status, 'pending');
});

test('only the channel asked for is rolled out; the registry refuses bad entries with the field, what was found and what was expected', async () => {
  const f = fleet(3);
  addInstallation(f.registry, { name: 'early-one', account: '123456789012', region: 'eu-west-1', externalId: 'reef-early', version: OLD, channel: 'early' });
  const state = await startRollout({ registry: f.registry, driver: f.driver, version: NEW, channel: 'stable', percentages: WAVES });
  assert.equal(state.status, 'completed');
  assert.equal(readRegistry(f.registry).installations.find((i) => i.name === 'early-one')!.version, OLD);
  await assert.rejects(startRollout({ registry: f.registry, driver: f.driver, version: '1.6.0', channel: 'beta', percentages: WAVES }), /no installation .* follows channel "beta"; expected one of stable, early/);

  assert.throws(() => addInstallation(f.registry, { name: 'xyz', account: '12', region: 'eu-west-1', externalId: 'reef-x', version: OLD, channel: 'stable' }), /account: found "12", expected a value matching/);
  assert.throws(() => addInstallation(f.registry, { name: 'early-one', account: '123456789012', region: 'eu-west-1', externalId: 'reef-early', version: OLD, channel: 'early' }), /"early-one" is registered already/);
  writeFileSync(f.registry, JSON.stringify({ installations: [{ name: 'abc' }] }));
  assert.throws(() => readRegistry(f.registry), /installations\[0\]\.account: found nothing, expected/);
});

test('a gate whose health cannot be read fails: the rollout halts there, resumable, and names why', async () => {
  const f = fleet(10);
  let unreadable = true;
  const driver = {
    upgrade: (i: Parameters<SimulatedFleet['upgrade']>[0], v: string) => f.driver.upgrade(i, v),
    snapshot: async (i: Parameters<SimulatedFleet['snapshot']>[0]) => {
      if (unreadable) throw new TerminalError('target', 'metadata table was not found', { code: 'metadata.table-missing' });
      return f.driver.snapshot(i);
    },
  };
  const halted = await startRollout({ registry: f.registry, driver, version: NEW, channel: 'stable', percentages: WAVES });
  assert.equal(halted.status, 'halted');
  assert.deepEqual(halted.failed, [{ installation: 'sim-001', wave: 'canary', reason: 'health could not be read: target error (metadata.table-missing): metadata table was not found' }]);
  assert.equal(readSimulated(f.root, 'sim-002').version, OLD);
  unreadable = false;
  const resumed = await resumeRollout({ registry: f.registry, driver });
  assert.equal(resumed.status, 'completed');
});

test('a rollout with nothing to do leaves the last rollout in place, so it can still be rolled back', async () => {
  const f = fleet(5);
  const done = await startRollout({ registry: f.registry, driver: f.driver, version: NEW, channel: 'stable', percentages: WAVES });
  assert.equal(done.status, 'completed');
  const noop = await startRollout({ registry: f.registry, driver: f.driver, version: NEW, channel: 'stable', percentages: WAVES });
  assert.deepEqual([noop.status, noop.waves.length], ['completed', 0]);
  assert.equal(readRolloutState(f.registry)?.waves.length, done.waves.length, 'the state file still holds the real rollout');
  const { state, errors } = await rollbackRollout({ registry: f.registry, driver: f.driver });
  assert.deepEqual([state.status, errors], ['rolled-back', []]);
  assert.deepEqual([...versions(f.root, f.registry).onDisk.values()], Array(5).fill(OLD));
});
