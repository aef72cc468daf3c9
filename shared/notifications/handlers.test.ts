/**
 * The notify function's work (what `index.notify` runs in AWS) against a
 * real HTTP receiver, with the local secrets file standing in for Secrets
 * Manager (same interface): it POSTs the rule's input signed; it applies the
 * exclude an EventBridge rule cannot express beside an include; it throws
 * when the receiver does not take the event (transient for 5xx, so Lambda
 * retries and then dead-letters it; terminal for a refusal), with a message
 * that names the target's origin and path but never its query string; and it
 * refuses input that is not a notification rule's.
 */
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TerminalError, TransientError } from '../errors.ts';
import { SecretsFile } from '../local/secrets-file.ts';
import type { ReefEvent } from '../metadata/types.ts';
import { TestReceiver } from '../../slices/harness/webhook/test-receiver.ts';
import { notifyWith, type DeployedWebhook, type NotifyContext } from './handlers.ts';

const KEY = 'another-signing-key-0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'reef-notify-fn-'));
const secrets = new SecretsFile(join(dir, 'secrets.json'));
secrets.put('crm-hook', { key: KEY });
let receiver: TestReceiver;
let ctx: NotifyContext;

before(async () => {
  receiver = await TestReceiver.start();
});
after(async () => {
  await receiver.stop();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  receiver.reset();
  const webhooks: DeployedWebhook[] = [
    {
      name: 'crm',
      target: { type: 'webhook', url: `${receiver.url}/hooks/reef?secret-token=zzz`, signing: { secret: 'crm-hook' } },
      // Include and exclude together: the rule carries the include, the function the exclude.
      filter: { events: ['*.failed', 'metadata'], schemas: { include: ['analytics'], exclude: ['analytics.tmp_*'] } },
    },
  ];
  ctx = { installation: 'acme', webhooks, secrets, log: () => {}, clock: { sleep: async () => {}, random: () => 0, now: Date.now } };
});

function input(dataset: string, type = 'refresh.failed', kind: ReefEvent['kind'] = 'data'): { installation: string; notification: string; event: ReefEvent } {
  return {
    installation: 'acme',
    notification: 'crm',
    event: { id: `id-${dataset}`, kind, type, slice: 'warehouse', dataset, timelabel: '20260312100000', detail: {}, time: '2026-03-12T11:00:00.000Z' },
  };
}

test('delivers the event signed, with the same body and key the local runtime sends', async () => {
  const result = await notifyWith(ctx, input('analytics.customer_ltv'));
  assert.deepEqual(result, { notification: 'crm', event: 'id-analytics.customer_ltv', delivered: true, status: 200, attempts: 1 });
  const [r] = receiver.requests;
  assert.deepEqual(JSON.parse(r!.body), input('analytics.customer_ltv'));
  assert.equal(r!.headers['x-reef-signature'], `sha256=${createHmac('sha256', KEY).update(r!.body).digest('hex')}`);
  assert.equal(r!.headers['idempotency-key'], 'reef:acme:crm:id-analytics.customer_ltv');
});

test('the exclude the rule could not express is applied here: such an event is skipped, not sent', async () => {
  assert.deepEqual(await notifyWith(ctx, input('analytics.tmp_scratch')), { notification: 'crm', event: 'id-analytics.tmp_scratch', skipped: 'filtered' });
  assert.equal(receiver.requests.length, 0);
});

test('a receiver that keeps failing: a transient error after three requests, naming origin and path only', async () => {
  receiver.answer = () => ({ status: 502 });
  await assert.rejects(notifyWith(ctx, input('analytics.customer_ltv')), (e: unknown) => {
    assert.ok(e instanceof TransientError, String(e));
    assert.equal(e.code, 'notification.undelivered');
    assert.match(e.message, new RegExp(`refresh\\.failed \\(event id-analytics\\.customer_ltv\\) not delivered to ${receiver.url.replace(/[.]/g, '\\.')}/hooks/reef after 3 attempt\\(s\\): the receiver answered 502`));
    assert.ok(!e.message.includes('zzz') && !e.message.includes(KEY));
    return true;
  });
  assert.equal(receiver.requests.length, 3);
});

test('a refusal is terminal and asked once', async () => {
  receiver.answer = () => ({ status: 410 });
  await assert.rejects(notifyWith(ctx, input('analytics.customer_ltv')), (e: unknown) => e instanceof TerminalError && e.code === 'notification.refused' && /expected a 2xx answer/.test(e.message));
  assert.equal(receiver.requests.length, 1);
});

test('input that is not a notification rule\'s, or names another notification, is refused with what was expected', async () => {
  await assert.rejects(notifyWith(ctx, { detail: {} }), (e: unknown) => e instanceof TerminalError && e.code === 'internal.input' && /expected \{ installation, notification, event/.test(e.message));
  await assert.rejects(notifyWith(ctx, { ...input('analytics.x'), notification: 'pager' }), (e: unknown) => e instanceof TerminalError && /found notification "pager", expected one of crm/.test(e.message));
  assert.equal(receiver.requests.length, 0);
});
