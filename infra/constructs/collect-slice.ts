/**
 * One collect slice in AWS: its five Lambda functions (one bundle), the one
 * IAM role they share, the state machine built by buildCollectStateMachine,
 * and the schedule that starts it.
 *
 * The role is the slice's security boundary (DESIGN.md, "Security promises"):
 * it reaches only the slice's own metadata items, its own lake prefix and its
 * own secret. Every statement below is written out by hand instead of using
 * `grantX` helpers, which would grant whole tables, buckets and keys.
 */
import { Aws, Duration, TimeZone } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { buildCollectStateMachine } from '../../shared/orchestration/collect-machine.ts';
import { COLLECT_TASKS, type CollectRunRequest, type CollectTask } from '../../shared/orchestration/contracts.ts';
import { slicePrefix } from '../../shared/lake/layout.ts';
import { toScheduleExpression } from '../schedule.ts';
import { SLICE_ENV } from '../../shared/runtime/env.ts';
import { lakeKeyThroughS3Statement, listPrefixesStatement, METADATA_READ_ACTIONS, METADATA_WRITE_ACTIONS, metadataStatement } from './grants.ts';
import {
  acknowledgeUnscopedActions, acknowledgeWildcard, bundledHandlers, deployedConfigText, checkSliceName, placeFunctionsInVpc, secretArnOfName, sliceFunctions, sliceStateMachine, type SliceVpcPlacement, FAIL_TASK_SIZING } from './slice-functions.ts';

export interface CollectSliceProps {
  /** Installation name. */
  installation: string;
  /** Slice name: the DynamoDB partition `SLICE#<slice>`, the lake prefix `<slice>/`. */
  slice: string;
  /** Slice type, e.g. `collect/postgres` (REEF_SLICE_TYPE). */
  sliceType: string;
  /** Absolute path of the module exporting `plan`, `extract`, `commit`, `announce` and `fail`. */
  handlersEntry: string;
  /** The validated slice config; the Plan function stores it in the metadata table (REEF_SLICE_CONFIG). */
  config: unknown;
  /** The flow's schedule text (`every 15 minutes` or a 5-field UTC cron). */
  schedule: string;
  /** Secret names the slice reads (never values). The first is REEF_SECRET_NAME. */
  secretNames: readonly string[];
  /** The Loadunits Map's MaxConcurrency: the source's connection limit. */
  maxConcurrency: number;
  /** @default - the functions run outside any VPC */
  vpc?: SliceVpcPlacement;
  table: dynamodb.ITable;
  lakeBucket: s3.IBucket;
  lakeKey: kms.IKey;
  eventBus: events.IEventBus;
  /** @default LOG_RETENTION */
  logRetention?: logs.RetentionDays;
}

/** Memory and timeout per task, each with its reason. */
export const FUNCTION_SIZING: Record<CollectTask, { memoryMb: number; timeout: Duration }> = {
  // Reads config and writes a handful of batch records.
  plan: { memoryMb: 512, timeout: Duration.minutes(1) },
  // Streams rows into Parquet row groups in memory: the bound that matters. More
  // memory also buys CPU for encoding; 15 minutes is Lambda's limit. A table too big
  // to extract in that time needs splitting into ranges, which is not built yet.
  extract: { memoryMb: 2048, timeout: Duration.minutes(15) },
  // Verifies the parts (HEAD requests) and flips the commit pointer.
  commit: { memoryMb: 512, timeout: Duration.minutes(2) },
  announce: { memoryMb: 256, timeout: Duration.seconds(30) },
  fail: FAIL_TASK_SIZING,
};


