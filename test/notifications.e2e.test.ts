/**
 * Notifications on the shop demo, end to end on the embedded default, with
 * a real HTTP receiver: a view check fails (as in organize.checks.test.ts);
 * the target with the default filter receives the `check.failed` metadata
 * event and the `refresh.failed` data events, signed with the key in the
 * local secrets file (verified here with node:crypto), and none of the
 * `view.refreshed` events the run also emitted; a second target that
 * excludes the failing view receives nothing about it but still hears of
 * the failure it caused downstream; an SQS target is recorded as due in
 * AWS. What each target got is exactly what the run emitted that its filter
 * selects, and every event type the run emitted is one the filters know.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadFlow } from '../shared/flow/load.ts';
import type { ReefEvent } from '../shared/metadata/types.ts';
import { EVENT_TYPES } from '../shared/notifications/filter.ts';
import { NOTIFICATIONS_LOG, type NotificationRecord } from '../shared/notifications/local.ts';
import type { NotificationBody } from '../shared/notifications/webhook.ts';
import { runFlow, type RunReport } from '../shared/local/run.ts';
import { LocalRuntime } from '../shared/local/runtime.ts';
import { TestReceiver, type ReceivedRequest } from '../slices/harness/webhook/test-receiver.ts';
import { copyExample } from './support/flow.ts';

const KEY = 'e2e-notification-signing-key-0123456789';
const LTV = 'analytics.customer_ltv';

let receiver: TestReceiver;
let dir: string;
let report: RunReport;
let emitted: ReefEvent[];

before(async () => {
  receiver = await TestReceiver.start();
  dir = copyExample('shop');
  const view = join(dir, 'views/analytics/customer_ltv.sql');
  // The demo has about a thousand customers: a bound of five cannot hold.
  writeFileSync(view, readFileSync(view, 'utf8').replace(' * @freshness 3 hours', ' * @freshness 3 hours\n * @check row_count(0, 5)'));
  appendFileSync(
    join(dir, 'reef.yaml'),
    `
notifications:
  - name: ops
    webhook:
      url: ${receiver.url}/ops
      signing: { secret: ops-hook }
  - name: not-ltv
    webhook:
      url: ${receiver.url}/not-ltv
      signing: { secret: ops-hook }
    schemas:
      exclude: [${LTV}]
  - name: queue
    sqs: { queueArn: "arn:aws:sqs:eu-west-1:123456789012:reef-events" }
    events: [view.refreshed]
`,
  );
  const runtime = await LocalRuntime.start(await loadFlow(dir), { full: true });
  try {
    runtime.secrets.put('ops-hook', { key: KEY });
    report = await runFlow(runtime, { from: '20260312100000', to: '20260312104500' });
  } finally {
    // Stopping lets the queued notifications go out first.
    await runtime.stop();
  }
  emitted = readFileSync(join(dir, '.reef/events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as ReefEvent);
});
after(async () => {
  await receiver?.stop();
});

const to = (path: string): ReceivedRequest[] => receiver.requests.filter((r) => r.path === path);
const eventsTo = (path: string): ReefEvent[] => to(path).map((r) => (JSON.parse(r.body) as NotificationBody).event);
const ids = (events: ReefEvent[]) => events.map((e) => e.id).sort();

function verified(r: ReceivedRequest): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', KEY).update(r.body).digest('hex')}`);
  const given = Buffer.from(String(r.headers['x-reef-signature'] ?? ''));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

test('the run itself went on: the check failed, the view that does not read it refreshed', () => {
  const refresh = (v: string) => report.organized.filter((o) => o.kind === 'refresh' && o.dataset === v).map((o) => o.status);
  assert.deepEqual(refresh(LTV), ['failed']);
  assert.deepEqual(refresh('analytics.product_sales'), ['refreshed']);
  assert.ok(emitted.some((e) => e.type === 'view.refreshed'), 'the run emitted view.refreshed events, which the default filter must hold back');
});

test('the default target got check.failed and refresh.failed, signed and verifiable, and no view.refreshed', () => {
  const got = eventsTo('/ops');
  const check = got.find((e) => e.type === 'check.failed' && e.dataset === LTV);
  assert.ok(check, 'the check.failed metadata event');
  assert.equal(check.kind, 'metadata');
  assert.ok(got.some((e) => e.type === 'refresh.failed' && e.kind === 'data' && e.dataset === LTV), 'the refresh.failed data event of the view');
  assert.ok(got.some((e) => e.type === 'refresh.failed' && e.dataset === 'analytics.top_customers'), 'and of the view downstream of it');
  assert.equal(got.filter((e) => e.type === 'view.refreshed').length, 0);
  for (const r of to('/ops')) {
    assert.ok(verified(r), `signature of ${r.headers['x-reef-event']}`);
    assert.equal((JSON.parse(r.body) as NotificationBody).installation, 'shop');
    assert.equal(r.headers['x-reef-notification'], 'ops');
  }
  // Exactly what the run emitted that is a failure or a metadata event: nothing lost, nothing extra, each once.
  assert.deepEqual(ids(got), ids(emitted.filter((e) => e.type.endsWith('.failed') || e.kind === 'metadata')));
  assert.equal(new Set(to('/ops').map((r) => r.headers['idempotency-key'])).size, to('/ops').length);
});

test('the target that excludes the view heard nothing of it, but did hear of the failure downstream', () => {
  const got = eventsTo('/not-ltv');
  assert.equal(got.filter((e) => e.dataset === LTV).length, 0);
  assert.ok(got.some((e) => e.type === 'refresh.failed' && e.dataset === 'analytics.top_customers'));
  assert.ok(to('/not-ltv').every(verified));
  assert.deepEqual(ids(got), ids(emitted.filter((e) => (e.type.endsWith('.failed') || e.kind === 'metadata') && e.dataset !== LTV)));
});

test('the SQS target is recorded as due in AWS for each view.refreshed event; every delivery is recorded', () => {
  const records = readFileSync(join(dir, '.reef', NOTIFICATIONS_LOG), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as NotificationRecord);
  const queued = records.filter((r) => r.notification === 'queue');
  assert.deepEqual(queued.map((r) => r.event.id).sort(), ids(emitted.filter((e) => e.type === 'view.refreshed')));
  assert.ok(queued.every((r) => r.outcome === 'aws-only' && r.to === 'arn:aws:sqs:eu-west-1:123456789012:reef-events'));
  assert.equal(records.filter((r) => r.notification === 'ops' && r.outcome === 'delivered').length, to('/ops').length);
  assert.ok(!readFileSync(join(dir, '.reef', NOTIFICATIONS_LOG), 'utf8').includes(KEY));
});

test('every event type the run emitted is one the filters know (the catalog is true to what runs)', () => {
  const unknown = [...new Set(emitted.map((e) => e.type))].filter((t) => EVENT_TYPES[t] === undefined || EVENT_TYPES[t]!.kind !== emitted.find((e) => e.type === t)!.kind);
  assert.deepEqual(unknown, []);
});
