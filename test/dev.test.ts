/**
 * `reef dev` as a user runs it: the real CLI on a copy of the shop demo with
 * a fast clock, `reef status` from a second process while it runs, Ctrl-C
 * (SIGINT) for a clean stop, and a restart that resumes after the last
 * period. The application table ends equal to the view it publishes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadFlow } from '../shared/flow/load.ts';
import { LocalRuntime } from '../shared/local/runtime.ts';
import type { InstallationStatus } from '../shared/local/status.ts';
import { copyExample, reef, REPO } from './support/flow.ts';

/** Fast enough for a test, slow enough that each 15-minute period (3 s) leaves time for its steps. */
const SPEED = '300';
/** Wall-clock bound on waiting for the first publication; a failure here says what status showed. */
const PUBLISH_WITHIN_MS = 240_000;

function startDev(dir: string) {
  const child = spawn(process.execPath, ['--openssl-legacy-provider', join(REPO, 'cli/reef.ts'), 'dev', dir, '--speed', SPEED], {
    cwd: REPO,
    env: { ...process.env, CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function status(dir: string): Promise<InstallationStatus> {
  const r = await reef(['status', dir, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as InstallationStatus;
}

test('reef dev collects on its clock, publishes, answers reef status from another terminal, stops on Ctrl-C and resumes', async () => {
  const dir = copyExample('shop');
  const dev = startDev(dir);
  let seen: InstallationStatus | undefined;
  try {
    const deadline = Date.now() + PUBLISH_WITHIN_MS;
    while (Date.now() < deadline) {
      await sleep(2000);
      if (!dev.output().includes('Stop with Ctrl-C')) continue;
      seen = await status(dir);
      if (seen.datasets.some((d) => d.kind === 'published' && d.lastTimelabel !== null)) break;
    }
    const published = seen?.datasets.find((d) => d.kind === 'published');
    assert.ok(published?.lastTimelabel, `customer_scores published within ${PUBLISH_WITHIN_MS / 1000} s; status said ${JSON.stringify(seen?.datasets)}\n${dev.output()}`);
    assert.match(dev.output(), /PGPASSWORD=\S+ psql -h 127\.0\.0\.1 -p \d+ -U \S+ app/, 'the first screen says how to look at the application database');
    const view = seen!.datasets.find((d) => d.dataset === 'analytics.customer_ltv' && d.kind === 'view')!;
    assert.equal(view.lastCheck, 'passed');
    assert.ok(view.lagSeconds !== null && view.lagSeconds < 2 * 3600, `lag on the dev clock, not the wall clock: ${view.lagSeconds}`);
  } finally {
    dev.child.kill('SIGINT');
  }
  assert.equal(await dev.exited, 0, dev.output());
  assert.match(dev.output(), /stopped; `reef dev` again resumes from here/);

  const flow = await loadFlow(dir);
  const runtime = await LocalRuntime.start(flow, { full: true });
  let lastCollected: string;
  try {
    const [app, view] = await Promise.all([
      runtime.withDatabase('app', async (c) => (await c.query('SELECT customer_id, order_count, lifetime_revenue FROM customer_scores')).rows.map((r) => JSON.stringify(r)).sort()),
      runtime.withDatabase('warehouse', async (c) =>
        (await c.query('SELECT customer_id, orders AS order_count, revenue AS lifetime_revenue FROM analytics.customer_ltv')).rows.map((r) => JSON.stringify(r)).sort(),
      ),
    ]);
    assert.ok(app.length > 0);
    // Ctrl-C lets the step in progress finish, and a step publishes what it refreshed: both end on the same period.
    const states = await runtime.services.metadata.listLoadunitStates('shop');
    lastCollected = states.map((s) => s.lastCommittedTimelabel).sort().at(-1)!;
    const refreshed = (await runtime.services.metadata.listBatches('warehouse', 'analytics.customer_ltv')).filter((b) => b.status === 'committed').map((b) => b.timelabel).sort().at(-1);
    const publishedLast = (await runtime.services.metadata.listBatches('customer-scores')).filter((b) => b.status === 'committed').map((b) => b.timelabel).sort().at(-1);
    assert.equal(publishedLast, refreshed);
    assert.deepEqual(app, view);
    assert.equal((await runtime.services.metadata.listBatches('shop')).filter((b) => b.status === 'running').length, 0, 'no batch left running');
  } finally {
    await runtime.stop();
  }

  const again = startDev(dir);
  try {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !/committed shop\.\w+ @ \d{14}/.test(again.output())) await sleep(500);
  } finally {
    again.child.kill('SIGINT');
  }
  assert.equal(await again.exited, 0, again.output());
  const first = /committed shop\.\w+ @ (\d{14})/.exec(again.output())?.[1];
  assert.ok(first !== undefined && first > lastCollected, `the restart resumed after ${lastCollected}, at ${first}`);
});
