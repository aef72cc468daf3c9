/**
 * The customer's vendor controls and the vendor's fleet tool through the real
 * `reef` CLI: bad input ends as one line and exit 2, a denied vendor action
 * as exit 1 and an audit entry, and a simulated fleet halts at a failing
 * canary with the other installations untouched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { plantFault, readSimulated } from '../shared/fleet/simulated.ts';
import { copyExample, reef } from './support/flow.ts';

test('vendor-access: --hours is checked; a grant opens the window; reef audit lists allowed and denied actions', async () => {
  const dir = copyExample('shop');
  for (const hours of ['0', '169', '2.5']) {
    const bad = await reef(['vendor-access', 'grant-upgrade', dir, '--hours', hours]);
    assert.equal(bad.code, 2, hours);
    assert.equal(bad.stderr, `reef: config error (vendor.invalid-hours): --hours is "${hours}"; expected a whole number of hours from 1 to 168 (a week)\n`);
  }
  const grant = await reef(['vendor-access', 'grant-upgrade', dir, '--hours', '4', '--json']);
  assert.equal(grant.code, 0, grant.stderr);
  const g = JSON.parse(grant.stdout) as { window: { state: string; open: boolean; until: string }; aws: { stack: string; parameter: string; value: string } };
  assert.deepEqual([g.window.state, g.window.open], ['open', true]);
  assert.deepEqual([g.aws.stack, g.aws.parameter, g.aws.value], ['shop-core', 'VendorUpgradeUntil', g.window.until]);

  const deploy = await reef(['vendor-access', 'as', 'upgrade', dir, 'deploy']);
  assert.equal(deploy.code, 0, deploy.stderr);
  const lake = await reef(['vendor-access', 'as', 'monitoring', dir, 'read-lake']);
  assert.equal(lake.code, 1);
  assert.match(lake.stderr, /^reef: denied: no vendor role may read objects in the lake/);

  const audit = await reef(['audit', dir, '--json']);
  assert.equal(audit.code, 0, audit.stderr);
  const a = JSON.parse(audit.stdout) as { actions: { role: string; action: string; allowed: boolean }[] };
  assert.deepEqual(a.actions.map((x) => [x.role, x.action, x.allowed]), [['upgrade', 'deploy', true], ['monitoring', 'read-lake', false]]);
});

test('fleet: 50 simulated installations; a failing canary halts the rollout with exit 1 and names it; the other 49 keep the old version', async () => {
  const work = mkdtempSync(join(tmpdir(), 'reef-fleet-cli-'));
  const sims = join(work, 'sims');
  const registry = join(work, 'fleet.json');
  const made = await reef(['fleet', 'simulate', '--simulated', sims, '--count', '50', '--installed', '1.4.0', '--registry', registry]);
  assert.equal(made.code, 0, made.stderr);
  plantFault(sims, 'sim-001', '1.5.0', { kind: 'failed-batch', slice: 'warehouse', reason: 'view refresh broke' });

  const rollout = await reef(['fleet', 'rollout', '1.5.0', '--channel', 'stable', '--waves', '1,10,50,100', '--simulated', sims, '--registry', registry]);
  assert.equal(rollout.code, 1, rollout.stderr);
  assert.match(rollout.stdout, /^canary\s+1\s+HALTED$/m);
  assert.match(rollout.stdout, /halted; 49 installation\(s\) left on their old version/);
  assert.match(rollout.stdout, /^sim-001 \(canary\): batch analytics\.customer_ltv @ \d{14} failed at .*, after the upgrade$/m);
  for (let i = 2; i <= 50; i++) assert.equal(readSimulated(sims, `sim-${String(i).padStart(3, '0')}`).version, '1.4.0');

  const again = await reef(['fleet', 'rollout', '1.6.0', '--simulated', sims, '--registry', registry]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /^reef: config error \(fleet\.rollout-unfinished\)/);
  const back = await reef(['fleet', 'rollback', '--simulated', sims, '--registry', registry]);
  assert.equal(back.code, 0, back.stderr);
  assert.equal(readSimulated(sims, 'sim-001').version, '1.4.0');
});
