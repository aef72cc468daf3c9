/**
 * One harness slice in AWS: its two Lambda functions (one bundle), the one
 * IAM role they share, the state machine built by buildHarnessStateMachine,
 * the EventBridge rule that starts it when the organize slice commits a load
 * or refresh of its dataset, and its fallback schedule.
 *
 * The role may read only what the slice publishes: it reads (never writes)
 * the organize slice's metadata (`SLICE#warehouse…`: which timelabels the
 * dataset finished, the view's applied versions), and reads and writes only
 * its own (`SLICE#<slice>…`: its publish records, events, deliveries). It
 * reads its own secrets (the target's, and its own warehouse user's when the
 * config names one, else the installation's warehouse secret) and puts events
 * on the bus. It has no lake access at all: the dataset is read from the
 * warehouse. Which tables that warehouse user may read is the warehouse's to
 * enforce (GRANT), not IAM's: see the harness READMEs.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { HARNESS_START_EVENTS, HARNESS_TASKS, type HarnessTask } from '../../shared/orchestration/harness-contracts.ts';
import { buildHarnessStateMachine } from '../../shared/orchestration/harness-machine.ts';
import { SLICE_ENV } from '../../shared/runtime/env.ts';
import { ORGANIZE_SLICE } from '../../shared/slice.ts';
import type { WarehouseEndpoint } from '../../slices/organize/redshift/warehouse.ts';
import { lakeKeyThroughSecretsManagerStatement, METADATA_READ_ACTIONS, METADATA_WRITE_ACTIONS, metadataStatement } from './grants.ts';
import type { WarehouseSecretRef } from './organize-slice.ts';
import {
  acknowledgeUnscopedActions, bundledHandlers, checkSliceName, deployedConfigText, openWarehouseTo, placeFunctionsInVpc, secretArnOfName, sliceFunctions, sliceStateMachine,
  type SliceVpcPlacement, type WarehouseIngress, FAIL_TASK_SIZING } from './slice-functions.ts';
import { dataDetailType, eventSourceOf, startOnDataEvents, startOnSchedule } from './starts.ts';

export interface HarnessSliceProps {
  installation: string;
  /** Slice (publication) name: the DynamoDB partition `SLICE#<slice>`. */
  slice: string;
  /** Slice type, e.g. `harness/postgres` (REEF_SLICE_TYPE). */
  sliceType: string;
  /** Absolute path of the module exporting `publish` and `fail`. */
  handlersEntry: string;
  /** The validated config; Publish stores it in the metadata before each pass (REEF_SLICE_CONFIG). */
  config: unknown;
  /** The dataset it publishes: its data events start the state machine. */
  dataset: string;
  /**
   * The collect slice whose table the dataset is, when it is a collected
   * table: Publish reads that slice's stored config (one GetItem on exactly
   * `SLICE#<source>`) for the table's keys.
   * @default - the dataset is a view, whose keys are in the organize slice's metadata
   */
  datasetSource?: string;
  /** Secret names the config refers to (never values): its target's, and its own warehouse user's when it names one. */
  secretNames: readonly string[];
  /** The warehouse secret its functions read the dataset with (REEF_SECRET_NAME). */
  warehouseSecret: WarehouseSecretRef;
  /** Where the warehouse is when the secret holds only credentials. @default - the secret holds host, port and database */
  endpoint?: WarehouseEndpoint;
  /** @default - the functions run outside any VPC */
  vpc?: SliceVpcPlacement;
  /** A security group of the warehouse that the functions' own group should be let into. @default - none is opened */
  warehouseIngress?: WarehouseIngress;
  /** How often it also runs without a data event (`every 15 minutes`, a cron): its type's fallback schedule. */
  fallbackSchedule: string;
  table: dynamodb.ITable;
  eventBus: events.IEventBus;
  /** Only for a warehouse secret encrypted with the lake key (one the core created): decrypt through Secrets Manager, for that secret only. @default - no KMS access */
  lakeKey?: kms.IKey;
  /** @default LOG_RETENTION */
  logRetention?: logs.RetentionDays;
}

