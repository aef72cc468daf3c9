/**
 * Publications on the shop demo, end to end on the embedded default: the
 * application database's `customer_scores` equals `analytics.customer_ltv`
 * after each refreshed hour; a failed check on the view stops publication
 * for that timelabel and the application table keeps its last good state;
 * a webhook receiver that answers 500 twice gets each batch accepted exactly
 * once per timelabel.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadFlow } from '../shared/flow/load.ts';
import { applyPlan, planFlow } from '../shared/local/apply.ts';
import { runFlow } from '../shared/local/run.ts';
import { LocalRuntime } from '../shared/local/runtime.ts';
import type { SecretsFile } from '../shared/local/secrets-file.ts';
import { TestReceiver } from '../slices/harness/webhook/test-receiver.ts';
import { copyExample } from './support/flow.ts';
import { customerScores, viewAsPublished } from './support/publications.ts';

const DAY = '20260312';

describe('publications on the shop demo', () => {
  const dir = copyExample('shop');
  const receiver: { r?: TestReceiver } = {};
  let runtime: LocalRuntime;

  before(async () => {
    receiver.r = await TestReceiver.start();
    // Every batch is refused twice before it is taken: retries must not deliver anything twice.
    const tries = new Map<string, number>();
    receiver.r.answer = (req) => {
      const key = String(req.headers['idempotency-key']);
      tries.set(key, (tries.get(key) ?? 0) + 1);
      return { status: tries.get(key)! <= 2 ? 500 : 200 };
    };
    writeFileSync(
      join(dir, 'publications/ltv-hook.yaml'),
      `type: harness/webhook\ndataset: analytics.customer_ltv\nurl: ${receiver.r.url}/hooks/ltv\nsigning:\n  secret: ltv-hook\nbatch:\n  maxBytes: 32768\nretry:\n  baseDelayMs: 10\n  maxDelayMs: 50\n`,
    );
    runtime = await LocalRuntime.start(await loadFlow(dir), { full: true });
    (runtime.services.secrets as SecretsFile).put('ltv-hook', { key: 'test-signing-key' });
  });
  after(async () => {
    await runtime?.stop();
    await receiver.r?.stop();
  });

  test('each refreshed hour is published: the application table equals the view, and the webhook took each batch once', async () => {
    const report = await runFlow(runtime, { from: `${DAY}000000`, to: `${DAY}014500` });
    assert.equal(report.failed, 0, JSON.stringify(report.published.filter((p) => p.error)));
    assert.deepEqual(
      report.published.map((p) => [p.publication, p.timelabel, p.status]),
      [
        ['customer-scores', `${DAY}000000`, 'published'],
        ['ltv-hook', `${DAY}000000`, 'published'],
        ['customer-scores', `${DAY}010000`, 'published'],
        ['ltv-hook', `${DAY}010000`, 'published'],
      ],
    );
    assert.deepEqual(await customerScores(runtime), await viewAsPublished(runtime));
    const accepted = [...receiver.r!.accepted.values()];
    assert.ok(accepted.length >= 2, 'at least one batch per timelabel');
    assert.ok(accepted.every((n) => n === 1), 'each batch accepted exactly once');
    assert.equal(receiver.r!.requests.filter((r) => r.status === 500).length, 2 * accepted.length, 'each was refused twice first');

    const again = await runFlow(runtime, { from: `${DAY}000000`, to: `${DAY}014500` });
    assert.deepEqual(again.published, [], 'a re-run publishes nothing again');
  });

  test('a failed check on the view stops publication for that timelabel; the application table keeps its last good state', async () => {
    const good = await customerScores(runtime);
    const customers = good.length;
    const file = join(dir, 'views/analytics/customer_ltv.sql');
    // The demo gains customers every period: a bound at today's count fails from the next hour on.
    writeFileSync(file, readFileSync(file, 'utf8').replace(' * @freshness 3 hours', ` * @freshness 3 hours\n * @check row_count(0, ${customers})`));
    const flow = await loadFlow(dir);
    const applied = await applyPlan(runtime, await planFlow(runtime, flow), { allowBreaking: false });
    assert.equal(applied.updateSet?.effectiveFrom, `${DAY}020000`);
    // The runtime runs the flow it started with: start it again on the changed one, as `reef run` would.
    await runtime.stop();
    runtime = await LocalRuntime.start(flow, { full: true });
    const report = await runFlow(runtime, { from: `${DAY}020000`, to: `${DAY}024500` });
    const ltv = report.organized.filter((o) => o.dataset === 'analytics.customer_ltv' && o.kind === 'refresh');
    assert.deepEqual(ltv.map((o) => [o.timelabel, o.status, o.error?.code]), [[`${DAY}020000`, 'failed', 'check.failed']]);
    assert.deepEqual(report.published, [], 'nothing is published for a timelabel whose check failed');
    assert.deepEqual(await customerScores(runtime), good, 'the application table keeps its last good state');
  });
});
