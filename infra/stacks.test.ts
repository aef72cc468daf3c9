/**
 * Proves the installation's CDK stacks on real synthesized templates, with
 * real cdk-nag: the core stack's data protections, each slice role's
 * confinement to its own config, prefix and secret (the security promise of
 * DESIGN.md), that the deployed state machine is exactly the pure ASL builder's
 * output, the schedules, and that nag leaves nothing unacknowledged.
 *
 * Bundling is off (context `aws:cdk:bundling-stacks` = []): these tests are
 * about templates, and the handlers are bundled and tested on their own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Flow } from '../shared/flow/types.ts';
import { buildCollectStateMachine } from '../shared/orchestration/collect-machine.ts';
import { COLLECT_TASKS, type CollectTask } from '../shared/orchestration/contracts.ts';
import { SLICE_ENV } from '../shared/runtime/env.ts';
import { buildInstallation, coreStackId, sliceStackId } from './installation.ts';
import { acknowledgements, allowsPartition, flat, iamLike, list, logicalId, nagFindings, roleStatements, synth, type Statement } from './template-support.ts';
import type { CollectSliceStack } from './collect-slice-stack.ts';
import { CollectSlice } from './constructs/collect-slice.ts';


// `shop-eu` starts with `shop`: the isolation assertions must hold for names
// that are prefixes of each other, where a careless pattern would leak.
const FLOW: Flow = {
  dir: '/nowhere/acme-flow',
  installation: { name: 'acme', local: { databases: [] } },
  sources: [
    {
      slice: 'shop',
      type: 'collect/postgres',
      file: 'sources/shop.yaml',
      config: {
        type: 'collect/postgres',
        schedule: 'every 15 minutes',
        connection: { secret: 'shop-source', maxConnections: 3 },
        loadunits: [{ table: 'public.orders', mode: 'incremental', cursor: 'updated_at' }],
      },
    },
    {
      slice: 'shop-eu',
      type: 'collect/postgres',
      file: 'sources/shop-eu.yaml',
      config: {
        type: 'collect/postgres',
        schedule: '0 2 * * 1-5',
        connection: {
          secret: 'eu/shop-db',
          vpc: {
            vpcId: 'vpc-0123456789abcdef0',
            subnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
            availabilityZones: ['eu-west-1a', 'eu-west-1b'],
          },
        },
        loadunits: [{ table: 'public.orders', mode: 'snapshot' }],
      },
    },
  ],
  publications: [],
  views: [],
};

const installed = (() => {
  let inst: ReturnType<typeof buildInstallation> | undefined;
  const s = synth((app) => {
    inst = buildInstallation(app, FLOW);
    return [inst.core, ...inst.slices.values()];
  });
  return { ...s, inst: inst! };
})();

const CORE = coreStackId('acme');
const SLICE_STACK = { shop: sliceStackId('acme', 'collect', 'shop'), 'shop-eu': sliceStackId('acme', 'collect', 'shop-eu') } as const;
type SliceName = keyof typeof SLICE_STACK;
const SLICES = Object.keys(SLICE_STACK) as SliceName[];

/** The Allow statements of every policy attached to the slice functions' role. */
function sliceRoleStatements(slice: SliceName): Statement[] {
  const stack = installed.inst.slices.get(slice) as CollectSliceStack;
  return roleStatements(template(SLICE_STACK[slice]), logicalId(stack.collect.role));
}

function template(stackName: string): Template {
  const t = installed.templates.get(stackName);
  assert.ok(t, `no template for ${stackName}; synth failed: ${String(installed.synthError)}`);
  return t;
}

// ---------------------------------------------------------------------------

test('synth succeeds offline, slice stacks depend on the core stack', () => {
  assert.equal(installed.synthError, undefined, String(installed.synthError));
  assert.deepEqual([...installed.templates.keys()].sort(), [CORE, ...Object.values(SLICE_STACK)].sort());
  for (const slice of SLICES) {
    assert.deepEqual(installed.stacks.get(SLICE_STACK[slice])!.dependencies.map((d) => d.stackName), [CORE]);
  }
  for (const stack of installed.stacks.values()) {
    const warnings = [...Annotations.fromStack(stack).findWarning('*', Match.anyValue()), ...Annotations.fromStack(stack).findError('*', Match.anyValue())];
    assert.deepEqual(warnings.map((w) => `${w.id}: ${JSON.stringify(w.entry.data)}`), [], stack.stackName);
  }
});