/** Memory and timeout per task, each with its reason. */
export const HARNESS_FUNCTION_SIZING: Record<HarnessTask, { memoryMb: number; timeout: Duration }> = {
  // A publish streams the dataset a page at a time (10,000 rows, or a webhook
  // batch), so memory stays bounded; 1 GB buys the CPU to convert and sign
  // rows. A pass that outlives Lambda's 15 minutes fails after committing the
  // timelabels it finished; the next execution goes on from there.
  publish: { memoryMb: 1024, timeout: Duration.minutes(15) },
  fail: FAIL_TASK_SIZING,
};

export class HarnessSlice extends Construct {
  /** The one role both functions run as. */
  readonly role: iam.Role;
  readonly functions: Record<HarnessTask, lambda.Function>;
  readonly stateMachine: sfn.StateMachine;
  /** Starts the state machine when the organize slice commits a load or refresh of the dataset. */
  readonly rule: events.Rule;
  readonly schedule: scheduler.Schedule;
  /** The security group the functions use when placed in a VPC and none was given. */
  readonly securityGroup?: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: HarnessSliceProps) {
    super(scope, id);
    const { slice, table, eventBus, installation } = props;
    checkSliceName(slice);
    if (slice === ORGANIZE_SLICE) {
      throw new Error(`harness slice ${slice}: found a publication named like the organize slice; expected another name (they would share the metadata partition SLICE#${ORGANIZE_SLICE})`);
    }
    if (props.datasetSource !== undefined) checkSliceName(props.datasetSource);

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Reef ${installation}: functions of harness slice ${slice}`,
    });
    const allow = (s: iam.PolicyStatementProps) => this.role.addToPrincipalPolicy(new iam.PolicyStatement(s));

    allow(metadataStatement('OwnMetadata', table, [slice], [...METADATA_READ_ACTIONS, ...METADATA_WRITE_ACTIONS]));
    // Which timelabels the dataset finished (the organize slice's load and refresh records) and a view's applied versions: read, never written.
    allow(metadataStatement('ReadWarehouseMetadata', table, [ORGANIZE_SLICE], METADATA_READ_ACTIONS));
    if (props.datasetSource !== undefined) {
      allow({
        sid: 'ReadDatasetSourceConfig',
        // One item (the slice's CONFIG), but IAM cannot name a sort key: GetItem on exactly this partition, not its event or schema partitions.
        actions: ['dynamodb:GetItem'],
        resources: [table.tableArn],
        conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [`SLICE#${props.datasetSource}`] } },
      });
      allow({
        sid: 'ReadDatasetSchemaVersions',
        // The registry of the one table it publishes (column names and types, no data): a list of columns pauses on a column the source dropped.
        actions: ['dynamodb:Query'],
        resources: [table.tableArn],
        conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [`SLICE#${props.datasetSource}#SCHEMA#${props.dataset}`] } },
      });
    }

    const warehouseSecretArn = 'name' in props.warehouseSecret ? secretArnOfName(this, props.warehouseSecret.name) : props.warehouseSecret.arn;
    const secretArns = [...new Set([...props.secretNames.map((name) => secretArnOfName(this, name)), warehouseSecretArn])];
    allow({ sid: 'OwnSecrets', actions: ['secretsmanager:GetSecretValue'], resources: secretArns });
    if ('encryptedWithLakeKey' in props.warehouseSecret) {
      if (props.lakeKey === undefined) throw new Error(`harness slice ${slice}: a warehouse secret encrypted with the lake key, but no lakeKey to decrypt it with; expected the core's lake key`);
      allow(lakeKeyThroughSecretsManagerStatement('LakeKeyThroughSecretsManager', props.lakeKey, props.warehouseSecret.arn));
    }
    allow({ sid: 'PutEvents', actions: ['events:PutEvents'], resources: [eventBus.eventBusArn] });

    const placement = props.vpc ? placeFunctionsInVpc(this, this.role, props.vpc, `Reef harness ${slice} functions: outbound to the warehouse, the target and AWS endpoints`) : undefined;
    this.securityGroup = placement?.created;
    if (props.warehouseIngress) {
      if (!placement) throw new Error(`harness slice ${slice}: a warehouse security group to open, but no VPC to place the functions in; expected warehouse.vpc or connection.vpc`);
      openWarehouseTo(this, placement, props.warehouseIngress, `Reef ${installation}: the functions of harness slice ${slice} to the warehouse`);
    }

    // No bucket: the functions never touch the lake.
    const environment: Record<string, string> = {
      [SLICE_ENV.installation]: installation,
      [SLICE_ENV.slice]: slice,
      [SLICE_ENV.sliceType]: props.sliceType,
      [SLICE_ENV.sliceConfig]: deployedConfigText(slice, props.config, 'shorten its description or column list'),
      [SLICE_ENV.table]: table.tableName,
      [SLICE_ENV.eventBus]: eventBus.eventBusName,
      [SLICE_ENV.secretName]: 'name' in props.warehouseSecret ? props.warehouseSecret.name : props.warehouseSecret.arn,
      [SLICE_ENV.warehouseDialect]: 'redshift',
      // Stack traces point into the TypeScript sources instead of the minified bundle.
      NODE_OPTIONS: '--enable-source-maps',
    };
    if (props.endpoint) environment[SLICE_ENV.warehouseEndpoint] = Stack.of(this).toJsonString(props.endpoint);

    this.functions = sliceFunctions(this, {
      tasks: HARNESS_TASKS,
      code: bundledHandlers(props.handlersEntry),
      role: this.role,
      sizing: HARNESS_FUNCTION_SIZING,
      environment: () => environment,
      description: (state) => `Reef ${installation}: ${state} of harness slice ${slice}`,
      placement,
      logRetention: props.logRetention,
      noDlqReason: 'Invoked synchronously by the state machine, whose Retry and Catch (RecordFailure) handle every failure; a DLQ only serves asynchronous invocations.',
    });

    this.stateMachine = sliceStateMachine(this, {
      definition: buildHarnessStateMachine({
        functionArns: { publish: this.functions.publish.functionArn, fail: this.functions.fail.functionArn },
        installation,
        publication: slice,
        dataset: props.dataset,
      }),
      functions: Object.values(this.functions),
      logName: `reef-${installation}-${slice}`,
      roleDescription: `Reef ${installation}: state machine of harness slice ${slice}`,
      logRetention: props.logRetention,
    });

    this.rule = startOnDataEvents(this, {
      ruleId: 'OnDatasetFinished',
      roleId: 'RuleRole',
      eventBus,
      stateMachine: this.stateMachine,
      description: `Reef ${installation}: runs harness slice ${slice} when the organize slice finishes a timelabel of ${props.dataset}`,
      eventPattern: {
        source: [eventSourceOf(installation)],
        detailType: HARNESS_START_EVENTS.map(dataDetailType),
        detail: { slice: [ORGANIZE_SLICE], dataset: [props.dataset] },
      },
      roleDescription: `Reef ${installation}: starts harness slice ${slice} on data events`,
      noDlqReason:
        'A start that EventBridge gives up on loses no work: a pass publishes every finished timelabel not yet published, whatever started it, ' +
        `and the fallback schedule (${props.fallbackSchedule}) starts one.`,
    });

    this.schedule = startOnSchedule(this, {
      scheduleId: 'FallbackSchedule',
      roleId: 'ScheduleRole',
      stateMachine: this.stateMachine,
      schedule: props.fallbackSchedule,
      description: `Reef ${installation}: runs harness slice ${slice} ${props.fallbackSchedule} (UTC), for what the data events did not start`,
      roleDescription: `Reef ${installation}: starts harness slice ${slice} on its fallback schedule`,
    });

    acknowledgeUnscopedActions(this.role, props.vpc !== undefined);
  }
}
