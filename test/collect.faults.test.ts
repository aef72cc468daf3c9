/**
 * Faults on the real CLI: a `reef run` process killed after some parts are
 * uploaded, and a commit that fails. Rerunning the same timelabel must leave
 * exactly the source rows in the lake, no duplicates, the cursor right, and
 * no batch `running`.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadFlow } from '../shared/flow/load.ts';
import { LocalRuntime } from '../shared/local/runtime.ts';
import { copyExample, reef } from './support/flow.ts';
import { listKeys, queryBatch } from './support/lake.ts';

const T = '20260302120000';
const KEYS: Record<string, string> = {
  customers: 'id::VARCHAR',
  products: 'id::VARCHAR',
  orders: 'id::VARCHAR',
  order_items: `order_id::VARCHAR || '/' || line_no::VARCHAR`,
};

/** The shop demo with small row groups, so every table is written as several parts. */
function smallPartsShop(): string {
  const dir = copyExample('shop');
  const file = join(dir, 'sources/shop.yaml');
  writeFileSync(file, readFileSync(file, 'utf8') + 'extract:\n  rowGroupRows: 1000\n  rowGroupsPerPart: 1\n');
  return dir;
}

/** After a clean rerun: every table's batch equals the source, once each, with nothing else under its prefix. */
async function assertExactlyTheSource(dir: string): Promise<void> {
  const runtime = await LocalRuntime.start(await loadFlow(dir), { full: true });
  try {
    const { s3, bucket, metadata } = runtime.services;
    const batches = await metadata.listBatches('shop');
    assert.deepEqual(batches.filter((b) => b.status !== 'committed').map((b) => `${b.loadunit}:${b.status}`), [], 'no batch left running or failed');
    for (const [table, key] of Object.entries(KEYS)) {
      const batch = batches.find((b) => b.loadunit === table && b.timelabel === T)!;
      const source = await runtime.withDatabase('shop', async (c) => {
        const r = await c.query(`SELECT count(*)::int AS n FROM public.${table}`);
        const m = table === 'products' ? null : (await c.query(`SELECT max(updated_at)::text AS m FROM public.${table}`)).rows[0].m;
        return { n: r.rows[0].n as number, max: m as string | null };
      });
      const [got] = await queryBatch(s3, bucket, batch.manifestKey!, `SELECT count(*)::INTEGER AS n, count(DISTINCT ${key})::INTEGER AS distinct_keys FROM batch`);
      assert.equal(got.n, source.n, `${table}: the lake holds every source row`);
      assert.equal(got.distinct_keys, source.n, `${table}: no row twice`);
      const parts = (await listKeys(s3, bucket, `shop/${table}/timelabel=${T}/`)).filter((o) => o.key.endsWith('.parquet'));
      assert.equal(parts.length, batch.figures!.files, `${table}: no part left over from the dead attempt`);
      if (source.max !== null) {
        assert.equal(batch.cursor!.to, source.max, `${table}: the cursor is the source's newest updated_at`);
        assert.equal((await metadata.getLoadunitState('shop', table))!.cursor, source.max);
      }
    }
  } finally {
    await runtime.stop();
  }
}

describe('collect faults on the real CLI', () => {
  test('a run killed after parts were uploaded is finished exactly by the next run', async () => {
    const dir = smallPartsShop();
    const killed = await reef(['run', dir, '--timelabel', T, '--json'], { REEF_FAULT: 'extract.part:2=kill' });
    assert.equal(killed.signal, 'SIGKILL', `the fault killed the run (exit ${killed.code}: ${killed.stderr})`);
    const rerun = await reef(['run', dir, '--timelabel', T, '--json']);
    assert.equal(rerun.code, 0, rerun.stderr);
    const report = JSON.parse(rerun.stdout) as { batches: { status: string }[] };
    assert.ok(report.batches.every((b) => b.status === 'committed' || b.status === 'skipped'));
    assert.ok(report.batches.some((b) => b.status === 'committed'), 'the interrupted batches were redone');
    await assertExactlyTheSource(dir);
  });

  test('a failed commit marks the batches failed; the rerun commits them exactly', async () => {
    const dir = smallPartsShop();
    const failed = await reef(['run', dir, '--timelabel', T, '--json'], { REEF_FAULT: 'commit.before=throw' });
    assert.equal(failed.code, 1, 'a run with failed batches exits 1');
    const report = JSON.parse(failed.stdout) as { batches: { status: string; error?: { code: string; message: string } }[] };
    assert.equal(report.batches.length, 4);
    for (const b of report.batches) {
      assert.equal(b.status, 'failed');
      assert.equal(b.error?.code, 'fault.injected');
    }
    const rerun = await reef(['run', dir, '--timelabel', T, '--json']);
    assert.equal(rerun.code, 0, rerun.stderr);
    await assertExactlyTheSource(dir);
  });
});