test('core: the lake bucket is KMS-encrypted with the customer key, versioned, TLS-only, private, logged and retained', () => {
  const t = template(CORE);
  const core = installed.inst.core;
  const keyId = logicalId(core.lakeKey);
  t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true, Description: Match.stringLikeRegexp('lake') });
  t.hasResource('AWS::KMS::Key', { Properties: { Description: Match.stringLikeRegexp('lake') }, DeletionPolicy: 'Retain' });

  const bucketId = logicalId(core.lakeBucket);
  const bucket = t.toJSON().Resources[bucketId];
  assert.equal(bucket.DeletionPolicy, 'Retain');
  assert.deepEqual(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration, [
    { BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [keyId, 'Arn'] } } },
  ]);
  assert.deepEqual(bucket.Properties.VersioningConfiguration, { Status: 'Enabled' });
  assert.deepEqual(bucket.Properties.PublicAccessBlockConfiguration, {
    BlockPublicAcls: true,
    BlockPublicPolicy: true,
    IgnorePublicAcls: true,
    RestrictPublicBuckets: true,
  });
  assert.deepEqual(bucket.Properties.LoggingConfiguration.DestinationBucketName, { Ref: logicalId(core.accessLogsBucket) });

  t.hasResourceProperties('AWS::S3::BucketPolicy', {
    Bucket: { Ref: bucketId },
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.objectLike({ Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      ]),
    },
  });
});

test('core: the metadata table has pk/sk strings, on-demand billing, point-in-time recovery and is never deleted', () => {
  const t = template(CORE);
  t.hasResource('AWS::DynamoDB::Table', {
    Properties: {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
    },
    DeletionPolicy: 'Retain',
    UpdateReplacePolicy: 'Retain',
  });
  t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [logicalId(installed.inst.core.notificationKey), 'Arn'] } });
  t.resourceCountIs('AWS::Events::EventBus', 1);
  // The slice stacks find the core through these names.
  for (const name of ['table-name', 'lake-bucket-name', 'lake-key-arn', 'event-bus-name']) {
    assert.ok(Object.values(t.toJSON().Outputs as Record<string, { Export?: { Name: string } }>).some((o) => o.Export?.Name === `reef-acme-${name}`), name);
  }
});

test('slice roles: S3 only under the own prefix; the other slice appears in no Allow statement', () => {
  for (const slice of SLICES) {
    const other = SLICES.find((s) => s !== slice)!;
    const statements = sliceRoleStatements(slice);
    const s3Statements = statements.filter((s) => list(s.Action).some((a) => a.startsWith('s3:')));
    assert.ok(s3Statements.length > 0);
    for (const s of s3Statements) {
      for (const r of list(s.Resource).map(flat)) {
        if (list(s.Action).every((a) => a === 's3:ListBucket')) {
          // Bucket-level: only with a prefix condition on the own prefix.
          assert.equal(r, 'arn:<AWS::Partition>:s3:::import:reef-acme-lake-bucket-name', slice);
          assert.deepEqual(s.Condition, { StringLike: { 's3:prefix': [`${slice}/*`] } });
        } else {
          assert.equal(r, `arn:<AWS::Partition>:s3:::import:reef-acme-lake-bucket-name/${slice}/*`, slice);
        }
      }
      assert.ok(list(s.Action).every((a) => !a.includes('*')), `${slice}: wildcard S3 action`);
      // Semantically too: a key of the other slice matches none of these patterns.
      for (const r of list(s.Resource).map(flat)) assert.equal(iamLike(r, `arn:<AWS::Partition>:s3:::import:reef-acme-lake-bucket-name/${other}/t/part-00000.parquet`), false);
    }
    for (const s of statements) {
      const text = JSON.stringify(s);
      assert.doesNotMatch(text, new RegExp(`"${other}/|SLICE#${other}"|SLICE#${other}#|secret:${other}`), `${slice} statement ${s.Sid} mentions ${other}`);
    }
  }
});

