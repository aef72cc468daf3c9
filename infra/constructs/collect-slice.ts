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
import { dirname, join } from 'node:path';
import { buildSync, type BuildOptions } from 'esbuild';
import { ArnFormat, AssetHashType, Aws, DockerImage, Duration, RemovalPolicy, Stack, TimeZone, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { buildCollectStateMachine } from '../../shared/orchestration/collect-machine.ts';
import { COLLECT_TASKS, type CollectRunRequest, type CollectTask } from '../../shared/orchestration/contracts.ts';
import { slicePrefix } from '../../shared/lake/layout.ts';
import { toScheduleExpression } from '../schedule.ts';
import { MAX_DEPLOYED_CONFIG_BYTES, SLICE_ENV } from '../../shared/runtime/env.ts';

/** Where a source is reached from inside a VPC; all ids given, nothing looked up. */
export interface SliceVpcPlacement {
  vpcId: string;
  subnetIds: string[];
  availabilityZones: string[];
  /** Security groups the source accepts connections from; one is created when absent or empty. */
  securityGroupIds?: string[];
}

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

/** Enough to investigate last month's failures; older history lives in the batch records. */
export const LOG_RETENTION = logs.RetentionDays.ONE_MONTH;

/** Memory and timeout per task, each with its reason. */
export const FUNCTION_SIZING: Record<CollectTask, { memoryMb: number; timeout: Duration }> = {
  // Reads config and writes a handful of batch records.
  plan: { memoryMb: 512, timeout: Duration.minutes(1) },
  // Streams rows into Parquet row groups in memory: the bound that matters. More
  // memory also buys CPU for encoding; 15 minutes is Lambda's limit, and large
  // tables are split into ranges so that no range needs more.
  extract: { memoryMb: 2048, timeout: Duration.minutes(15) },
  // Verifies the parts (HEAD requests) and flips the commit pointer.
  commit: { memoryMb: 512, timeout: Duration.minutes(2) },
  announce: { memoryMb: 256, timeout: Duration.seconds(30) },
  fail: { memoryMb: 256, timeout: Duration.minutes(1) },
};


/**
 * Slice names go into IAM patterns, where `*` and `?` are wildcards and `#`
 * and `/` separate key parts: any of them would widen the role to other slices.
 */
const SAFE_SLICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/**
 * How a slice's handlers are bundled. Identifiers are not minified: the
 * Parquet compression worker is started from the source text of functions in
 * the bundle, which must find esbuild's keepNames helper under its own name
 * (`__name`); a minified bundle renames it and the worker dies on start.
 */
export const HANDLER_BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  // CommonJS dependencies call require() for Node built-ins; ESM has none by default.
  banner: { js: "import { createRequire as __reefCreateRequire } from 'node:module'; const require = __reefCreateRequire(import.meta.url);" },
  // pg's optional native binding: not installed, never loaded.
  external: ['pg-native'],
  minifyWhitespace: true,
  minifySyntax: true,
  minifyIdentifiers: false,
  keepNames: true,
  sourcemap: true,
  logLevel: 'error',
} as const satisfies BuildOptions;

/**
 * One esbuild bundle of the slice's handlers module, shared by its functions
 * (each picks its export by handler name), so a slice costs one bundle, not five.
 * Bundled in-process with esbuild; no Docker. When the stack is excluded from
 * bundling (context `aws:cdk:bundling-stacks`), the entry need not exist.
 */
export function bundledHandlers(entry: string): lambda.Code {
  return lambda.Code.fromAsset(dirname(entry), {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Required by the type; never pulled, because local bundling either succeeds or throws.
      image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:24-slim'),
      local: {
        tryBundle(outputDir: string): boolean {
          buildSync({ ...HANDLER_BUNDLE_OPTIONS, entryPoints: [entry], outfile: join(outputDir, 'index.mjs') });
          return true;
        },
      },
    },
  });
}

/**
 * A resolved CloudFormation value as cdk-nag writes it into a finding id
 * (`Fn::Join` joined, `Ref` as `<Name>`, an import as its export name), so an
 * acknowledgement can name exactly one finding.
 */
