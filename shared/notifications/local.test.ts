/**
 * The local notifier against a real HTTP receiver on loopback, with a real
 * secrets file: matching events are POSTed signed (verified here with
 * node:crypto, not with Reef's code), in the order they happened; publish
 * returns before anything is sent and never throws; 5xx is retried, 4xx is
 * not, and a receiver that stays down, or a missing signing secret, ends as
 * a recorded failure and a log line, never as an error of the run; SQS and
 * SNS targets are recorded as due in AWS. Waits are skipped with an injected
 * sleep, so nothing here depends on timing.
 */
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretsFile } from '../local/secrets-file.ts';
import type { ReefEvent } from '../metadata/types.ts';
import { TestReceiver } from '../../slices/harness/webhook/test-receiver.ts';
import type { NotificationSpec } from './config.ts';
import { DEFAULT_EVENTS } from './filter.ts';
import { LocalNotifier, SUSPEND_AFTER_FAILURES, type NotificationRecord } from './local.ts';
import type { NotificationBody } from './webhook.ts';

const KEY = 'a-signing-key-of-32-characters!!';
const dir = mkdtempSync(join(tmpdir(), 'reef-notify-test-'));
const secrets = new SecretsFile(join(dir, 'secrets.json'));
secrets.put('ops-hook', { key: KEY });
let receiver: TestReceiver;
let logFile: string;
let logs: string[];
let sleeps: number[];

before(async () => {
  receiver = await TestReceiver.start();
});
after(async () => {
  await receiver.stop();
  rmSync(dir, { recursive: true, force: true });
});
let n = 0;
beforeEach(() => {
  receiver.reset();
  logFile = join(dir, `notifications-${++n}.jsonl`);
  logs = [];
  sleeps = [];
});

function event(type: string, kind: ReefEvent['kind'], dataset?: string, id = `${type}-${dataset ?? 'none'}`): ReefEvent {
  return { id, kind, type, slice: 'warehouse', ...(dataset ? { dataset } : {}), timelabel: '20260312100000', detail: { step: 'view refresh' }, time: '2026-03-12T11:00:00.000Z' };
}

function notifier(notifications: NotificationSpec[]): LocalNotifier {
  return new LocalNotifier({
    installation: 'acme',
    notifications,
    secrets,
    logFile,
    log: (m) => logs.push(m),
    now: () => new Date('2026-03-12T11:00:01.000Z'),
    clock: { sleep: async (ms) => void sleeps.push(ms), random: () => 0.5, now: Date.now },
  });
}

const webhook = (name: string, path: string, extra: Partial<NotificationSpec['filter']> = {}, signing = true): NotificationSpec => ({
  name,
  target: { type: 'webhook', url: `${receiver.url}${path}?token=do-not-print`, ...(signing ? { signing: { secret: 'ops-hook' } } : {}) },
  filter: { events: [...DEFAULT_EVENTS], schemas: {}, ...extra },
});

function records(): NotificationRecord[] {
  return existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as NotificationRecord) : [];
}

function verified(body: string, header: string | string[] | undefined): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', KEY).update(body).digest('hex')}`);
  const given = Buffer.from(String(header ?? ''));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

test('matching events are POSTed signed, in order; publish returns before anything is sent', async () => {
  const n1 = notifier([webhook('ops', '/ops')]);
  const sent = [
    event('view.refreshed', 'data', 'analytics.customer_ltv'),
    event('check.failed', 'metadata', 'analytics.customer_ltv'),
    event('refresh.failed', 'data', 'analytics.customer_ltv'),
    event('refresh.failed', 'data', 'analytics.top_customers'),
    event('organize.failed', 'data'),
  ];
  for (const e of sent) assert.equal(n1.publish(e), undefined);
  assert.equal(receiver.requests.length, 0, 'publish only queues');
  await n1.drain();

  const bodies = receiver.requests.map((r) => JSON.parse(r.body) as NotificationBody);
  assert.deepEqual(bodies.map((b) => b.event.id), sent.slice(1).map((e) => e.id), 'every failure and the metadata event, in order; not view.refreshed');
  for (const [i, r] of receiver.requests.entries()) {
    assert.equal(r.method, 'POST');
    assert.equal(r.path, '/ops?token=do-not-print');
    assert.ok(verified(r.body, r.headers['x-reef-signature']), 'the signature verifies with the shared key');
    assert.equal(r.headers['idempotency-key'], `reef:acme:ops:${sent[i + 1]!.id}`);
    assert.equal(r.headers['x-reef-notification'], 'ops');
    assert.equal(r.headers['x-reef-event'], `${sent[i + 1]!.kind}:${sent[i + 1]!.type}`);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(r.body), { installation: 'acme', notification: 'ops', event: sent[i + 1] });
  }
  assert.deepEqual(records().map((r) => [r.event.type, r.outcome, r.attempts, r.to]), sent.slice(1).map((e) => [e.type, 'delivered', 1, `${receiver.url}/ops`]));
  assert.ok(!readFileSync(logFile, 'utf8').includes('do-not-print'), 'the query string is never recorded');
});

test('without signing there is no signature header; a tampered body would not verify', async () => {
  const n1 = notifier([webhook('plain', '/plain', {}, false)]);
  n1.publish(event('check.failed', 'metadata', 'analytics.x'));
  await n1.drain();
  assert.equal(receiver.requests.length, 1);
  assert.equal(receiver.requests[0]!.headers['x-reef-signature'], undefined);
  assert.ok(!verified(receiver.requests[0]!.body.replace('analytics.x', 'analytics.y'), 'sha256=00'));
});

