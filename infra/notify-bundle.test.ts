/**
 * The notify function's bundle really runs: built exactly as the core stack
 * builds it, imported as Lambda imports it, configured only by the
 * environment the construct sets, it POSTs a rule's input to a real HTTP
 * receiver and throws for one that refuses it. The webhook here is unsigned,
 * since signing would call Secrets Manager, which cannot run here (the
 * signing path is proven in shared/notifications/handlers.test.ts).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { NOTIFY_ENV, type DeployedWebhook, type NotifyResult } from '../shared/notifications/handlers.ts';
import { TestReceiver } from '../slices/harness/webhook/test-receiver.ts';
import { NOTIFY_HANDLERS_ENTRY } from './constructs/notifications.ts';
import { bundleHandlersInto } from './constructs/slice-functions.ts';

const receiver = await TestReceiver.start();
after(() => receiver.stop());

test('the bundled notify function delivers from its environment alone, and throws for a refusal', async () => {
  const out = mkdtempSync(join(tmpdir(), 'reef-notify-bundle-'));
  bundleHandlersInto(NOTIFY_HANDLERS_ENTRY, out);
  const webhooks: DeployedWebhook[] = [{ name: 'ops', target: { type: 'webhook', url: `${receiver.url}/ops` }, filter: { events: ['*.failed'], schemas: {} } }];
  process.env[NOTIFY_ENV.installation] = 'acme';
  process.env[NOTIFY_ENV.targets] = JSON.stringify(webhooks);
  const { notify } = (await import(pathToFileURL(join(out, 'index.mjs')).href)) as { notify(input: unknown): Promise<NotifyResult> };

  const event = { id: 'e-1', kind: 'data', type: 'load.failed', slice: 'warehouse', dataset: 'shop.orders', detail: {}, time: '2026-03-12T11:00:00.000Z' };
  assert.deepEqual(await notify({ installation: 'acme', notification: 'ops', event }), { notification: 'ops', event: 'e-1', delivered: true, status: 200, attempts: 1 });
  assert.deepEqual(JSON.parse(receiver.requests[0]!.body), { installation: 'acme', notification: 'ops', event });

  receiver.answer = () => ({ status: 403 });
  await assert.rejects(notify({ installation: 'acme', notification: 'ops', event: { ...event, id: 'e-2' } }), /notification ops: load\.failed \(event e-2\) not delivered/);
  assert.equal(receiver.requests.length, 2, 'a refusal is asked once');
});
