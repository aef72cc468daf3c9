/**
 * The `reef` command as a user runs it: help, describe, validate, and a run
 * followed by status, all through the real CLI with no terminal attached.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyExample, reef } from './support/flow.ts';

test('--help lists every command and each command has its own help', async () => {
  const top = await reef(['--help']);
  assert.equal(top.code, 0);
  for (const command of ['describe', 'validate', 'run', 'status', 'accept']) {
    assert.match(top.stdout, new RegExp(`^  ${command}\\b`, 'm'));
    const own = await reef([command, '--help']);
    assert.equal(own.code, 0, command);
    assert.match(own.stdout, new RegExp(`^Usage: reef ${command}`, 'm'));
  }
});

test('describe prints the collect/postgres schema with its example; validate accepts the demo', async () => {
  const d = await reef(['describe', 'collect/postgres']);
  assert.equal(d.code, 0);
  assert.match(d.stdout, /loadunits\[\]\.cursor\s+depends/);
  assert.match(d.stdout, /^Example/m);
  const v = await reef(['validate', copyExample('shop')]);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /valid\. installation shop; sources: shop \(collect\/postgres\)/);
});

test('run --json lists every batch of the demo; status --json shows each dataset with its last timelabel, rows and lag', async () => {
  const dir = copyExample('shop');
  const T = '20260310060000';
  const run = await reef(['run', dir, '--timelabel', T, '--json']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, '', 'no progress output without a terminal');
  const report = JSON.parse(run.stdout) as { bucket: string; batches: { dataset: string; timelabel: string; rows: number; files: number; bytes: number; status: string }[] };
  assert.deepEqual(report.batches.map((b) => b.dataset).sort(), ['shop.customers', 'shop.order_items', 'shop.orders', 'shop.products']);
  for (const b of report.batches) {
    assert.equal(b.status, 'committed');
    assert.equal(b.timelabel, T);
    assert.ok(b.rows > 0 && b.files > 0 && b.bytes > 0, `${b.dataset} has figures`);
  }
  const status = await reef(['status', dir, '--json']);
  assert.equal(status.code, 0, status.stderr);
  const s = JSON.parse(status.stdout) as { at: string; datasets: { dataset: string; kind: string; lastTimelabel: string; rows: number; lagSeconds: number; failed: number }[] };
  const collected = s.datasets.filter((d) => d.kind === 'collected');
  assert.equal(collected.length, 4);
  // The period 06:00-06:15 ended at 06:15; lag is measured from there to the status time.
  const expectedLag = Math.round((Date.parse(s.at) - Date.parse('2026-03-10T06:15:00Z')) / 1000);
  for (const l of collected) {
    assert.equal(l.lastTimelabel, T);
    assert.equal(l.rows, report.batches.find((b) => b.dataset === l.dataset)!.rows);
    assert.ok(Math.abs(l.lagSeconds - expectedLag) <= 1, `${l.dataset}: lag ${l.lagSeconds}s, expected about ${expectedLag}s`);
    assert.equal(l.failed, 0);
  }
  assert.deepEqual(s.datasets.filter((d) => d.kind === 'loaded').map((d) => [d.dataset, d.lastTimelabel]).sort(), collected.map((d) => [d.dataset, T]).sort(), 'each table is in the warehouse too');
});