test('5xx is retried until accepted; 4xx is an answer and is not retried', async () => {
  receiver.script([{ status: 503 }, { status: 500 }]);
  const n1 = notifier([webhook('ops', '/ops')]);
  n1.publish(event('batch.failed', 'data', 'shop.orders'));
  await n1.drain();
  assert.deepEqual(receiver.requests.map((r) => r.status), [503, 500, 200]);
  assert.equal(sleeps.length, 2, 'waited between attempts');
  assert.deepEqual(records().map((r) => [r.outcome, r.attempts, r.status]), [['delivered', 3, 200]]);

  receiver.reset();
  receiver.script([{ status: 400 }]);
  const n2 = notifier([webhook('ops', '/ops')]);
  n2.publish(event('batch.failed', 'data', 'shop.customers'));
  await n2.drain();
  assert.equal(receiver.requests.length, 1, 'a 400 is not asked again');
  const last = records().at(-1)!;
  assert.equal(last.outcome, 'failed');
  assert.equal(last.status, 400);
  assert.match(last.error!, /the receiver answered 400/);
  assert.match(logs.join('\n'), /notification ops: batch\.failed not delivered to http:\/\/127\.0\.0\.1:\d+\/ops after 1 attempt\(s\): the receiver answered 400/);
  assert.ok(!logs.join('\n').includes('do-not-print'));
});

test('a receiver that stays down: recorded and logged, never thrown; after repeated failures one request per event', async () => {
  receiver.answer = () => ({ status: 503 });
  const n1 = notifier([webhook('ops', '/ops')]);
  const count = SUSPEND_AFTER_FAILURES + 2;
  for (let i = 0; i < count; i++) n1.publish(event('batch.failed', 'data', `shop.t${i}`));
  await n1.drain();
  const outcomes = records();
  assert.equal(outcomes.length, count);
  assert.ok(outcomes.every((r) => r.outcome === 'failed' && r.status === 503));
  assert.deepEqual(outcomes.map((r) => r.attempts), [...Array(SUSPEND_AFTER_FAILURES).fill(3), 1, 1]);
  assert.equal(receiver.requests.length, SUSPEND_AFTER_FAILURES * 3 + 2);
  assert.equal(logs.length, count, 'one log line per event not delivered');

  // One success lifts the suspension: the next failure gets its full attempts again.
  receiver.reset();
  receiver.script([{ status: 200 }, { status: 503 }, { status: 503 }, { status: 503 }]);
  n1.publish(event('batch.failed', 'data', 'shop.back'));
  n1.publish(event('batch.failed', 'data', 'shop.again'));
  await n1.drain();
  assert.deepEqual(records().slice(-2).map((r) => [r.outcome, r.attempts]), [['delivered', 1], ['failed', 3]]);
});

test('a missing signing secret is a recorded failure naming the secret; no key material anywhere', async () => {
  const missing: NotificationSpec = { ...webhook('ops', '/ops'), target: { type: 'webhook', url: `${receiver.url}/ops`, signing: { secret: 'no-such-secret' } } };
  const n1 = notifier([missing]);
  n1.publish(event('check.failed', 'metadata', 'analytics.x'));
  await n1.drain();
  assert.equal(receiver.requests.length, 0, 'nothing unsigned goes out');
  const [r] = records();
  assert.equal(r!.outcome, 'failed');
  assert.match(r!.error!, /no-such-secret/);
  assert.ok(!readFileSync(logFile, 'utf8').includes(KEY) && !logs.join('\n').includes(KEY));
});

test('SQS and SNS targets are recorded as due in AWS, with what AWS would deliver; nothing is sent', async () => {
  const n1 = notifier([
    { name: 'queue', target: { type: 'sqs', queueArn: 'arn:aws:sqs:eu-west-1:123456789012:q' }, filter: { events: ['data'], schemas: { include: ['shop'] } } },
    { name: 'pager', target: { type: 'sns' }, filter: { events: [...DEFAULT_EVENTS], schemas: {} } },
  ]);
  n1.publish(event('batch.committed', 'data', 'shop.orders'));
  n1.publish(event('view.refreshed', 'data', 'analytics.x'));
  n1.publish(event('column.added', 'metadata', 'shop.orders'));
  await n1.drain();
  assert.equal(receiver.requests.length, 0);
  assert.deepEqual(records().map((r) => [r.notification, r.event.type, r.outcome, r.to]), [
    ['queue', 'batch.committed', 'aws-only', 'arn:aws:sqs:eu-west-1:123456789012:q'],
    ['pager', 'column.added', 'aws-only', 'installation'],
  ]);
  assert.match(records()[0]!.note!, /no local stand-in for SQS/);
});

test('targets are independent: an exclude on one does not hold back the other', async () => {
  const n1 = notifier([webhook('all', '/all'), webhook('not-ltv', '/not-ltv', { schemas: { exclude: ['analytics.customer_ltv'] } })]);
  n1.publish(event('check.failed', 'metadata', 'analytics.customer_ltv'));
  n1.publish(event('refresh.failed', 'data', 'analytics.top_customers'));
  await n1.drain();
  const got = (path: string) => receiver.requests.filter((r) => r.path.startsWith(path)).map((r) => (JSON.parse(r.body) as NotificationBody).event.type);
  assert.deepEqual(got('/all?'), ['check.failed', 'refresh.failed']);
  assert.deepEqual(got('/not-ltv?'), ['refresh.failed']);
});
