/**
 * reef.yaml's notifications in the synthesized core stack, with real
 * cdk-nag: one rule per target on the installation's bus whose pattern is
 * the pure builder's (the same code the local runtime's matching is proven
 * equal to), every target sent the same `{ installation, notification,
 * event }` body and backed by the dead-letter queue; the notify function
 * (webhooks) reads only the signing secrets it names and holds no secret
 * value; SNS is published through a role of this account only, with the
 * topics' keys through SNS only; no nag finding is left unacknowledged; and
 * a flow without notifications gets none of it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import type { Flow } from '../shared/flow/types.ts';
import type { NotificationSpec } from '../shared/notifications/config.ts';
import { eventBridgePattern } from '../shared/notifications/event-pattern.ts';
import { NOTIFY_ENV } from '../shared/notifications/handlers.ts';
import { buildInstallation, coreStackId } from './installation.ts';
import { acknowledgements, flat, list, logicalId, nagFindings, roleStatements, synth } from './template-support.ts';
import type { CoreStack } from './core-stack.ts';

const OWN_TOPIC = 'arn:aws:sns:eu-west-1:123456789012:audit';
const OWN_KEY = 'arn:aws:kms:eu-west-1:123456789012:key/0f2c1d9e-1111-2222-3333-444455556666';
const QUEUE = 'arn:aws:sqs:eu-west-1:123456789012:reef-events.fifo';

const NOTIFICATIONS: NotificationSpec[] = [
  { name: 'ops', target: { type: 'webhook', url: 'https://ops.example.com/hooks/reef', signing: { secret: 'ops-hook' } }, filter: { events: ['*.failed', 'metadata'], schemas: {} } },
  {
    name: 'crm',
    target: { type: 'webhook', url: 'https://crm.example.com/reef' },
    filter: { events: ['check.failed'], schemas: { include: ['analytics'], exclude: ['analytics.tmp_*'] } },
  },
  { name: 'data-team', target: { type: 'sqs', queueArn: QUEUE }, filter: { events: ['data'], schemas: { include: ['shop'] } } },
  { name: 'pager', target: { type: 'sns' }, filter: { events: ['*.failed', 'metadata'], schemas: { exclude: ['analytics.tmp_*'] } } },
  { name: 'audit', target: { type: 'sns', topicArn: OWN_TOPIC, kmsKeyArn: OWN_KEY }, filter: { events: ['*'], schemas: {} } },
];

const flowWith = (notifications?: NotificationSpec[]): Flow => ({
  dir: '/nowhere/acme-flow',
  installation: { name: 'acme', local: { databases: [] }, ...(notifications ? { notifications } : {}) },
  sources: [],
  publications: [],
  views: [],
});

const installed = (() => {
  let core: CoreStack | undefined;
  const s = synth((app) => {
    const inst = buildInstallation(app, flowWith(NOTIFICATIONS));
    core = inst.core;
    return [inst.core, ...inst.slices.values()];
  });
  return { ...s, core: core! };
})();

function coreTemplate(): Template {
  const t = installed.templates.get(coreStackId('acme'));
  assert.ok(t, `no core template; synth failed: ${String(installed.synthError)}`);
  return t;
}

type Resource = { Type: string; Properties: Record<string, unknown> };
const targets = installed.core.notificationTargets!;
const ruleOf = (name: string): Resource => coreTemplate().toJSON().Resources[logicalId(targets.rules.get(name)!)] as Resource;
const targetOf = (name: string) => (ruleOf(name).Properties.Targets as Record<string, unknown>[])[0]!;

test('synth succeeds offline with no warnings; one rule per notification, on the installation bus', () => {
  assert.equal(installed.synthError, undefined, String(installed.synthError));
  const warnings = Annotations.fromStack(installed.core).findWarning('*', Match.anyValue());
  assert.deepEqual(warnings.map((w) => `${w.id}: ${JSON.stringify(w.entry.data)}`), []);
  coreTemplate().resourceCountIs('AWS::Events::Rule', NOTIFICATIONS.length);
  for (const n of NOTIFICATIONS) {
    assert.deepEqual(ruleOf(n.name).Properties.EventBusName, { Ref: logicalId(installed.core.eventBus) }, n.name);
    assert.equal(ruleOf(n.name).Properties.State, 'ENABLED');
  }
});

test("each rule's pattern is the filter's, as the pure builder makes it", () => {
  for (const n of NOTIFICATIONS) assert.deepEqual(ruleOf(n.name).Properties.EventPattern, eventBridgePattern('acme', n.filter).pattern, n.name);
  // Spelled out once, so a builder and a CDK rendering that were wrong together would still be caught.
  assert.deepEqual(ruleOf('pager').Properties.EventPattern, {
    source: ['reef.acme'],
    'detail-type': [{ wildcard: '*:*.failed' }, { prefix: 'metadata:' }],
    detail: { $or: [{ dataset: [{ exists: false }] }, { dataset: [{ 'anything-but': { wildcard: ['analytics.tmp_*'] } }] }] },
  });
  // The include the rule can express; the exclude beside it is the notify function's (see its test).
  assert.deepEqual(ruleOf('crm').Properties.EventPattern, {
    source: ['reef.acme'],
    'detail-type': [{ wildcard: '*:check.failed' }],
    detail: { $or: [{ dataset: [{ exists: false }] }, { dataset: [{ wildcard: 'analytics.*' }] }] },
  });
});

test('every target gets { installation, notification, event } and a dead-letter queue', () => {
  const dlq = logicalId(targets.deadLetterQueue);
  for (const n of NOTIFICATIONS) {
    const t = targetOf(n.name) as { InputTransformer: { InputPathsMap: Record<string, string>; InputTemplate: string }; DeadLetterConfig: { Arn: unknown } };
    assert.deepEqual(t.InputTransformer.InputPathsMap, { detail: '$.detail' }, n.name);
    assert.equal(t.InputTransformer.InputTemplate, `{"installation":"acme","notification":"${n.name}","event":<detail>}`, n.name);
    assert.deepEqual(t.DeadLetterConfig.Arn, { 'Fn::GetAtt': [dlq, 'Arn'] }, n.name);
  }
  const fn = logicalId(targets.notifyFunction!);
  for (const n of ['ops', 'crm']) assert.deepEqual((targetOf(n) as { Arn: unknown }).Arn, { 'Fn::GetAtt': [fn, 'Arn'] }, n);
  assert.equal((targetOf('data-team') as { Arn: unknown }).Arn, QUEUE);
  assert.deepEqual((targetOf('data-team') as { SqsParameters: unknown }).SqsParameters, { MessageGroupId: 'reef-acme' }, 'a FIFO queue gets one message group');
  assert.deepEqual((targetOf('pager') as { Arn: unknown }).Arn, { Ref: logicalId(installed.core.notificationTopic) });
  assert.equal((targetOf('audit') as { Arn: unknown }).Arn, OWN_TOPIC);
  for (const n of ['pager', 'audit']) assert.deepEqual((targetOf(n) as { RoleArn: unknown }).RoleArn, { 'Fn::GetAtt': [logicalId(targets.topicRole!), 'Arn'] }, n);
});

test('the dead-letter queue: encrypted, TLS only, two weeks, written by these rules only', () => {
  const t = coreTemplate();
  const dlq = logicalId(targets.deadLetterQueue);
  t.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
  const policies = Object.values(t.findResources('AWS::SQS::QueuePolicy')) as Resource[];
  const statements = policies.filter((p) => JSON.stringify(p.Properties.Queues) === JSON.stringify([{ Ref: dlq }])).flatMap((p) => (p.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement);
  assert.ok(statements.some((s) => s.Effect === 'Deny' && JSON.stringify(s.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } })), 'TLS only');
  const fromRules = statements.filter((s) => s.Effect === 'Allow');
  assert.ok(fromRules.every((s) => JSON.stringify(s.Principal) === JSON.stringify({ Service: 'events.amazonaws.com' }) && list(s.Action as string | string[]).join() === 'sqs:SendMessage'));
  const sourceArns = fromRules.map((s) => flat((s.Condition as { ArnEquals: Record<string, unknown> }).ArnEquals['aws:SourceArn'])).sort();
  assert.deepEqual(sourceArns, NOTIFICATIONS.map((n) => `<${logicalId(targets.rules.get(n.name)!)}.Arn>`).sort());
});

test('the notify function: Node 24 on arm64, traced, dead-lettered, configured with the webhooks and no secret value', () => {
  const t = coreTemplate();
  const fn = t.toJSON().Resources[logicalId(targets.notifyFunction!)] as Resource;
  const p = fn.Properties as Record<string, unknown>;
  assert.equal(p.Runtime, 'nodejs24.x');
  assert.deepEqual(p.Architectures, ['arm64']);
  assert.equal(p.Handler, 'index.notify');
  assert.deepEqual(p.TracingConfig, { Mode: 'Active' });
  assert.deepEqual(p.DeadLetterConfig, { TargetArn: { 'Fn::GetAtt': [logicalId(targets.deadLetterQueue), 'Arn'] } });
  const env = (p.Environment as { Variables: Record<string, string> }).Variables;
  assert.equal(env[NOTIFY_ENV.installation], 'acme');
  assert.deepEqual(JSON.parse(env[NOTIFY_ENV.targets]!), NOTIFICATIONS.filter((n) => n.target.type === 'webhook'), 'the webhooks, secret names only');
  // EventBridge may invoke it only for the webhook rules.
  const permissions = Object.values(t.findResources('AWS::Lambda::Permission')) as Resource[];
  assert.deepEqual(
    permissions.map((x) => [x.Properties.Principal, flat(x.Properties.SourceArn)]).sort(),
    ['crm', 'ops'].map((n) => ['events.amazonaws.com', `<${logicalId(targets.rules.get(n)!)}.Arn>`]).sort(),
  );
});

test('the notify role reads only the named signing secret; the topic role publishes only to the two topics, keys only through SNS', () => {
  const t = coreTemplate();
  const notify = roleStatements(t, logicalId(targets.notifyRole!));
  const secrets = notify.filter((s) => list(s.Action).some((a) => a.startsWith('secretsmanager:')));
  assert.deepEqual(secrets.map((s) => [list(s.Action), list(s.Resource).map(flat)]), [
    [['secretsmanager:GetSecretValue'], ['arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:ops-hook-??????']],
  ]);
  const allowed = /^(secretsmanager:GetSecretValue|logs:CreateLogStream|logs:PutLogEvents|sqs:SendMessage|xray:PutTraceSegments|xray:PutTelemetryRecords)$/;
  for (const a of notify.flatMap((s) => list(s.Action))) assert.match(a, allowed);

  const role = t.toJSON().Resources[logicalId(targets.topicRole!)] as Resource;
  assert.deepEqual((role.Properties.AssumeRolePolicyDocument as { Statement: unknown[] }).Statement, [
    { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } } },
  ]);
  const topic = roleStatements(t, logicalId(targets.topicRole!));
  const publish = topic.filter((s) => list(s.Action).includes('sns:Publish'));
  assert.deepEqual(publish.flatMap((s) => list(s.Resource).map(flat)).sort(), [`<${logicalId(installed.core.notificationTopic)}>`, OWN_TOPIC].sort());
  const kms = topic.filter((s) => list(s.Action).some((a) => a.startsWith('kms:')));
  assert.equal(kms.length, 1);
  assert.deepEqual(list(kms[0]!.Action).sort(), ['kms:Decrypt', 'kms:GenerateDataKey']);
  assert.deepEqual(list(kms[0]!.Resource).map(flat).sort(), [`<${logicalId(installed.core.notificationKey)}.Arn>`, OWN_KEY].sort());
  assert.equal(flat(kms[0]!.Condition!['StringEquals']!['kms:ViaService']), 'sns.<AWS::Region>.amazonaws.com');
  for (const a of topic.flatMap((s) => list(s.Action))) assert.match(a, /^(sns:Publish|kms:Decrypt|kms:GenerateDataKey)$/);
});

test('cdk-nag AwsSolutions and Serverless: no unacknowledged finding; each acknowledgement says why', () => {
  assert.deepEqual(nagFindings(installed), []);
  const acks = acknowledgements(installed.app).filter((a) => a.path.includes('/NotificationTargets/'));
  for (const a of acks) assert.ok(a.reason.trim().length >= 40, `${a.path} ${a.id}: reason "${a.reason}"`);
  // Reviewed here: a new acknowledgement must be added on purpose.
  assert.deepEqual([...new Set(acks.map((a) => `${a.path.replace(/^.*\/NotificationTargets\//, '')} ${a.id.replace(/^Annotation::/, '')}`))].sort(), [
    'DeadLetters Serverless-SQSRedrivePolicy',
    'NotifyRole AwsSolutions-IAM5[Resource::*]',
    // Environment-agnostic stack: CDK cannot compare it with the queue's and topic's ARNs (the next tests check them when it can).
    'Rule-audit @aws-cdk/aws-events:ruleUnresolvedEnvironment',
    'Rule-data-team @aws-cdk/aws-events:ruleUnresolvedEnvironment',
  ]);
});

test('with account and region in reef.yaml: a queue or topic elsewhere is refused at synth, one alongside needs no acknowledgement', () => {
  const located = (notifications: NotificationSpec[]): Flow => {
    const f = flowWith(notifications);
    return { ...f, installation: { ...f.installation, account: '123456789012', region: 'eu-west-1' } };
  };
  const here = synth((app) => [buildInstallation(app, located([NOTIFICATIONS[2]!, NOTIFICATIONS[4]!])).core]);
  assert.equal(here.synthError, undefined, String(here.synthError));
  assert.deepEqual(nagFindings(here), []);
  assert.ok(!acknowledgements(here.app).some((a) => a.id.includes('ruleUnresolvedEnvironment')));
  const elsewhere: NotificationSpec = { ...NOTIFICATIONS[2]!, target: { type: 'sqs', queueArn: 'arn:aws:sqs:us-east-1:123456789012:reef-events' } };
  assert.throws(
    () => synth((app) => [buildInstallation(app, located([elsewhere])).core]),
    /notifications data-team: sqs\.queueArn: found account 123456789012 and region us-east-1, expected the installation's account 123456789012 and region eu-west-1/,
  );
});

test('without notifications the core stack has no rule, no queue and no function', () => {
  const plain = synth((app) => [buildInstallation(app, flowWith()).core]);
  assert.equal(plain.synthError, undefined, String(plain.synthError));
  const t = plain.templates.get(coreStackId('acme'))!;
  for (const type of ['AWS::Events::Rule', 'AWS::SQS::Queue', 'AWS::Lambda::Function']) t.resourceCountIs(type, 0);
  // The installation's topic is there whatever reef.yaml says: it is what `snsTopic: installation` names.
  t.resourceCountIs('AWS::SNS::Topic', 1);
});

test('with only an SQS target there is no function: the dead-letter queue is acknowledged as one, and nag stays clean', () => {
  const onlyQueue = synth((app) => [buildInstallation(app, flowWith([NOTIFICATIONS[2]!])).core]);
  assert.equal(onlyQueue.synthError, undefined, String(onlyQueue.synthError));
  assert.deepEqual(nagFindings(onlyQueue), []);
  const ids = acknowledgements(onlyQueue.app).filter((a) => a.path.includes('/NotificationTargets/')).map((a) => a.id.replace(/^Annotation::/, '')).sort();
  assert.deepEqual(ids, ['@aws-cdk/aws-events:ruleUnresolvedEnvironment', 'AwsSolutions-SQS3', 'Serverless-SQSRedrivePolicy']);
});
