/**
 * What every slice construct builds the same way: its handlers bundled once
 * with esbuild, its Lambda functions (Node 24, ARM64, one role, a log group
 * each), the state machine that runs them, its VPC placement, and the IAM
 * pieces that name a slice's own resources. Kept here so the collect and
 * organize constructs cannot drift apart.
 */
import { copyFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync, type BuildOptions } from 'esbuild';
import { ArnFormat, AssetHashType, DockerImage, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { AslDefinition } from '../../shared/orchestration/asl.ts';
import type { VpcPlacement } from '../../shared/flow/vpc-placement.ts';
import { MAX_DEPLOYED_CONFIG_BYTES } from '../../shared/runtime/env.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Every slice type keeps its Lambda entry points at `slices/<type>/handlers.ts`. */
export function handlersEntryOf(sliceType: string): string {
  return `${REPO_ROOT}slices/${sliceType}/handlers.ts`;
}

/** Where a slice's functions sit in a VPC; all ids given, nothing looked up. */
export type SliceVpcPlacement = VpcPlacement;

/** Enough to investigate last month's failures; older history lives in the batch records. */
export const LOG_RETENTION = logs.RetentionDays.ONE_MONTH;

/** Every slice's fail task records one failure and an event: little memory, a minute at most. */
export const FAIL_TASK_SIZING = { memoryMb: 256, timeout: Duration.minutes(1) };

/**
 * Slice names go into IAM patterns, where `*` and `?` are wildcards and `#`
 * and `/` separate key parts: any of them would widen the role to other slices.
 */
const SAFE_SLICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

export function checkSliceName(slice: string): string {
  if (!SAFE_SLICE_NAME.test(slice)) {
    throw new Error(`slice name: found ${JSON.stringify(slice)}, expected letters, digits, "-" or "_" (${SAFE_SLICE_NAME.source})`);
  }
  return slice;
}

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
  // CommonJS dependencies call require() for Node built-ins, and find files beside
  // their code through __dirname; an ES module has neither by default.
  banner: {
    js:
      "import { createRequire as __reefCreateRequire } from 'node:module'; import { fileURLToPath as __reefFileURLToPath } from 'node:url'; " +
      "import { dirname as __reefDirname } from 'node:path'; const require = __reefCreateRequire(import.meta.url); " +
      'const __filename = __reefFileURLToPath(import.meta.url); const __dirname = __reefDirname(__filename);',
  },
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
 * Files a bundled package reads at run time from beside its own code (with
 * __dirname), which esbuild cannot inline: copied beside the bundle whenever
 * the package is in it. libpg-query loads its WebAssembly parser this way
 * (the organize slice parses view SQL with it).
 */
const COMPANION_FILES: { package: string; files(): string[] }[] = [
  { package: 'libpg-query', files: () => [join(dirname(fileURLToPath(import.meta.resolve('libpg-query'))), 'libpg-query.wasm')] },
];

/** Bundles `entry` into `outputDir/index.mjs` (with its source map and companion files). */
export function bundleHandlersInto(entry: string, outputDir: string): void {
  const result = buildSync({ ...HANDLER_BUNDLE_OPTIONS, metafile: true, entryPoints: [entry], outfile: join(outputDir, 'index.mjs') });
  const inputs = Object.keys(result.metafile.inputs);
  for (const companion of COMPANION_FILES) {
    if (!inputs.some((i) => i.includes(`node_modules/${companion.package}/`))) continue;
    for (const file of companion.files()) copyFileSync(file, join(outputDir, basename(file)));
  }
}

/**
 * One esbuild bundle of the slice's handlers module, shared by its functions
 * (each picks its export by handler name), so a slice costs one bundle, not
 * one per function. Bundled in-process with esbuild; no Docker. When the
 * stack is excluded from bundling (context `aws:cdk:bundling-stacks`), the
 * entry need not exist.
 */
export function bundledHandlers(entry: string): lambda.Code {
  return lambda.Code.fromAsset(dirname(entry), {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Required by the type; never pulled, because local bundling either succeeds or throws.
      image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:24-slim'),
      local: {
        tryBundle(outputDir: string): boolean {
          bundleHandlersInto(entry, outputDir);
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
export function flattenForNag(value: unknown): string {
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

/** Acknowledges the nag finding on a wildcard resource of a role or policy, naming that exact resource. */
export function acknowledgeWildcard(grantee: Construct, resource: string, reason: string): void {
  Validations.of(grantee).acknowledge({ id: `AwsSolutions-IAM5[Resource::${flattenForNag(Stack.of(grantee).resolve(resource))}]`, reason });
}

/** The ARN pattern of a secret named `name`: Secrets Manager appends six random characters to the name. */
export function secretArnOfName(scope: Construct, name: string): string {
  return Stack.of(scope).formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: `${name}-??????`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
}

export interface VpcFunctionsPlacement {
  vpc: ec2.IVpc;
  subnets: ec2.ISubnet[];
  securityGroups: ec2.ISecurityGroup[];
  /** The security group made here, when none was given. */
  created?: ec2.SecurityGroup;
}

/**
 * The functions' subnets and security groups, and the network-interface
 * actions Lambda needs on a role of our own (the construct adds none then).
 */
export function placeFunctionsInVpc(scope: Construct, role: iam.Role, p: SliceVpcPlacement, securityGroupDescription: string): VpcFunctionsPlacement {
  const vpc = ec2.Vpc.fromVpcAttributes(scope, 'Vpc', { vpcId: p.vpcId, availabilityZones: p.availabilityZones });
  // Construct ids from the AWS ids: stable whatever order the YAML lists them in.
  const subnets = p.subnetIds.map((id) => {
    const subnet = ec2.Subnet.fromSubnetId(scope, id, id);
    Validations.of(subnet).acknowledge({
      id: '@aws-cdk/aws-ec2:noSubnetRouteTableId',
      reason: 'Only the subnet id is used, to place the functions; nothing here reads or changes the subnet route table.',
    });
    return subnet;
  });
  let created: ec2.SecurityGroup | undefined;
  let securityGroups: ec2.ISecurityGroup[];
  if (p.securityGroupIds && p.securityGroupIds.length > 0) {
    securityGroups = p.securityGroupIds.map((id) => ec2.SecurityGroup.fromSecurityGroupId(scope, id, id));
  } else {
    created = new ec2.SecurityGroup(scope, 'SecurityGroup', {
      vpc,
      description: securityGroupDescription,
      // The database's host and port are in its secret, not known at synth time.
      allowAllOutbound: true,
    });
    securityGroups = [created];
  }
  // These are the actions of AWSLambdaVPCAccessExecutionRole, written out.
  role.addToPrincipalPolicy(
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

/**
 * A slice's config as its functions get it (REEF_SLICE_CONFIG): JSON, within
 * what the Lambda environment holds. `hint` says how to make it smaller.
 */
export function deployedConfigText(slice: string, config: unknown, hint: string): string {
  const text = JSON.stringify(config);
  if (Buffer.byteLength(text) > MAX_DEPLOYED_CONFIG_BYTES) {
    throw new Error(`slice ${slice}: its config is ${Buffer.byteLength(text)} bytes as JSON; expected at most ${MAX_DEPLOYED_CONFIG_BYTES} to fit the Lambda environment (${hint})`);
  }
  return text;
}

/** A security group of the warehouse that a slice's functions' own groups should be let into. */
export interface WarehouseIngress {
  securityGroupId: string;
  port: number;
}

/** Opens the warehouse's security group to each of the functions' groups, on the warehouse's port only. */
export function openWarehouseTo(scope: Construct, placement: VpcFunctionsPlacement, ingress: WarehouseIngress, description: string): void {
  for (const [i, group] of placement.securityGroups.entries()) {
    new ec2.CfnSecurityGroupIngress(scope, `WarehouseIngress${i}`, {
      groupId: ingress.securityGroupId,
      sourceSecurityGroupId: group.securityGroupId,
      ipProtocol: 'tcp',
      fromPort: ingress.port,
      toPort: ingress.port,
      description,
    });
  }
}

/**
 * The VPC placement a slice's config gives under `connection.vpc` (for a type
 * that declares the `vpc` capability), checked field by field.
 */
export function vpcPlacementOfConfig(spec: { file: string; config: unknown }): SliceVpcPlacement | undefined {
  const vpc = (spec.config as { connection?: { vpc?: unknown } } | null)?.connection?.vpc;
  if (vpc === undefined) return undefined;
  const v = vpc as Partial<SliceVpcPlacement>;
  const strings = (x: unknown): x is string[] => Array.isArray(x) && x.every((s) => typeof s === 'string');
  if (typeof v.vpcId !== 'string' || !strings(v.subnetIds) || !strings(v.availabilityZones) || (v.securityGroupIds !== undefined && !strings(v.securityGroupIds))) {
    throw new Error(`${spec.file}: connection.vpc: expected { vpcId, subnetIds[], availabilityZones[], securityGroupIds?[] }`);
  }
  return { vpcId: v.vpcId, subnetIds: v.subnetIds, availabilityZones: v.availabilityZones, securityGroupIds: v.securityGroupIds };
}

/** The one `Resource::*` finding every slice role has: actions that take no resource, granted by CDK (and for a VPC, by placeFunctionsInVpc). */
export function acknowledgeUnscopedActions(role: iam.Role, inVpc: boolean): void {
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'Granted by the Lambda construct for X-Ray tracing (PutTraceSegments, PutTelemetryRecords)' +
      (inVpc ? ' and by this construct for the VPC network interfaces Lambda manages (the EC2 Describe actions)' : '') +
      '; these actions support no resource-level permissions.',
  });
}

export interface SliceFunctionsProps<T extends string> {
  /** Task → Task state name; each function is named after its state and runs export `index.<task>`. */
  tasks: Record<T, string>;
  code: lambda.Code;
  role: iam.Role;
  sizing: Record<T, { memoryMb: number; timeout: Duration }>;
  environment(task: T): Record<string, string>;
  description(state: string): string;
  placement?: VpcFunctionsPlacement;
  logRetention?: logs.RetentionDays;
  /** Why the functions need no dead-letter queue (nag's Serverless-LambdaDLQ). */
  noDlqReason: string;
}

/** One function per task, each with its own retained log group, all with one role; the role may write to those groups only. */
export function sliceFunctions<T extends string>(scope: Construct, props: SliceFunctionsProps<T>): Record<T, lambda.Function> {
  const logGroups: logs.LogGroup[] = [];
  const fns = {} as Record<T, lambda.Function>;
  for (const task of Object.keys(props.tasks) as T[]) {
    const state = props.tasks[task];
    const logGroup = new logs.LogGroup(scope, `${state}Logs`, {
      retention: props.logRetention ?? LOG_RETENTION,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    logGroups.push(logGroup);
    const p = props.placement;
    fns[task] = new lambda.Function(scope, state, {
      description: props.description(state),
      code: props.code,
      handler: `index.${task}`,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.sizing[task].memoryMb,
      timeout: props.sizing[task].timeout,
      role: props.role,
      environment: props.environment(task),
      logGroup,
      tracing: lambda.Tracing.ACTIVE,
      ...(p ? { vpc: p.vpc, vpcSubnets: { subnets: p.subnets }, securityGroups: p.securityGroups } : {}),
    });
    Validations.of(fns[task]).acknowledge({ id: 'Serverless-LambdaDLQ', reason: props.noDlqReason });
  }
  props.role.addToPrincipalPolicy(
    new iam.PolicyStatement({ sid: 'WriteOwnLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: logGroups.map((g) => g.logGroupArn) }),
  );
  return fns;
}

export interface SliceStateMachineProps {
  /** The ASL, with the functions' ARN tokens in it. */
  definition: AslDefinition;
  /** The functions it may invoke. */
  functions: lambda.IFunction[];
  /** `reef-<installation>-<slice>`: the name of its log group. */
  logName: string;
  roleDescription: string;
  logRetention?: logs.RetentionDays;
}

/** The state machine that runs a slice's functions: its own role (invoke those functions only), X-Ray, every event logged. */
export function sliceStateMachine(scope: Construct, props: SliceStateMachineProps): sfn.StateMachine {
  const machineRole = new iam.Role(scope, 'StateMachineRole', {
    assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
    description: props.roleDescription,
  });
  machineRole.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'InvokeSliceFunctions',
      actions: ['lambda:InvokeFunction'],
      // Unqualified ARNs only: the ASL invokes $LATEST, never a version or alias.
      resources: props.functions.map((fn) => fn.functionArn),
    }),
  );
  const machine = new sfn.StateMachine(scope, 'StateMachine', {
    // Named like its log group, `reef-<installation>-<slice>`: the vendor's upgrade role names state machines by that prefix (vendor-roles.ts).
    stateMachineName: props.logName,
    // toJsonString keeps the function ARN tokens as references inside the JSON.
    definitionBody: sfn.DefinitionBody.fromString(Stack.of(scope).toJsonString(props.definition)),
    stateMachineType: sfn.StateMachineType.STANDARD,
    role: machineRole,
    tracingEnabled: true,
    logs: {
      destination: new logs.LogGroup(scope, 'StateMachineLogs', {
        // The vendedlogs prefix keeps CloudWatch's resource-policy size limit out of reach.
        logGroupName: `/aws/vendedlogs/states/${props.logName}`,
        retention: props.logRetention ?? LOG_RETENTION,
        // Named, so a retained group would block re-creating the slice; the
        // records in DynamoDB outlive it anyway.
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
  return machine;
}
