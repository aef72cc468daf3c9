/**
 * reef.yaml's notification targets in AWS, in the core stack: one
 * EventBridge rule per target on the installation's bus, its pattern built
 * from the target's filter by the same pure code the local runtime matches
 * with (shared/notifications/event-pattern.ts), and one dead-letter queue for
 * whatever no target took.
 *
 *   webhook   → the notify function (one for all webhook targets), which
 *               signs with the key in Secrets Manager and POSTs; no secret
 *               value is in the template, only secret names.
 *   sqs       → the queue, directly. A queue of yours: its policy must let
 *               events.amazonaws.com SendMessage for the rule (the stack
 *               output names the rule ARN), and a KMS key of yours must let
 *               events.amazonaws.com GenerateDataKey and Decrypt; neither can
 *               be granted from here. FIFO queues get one message group.
 *   snsTopic  → the topic, through a role EventBridge assumes (this account
 *               only) that may publish to it and use its key: nothing to
 *               change on the installation's topic, and on a topic of yours
 *               only a key policy that does not deny that role.
 *
 * Every target receives the same JSON: `{ installation, notification, event }`.
 */
import { Aws, CfnOutput, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';
import type { NotificationSpec } from '../../shared/notifications/config.ts';
import { eventBridgePattern, type EventBridgePattern } from '../../shared/notifications/event-pattern.ts';
import { NOTIFY_ENV, type DeployedWebhook } from '../../shared/notifications/handlers.ts';
import type { NotificationBody } from '../../shared/notifications/webhook.ts';
import { MAX_DEPLOYED_CONFIG_BYTES } from '../../shared/runtime/env.ts';
import { bundledHandlers, LOG_RETENTION, secretArnOfName } from './slice-functions.ts';

/** The notify function's module (exports `notify`). */
export const NOTIFY_HANDLERS_ENTRY = fileURLToPath(new URL('../../shared/notifications/handlers.ts', import.meta.url));

/** SQS's longest: two weeks to notice an undelivered event and redrive it. */
export const DEAD_LETTER_RETENTION = Duration.days(14);

/**
 * Three attempts of at most 10 s each with short waits (AWS_DELIVERY_POLICY)
 * and the secret read: 60 s leaves room for a slow start.
 */
export const NOTIFY_TIMEOUT = Duration.seconds(60);
/** The function holds one event and one HTTP request at a time. */
export const NOTIFY_MEMORY_MB = 256;

export interface NotificationTargetsProps {
  /** Installation name: the events' source is `reef.<installation>`. */
  installation: string;
  /** reef.yaml's notifications, filters defaulted; at least one. */
  notifications: readonly NotificationSpec[];
  eventBus: events.IEventBus;
  /** The installation's own topic (`snsTopic: installation`) and the key it is encrypted with. */
  topic: sns.ITopic;
  topicKey: kms.IKey;
  /** @default NOTIFY_HANDLERS_ENTRY */
  handlersEntry?: string;
  /** @default LOG_RETENTION */
  logRetention?: logs.RetentionDays;
}

/** EventBridge's JSON pattern as CDK's EventPattern (which renders `detailType` as `detail-type`). */
function cdkPattern(p: EventBridgePattern): events.EventPattern {
  return {
    source: p.source,
    ...(p['detail-type'] ? { detailType: p['detail-type'] as unknown as string[] } : {}),
    ...(p.detail ? { detail: p.detail } : {}),
  };
}

export class NotificationTargets extends Construct {
  /** Events no target took (after EventBridge's and Lambda's retries), kept for two weeks. */
  readonly deadLetterQueue: sqs.Queue;
  /** By notification name. */
  readonly rules = new Map<string, events.Rule>();
  /** The notify function, when there is a webhook target. */
  readonly notifyFunction?: lambda.Function;
  readonly notifyRole?: iam.Role;
  /** The role EventBridge publishes to SNS topics with, when there is a topic target. */
  readonly topicRole?: iam.Role;

  constructor(scope: Construct, id: string, props: NotificationTargetsProps) {
    super(scope, id);
    const { installation, notifications } = props;
    if (notifications.length === 0) throw new Error('notifications: found none, expected at least one target (the core stack creates no notification targets without one)');

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      // Managed by SQS: EventBridge and Lambda can write to it without a key policy to keep in step.
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: DEAD_LETTER_RETENTION,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason: 'This is the dead-letter queue of the notification rules and the notify function: nothing comes after it; people inspect and redrive its messages.',
    });
    const webhooks = notifications.filter((n) => n.target.type === 'webhook');
    if (webhooks.length === 0) {
      Validations.of(this.deadLetterQueue).acknowledge({
        id: 'AwsSolutions-SQS3',
        reason: 'It is a dead-letter queue, of the notification rules (EventBridge targets, which nag does not follow): a dead-letter queue needs none of its own.',
      });
    }

    const body = (name: string) =>
      events.RuleTargetInput.fromObject({ installation, notification: name, event: events.EventField.fromPath('$.detail') } satisfies Record<keyof NotificationBody, unknown>);

    if (webhooks.length > 0) [this.notifyFunction, this.notifyRole] = this.notifyFunctionFor(props, webhooks);
    const topics = notifications.filter((n) => n.target.type === 'sns');
    if (topics.length > 0) this.topicRole = this.topicRoleFor(props, topics);

    for (const spec of notifications) {
      const { pattern } = eventBridgePattern(installation, spec.filter);
      const t = spec.target;
      const arn = t.type === 'sqs' ? t.queueArn : t.type === 'sns' ? t.topicArn : undefined;
      // Before the rule: CDK's own refusal of another account or region does not say which reef.yaml field to fix.
      const unresolvedEnvironment = arn !== undefined && !this.checkSameAccountAndRegion(spec.name, t.type === 'sqs' ? 'sqs.queueArn' : 'snsTopic.topicArn', arn);
      let target: events.IRuleTarget;
      let to: string;
      switch (t.type) {
        case 'webhook':
          target = new targets.LambdaFunction(this.notifyFunction!, { event: body(spec.name), deadLetterQueue: this.deadLetterQueue });
          to = `the notify function (POST ${new URL(t.url).host})`;
          break;
        case 'sqs':
          target = new targets.SqsQueue(sqs.Queue.fromQueueArn(this, `Queue-${spec.name}`, t.queueArn), {
            message: body(spec.name),
            deadLetterQueue: this.deadLetterQueue,
            // A FIFO queue needs a group; one keeps every event of the installation in order.
            ...(t.queueArn.endsWith('.fifo') ? { messageGroupId: `reef-${installation}` } : {}),
          });
          to = 'an SQS queue';
          break;
        case 'sns':
          // By ARN even for the installation's own topic: granting on the topic object would add kms:GenerateDataKey* for its key,
          // where the role's own statement below grants exactly GenerateDataKey and Decrypt, through SNS only.
          target = new targets.SnsTopic(sns.Topic.fromTopicArn(this, `Topic-${spec.name}`, t.topicArn ?? props.topic.topicArn), {
            message: body(spec.name),
            deadLetterQueue: this.deadLetterQueue,
            role: this.topicRole,
          });
          to = t.topicArn === undefined ? "the installation's topic" : 'an SNS topic';
          break;
      }
      const rule = new events.Rule(this, `Rule-${spec.name}`, {
        eventBus: props.eventBus,
        description: `Reef ${installation}: notification ${spec.name}, to ${to}`,
        eventPattern: cdkPattern(pattern),
        targets: [target],
      });
      if (unresolvedEnvironment) {
        Validations.of(rule).acknowledge({
          id: '@aws-cdk/aws-events:ruleUnresolvedEnvironment',
          reason: `The stack is environment-agnostic (reef.yaml names no account and region), so CDK cannot compare it with ${arn}; the docs require the same account and region, and with both in reef.yaml synth checks it.`,
        });
      }
      this.rules.set(spec.name, rule);
      new CfnOutput(this, `RuleArn-${spec.name}`, { value: rule.ruleArn, description: `Reef ${installation}: the rule of notification ${spec.name} (a queue policy of yours names it as aws:SourceArn)` });
    }
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.deadLetterQueue.queueUrl, description: `Reef ${installation}: notifications no target took` });
  }

  /**
   * A queue or topic of yours must be in the installation's account and
   * region (EventBridge sends there directly, not through another bus). When
   * reef.yaml names both, that is checked (true: checked); when the stack is
   * environment-agnostic nothing can be compared (false), and CDK says so,
   * which the caller acknowledges.
   */
  private checkSameAccountAndRegion(name: string, field: string, arn: string): boolean {
    const stack = Stack.of(this);
    if (Token.isUnresolved(stack.account) || Token.isUnresolved(stack.region)) return false;
    const [, , , region, account] = arn.split(':');
    if (account !== stack.account || region !== stack.region) {
      throw new Error(`reef.yaml: notifications ${name}: ${field}: found account ${account} and region ${region}, expected the installation's account ${stack.account} and region ${stack.region}`);
    }
    return true;
  }

  private notifyFunctionFor(props: NotificationTargetsProps, webhooks: readonly NotificationSpec[]): [lambda.Function, iam.Role] {
    const deployed: DeployedWebhook[] = webhooks.map((w) => ({ name: w.name, target: w.target as DeployedWebhook['target'], filter: w.filter }));
    const text = JSON.stringify(deployed);
    if (Buffer.byteLength(text) > MAX_DEPLOYED_CONFIG_BYTES) {
      throw new Error(
        `reef.yaml: notifications: the webhook targets take ${Buffer.byteLength(text)} bytes as JSON; expected at most ${MAX_DEPLOYED_CONFIG_BYTES} to fit the notify function's environment (fewer webhook targets, or shorter URLs and filters)`,
      );
    }
    const role = new iam.Role(this, 'NotifyRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Reef ${props.installation}: the notify function (webhook notifications)`,
    });
    const logGroup = new logs.LogGroup(this, 'NotifyLogs', { retention: props.logRetention ?? LOG_RETENTION, removalPolicy: RemovalPolicy.RETAIN });
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'WriteOwnLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
    const secrets = [...new Set(webhooks.flatMap((w) => (w.target.type === 'webhook' && w.target.signing ? [w.target.signing.secret] : [])))];
    if (secrets.length > 0) {
      role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ReadSigningSecrets', actions: ['secretsmanager:GetSecretValue'], resources: secrets.map((s) => secretArnOfName(this, s)) }));
    }
    const fn = new lambda.Function(this, 'Notify', {
      description: `Reef ${props.installation}: POSTs webhook notifications`,
      code: bundledHandlers(props.handlersEntry ?? NOTIFY_HANDLERS_ENTRY),
      handler: 'index.notify',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: NOTIFY_MEMORY_MB,
      timeout: NOTIFY_TIMEOUT,
      role,
      environment: {
        [NOTIFY_ENV.installation]: props.installation,
        [NOTIFY_ENV.targets]: text,
        NODE_OPTIONS: '--enable-source-maps',
      },
      logGroup,
      tracing: lambda.Tracing.ACTIVE,
      // Invoked asynchronously by EventBridge: after Lambda's own retries, an event lands here.
      deadLetterQueue: this.deadLetterQueue,
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'Granted by the Lambda construct for X-Ray tracing (PutTraceSegments, PutTelemetryRecords); these actions support no resource-level permissions.',
    });
    return [fn, role];
  }

  private topicRoleFor(props: NotificationTargetsProps, topics: readonly NotificationSpec[]): iam.Role {
    const role = new iam.Role(this, 'TopicRole', {
      // Only rules of this account may assume it (confused-deputy guard).
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } } }),
      description: `Reef ${props.installation}: EventBridge publishing notifications to SNS topics`,
    });
    // sns:Publish itself is granted by each SnsTopic target (on the topic's ARN).
    const keys = [...new Set(topics.flatMap((n) => (n.target.type !== 'sns' ? [] : n.target.topicArn === undefined ? [props.topicKey.keyArn] : n.target.kmsKeyArn ? [n.target.kmsKeyArn] : [])))];
    if (keys.length > 0) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'TopicKeysThroughSns',
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: keys,
          conditions: { StringEquals: { 'kms:ViaService': `sns.${Aws.REGION}.amazonaws.com` } },
        }),
      );
    }
    return role;
  }
}