export class CollectSlice extends Construct {
  /** The one role all of the slice's functions run as. */
  readonly role: iam.Role;
  readonly functions: Record<CollectTask, lambda.Function>;
  readonly stateMachine: sfn.StateMachine;
  readonly schedule: scheduler.Schedule;
  /** The security group the functions use when placed in a VPC and none was given. */
  readonly securityGroup?: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: CollectSliceProps) {
    super(scope, id);
    const { slice, table, lakeBucket, lakeKey, eventBus } = props;
    checkSliceName(slice);
    if (props.secretNames.length > 1) {
      throw new Error(`slice ${slice}: found ${props.secretNames.length} secrets, expected at most one (REEF_SECRET_NAME holds one name)`);
    }

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Reef ${props.installation}: functions of collect slice ${slice}`,
    });
    const allow = (s: iam.PolicyStatementProps) => this.role.addToPrincipalPolicy(new iam.PolicyStatement(s));

    allow(metadataStatement('OwnMetadata', table, [slice], [...METADATA_READ_ACTIONS, ...METADATA_WRITE_ACTIONS]));
    allow({
      sid: 'ReadInstallationConfig',
      actions: ['dynamodb:GetItem', 'dynamodb:Query'],
      resources: [table.tableArn],
      conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['INSTALLATION'] } },
    });

    const ownObjects = lakeBucket.arnForObjects(`${slicePrefix(slice)}*`);
    allow({
      sid: 'OwnLakeObjects',
      // AbortMultipartUpload: large parts are uploaded in pieces and a failed upload must be cleaned up.
      actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
      resources: [ownObjects],
    });
    allow(listPrefixesStatement('ListOwnLakePrefix', lakeBucket, [slicePrefix(slice)]));
    allow(lakeKeyThroughS3Statement('LakeKeyThroughS3', lakeKey, lakeBucket, ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey']));
    if (props.secretNames.length > 0) {
      allow({ sid: 'OwnSecret', actions: ['secretsmanager:GetSecretValue'], resources: props.secretNames.map((name) => secretArnOfName(this, name)) });
    }
    allow({ sid: 'PutEvents', actions: ['events:PutEvents'], resources: [eventBus.eventBusArn] });

    const placement = props.vpc ? placeFunctionsInVpc(this, this.role, props.vpc, 'Reef collect functions: outbound to the source and AWS endpoints') : undefined;
    this.securityGroup = placement?.created;

    const environment: Record<string, string> = {
      [SLICE_ENV.installation]: props.installation,
      [SLICE_ENV.slice]: slice,
      [SLICE_ENV.sliceType]: props.sliceType,
      [SLICE_ENV.table]: table.tableName,
      [SLICE_ENV.bucket]: lakeBucket.bucketName,
      [SLICE_ENV.eventBus]: eventBus.eventBusName,
      // Stack traces point into the TypeScript sources instead of the minified bundle.
      NODE_OPTIONS: '--enable-source-maps',
    };
    if (props.secretNames[0] !== undefined) environment[SLICE_ENV.secretName] = props.secretNames[0];

    const deployedConfig = deployedConfigText(slice, props.config, 'use a schema pattern instead of listing many tables');

    this.functions = sliceFunctions(this, {
      tasks: COLLECT_TASKS,
      code: bundledHandlers(props.handlersEntry),
      role: this.role,
      sizing: FUNCTION_SIZING,
      environment: (task) => (task === 'plan' ? { ...environment, [SLICE_ENV.sliceConfig]: deployedConfig } : environment),
      description: (state) => `Reef ${props.installation}: ${state} of collect slice ${slice}`,
      placement,
      logRetention: props.logRetention,
      noDlqReason: 'Invoked synchronously by the state machine, whose Retry and Catch (FailBatch) handle every failure; a DLQ only serves asynchronous invocations.',
    });

    this.stateMachine = sliceStateMachine(this, {
      definition: buildCollectStateMachine({
        functionArns: Object.fromEntries(Object.entries(this.functions).map(([task, fn]) => [task, (fn as lambda.Function).functionArn])) as Record<CollectTask, string>,
        maxConcurrency: props.maxConcurrency,
        sliceName: slice,
      }),
      functions: Object.values(this.functions),
      logName: `reef-${props.installation}-${slice}`,
      roleDescription: `Reef ${props.installation}: state machine of collect slice ${slice}`,
      logRetention: props.logRetention,
    });

    const request: CollectRunRequest = { slice, scheduledTime: scheduler.ContextAttribute.scheduledTime };
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: `Reef ${props.installation}: runs collect slice ${slice} ${props.schedule} (UTC)`,
      schedule: scheduler.ScheduleExpression.expression(toScheduleExpression(props.schedule), TimeZone.ETC_UTC),
      target: new schedulerTargets.StepFunctionsStartExecution(this.stateMachine, {
        input: scheduler.ScheduleTargetInput.fromObject(request),
        role: new iam.Role(this, 'ScheduleRole', {
          // Only schedules of this account may assume it (confused-deputy guard).
          assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } } }),
          description: `Reef ${props.installation}: starts collect slice ${slice}`,
        }),
      }),
    });

    acknowledgeWildcard(this.role, ownObjects, `Objects under the slice's own prefix ${slicePrefix(slice)} only: every run writes new batch keys there.`);
    acknowledgeUnscopedActions(this.role, props.vpc !== undefined);
  }
}
