/**
 * reef.yaml's `notifications` through the real flow loader: a valid list
 * comes out with one target per entry and the filter's defaults applied; a
 * broken one is refused with every problem at once, each naming the file,
 * the line and the field, and saying what was found and what was expected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowConfigError, loadFlow } from './load.ts';
import { writeFlow } from '../../test/support/flow.ts';

function lineOf(text: string, needle: string, from = 0): number {
  const lines = text.split('\n');
  const i = lines.findIndex((l, n) => n >= from && l.includes(needle));
  assert.ok(i >= 0, `test bug: ${JSON.stringify(needle)} not in the text`);
  return i + 1;
}

test('a valid notifications list: one target each, defaults applied, the installation topic by name', async () => {
  const yaml = `name: acme
notifications:
  - name: ops
    webhook:
      url: https://ops.example.com/hooks/reef?team=data
      signing: { secret: ops-hook }
  - name: data-team
    sqs: { queueArn: "arn:aws:sqs:eu-west-1:123456789012:reef-events.fifo" }
    events: [data, check.failed]
    schemas: { include: [analytics, shop.orders] }
  - name: pager
    snsTopic: installation
    schemas: { exclude: [analytics.tmp_*] }
  - name: audit
    snsTopic: { topicArn: "arn:aws:sns:eu-west-1:123456789012:audit", kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/0f2c1d9e-1111-2222-3333-444455556666" }
    events: ["*"]
`;
  const flow = await loadFlow(writeFlow({ 'reef.yaml': yaml }));
  assert.deepEqual(flow.installation.notifications, [
    {
      name: 'ops',
      target: { type: 'webhook', url: 'https://ops.example.com/hooks/reef?team=data', signing: { secret: 'ops-hook' } },
      filter: { events: ['*.failed', 'metadata'], schemas: {} },
    },
    {
      name: 'data-team',
      target: { type: 'sqs', queueArn: 'arn:aws:sqs:eu-west-1:123456789012:reef-events.fifo' },
      filter: { events: ['data', 'check.failed'], schemas: { include: ['analytics', 'shop.orders'] } },
    },
    { name: 'pager', target: { type: 'sns' }, filter: { events: ['*.failed', 'metadata'], schemas: { exclude: ['analytics.tmp_*'] } } },
    {
      name: 'audit',
      target: { type: 'sns', topicArn: 'arn:aws:sns:eu-west-1:123456789012:audit', kmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/0f2c1d9e-1111-2222-3333-444455556666' },
      filter: { events: ['*'], schemas: {} },
    },
  ]);
  const none = await loadFlow(writeFlow({ 'reef.yaml': 'name: acme\n' }));
  assert.equal(none.installation.notifications, undefined, 'no notifications: nothing to deliver, nothing to deploy');
});

test('a broken notifications list: every problem at once, each with file, line and field', async () => {
  const yaml = `name: acme
notifications:
  - name: ops
    webhook:
      uri: https://ops.example.com/hooks
  - name: two-targets
    webhook: { url: "https://a.example.com/x" }
    sqs: { queueArn: "arn:aws:sqs:eu-west-1:123456789012:q" }
  - name: no-target
    events: [check.fialed, "batch.**", metadata]
  - name: ops
    webhook: { url: "https://user:pass@b.example.com/x#top" }
  - name: queue
    sqs: { queueArn: "arn:aws:sqs:eu-west-1:12345:q" }
  - name: filtered-queue
    sqs: { queueArn: "arn:aws:sqs:eu-west-1:123456789012:q" }
    schemas:
      include: [analytics]
      exclude: [analytics.tmp_*, Shop]
  - name: Bad_Name
    snsTopic: everywhere
  - name: own-topic
    snsTopic: { topicARN: "arn:aws:sns:eu-west-1:123456789012:t" }
`;
  let error: unknown;
  try {
    await loadFlow(writeFlow({ 'reef.yaml': yaml }));
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof FlowConfigError, String(error));
  const lines = error.message.split('\n');
  const at = (needle: string, from = 0) => `reef.yaml:${lineOf(yaml, needle, from)}: `;
  const expected = [
    `${at('uri:')}notifications[0].webhook.uri: found unknown field "uri" (did you mean "url"?), expected only the fields url, signing`,
    `${at('    webhook:', 0)}notifications[0].webhook.url: missing, expected text, at most 2048 characters, matching ^https?:// (required)`,
    `${at('    sqs: { queueArn: "arn:aws:sqs:eu-west-1:123456789012:q" }')}notifications[1].sqs: found webhook and sqs, expected exactly one target: webhook, sqs or snsTopic`,
    `${at('- name: no-target')}notifications[2]: found no target, expected exactly one target: webhook, sqs or snsTopic`,
    `${at('check.fialed')}notifications[2].events[0]: found "check.fialed", which selects no event Reef emits (did you mean "check.failed"?)`,
    `${at('check.fialed')}notifications[2].events[1]: found "batch.**", expected no two * in a row (EventBridge refuses them; one * already matches any run of characters)`,
    `${at('  - name: ops', 8)}notifications[3].name: found "ops" again (first at notifications[0]), expected each notification to have its own name (it names its EventBridge rule)`,
    `${at('user:pass')}notifications[3].webhook.url: found user:password@ in the URL; expected none`,
    `${at('user:pass')}notifications[3].webhook.url: found a #fragment; expected none (it is never sent)`,
    `${at(':12345:q')}notifications[4].sqs.queueArn: found "arn:aws:sqs:eu-west-1:12345:q", expected text matching`,
    `${at('    schemas:')}notifications[5].schemas: found both include and exclude for a sqs target, which an EventBridge rule cannot express`,
    `${at('Shop]')}notifications[5].schemas.exclude[1]: found "Shop", expected text matching`,
    `${at('Bad_Name')}notifications[6].name: found "Bad_Name", expected text matching`,
    `${at('everywhere')}notifications[6].snsTopic: found "everywhere", expected "installation"`,
    `${at('topicARN')}notifications[7].snsTopic.topicARN: found unknown field "topicARN" (did you mean "topicArn"?), expected only the fields topicArn, kmsKeyArn`,
    `${at('topicARN')}notifications[7].snsTopic.topicArn: missing, expected text`,
  ];
  for (const want of expected) assert.ok(lines.some((l) => l.startsWith(want)), `missing: ${want}\n got:\n${lines.join('\n')}`);
  assert.equal(lines.length, expected.length, `exactly these problems:\n${lines.join('\n')}`);
});
