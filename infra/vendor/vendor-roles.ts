/**
 * The vendor's roles (DESIGN.md, "Security promises"; docs/security.md):
 * monitoring, administration and upgrade, whenever reef.yaml has `vendor`; the
 * upgrade role acts only before the core stack's window parameter
 * (shared/vendor/access.ts). The roles live in the core stack under
 * fixed names (shared/vendor/access.ts); what they may do with one slice's
 * state machine, functions, logs and config item is a policy in that slice's
 * stack (`grantSlice`), naming its resources exactly. The core cannot name
 * them: slice stacks depend on the core, not the other way round.
 *
 * None of the roles may read lake objects, use the lake key, read a secret or
 * query a warehouse: no Allow grants it (infra/vendor-roles.test.ts simulates
 * every role on the synthesized templates), and each role also carries an
 * explicit Deny of exactly that, so a broad policy attached later by hand
 * (say AWS's ReadOnlyAccess) cannot open it either.
 */
import { ArnFormat, CfnParameter, Fn, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { keys } from '../../shared/metadata/keys.ts';
import type { VendorRole } from '../../shared/metadata/types.ts';
import { initialUpgradeUntil, UPGRADE_UNTIL_PATTERN, UPGRADE_WINDOW_PARAMETER, vendorRoleName, type VendorSpec } from '../../shared/vendor/access.ts';
import { acknowledgeWildcard } from '../constructs/slice-functions.ts';

/** What the data guard denies on every resource: reading secrets and querying any warehouse. */
export const FORBIDDEN_EVERYWHERE = [
  'secretsmanager:GetSecretValue',
  'redshift-data:*',
  'redshift:GetClusterCredentials',
  'redshift:GetClusterCredentialsWithIAM',
  'redshift-serverless:GetCredentials',
  'athena:*',
];
/** What the data guard denies on the lake's objects: every way of reading their content. */
export const FORBIDDEN_ON_LAKE_OBJECTS = ['s3:GetObject*', 's3:SelectObjectContent', 's3:RestoreObject'];
/** What the data guard denies on the lake key: every use that yields plaintext or a data key. */
export const FORBIDDEN_ON_LAKE_KEY = ['kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:CreateGrant'];

/**
 * The config record's attributes (shared/metadata/configs.ts): administration
 * may write these and no others, so a batch record or cursor in the same
 * partition cannot be rewritten into something else.
 */
export const CONFIG_ITEM_ATTRIBUTES = ['pk', 'sk', 'slice', 'type', 'configJson', 'version', 'updatedAt'];

/**
 * Every action the monitoring role's policies use, here and in each slice
 * stack (grantSlice). Its permissions boundary allows these and nothing else:
 * the slice stacks hold policies on this role, and the upgrade role may
 * update the slice stacks, so without the boundary an upgrade could widen an
 * always-on role beyond its window.
 */
const MONITORING_ACTIONS = {
  metadata: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:DescribeTable'],
  stacks: ['cloudformation:DescribeStacks', 'cloudformation:DescribeStackEvents', 'cloudformation:DescribeStackResources', 'cloudformation:ListStackResources', 'cloudformation:GetTemplate'],
  listAndMetrics: [
    'cloudformation:ListStacks',
    'states:ListStateMachines',
    'logs:DescribeLogGroups',
    'logs:GetQueryResults',
    'logs:StopQuery',
    'cloudwatch:GetMetricData',
    'cloudwatch:GetMetricStatistics',
    'cloudwatch:ListMetrics',
    'cloudwatch:DescribeAlarms',
  ],
  machines: ['states:DescribeStateMachine', 'states:ListExecutions'],
  executions: ['states:DescribeExecution', 'states:GetExecutionHistory'],
  functions: ['lambda:GetFunctionConfiguration'],
  logs: ['logs:DescribeLogStreams', 'logs:GetLogEvents', 'logs:FilterLogEvents', 'logs:StartQuery'],
};
/** Every action the administration role's policies use; its boundary, like monitoring's. */
const ADMINISTRATION_ACTIONS = { start: ['states:StartExecution'], redrive: ['states:RedriveExecution'], config: ['dynamodb:UpdateItem'] };

/**
 * What CloudFormation does to a slice stack's resources on the upgrade role's
 * behalf. CloudFormation acts with the caller's permissions, so without these
 * an upgrade that changes a function could not be deployed; each is allowed
 * only through CloudFormation (aws:CalledViaFirst), never called directly.
 */
const SLICE_RESOURCE_ACTIONS = {
  functions: [
    'lambda:CreateFunction',
    'lambda:DeleteFunction',
    'lambda:GetFunction',
    'lambda:GetFunctionConfiguration',
    'lambda:UpdateFunctionCode',
    'lambda:UpdateFunctionConfiguration',
    'lambda:ListTags',
    'lambda:TagResource',
    'lambda:UntagResource',
    'lambda:PutFunctionConcurrency',
    'lambda:DeleteFunctionConcurrency',
    'lambda:GetRuntimeManagementConfig',
    'lambda:PutRuntimeManagementConfig',
    'lambda:GetFunctionRecursionConfig',
    'lambda:PutFunctionRecursionConfig',
    'lambda:GetFunctionCodeSigningConfig',
  ],
  logGroups: ['logs:CreateLogGroup', 'logs:DeleteLogGroup', 'logs:PutRetentionPolicy', 'logs:DeleteRetentionPolicy', 'logs:TagResource', 'logs:UntagResource', 'logs:ListTagsForResource', 'logs:TagLogGroup', 'logs:UntagLogGroup', 'logs:ListTagsLogGroup'],
  stateMachines: ['states:CreateStateMachine', 'states:UpdateStateMachine', 'states:DeleteStateMachine', 'states:DescribeStateMachine', 'states:TagResource', 'states:UntagResource', 'states:ListTagsForResource'],
  schedules: ['scheduler:CreateSchedule', 'scheduler:UpdateSchedule', 'scheduler:DeleteSchedule', 'scheduler:GetSchedule'],
  rules: ['events:PutRule', 'events:DeleteRule', 'events:DescribeRule', 'events:EnableRule', 'events:DisableRule', 'events:PutTargets', 'events:RemoveTargets', 'events:ListTargetsByRule', 'events:TagResource', 'events:UntagResource', 'events:ListTagsForResource'],
  roles: [
    'iam:CreateRole',
    'iam:DeleteRole',
    'iam:GetRole',
    'iam:UpdateRole',
    'iam:UpdateRoleDescription',
    'iam:UpdateAssumeRolePolicy',
    'iam:TagRole',
    'iam:UntagRole',
    'iam:ListRoleTags',
    'iam:PutRolePolicy',
    'iam:DeleteRolePolicy',
    'iam:GetRolePolicy',
    'iam:ListRolePolicies',
    'iam:ListAttachedRolePolicies',
  ],
  /** The vendor grants each slice stack puts on the monitoring and administration roles; their boundaries cap what a grant can give. */
  vendorGrants: ['iam:PutRolePolicy', 'iam:DeleteRolePolicy', 'iam:GetRolePolicy'],
  /** A state machine's log delivery and a function's network settings: no resource-level permissions. */
  unscoped: [
    'logs:CreateLogDelivery',
    'logs:GetLogDelivery',
    'logs:UpdateLogDelivery',
    'logs:DeleteLogDelivery',
    'logs:ListLogDeliveries',
    'logs:PutResourcePolicy',
    'logs:DescribeResourcePolicies',
    'logs:DescribeLogGroups',
    'ec2:DescribeSecurityGroups',
    'ec2:DescribeSubnets',
    'ec2:DescribeVpcs',
  ],
  /** A release's templates and function code, from the vendor's own buckets. */
  releaseArtifacts: ['s3:GetObject', 's3:GetObjectVersion'],
};

/** Only as CloudFormation's first hop: the role itself cannot call these directly, outside a stack update. */
export const THROUGH_CLOUDFORMATION = { StringEquals: { 'aws:CalledViaFirst': 'cloudformation.amazonaws.com' } };


export interface VendorRolesProps {
  installation: string;
  vendor: VendorSpec;
  /** The core stack's name: monitoring describes it; the upgrade role may not change it. */
  coreStackName: string;
  /**
   * The slice stacks' names, with `*` where a slice name goes (`acme-collect-*`):
   * the stacks the upgrade role may create and update, and, with `-*`, the
   * names CloudFormation gives their roles.
   */
  sliceStackNames: readonly string[];
  table: dynamodb.ITable;
  /** The export a slice stack imports the table's name by (the core's `table-name`). */
  tableExportName: string;
  lakeBucket: s3.IBucket;
  lakeKey: kms.IKey;
}

export class VendorRoles extends Construct {
  readonly monitoring: iam.Role;
  readonly administration: iam.Role;
  /** Acts only while the window parameter is in the future. */
  readonly upgrade: iam.Role;
  /** The end of the upgrade window (UPGRADE_WINDOW_PARAMETER). */
  readonly upgradeUntil: CfnParameter;
  private readonly installation: string;
  private readonly tableExportName: string;

  constructor(scope: Construct, id: string, props: VendorRolesProps) {
    super(scope, id);
    const { installation, vendor } = props;
    this.installation = installation;
    this.tableExportName = props.tableExportName;
    const stack = Stack.of(this);
    const stackArn = (name: string) => stack.formatArn({ service: 'cloudformation', resource: 'stack', resourceName: `${name}/*` });
    const stackArns = [props.coreStackName, ...props.sliceStackNames].map(stackArn);
    const sliceStackArns = props.sliceStackNames.map(stackArn);
    const reefRoleArns = props.sliceStackNames.map((name) => stack.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: `${name}-*` }));

    this.monitoring = this.role('monitoring', vendor, 'reads status: stacks, state machines, executions, functions, logs, metrics, metadata (no data)', undefined, Object.values(MONITORING_ACTIONS).flat());
    this.monitoring.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadMetadata',
        // Scan too: the metadata holds config, state, batch records, schemas and events, never rows of data,
        // and `reef status` lists slice configs with a scan.
        actions: MONITORING_ACTIONS.metadata,
        resources: [props.table.tableArn],
      }),
    );
    this.monitoring.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DescribeReefStacks',
        actions: MONITORING_ACTIONS.stacks,
        resources: stackArns,
      }),
    );
    this.monitoring.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListAndMetrics',
        // Names and numbers only. Not lambda:ListFunctions: it returns the environment of every function in the account.
        actions: MONITORING_ACTIONS.listAndMetrics,
        resources: ['*'],
      }),
    );

    this.administration = this.role('administration', vendor, 'starts and redrives executions, updates slice config items (no data)', undefined, Object.values(ADMINISTRATION_ACTIONS).flat());

    // A parameter, not a literal: the customer opens and closes the window with one parameter update, no synth.
    this.upgradeUntil = new CfnParameter(stack, UPGRADE_WINDOW_PARAMETER, {
      type: 'String',
      default: initialUpgradeUntil(vendor),
      allowedPattern: UPGRADE_UNTIL_PATTERN,
      description: "End of the vendor's upgrade window (UTC, e.g. 2026-07-01T18:00:00Z); a past time closes it",
    });
    {
      const inWindow = { DateLessThan: { 'aws:CurrentTime': this.upgradeUntil.valueAsString } };
      this.upgrade = this.role('upgrade', vendor, `creates and updates Reef's slice stacks until the ${UPGRADE_WINDOW_PARAMETER} parameter`, inWindow);
      this.upgrade.addToPolicy(
        new iam.PolicyStatement({
          sid: 'ReefStacksInWindow',
          actions: [
            'cloudformation:CreateStack',
            'cloudformation:UpdateStack',
            'cloudformation:CreateChangeSet',
            'cloudformation:DescribeChangeSet',
            'cloudformation:ExecuteChangeSet',
            'cloudformation:DeleteChangeSet',
            'cloudformation:DescribeStacks',
            'cloudformation:DescribeStackEvents',
            'cloudformation:GetTemplate',
            'cloudformation:GetTemplateSummary',
          ],
          // Not the core stack: it holds these roles and the window parameter, which the vendor must not be able to widen.
          resources: sliceStackArns,
          conditions: inWindow,
        }),
      );
      this.upgrade.addToPolicy(
        new iam.PolicyStatement({
          sid: 'PassReefRolesInWindow',
          actions: ['iam:PassRole'],
          // CloudFormation-made role names start with their stack's name.
          resources: reefRoleArns,
          // Only to the services Reef's roles are for: never to EC2 or another service where the vendor could run code of its own.
          conditions: { ...inWindow, StringEquals: { 'iam:PassedToService': ['lambda.amazonaws.com', 'states.amazonaws.com', 'scheduler.amazonaws.com', 'events.amazonaws.com'] } },
        }),
      );
      this.allowSliceResourceChanges(props, inWindow);
      for (const arn of sliceStackArns) acknowledgeWildcard(this.upgrade, arn, "Reef's own slice stacks only, named after the installation; the slice part is a wildcard so an upgrade can add a slice.");
      for (const arn of reefRoleArns) {
        acknowledgeWildcard(this.upgrade, arn, "The roles CloudFormation names after Reef's slice stacks, passed only to Lambda, Step Functions, Scheduler and EventBridge, only during the upgrade window.");
      }
    }

    for (const role of this.roles()) {
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'NeverData',
          effect: iam.Effect.DENY,
          actions: FORBIDDEN_EVERYWHERE,
          resources: ['*'],
        }),
      );
      role.addToPolicy(new iam.PolicyStatement({ sid: 'NeverLakeObjects', effect: iam.Effect.DENY, actions: FORBIDDEN_ON_LAKE_OBJECTS, resources: [props.lakeBucket.arnForObjects('*')] }));
      role.addToPolicy(new iam.PolicyStatement({ sid: 'NeverLakeKey', effect: iam.Effect.DENY, actions: FORBIDDEN_ON_LAKE_KEY, resources: [props.lakeKey.keyArn] }));
    }
    for (const arn of stackArns) acknowledgeWildcard(this.monitoring, arn, "Reef's own stacks only, named after the installation; the slice part is a wildcard so a slice added later is covered.");
    acknowledgeWildcard(
      this.monitoring,
      '*',
      'Listing stacks, state machines and log groups, reading query results and CloudWatch metrics and alarms: these actions support no resource-level permissions; they return names and figures, not data.',
    );
  }

  /**
   * What CloudFormation needs to change a slice stack's resources during an
   * upgrade, on resources named after the slice stacks (CloudFormation names
   * functions, roles, log groups, rules and schedules `<stack>-<id>-<suffix>`;
   * state machines and their log groups are named `reef-<installation>-<slice>`
   * in slice-functions.ts). Only through CloudFormation, only in the window.
   */
  private allowSliceResourceChanges(props: VendorRolesProps, inWindow: Record<string, Record<string, unknown>>): void {
    const stack = Stack.of(this);
    const conditions = { ...inWindow, ...THROUGH_CLOUDFORMATION };
    const named = (service: string, resource: string, pattern: string, arnFormat = ArnFormat.SLASH_RESOURCE_NAME) => stack.formatArn({ service, resource, resourceName: pattern, arnFormat });
    const patterns = props.sliceStackNames;
    const prefix = `reef-${this.installation}-*`;
    const statements: Array<[string, string[], string[]]> = [
      ['SliceFunctionsThroughCloudFormation', SLICE_RESOURCE_ACTIONS.functions, patterns.map((p) => named('lambda', 'function', p, ArnFormat.COLON_RESOURCE_NAME))],
      [
        'SliceLogGroupsThroughCloudFormation',
        SLICE_RESOURCE_ACTIONS.logGroups,
        [...patterns, `/aws/vendedlogs/states/${prefix}`].flatMap((p) => [named('logs', 'log-group', p, ArnFormat.COLON_RESOURCE_NAME), named('logs', 'log-group', `${p}:*`, ArnFormat.COLON_RESOURCE_NAME)]),
      ],
      ['SliceStateMachinesThroughCloudFormation', SLICE_RESOURCE_ACTIONS.stateMachines, [named('states', 'stateMachine', prefix, ArnFormat.COLON_RESOURCE_NAME)]],
      ['SliceSchedulesThroughCloudFormation', SLICE_RESOURCE_ACTIONS.schedules, patterns.map((p) => named('scheduler', 'schedule', `*/${p}`))],
      ['SliceRulesThroughCloudFormation', SLICE_RESOURCE_ACTIONS.rules, patterns.flatMap((p) => [named('events', 'rule', p), named('events', 'rule', `*/${p}`)])],
      ['SliceRolesThroughCloudFormation', SLICE_RESOURCE_ACTIONS.roles, patterns.map((p) => stack.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: `${p}-*` }))],
      ['VendorGrantsThroughCloudFormation', SLICE_RESOURCE_ACTIONS.vendorGrants, [this.monitoring.roleArn, this.administration.roleArn]],
      ['UnscopedThroughCloudFormation', SLICE_RESOURCE_ACTIONS.unscoped, ['*']],
    ];
    for (const [sid, actions, resources] of statements) {
      this.upgrade.addToPolicy(new iam.PolicyStatement({ sid, actions, resources, conditions }));
      for (const r of resources) {
        acknowledgeWildcard(this.upgrade, r, `Resources of Reef's own slice stacks, named after them (${sid}); changed only by CloudFormation during an upgrade, only inside the window.`);
      }
    }
    const releaseObjects = 'arn:aws:s3:::*/*';
    this.upgrade.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReleaseArtifactsThroughCloudFormation',
        actions: SLICE_RESOURCE_ACTIONS.releaseArtifacts,
        resources: [releaseObjects],
        // Objects of buckets the vendor's account owns, nothing of this account's (the lake is also denied outright).
        conditions: { ...conditions, StringEquals: { ...THROUGH_CLOUDFORMATION.StringEquals, 's3:ResourceAccount': props.vendor.account } },
      }),
    );
    acknowledgeWildcard(this.upgrade, releaseObjects, "A release's templates and code in the vendor's own buckets (s3:ResourceAccount is the vendor's account), read by CloudFormation and Lambda during an upgrade only.");
  }

  roles(): iam.Role[] {
    return [this.monitoring, this.administration, this.upgrade];
  }

  /** `boundary`: the only actions the role can ever use, whatever policies are attached to it later. */
  private role(kind: VendorRole, vendor: VendorSpec, what: string, inWindow?: Record<string, Record<string, unknown>>, boundary?: string[]): iam.Role {
    const id = `${kind[0]!.toUpperCase()}${kind.slice(1)}`;
    const permissionsBoundary =
      boundary &&
      new iam.ManagedPolicy(this, `${id}Boundary`, {
        description: `Reef ${this.installation}: the most the vendor's ${kind} role can ever do`,
        statements: [new iam.PolicyStatement({ sid: 'AtMost', actions: boundary, resources: ['*'] })],
      });
    if (permissionsBoundary) {
      Validations.of(permissionsBoundary).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: "A permissions boundary caps actions, not resources: the role's own policies name its resources; this lists the only actions they may ever grant.",
      });
    }
    return new iam.Role(this, id, {
      roleName: vendorRoleName(this.installation, kind),
      description: `Reef ${this.installation}: the vendor's ${kind} role, ${what}`,
      permissionsBoundary,
      // The vendor's account, and only with the agreed external id (the confused-deputy guard).
      assumedBy: new iam.AccountPrincipal(vendor.account).withConditions({ StringEquals: { 'sts:ExternalId': vendor.externalId }, ...(inWindow ?? {}) }),
    });
  }

  /**
   * The vendor's grants on one slice, as a policy in that slice's stack:
   * monitoring describes its state machines, executions, functions and reads
   * its log groups; administration starts and redrives its executions and
   * updates its config item. Every resource is found in the stack, so a slice
   * construct needs to know nothing of the vendor.
   */
  grantSlice(sliceStack: Stack, slice: string): void {
    const machines = sliceStack.node.findAll().filter((c): c is sfn.StateMachine => c instanceof sfn.StateMachine);
    const functions = sliceStack.node.findAll().filter((c): c is lambda.Function => c instanceof lambda.Function);
    const logGroups = sliceStack.node.findAll().filter((c): c is logs.LogGroup => c instanceof logs.LogGroup);
    const executionsOf = (m: sfn.StateMachine) =>
      sliceStack.formatArn({ service: 'states', resource: 'execution', resourceName: `${m.stateMachineName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const imported = (kind: VendorRole) => iam.Role.fromRoleName(sliceStack, `Vendor${kind}Role`, vendorRoleName(this.installation, kind));

    const monitoring = new iam.Policy(sliceStack, 'VendorMonitoring', {
      roles: [imported('monitoring')],
      statements: [
        new iam.PolicyStatement({ sid: 'DescribeMachines', actions: MONITORING_ACTIONS.machines, resources: machines.map((m) => m.stateMachineArn) }),
        new iam.PolicyStatement({ sid: 'DescribeExecutions', actions: MONITORING_ACTIONS.executions, resources: machines.map(executionsOf) }),
        // GetFunctionConfiguration, not GetFunction (which hands out a code download link): settings are enough to diagnose.
        new iam.PolicyStatement({ sid: 'DescribeFunctions', actions: MONITORING_ACTIONS.functions, resources: functions.map((f) => f.functionArn) }),
        new iam.PolicyStatement({
          sid: 'ReadLogs',
          actions: MONITORING_ACTIONS.logs,
          resources: logGroups.map((g) => g.logGroupArn),
        }),
      ],
    });
    const tableArn = sliceStack.formatArn({ service: 'dynamodb', resource: 'table', resourceName: Fn.importValue(this.tableExportName) });
    const administration = new iam.Policy(sliceStack, 'VendorAdministration', {
      roles: [imported('administration')],
      statements: [
        new iam.PolicyStatement({ sid: 'StartExecutions', actions: ADMINISTRATION_ACTIONS.start, resources: machines.map((m) => m.stateMachineArn) }),
        new iam.PolicyStatement({ sid: 'RedriveExecutions', actions: ADMINISTRATION_ACTIONS.redrive, resources: machines.map(executionsOf) }),
        new iam.PolicyStatement({
          sid: 'UpdateConfigItem',
          actions: ADMINISTRATION_ACTIONS.config,
          resources: [tableArn],
          conditions: {
            // The config item's partition exactly (not `SLICE#<slice>#…`, which holds schemas and events)...
            'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [keys.sliceConfig(slice).pk], 'dynamodb:Attributes': CONFIG_ITEM_ATTRIBUTES },
          },
        }),
      ],
    });
    for (const m of machines) {
      const reason = `Executions of the slice's own state machine only: their names are chosen per run.`;
      acknowledgeWildcard(monitoring, executionsOf(m), reason);
      acknowledgeWildcard(administration, executionsOf(m), reason);
    }
  }
}