test('slice roles: DynamoDB only on the own slice partitions, plus read-only INSTALLATION; never Scan', () => {
  for (const slice of SLICES) {
    const other = SLICES.find((s) => s !== slice)!;
    const ddb = sliceRoleStatements(slice).filter((s) => list(s.Action).some((a) => a.startsWith('dynamodb:')));
    assert.ok(ddb.length > 0);
    const actions = ddb.flatMap((s) => list(s.Action));
    assert.ok(!actions.includes('dynamodb:Scan') && actions.every((a) => !a.includes('*')), `${slice}: ${actions.join(',')}`);
    for (const s of ddb) assert.match(flat(list(s.Resource)[0]), /:table\/import:reef-acme-table-name$/);

    const writes = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];
    const can = (pk: string, action: string) => ddb.some((s) => list(s.Action).includes(action) && allowsPartition(s, pk));
    // Its own config, state, schemas and events (see the key layout in shared/metadata/types.ts).
    for (const pk of [`SLICE#${slice}`, `SLICE#${slice}#SCHEMA#shop.orders`, `SLICE#${slice}#EVENTS`]) {
      assert.ok(can(pk, 'dynamodb:GetItem') && can(pk, 'dynamodb:PutItem') && can(pk, 'dynamodb:Query'), `${slice} on ${pk}`);
    }
    // The installation config: read, never written.
    assert.ok(can('INSTALLATION', 'dynamodb:GetItem'));
    for (const w of writes) assert.ok(!can('INSTALLATION', w), `${slice} may ${w} INSTALLATION`);
    // Not a single item of the other slice: not its config, not its schemas, not its events.
    for (const pk of [`SLICE#${other}`, `SLICE#${other}#SCHEMA#shop.orders`, `SLICE#${other}#EVENTS`]) {
      for (const a of actions) assert.ok(!can(pk, a), `${slice} may ${a} on ${pk}`);
    }
  }
});

