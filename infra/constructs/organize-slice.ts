/**
 * The organize slice in AWS: its two Lambda functions (one bundle), the one
 * IAM role they share, the state machine built by buildOrganizeStateMachine,
 * the EventBridge rule that starts it when a collect slice commits a batch,
 * and a fallback schedule.
 *
 * The role is the slice's security boundary: it writes only the organize
 * slice's own metadata partition (`SLICE#warehouse…`) and its own lake prefix
 * (the Redshift manifests), and only reads the collect slices' partitions and
 * prefixes. It reads the warehouse secret and puts events on the bus; the
 * cluster's COPY reads the lake with a role of its own (RedshiftCopyRole).
 */
import { Duration, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { REDSHIFT_MANIFEST_PREFIX, slicePrefix } from '../../shared/lake/layout.ts';
import { buildOrganizeStateMachine } from '../../shared/orchestration/organize-machine.ts';
import { ORGANIZE_TASKS, type OrganizeTask } from '../../shared/orchestration/organize-contracts.ts';
import { SLICE_ENV } from '../../shared/runtime/env.ts';
import { ORGANIZE_SLICE } from '../../shared/slice.ts';
import type { WarehouseEndpoint } from '../../slices/organize/redshift/warehouse.ts';
import { lakeKeyThroughS3Statement, lakeKeyThroughSecretsManagerStatement, listPrefixesStatement, METADATA_READ_ACTIONS, METADATA_WRITE_ACTIONS, metadataStatement } from './grants.ts';
import {
  acknowledgeUnscopedActions, acknowledgeWildcard, bundledHandlers, checkSliceName, openWarehouseTo, placeFunctionsInVpc, secretArnOfName, sliceFunctions, sliceStateMachine,
  type SliceVpcPlacement, type WarehouseIngress, FAIL_TASK_SIZING } from './slice-functions.ts';
import { dataDetailType, eventSourceOf, startOnDataEvents, startOnSchedule } from './starts.ts';

/** The warehouse's credentials: a secret the user named, or the admin secret of a warehouse the core created (encrypted with the lake key). */
export type WarehouseSecretRef = { name: string } | { arn: string; encryptedWithLakeKey: true };

export interface OrganizeSliceProps {
  installation: string;
  /** `organize/redshift` (REEF_SLICE_TYPE). */
  sliceType: string;
  /** Absolute path of the module exporting `pass` and `fail`. */
  handlersEntry: string;
  /** The collect slices whose batches it loads: read-only on their partitions and prefixes; their data events start it. */
  collectSlices: readonly string[];
  secret: WarehouseSecretRef;
  /** Where the warehouse is when the secret holds only credentials. @default - the secret holds host, port and database */
  endpoint?: WarehouseEndpoint;
  /** The role the warehouse's COPY assumes (REEF_COPY_ROLE_ARN). */
  copyRoleArn: string;
  /** @default - the functions run outside any VPC */
  vpc?: SliceVpcPlacement;
  /** A security group of the warehouse that the functions' own group should be let into. @default - none is opened */
  warehouseIngress?: WarehouseIngress;
  /** How often it also runs without a data event (`every 1 hour`, a cron). */
  fallbackSchedule: string;
  table: dynamodb.ITable;
  lakeBucket: s3.IBucket;
  lakeKey: kms.IKey;
  eventBus: events.IEventBus;
  /** @default LOG_RETENTION */
  logRetention?: logs.RetentionDays;
}

/** Memory and timeout per task, each with its reason. */
export const ORGANIZE_FUNCTION_SIZING: Record<OrganizeTask, { memoryMb: number; timeout: Duration }> = {
  // Redshift does the loading and the refreshing; the function sends SQL and waits.
  // 1 GB buys the CPU to read manifests and metadata quickly. A pass that outlives
  // Lambda's 15 minutes fails after committing what it finished; the next execution goes on.
  pass: { memoryMb: 1024, timeout: Duration.minutes(15) },
  fail: FAIL_TASK_SIZING,
};

/** The detail-type and source of the data event a committed collect batch publishes (shared/runtime/aws.ts). */
export const BATCH_COMMITTED_DETAIL_TYPE = dataDetailType('batch.committed');
export { eventSourceOf };

export class OrganizeSlice extends Construct {
  /** The one role both functions run as. */
  readonly role: iam.Role;
  readonly functions: Record<OrganizeTask, lambda.Function>;
  readonly stateMachine: sfn.StateMachine;
  /** Starts the state machine when a collect slice commits a batch; absent without collect slices. */
  readonly rule?: events.Rule;
  readonly schedule: scheduler.Schedule;
  /** The security group the functions use when placed in a VPC and none was given. */
  readonly securityGroup?: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: OrganizeSliceProps) {
    super(scope, id);
    const { table, lakeBucket, lakeKey, eventBus, installation } = props;
    const collectSlices = props.collectSlices.map(checkSliceName);
    if (collectSlices.includes(ORGANIZE_SLICE)) {
      throw new Error(`collect slice ${ORGANIZE_SLICE}: found a collect slice named like the organize slice; expected another name (they would share a metadata partition)`);
    }

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Reef ${installation}: functions of the organize slice`,
    });
    const allow = (s: iam.PolicyStatementProps) => this.role.addToPrincipalPolicy(new iam.PolicyStatement(s));

    allow(metadataStatement('OwnMetadata', table, [ORGANIZE_SLICE], [...METADATA_READ_ACTIONS, ...METADATA_WRITE_ACTIONS]));
    if (collectSlices.length > 0) {
      // Their configs (stored by their Plan functions) and their batch records: read, never written.
      allow(metadataStatement('ReadCollectMetadata', table, collectSlices, METADATA_READ_ACTIONS));
      allow({ sid: 'ReadCollectedObjects', actions: ['s3:GetObject'], resources: collectSlices.map((s) => lakeBucket.arnForObjects(`${slicePrefix(s)}*`)) });
    }
    const ownObjects = lakeBucket.arnForObjects(`${REDSHIFT_MANIFEST_PREFIX}*`);
    allow({ sid: 'OwnRedshiftManifests', actions: ['s3:GetObject', 's3:PutObject'], resources: [ownObjects] });
    allow(listPrefixesStatement('ListLakePrefixes', lakeBucket, [...collectSlices.map(slicePrefix), REDSHIFT_MANIFEST_PREFIX]));
    // Decrypt to read batches, GenerateDataKey to write the Redshift manifests.
    allow(lakeKeyThroughS3Statement('LakeKeyThroughS3', lakeKey, lakeBucket, ['kms:Decrypt', 'kms:GenerateDataKey']));
    const secretArn = 'name' in props.secret ? secretArnOfName(this, props.secret.name) : props.secret.arn;
    allow({ sid: 'WarehouseSecret', actions: ['secretsmanager:GetSecretValue'], resources: [secretArn] });
    if ('encryptedWithLakeKey' in props.secret) allow(lakeKeyThroughSecretsManagerStatement('LakeKeyThroughSecretsManager', lakeKey, props.secret.arn));
    allow({ sid: 'PutEvents', actions: ['events:PutEvents'], resources: [eventBus.eventBusArn] });

    const placement = props.vpc ? placeFunctionsInVpc(this, this.role, props.vpc, 'Reef organize functions: outbound to the warehouse and AWS endpoints') : undefined;
    this.securityGroup = placement?.created;
    if (props.warehouseIngress) {
      if (!placement) throw new Error('organize slice: a warehouse security group to open, but no VPC to place the functions in; expected warehouse.vpc');
      openWarehouseTo(this, placement, props.warehouseIngress, `Reef ${installation}: the organize functions to the warehouse`);
    }

    const environment: Record<string, string> = {
      [SLICE_ENV.installation]: installation,
      [SLICE_ENV.slice]: ORGANIZE_SLICE,
      [SLICE_ENV.sliceType]: props.sliceType,
      [SLICE_ENV.table]: table.tableName,
      [SLICE_ENV.bucket]: lakeBucket.bucketName,
      [SLICE_ENV.eventBus]: eventBus.eventBusName,
      [SLICE_ENV.secretName]: 'name' in props.secret ? props.secret.name : props.secret.arn,
      [SLICE_ENV.warehouseDialect]: 'redshift',
      [SLICE_ENV.copyRole]: props.copyRoleArn,
      [SLICE_ENV.collectSlices]: JSON.stringify(collectSlices),
      // Stack traces point into the TypeScript sources instead of the minified bundle.
      NODE_OPTIONS: '--enable-source-maps',
    };
    if (props.endpoint) environment[SLICE_ENV.warehouseEndpoint] = this.toJson(props.endpoint);

    this.functions = sliceFunctions(this, {
      tasks: ORGANIZE_TASKS,
      code: bundledHandlers(props.handlersEntry),
      role: this.role,
      sizing: ORGANIZE_FUNCTION_SIZING,
      environment: () => environment,
      description: (state) => `Reef ${installation}: ${state} of the organize slice`,
      placement,
      logRetention: props.logRetention,
      noDlqReason: 'Invoked synchronously by the state machine, whose Retry and Catch (RecordFailure) handle every failure; a DLQ only serves asynchronous invocations.',
    });

    this.stateMachine = sliceStateMachine(this, {
      definition: buildOrganizeStateMachine({
        functionArns: { pass: this.functions.pass.functionArn, fail: this.functions.fail.functionArn },
        installation,
      }),
      functions: Object.values(this.functions),
      logName: `reef-${installation}-${ORGANIZE_SLICE}`,
      roleDescription: `Reef ${installation}: state machine of the organize slice`,
      logRetention: props.logRetention,
    });

    if (collectSlices.length > 0) {
      this.rule = startOnDataEvents(this, {
        ruleId: 'OnBatchCommitted',
        roleId: 'RuleRole',
        eventBus,
        stateMachine: this.stateMachine,
        description: `Reef ${installation}: runs the organize slice when a collect slice commits a batch`,
        eventPattern: { source: [eventSourceOf(installation)], detailType: [BATCH_COMMITTED_DETAIL_TYPE], detail: { slice: collectSlices } },
        roleDescription: `Reef ${installation}: starts the organize slice on data events`,
        noDlqReason:
          'A start that EventBridge gives up on loses no work: a pass loads everything committed and not yet loaded, whatever started it, ' +
          'and the fallback schedule starts one within the hour.',
      });
    }

    this.schedule = startOnSchedule(this, {
      scheduleId: 'FallbackSchedule',
      roleId: 'ScheduleRole',
      stateMachine: this.stateMachine,
      schedule: props.fallbackSchedule,
      description: `Reef ${installation}: runs the organize slice ${props.fallbackSchedule} (UTC), for what the data events did not start`,
      roleDescription: `Reef ${installation}: starts the organize slice on its fallback schedule`,
    });

    acknowledgeWildcard(this.role, ownObjects, `Objects under the organize slice's own prefix ${REDSHIFT_MANIFEST_PREFIX} only: every load writes its batch's Redshift manifest there.`);
    for (const s of collectSlices) {
      acknowledgeWildcard(this.role, lakeBucket.arnForObjects(`${slicePrefix(s)}*`), `Read-only on collect slice ${s}'s prefix ${slicePrefix(s)}: a load reads the batch manifests written there.`);
    }
    acknowledgeUnscopedActions(this.role, props.vpc !== undefined);
  }

  /** The endpoint as the functions read it (REEF_WAREHOUSE_ENDPOINT), its tokens kept as references. */
  private toJson(endpoint: WarehouseEndpoint): string {
    return Stack.of(this).toJsonString(endpoint);
  }
}