function flattenForNag(value: unknown): string {
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/}/g, '>');
  const v = value as Record<string, unknown>;
  if (Array.isArray(v['Fn::Join'])) {
    const [sep, items] = v['Fn::Join'] as [string, unknown[]];
    return items.map(flattenForNag).join(sep);
  }
  if (v['Fn::ImportValue'] !== undefined) return flattenForNag(v['Fn::ImportValue']);
  if (v['Ref'] !== undefined) return `<${flattenForNag(v['Ref'])}>`;
  if (Array.isArray(v['Fn::GetAtt'])) return `<${(v['Fn::GetAtt'] as unknown[]).map(flattenForNag).join('.')}>`;
  return JSON.stringify(value);
}

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
    if (!SAFE_SLICE_NAME.test(slice)) {
      throw new Error(`slice name: found ${JSON.stringify(slice)}, expected letters, digits, "-" or "_" (${SAFE_SLICE_NAME.source})`);
    }
    if (props.secretNames.length > 1) {
      throw new Error(`slice ${slice}: found ${props.secretNames.length} secrets, expected at most one (REEF_SECRET_NAME holds one name)`);
    }
    const stack = Stack.of(this);

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Reef ${props.installation}: functions of collect slice ${slice}`,
    });
    const allow = (s: iam.PolicyStatementProps) => this.role.addToPrincipalPolicy(new iam.PolicyStatement(s));

    // Every action listed carries the partition key, so LeadingKeys always
    // applies; no Scan, whose request has no leading key (ForAllValues would pass it).
    allow({
      sid: 'OwnMetadata',
      actions: [
        'dynamodb:GetItem',
        'dynamodb:BatchGetItem',
        'dynamodb:Query',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:BatchWriteItem',
        'dynamodb:ConditionCheckItem',
      ],
      resources: [table.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`SLICE#${slice}`, `SLICE#${slice}#*`] } },
    });
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
    allow({
      sid: 'ListOwnLakePrefix',
      actions: ['s3:ListBucket'],
      resources: [lakeBucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${slicePrefix(slice)}*`] } },
    });
    allow({
      sid: 'LakeKeyThroughS3',
      actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
      resources: [lakeKey.keyArn],
      conditions: {
        StringEquals: {
          'kms:ViaService': `s3.${Aws.REGION}.amazonaws.com`,
          // With an S3 Bucket Key the encryption context is the bucket's ARN: the key works for this bucket only.
          'kms:EncryptionContext:aws:s3:arn': lakeBucket.bucketArn,
        },
      },
    });
    if (props.secretNames.length > 0) {
      allow({
        sid: 'OwnSecret',
        actions: ['secretsmanager:GetSecretValue'],
        // Secrets Manager appends six random characters to a secret's name in its ARN.
        resources: props.secretNames.map((name) =>
          stack.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: `${name}-??????`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
        ),
      });
    }
    allow({ sid: 'PutEvents', actions: ['events:PutEvents'], resources: [eventBus.eventBusArn] });

    const placement = props.vpc ? this.placeInVpc(props.vpc) : undefined;
    this.securityGroup = placement?.created;

    const code = bundledHandlers(props.handlersEntry);
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

    const deployedConfig = JSON.stringify(props.config);
    if (Buffer.byteLength(deployedConfig) > MAX_DEPLOYED_CONFIG_BYTES) {
      throw new Error(`slice ${slice}: its config is ${Buffer.byteLength(deployedConfig)} bytes as JSON; expected at most ${MAX_DEPLOYED_CONFIG_BYTES} to fit the Lambda environment (use a schema pattern instead of listing many tables)`);
    }

    const logGroups: logs.LogGroup[] = [];
    const fns = {} as Record<CollectTask, lambda.Function>;
    for (const task of Object.keys(COLLECT_TASKS) as CollectTask[]) {
      const state = COLLECT_TASKS[task];
      const logGroup = new logs.LogGroup(this, `${state}Logs`, {
        retention: props.logRetention ?? LOG_RETENTION,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      logGroups.push(logGroup);
      fns[task] = new lambda.Function(this, state, {
        description: `Reef ${props.installation}: ${state} of collect slice ${slice}`,
        code,
        handler: `index.${task}`,
        runtime: lambda.Runtime.NODEJS_24_X,
        architecture: lambda.Architecture.ARM_64,
        memorySize: FUNCTION_SIZING[task].memoryMb,
        timeout: FUNCTION_SIZING[task].timeout,
        role: this.role,
        environment: task === 'plan' ? { ...environment, [SLICE_ENV.sliceConfig]: deployedConfig } : environment,
        logGroup,
        tracing: lambda.Tracing.ACTIVE,
        ...(placement ? { vpc: placement.vpc, vpcSubnets: { subnets: placement.subnets }, securityGroups: placement.securityGroups } : {}),
      });
      Validations.of(fns[task]).acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason: 'Invoked synchronously by the state machine, whose Retry and Catch (FailBatch) handle every failure; a DLQ only serves asynchronous invocations.',
      });
    }
    this.functions = fns;

    allow({
      sid: 'WriteOwnLogs',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: logGroups.map((g) => g.logGroupArn),
    });

    const definition = buildCollectStateMachine({
      functionArns: Object.fromEntries(Object.entries(fns).map(([task, fn]) => [task, fn.functionArn])) as Record<CollectTask, string>,
      maxConcurrency: props.maxConcurrency,
      sliceName: slice,
    });
    const machineRole = new iam.Role(this, 'StateMachineRole', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
      description: `Reef ${props.installation}: state machine of collect slice ${slice}`,
    });
    machineRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'InvokeSliceFunctions',
        actions: ['lambda:InvokeFunction'],
        // Unqualified ARNs only: the ASL invokes $LATEST, never a version or alias.
        resources: Object.values(fns).map((fn) => fn.functionArn),
      }),
    );
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      // toJsonString keeps the function ARN tokens as references inside the JSON.
      definitionBody: sfn.DefinitionBody.fromString(stack.toJsonString(definition)),
      stateMachineType: sfn.StateMachineType.STANDARD,
      role: machineRole,
      tracingEnabled: true,
      logs: {
        destination: new logs.LogGroup(this, 'StateMachineLogs', {
          // The vendedlogs prefix keeps CloudWatch's resource-policy size limit out of reach.
          logGroupName: `/aws/vendedlogs/states/reef-${props.installation}-${slice}`,
          retention: props.logRetention ?? LOG_RETENTION,
          // Named, so a retained group would block re-creating the slice; the
          // batch records in DynamoDB outlive it anyway.
          removalPolicy: RemovalPolicy.DESTROY,
        }),
        level: sfn.LogLevel.ALL,
        // State data is pointers, figures and error messages by contract: never rows, never secrets.
        includeExecutionData: true,
      },
    });
    Validations.of(machineRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Granted by the StateMachine construct for X-Ray (PutTraceSegments, PutTelemetryRecords, GetSampling*) and CloudWatch Logs delivery ' +
        '(CreateLogDelivery and friends); none of these actions supports resource-level permissions.',
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

    Validations.of(this.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${flattenForNag(stack.resolve(ownObjects))}]`,
      reason: `Objects under the slice's own prefix ${slicePrefix(slice)} only: every run writes new batch keys there.`,
    });
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Granted by the Lambda construct for X-Ray tracing (PutTraceSegments, PutTelemetryRecords)' +
        (props.vpc ? ' and by this construct for the VPC network interfaces Lambda manages (the EC2 Describe actions)' : '') +
        '; these actions support no resource-level permissions.',
    });
  }

  private placeInVpc(p: SliceVpcPlacement): { vpc: ec2.IVpc; subnets: ec2.ISubnet[]; securityGroups: ec2.ISecurityGroup[]; created?: ec2.SecurityGroup } {
    const vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', { vpcId: p.vpcId, availabilityZones: p.availabilityZones });
    // Construct ids from the AWS ids: stable whatever order the YAML lists them in.
    const subnets = p.subnetIds.map((id) => {
      const subnet = ec2.Subnet.fromSubnetId(this, id, id);
      Validations.of(subnet).acknowledge({
        id: '@aws-cdk/aws-ec2:noSubnetRouteTableId',
        reason: 'Only the subnet id is used, to place the functions; nothing here reads or changes the subnet route table.',
      });
      return subnet;
    });
    let created: ec2.SecurityGroup | undefined;
    let securityGroups: ec2.ISecurityGroup[];
    if (p.securityGroupIds && p.securityGroupIds.length > 0) {
      securityGroups = p.securityGroupIds.map((id) => ec2.SecurityGroup.fromSecurityGroupId(this, id, id));
    } else {
      created = new ec2.SecurityGroup(this, 'SecurityGroup', {
        vpc,
        description: 'Reef collect functions: outbound to the source and AWS endpoints',
        // The source's host and port are in its secret, not known at synth time.
        allowAllOutbound: true,
      });
      securityGroups = [created];
    }
    // With a role of our own, Lambda's construct adds no VPC permissions: these
    // are the actions of AWSLambdaVPCAccessExecutionRole, written out.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'VpcNetworkInterfaces',
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        resources: ['*'],
      }),
    );
    return { vpc, subnets, securityGroups, created };
  }
}