test('slice roles: the own secret, the lake key only through S3 for the lake bucket, events on the bus', () => {
  const secrets = { shop: 'shop-source', 'shop-eu': 'eu/shop-db' } as const;
  for (const slice of SLICES) {
    const statements = sliceRoleStatements(slice);
    const secret = statements.filter((s) => list(s.Action).some((a) => a.startsWith('secretsmanager:')));
    assert.equal(secret.length, 1);
    assert.deepEqual(list(secret[0]!.Action), ['secretsmanager:GetSecretValue']);
    assert.deepEqual(list(secret[0]!.Resource).map(flat), [
      `arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${secrets[slice]}-??????`,
    ]);

    const kms = statements.filter((s) => list(s.Action).some((a) => a.startsWith('kms:')));
    assert.equal(kms.length, 1);
    assert.deepEqual(list(kms[0]!.Action).sort(), ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey']);
    assert.deepEqual(list(kms[0]!.Resource).map(flat), ['import:reef-acme-lake-key-arn']);
    const cond = kms[0]!.Condition!['StringEquals']!;
    assert.equal(flat(cond['kms:ViaService']), 's3.<AWS::Region>.amazonaws.com');
    assert.equal(flat(cond['kms:EncryptionContext:aws:s3:arn']), 'arn:<AWS::Partition>:s3:::import:reef-acme-lake-bucket-name');

    const events = statements.filter((s) => list(s.Action).some((a) => a.startsWith('events:')));
    assert.deepEqual(events.map((s) => [list(s.Action), list(s.Resource).map(flat)]), [
      [['events:PutEvents'], ['arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:event-bus/import:reef-acme-event-bus-name']],
    ]);

    // Everything else is logs and tracing; the ENI actions only for the slice placed in a VPC.
    const known = /^(dynamodb|s3|kms|secretsmanager|events):|^logs:(CreateLogStream|PutLogEvents)$|^xray:(PutTraceSegments|PutTelemetryRecords)$/;
    const eni = statements.filter((s) => list(s.Action).some((a) => a.startsWith('ec2:')));
    assert.equal(eni.length, slice === 'shop-eu' ? 1 : 0, slice);
    for (const s of statements.filter((x) => !eni.includes(x))) for (const a of list(s.Action)) assert.match(a, known, `${slice}: ${a}`);
  }
});

test('slice functions: five on Node 24 / arm64, one role, one bundle, the environment the handlers read', () => {
  for (const slice of SLICES) {
    const t = template(SLICE_STACK[slice]);
    const stack = installed.inst.slices.get(slice) as CollectSliceStack;
    const fns = Object.values(t.findResources('AWS::Lambda::Function')).map((r) => (r as { Properties: Record<string, unknown> }).Properties);
    assert.equal(fns.length, 5);
    assert.deepEqual(fns.map((f) => f['Handler']).sort(), (Object.keys(COLLECT_TASKS) as CollectTask[]).map((k) => `index.${k}`).sort());
    assert.deepEqual(new Set(fns.map((f) => JSON.stringify(f['Role']))), new Set([JSON.stringify({ 'Fn::GetAtt': [logicalId(stack.collect.role), 'Arn'] })]));
    assert.equal(new Set(fns.map((f) => JSON.stringify(f['Code']))).size, 1, 'one shared asset');
    for (const f of fns) {
      assert.equal(f['Runtime'], 'nodejs24.x');
      assert.deepEqual(f['Architectures'], ['arm64']);
      const env = (f['Environment'] as { Variables: Record<string, unknown> }).Variables;
      assert.equal(env[SLICE_ENV.slice], slice);
      assert.equal(env[SLICE_ENV.installation], 'acme');
      assert.equal(env[SLICE_ENV.sliceType], 'collect/postgres');
      assert.equal(env[SLICE_ENV.secretName], slice === 'shop' ? 'shop-source' : 'eu/shop-db');
      assert.deepEqual(env[SLICE_ENV.table], { 'Fn::ImportValue': 'reef-acme-table-name' });
      assert.deepEqual(env[SLICE_ENV.bucket], { 'Fn::ImportValue': 'reef-acme-lake-bucket-name' });
      assert.deepEqual(env[SLICE_ENV.eventBus], { 'Fn::ImportValue': 'reef-acme-event-bus-name' });
      // Only Plan carries the deployed config, which it stores in the metadata before planning.
      const deployed = env[SLICE_ENV.sliceConfig];
      if (f['Handler'] === 'index.plan') assert.deepEqual(JSON.parse(String(deployed)), FLOW.sources.find((x) => x.slice === slice)!.config);
      else assert.equal(deployed, undefined);
      if (slice === 'shop-eu') {
        const vpc = f['VpcConfig'] as { SubnetIds: string[]; SecurityGroupIds: unknown[] };
        assert.deepEqual(vpc.SubnetIds, ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1']);
        assert.deepEqual(vpc.SecurityGroupIds, [{ 'Fn::GetAtt': [logicalId(stack.collect.securityGroup!), 'GroupId'] }]);
      } else {
        assert.equal(f['VpcConfig'], undefined);
      }
    }
  }
});

test('state machine: the deployed definition is the builder output with the real function ARNs', () => {
  const maxConnections = { shop: 3, 'shop-eu': 2 } as const;
  for (const slice of SLICES) {
    const t = template(SLICE_STACK[slice]);
    const stack = installed.inst.slices.get(slice) as CollectSliceStack;
    const machines = Object.values(t.findResources('AWS::StepFunctions::StateMachine'));
    assert.equal(machines.length, 1);
    const props = (machines[0] as { Properties: Record<string, unknown> }).Properties;
    const deployed = JSON.parse(flat(props['DefinitionString'])) as unknown;
    const expected = buildCollectStateMachine({
      functionArns: Object.fromEntries(
        (Object.keys(COLLECT_TASKS) as CollectTask[]).map((task) => [task, `<${logicalId(stack.collect.functions[task])}.Arn>`]),
      ) as Record<CollectTask, string>,
      maxConcurrency: maxConnections[slice],
      sliceName: slice,
    });
    assert.deepEqual(deployed, expected);
    assert.deepEqual(props['TracingConfiguration'], { Enabled: true });
    assert.equal((props['LoggingConfiguration'] as { Level: string }).Level, 'ALL');
  }
});

test('schedules: rate for intervals, AWS cron for cron, UTC, input names the slice and the scheduled time', () => {
  const expressions = { shop: 'rate(15 minutes)', 'shop-eu': 'cron(0 2 ? * 2-6 *)' } as const;
  for (const slice of SLICES) {
    const t = template(SLICE_STACK[slice]);
    const stack = installed.inst.slices.get(slice) as CollectSliceStack;
    const schedules = Object.values(t.findResources('AWS::Scheduler::Schedule')).map((r) => (r as { Properties: Record<string, unknown> }).Properties);
    assert.equal(schedules.length, 1);
    const s = schedules[0]!;
    assert.equal(s['ScheduleExpression'], expressions[slice]);
    assert.equal(s['ScheduleExpressionTimezone'], 'Etc/UTC');
    const target = s['Target'] as { Arn: unknown; Input: string; RoleArn: unknown };
    assert.deepEqual(target.Arn, { Ref: logicalId(stack.collect.stateMachine) });
    assert.deepEqual(JSON.parse(target.Input), { slice, scheduledTime: '<aws.scheduler.scheduled-time>' });
  }
});

test('cdk-nag AwsSolutions and Serverless (and CDK\'s own checks): no unacknowledged finding, every acknowledgement says why', () => {
  assert.deepEqual(nagFindings(installed), []);
  const acks = acknowledgements(installed.app);
  for (const a of acks) assert.ok(typeof a.reason === 'string' && a.reason.trim().length >= 20, `${a.path} ${a.id}: reason "${a.reason}"`);
  // The list is reviewed here: a new acknowledgement must be added on purpose.
  // CDK stores every id under its annotation namespace; cdk-nag reads it back without the prefix.
  const ids = [...new Set(acks.map((a) => a.id.replace(/^Annotation::/, '')))].sort();
  assert.deepEqual(ids, [
    '@aws-cdk/aws-ec2:noSubnetRouteTableId',
    'AwsSolutions-IAM5[Resource::*]',
    'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::reef-acme-lake-bucket-name/shop-eu/*]',
    'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::reef-acme-lake-bucket-name/shop/*]',
    'Serverless-LambdaDLQ',
  ]);
});

test('cdk-nag is really wired in: a bucket without TLS enforcement or logging is reported and fails synth', () => {
  const bad = synth((app) => {
    const stack = new Stack(app, 'control');
    new s3.Bucket(stack, 'Careless');
    return [stack];
  });
  assert.ok(bad.synthError instanceof Error);
  const rules = bad.report.pluginReports.filter((r) => r.pluginName === 'AwsSolutions').flatMap((r) => r.violations.map((v) => v.ruleName));
  assert.ok(rules.includes('AwsSolutions-S1') && rules.includes('AwsSolutions-S10'), rules.join(', '));
});

test('account and region from reef.yaml become the stacks\' environment; unknown slice types are refused', () => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const inst = buildInstallation(app, { ...FLOW, installation: { ...FLOW.installation, account: '123456789012', region: 'eu-west-1' } });
  for (const s of [inst.core, ...inst.slices.values()]) {
    assert.equal(s.account, '123456789012');
    assert.equal(s.region, 'eu-west-1');
  }
  assert.throws(
    () => buildInstallation(new App(), { ...FLOW, sources: [{ ...FLOW.sources[0]!, type: 'collect/oracle', file: 'sources/erp.yaml' }] }),
    /sources\/erp\.yaml: type: found "collect\/oracle"/,
  );
});

test('bundling: esbuild runs once per slice and yields an ES module that exports every handler', async () => {
  // A stand-in handlers module: this test is about the bundling, not the
  // handlers. It pulls in a CommonJS package that require()s Node built-ins,
  // which an ES module bundle can only load through the createRequire banner.
  const src = mkdtempSync(join(tmpdir(), 'reef-handlers-'));
  const commander = fileURLToPath(import.meta.resolve('commander'));
  writeFileSync(join(src, 'greet.ts'), 'export const greet = (who: string): string => `hello ${who}`;\n');
  writeFileSync(
    join(src, 'handlers.ts'),
    [
      `import { Command } from ${JSON.stringify(commander)};`,
      "import { greet } from './greet.ts';",
      ...(Object.keys(COLLECT_TASKS) as CollectTask[]).map(
        (t) => `export const ${t} = async (event: unknown) => ({ task: '${t}', event, greeting: greet('${t}'), cli: new Command('${t}').name() });`,
      ),
    ].join('\n'),
  );

  const outdir = mkdtempSync(join(tmpdir(), 'reef-bundle-test-'));
  const app = new App({ outdir });
  const stack = new Stack(app, 'bundled');
  const key = kms.Key.fromKeyArn(stack, 'Key', 'arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000');
  new CollectSlice(stack, 'Collect', {
    installation: 'acme',
    slice: 'shop',
    sliceType: 'collect/postgres',
    config: { type: 'collect/postgres' },
    handlersEntry: join(src, 'handlers.ts'),
    schedule: 'every 1 hour',
    secretNames: ['shop-source'],
    maxConcurrency: 1,
    table: dynamodb.Table.fromTableName(stack, 'Table', 'metadata'),
    lakeBucket: s3.Bucket.fromBucketAttributes(stack, 'Lake', { bucketName: 'lake', encryptionKey: key }),
    lakeKey: key,
    eventBus: events.EventBus.fromEventBusName(stack, 'Bus', 'reef-acme'),
  });
  app.synth();

  const assets = readdirSync(outdir).filter((f) => f.startsWith('asset.'));
  assert.equal(assets.length, 1, assets.join(', '));
  const bundle = join(outdir, assets[0]!, 'index.mjs');
  assert.ok(readdirSync(join(outdir, assets[0]!)).includes('index.mjs.map'));
  const mod = (await import(pathToFileURL(bundle).href)) as Record<string, (e: unknown) => Promise<{ task: string; greeting: string; cli: string }>>;
  for (const task of Object.keys(COLLECT_TASKS) as CollectTask[]) {
    assert.deepEqual(await mod[task]!({ n: 1 }), { task, event: { n: 1 }, greeting: `hello ${task}`, cli: task });
  }
});
