/**
 * Proves the organize slice's CDK stack on real synthesized templates, with
 * real cdk-nag, for the three ways reef.yaml can name a warehouse: the user's
 * own (Reef makes the COPY role), one the core stack creates (Redshift
 * Serverless), and the user's own with the user's COPY role.
 *
 * The isolation it proves: the organize role reads the collect slices'
 * partitions and prefixes but writes none of them, and writes only
 * `SLICE#warehouse…` and its own Redshift manifests; no collect slice role
 * reaches `SLICE#warehouse` or the organize prefix; the COPY role only reads.
 * Bundling is off, as in stacks.test.ts; bundle.test.ts runs the bundle.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import { loadFlow } from '../shared/flow/load.ts';
import type { Flow, SliceSpec } from '../shared/flow/types.ts';
import { buildOrganizeStateMachine } from '../shared/orchestration/organize-machine.ts';
import { SLICE_ENV } from '../shared/runtime/env.ts';
import { REPO } from '../test/support/flow.ts';
import type { CollectSliceStack } from './collect-slice-stack.ts';
import { buildInstallation, coreStackId, sliceStackId } from './installation.ts';
import type { OrganizeSliceStack } from './organize-slice-stack.ts';
import {
  acknowledgements, canOnObject, canOnPartition, flat, list, logicalId, nagFindings, roleStatements, synth, type Statement, type Synthesized,
} from './template-support.ts';

const source = (slice: string): SliceSpec => ({
  slice,
  type: 'collect/postgres',
  file: `sources/${slice}.yaml`,
  config: { type: 'collect/postgres', schedule: 'every 15 minutes', connection: { secret: `${slice}-source` }, loadunits: [{ table: 'public.orders', mode: 'snapshot' }] },
});

const VPC = {
  vpcId: 'vpc-0123456789abcdef0',
  subnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1', 'subnet-0123456789abcdef2'],
  availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
};
const USER_ROLE = 'arn:aws:iam::123456789012:role/acme-redshift-copy';

// `shop-eu` starts with `shop`, and `warehouse-eu` with `warehouse`: patterns must not leak across such names.
function flowWith(warehouse: NonNullable<Flow['installation']['warehouse']>): Flow {
  return {
    dir: '/nowhere/acme-flow',
    installation: { name: 'acme', local: { databases: [] }, warehouse },
    sources: [source('shop'), source('shop-eu'), source('warehouse-eu')],
    publications: [],
    views: [],
  };
}

const OWN = flowWith({ type: 'redshift', connection: { secret: 'acme-warehouse' }, createServerless: false });
const CREATED = flowWith({ type: 'redshift', connection: { secret: 'acme-warehouse' }, createServerless: true, baseCapacity: 16, vpc: VPC });
const USERS_ROLE = flowWith({ type: 'redshift', connection: { secret: 'acme-warehouse' }, createServerless: false, iamRole: USER_ROLE, vpc: { ...VPC, securityGroupIds: ['sg-0123456789abcdef0'] } });

const COLLECT = ['shop', 'shop-eu', 'warehouse-eu'];
const CORE = coreStackId('acme');
const ORGANIZE = sliceStackId('acme', 'organize', 'warehouse');
const BUCKET = 'arn:<AWS::Partition>:s3:::import:reef-acme-lake-bucket-name';

interface Installed extends Synthesized {
  organize: OrganizeSliceStack;
  collect: Map<string, CollectSliceStack>;
  core: ReturnType<typeof buildInstallation>['core'];
}

function install(flow: Flow): Installed {
  let inst: ReturnType<typeof buildInstallation> | undefined;
  const s = synth((app) => {
    inst = buildInstallation(app, flow);
    return [inst.core, ...inst.slices.values()];
  });
  const collect = new Map(COLLECT.map((c) => [c, inst!.slices.get(c) as CollectSliceStack]));
  return { ...s, organize: inst!.slices.get('warehouse') as OrganizeSliceStack, collect, core: inst!.core };
}

const own = install(OWN);
const created = install(CREATED);
const usersRole = install(USERS_ROLE);
const ALL = { own, created, usersRole };

function template(i: Installed, stack: string): Template {
  const t = i.templates.get(stack);
  assert.ok(t, `no template for ${stack}; synth failed: ${String(i.synthError)}`);
  return t;
}

const organizeStatements = (i: Installed): Statement[] => roleStatements(template(i, ORGANIZE), logicalId(i.organize.organize.role));
const object = (key: string, bucket = BUCKET) => `${bucket}/${key}`;
const WRITES = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:ConditionCheckItem'];
const READS = ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'];

// ---------------------------------------------------------------------------

test('synth succeeds offline for every kind of warehouse; the organize stack depends on the core stack only', () => {
  for (const [name, i] of Object.entries(ALL)) {
    assert.equal(i.synthError, undefined, `${name}: ${String(i.synthError)}`);
    assert.ok(i.templates.has(ORGANIZE), name);
    assert.deepEqual(i.organize.dependencies.map((d) => d.stackName), [CORE], name);
    for (const stack of i.stacks.values()) {
      const found = [...Annotations.fromStack(stack).findWarning('*', Match.anyValue()), ...Annotations.fromStack(stack).findError('*', Match.anyValue())];
      assert.deepEqual(found.map((w) => `${w.id}: ${JSON.stringify(w.entry.data)}`), [], `${name} ${stack.stackName}`);
    }
  }
});

test('organize role, metadata: reads and writes SLICE#warehouse…, only reads each collect slice\'s partitions, nothing else, never Scan', () => {
  for (const [name, i] of Object.entries(ALL)) {
    const ddb = organizeStatements(i).filter((s) => list(s.Action).some((a) => a.startsWith('dynamodb:')));
    const actions = ddb.flatMap((s) => list(s.Action));
    assert.ok(!actions.includes('dynamodb:Scan') && actions.every((a) => !a.includes('*')), `${name}: ${actions.join(',')}`);
    const can = (action: string, pk: string) => canOnPartition(ddb, action, pk);
    for (const pk of ['SLICE#warehouse', 'SLICE#warehouse#EVENTS', 'SLICE#warehouse#VIEW#analytics.x', 'SLICE#warehouse#UPDATESETS']) {
      for (const a of [...READS, ...WRITES]) assert.ok(can(a, pk), `${name}: ${a} on ${pk}`);
    }
    for (const c of COLLECT) {
      for (const pk of [`SLICE#${c}`, `SLICE#${c}#SCHEMA#${c}.orders`, `SLICE#${c}#EVENTS`]) {
        for (const a of READS) assert.ok(can(a, pk), `${name}: ${a} on ${pk}`);
        for (const a of WRITES) assert.ok(!can(a, pk), `${name}: may ${a} on ${pk}`);
      }
    }
    for (const pk of ['SLICE#other', 'SLICE#warehouse-x', 'INSTALLATION', 'SLICE#shopping']) {
      for (const a of actions) assert.ok(!can(a, pk), `${name}: may ${a} on ${pk}`);
    }
  }
});

test('organize role, lake: reads the collect prefixes, writes only its own Redshift manifests, lists only those prefixes', () => {
  for (const [name, i] of Object.entries(ALL)) {
    const s3 = organizeStatements(i).filter((s) => list(s.Action).some((a) => a.startsWith('s3:')));
    const can = (action: string, key: string) => canOnObject(s3, action, object(key));
    for (const c of COLLECT) {
      assert.ok(can('s3:GetObject', `${c}/orders/timelabel=20260105080000/_manifest.json`), `${name}: read ${c}`);
      for (const a of ['s3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload']) assert.ok(!can(a, `${c}/orders/timelabel=20260105080000/part-00000.parquet`), `${name}: ${a} on ${c}`);
    }
    const manifest = 'warehouse/redshift/shop/orders/timelabel=20260105080000/_redshift.manifest';
    assert.ok(can('s3:PutObject', manifest) && can('s3:GetObject', manifest), name);
    for (const key of ['other/t/part-00000.parquet', 'warehouse/elsewhere/x', 'shopping/t/x']) {
      for (const a of list(s3.flatMap((s) => list(s.Action)))) assert.ok(!can(a, key), `${name}: ${a} on ${key}`);
    }
    assert.ok(s3.flatMap((s) => list(s.Action)).every((a) => !a.includes('*')), name);
    const listing = s3.filter((s) => list(s.Action).includes('s3:ListBucket'));
    assert.deepEqual(listing.map((s) => [list(s.Resource).map(flat), s.Condition]), [
      [[BUCKET], { StringLike: { 's3:prefix': ['shop/*', 'shop-eu/*', 'warehouse-eu/*', 'warehouse/redshift/*'] } }],
    ]);
  }
});

test('organize role, the rest: its warehouse secret, the lake key only through S3 (and Secrets Manager for a created warehouse\'s secret), events on the bus', () => {
  for (const [name, i] of Object.entries(ALL)) {
    const statements = organizeStatements(i);
    const secrets = statements.filter((s) => list(s.Action).some((a) => a.startsWith('secretsmanager:')));
    assert.deepEqual(secrets.flatMap((s) => list(s.Action)), ['secretsmanager:GetSecretValue']);
    const kms = statements.filter((s) => list(s.Action).some((a) => a.startsWith('kms:')));
    const viaS3 = kms.filter((s) => flat(s.Condition!['StringEquals']!['kms:ViaService']) === 's3.<AWS::Region>.amazonaws.com');
    assert.equal(viaS3.length, 1);
    assert.deepEqual(list(viaS3[0]!.Action).sort(), ['kms:Decrypt', 'kms:GenerateDataKey']);
    assert.equal(flat(viaS3[0]!.Condition!['StringEquals']!['kms:EncryptionContext:aws:s3:arn']), BUCKET);
    if (i === created) {
      assert.deepEqual(list(secrets[0]!.Resource).map(flat), ['import:reef-acme-warehouse-admin-secret-arn']);
      const viaSecrets = kms.filter((s) => s !== viaS3[0]);
      assert.deepEqual(viaSecrets.map((s) => [list(s.Action), list(s.Resource).map(flat), flat(s.Condition!['StringEquals']!['kms:ViaService']), flat(s.Condition!['StringEquals']!['kms:EncryptionContext:SecretARN'])]), [
        [['kms:Decrypt'], ['import:reef-acme-lake-key-arn'], 'secretsmanager.<AWS::Region>.amazonaws.com', 'import:reef-acme-warehouse-admin-secret-arn'],
      ]);
    } else {
      assert.deepEqual(list(secrets[0]!.Resource).map(flat), ['arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:acme-warehouse-??????']);
      assert.equal(kms.length, 1, name);
    }
    const events = statements.filter((s) => list(s.Action).some((a) => a.startsWith('events:')));
    assert.deepEqual(events.map((s) => [list(s.Action), list(s.Resource).map(flat)]), [
      [['events:PutEvents'], ['arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:event-bus/import:reef-acme-event-bus-name']],
    ]);
    const known = /^(dynamodb|s3|kms|secretsmanager|events):|^logs:(CreateLogStream|PutLogEvents)$|^xray:(PutTraceSegments|PutTelemetryRecords)$/;
    const eni = statements.filter((s) => list(s.Action).some((a) => a.startsWith('ec2:')));
    assert.equal(eni.length, i === own ? 0 : 1, `${name}: ENI actions only in a VPC`);
    for (const s of statements.filter((x) => !eni.includes(x))) for (const a of list(s.Action)) assert.match(a, known, `${name}: ${a}`);
  }
});

test('collect roles reach nothing of the organize slice: not SLICE#warehouse…, not its lake prefix', () => {
  for (const [name, i] of Object.entries(ALL)) {
    for (const [slice, stack] of i.collect) {
      const statements = roleStatements(template(i, stack.stackName), logicalId(stack.collect.role));
      const ddb = statements.filter((s) => list(s.Action).some((a) => a.startsWith('dynamodb:')));
      for (const pk of ['SLICE#warehouse', 'SLICE#warehouse#EVENTS', 'SLICE#warehouse#VIEW#analytics.x', 'SLICE#warehouse#UPDATESETS']) {
        for (const a of ddb.flatMap((s) => list(s.Action))) assert.ok(!canOnPartition(ddb, a, pk), `${name} ${slice}: ${a} on ${pk}`);
      }
      const s3 = statements.filter((s) => list(s.Action).some((a) => a.startsWith('s3:')));
      for (const a of s3.flatMap((s) => list(s.Action))) assert.ok(!canOnObject(s3, a, object('warehouse/redshift/shop/orders/x')), `${name} ${slice}: ${a} on the organize prefix`);
    }
  }
});

test('the COPY role: trusted by Redshift and Redshift Serverless, reads the collect prefixes and the Redshift manifests, writes nothing', () => {
  // In the core stack the bucket is its own resource; elsewhere it is imported by name.
  const roles: Array<[string, Template, string, string]> = [
    ['own', template(own, ORGANIZE), logicalId(own.organize.copyRole!.role), BUCKET],
    ['created', template(created, CORE), logicalId(created.core.copyRole!.role), `<${logicalId(created.core.lakeBucket)}.Arn>`],
  ];
  for (const [name, t, roleId, bucket] of roles) {
    const object = (key: string) => `${bucket}/${key}`;
    const role = t.toJSON().Resources[roleId] as { Properties: { AssumeRolePolicyDocument: { Statement: Array<{ Principal: { Service: string[] | string } }> } } };
    assert.deepEqual(role.Properties.AssumeRolePolicyDocument.Statement.flatMap((s) => list(s.Principal.Service)).sort(), ['redshift-serverless.amazonaws.com', 'redshift.amazonaws.com']);
    const statements = roleStatements(t, roleId);
    const actions = statements.flatMap((s) => list(s.Action));
    assert.deepEqual([...new Set(actions)].sort(), ['kms:Decrypt', 's3:GetObject', 's3:ListBucket'], name);
    for (const c of COLLECT) assert.ok(canOnObject(statements, 's3:GetObject', object(`${c}/orders/timelabel=20260105080000/part-00000.parquet`)), `${name}: ${c}`);
    assert.ok(canOnObject(statements, 's3:GetObject', object('warehouse/redshift/shop/orders/timelabel=20260105080000/_redshift.manifest')), name);
    assert.ok(!canOnObject(statements, 's3:GetObject', object('other/orders/part-00000.parquet')), name);
    const kms = statements.find((s) => list(s.Action).includes('kms:Decrypt'))!;
    assert.equal(flat(kms.Condition!['StringEquals']!['kms:ViaService']), 's3.<AWS::Region>.amazonaws.com');
  }
  // With the user's role there is no COPY role of Reef's anywhere.
  for (const stack of [CORE, ORGANIZE]) {
    const trusted = Object.values(template(usersRole, stack).findResources('AWS::IAM::Role')).filter((r) => JSON.stringify(r).includes('redshift'));
    assert.deepEqual(trusted, [], stack);
  }
  assert.equal(created.organize.copyRole, undefined, 'a created warehouse uses the core\'s COPY role');
});

test('organize functions: Pass and Fail on Node 24 / arm64, one role, one bundle, the environment the handlers read', () => {
  const copyRole: Record<string, unknown> = {
    own: { 'Fn::GetAtt': [logicalId(own.organize.copyRole!.role), 'Arn'] },
    created: { 'Fn::ImportValue': 'reef-acme-warehouse-copy-role-arn' },
    usersRole: USER_ROLE,
  };
  for (const [name, i] of Object.entries(ALL)) {
    const t = template(i, ORGANIZE);
    const fns = Object.values(t.findResources('AWS::Lambda::Function')).map((r) => (r as { Properties: Record<string, unknown> }).Properties);
    assert.deepEqual(fns.map((f) => f['Handler']).sort(), ['index.fail', 'index.pass']);
    assert.deepEqual(new Set(fns.map((f) => JSON.stringify(f['Role']))), new Set([JSON.stringify({ 'Fn::GetAtt': [logicalId(i.organize.organize.role), 'Arn'] })]));
    assert.equal(new Set(fns.map((f) => JSON.stringify(f['Code']))).size, 1, 'one shared asset');
    for (const f of fns) {
      assert.equal(f['Runtime'], 'nodejs24.x');
      assert.deepEqual(f['Architectures'], ['arm64']);
      const env = (f['Environment'] as { Variables: Record<string, unknown> }).Variables;
      assert.equal(env[SLICE_ENV.slice], 'warehouse');
      assert.equal(env[SLICE_ENV.sliceType], 'organize/redshift');
      assert.equal(env[SLICE_ENV.warehouseDialect], 'redshift');
      assert.deepEqual(JSON.parse(String(env[SLICE_ENV.collectSlices])), COLLECT);
      assert.deepEqual(env[SLICE_ENV.copyRole], copyRole[name], name);
      assert.deepEqual(env[SLICE_ENV.table], { 'Fn::ImportValue': 'reef-acme-table-name' });
      if (i === created) {
        assert.deepEqual(env[SLICE_ENV.secretName], { 'Fn::ImportValue': 'reef-acme-warehouse-admin-secret-arn' });
        assert.deepEqual(JSON.parse(flat(env[SLICE_ENV.warehouseEndpoint]).replace(/import:reef-acme-warehouse-host/, 'HOST')), { host: 'HOST', port: 5439, database: 'reef' });
      } else {
        assert.equal(env[SLICE_ENV.secretName], 'acme-warehouse');
        assert.equal(env[SLICE_ENV.warehouseEndpoint], undefined);
      }
      const vpc = f['VpcConfig'] as { SubnetIds: string[]; SecurityGroupIds: unknown[] } | undefined;
      if (i === own) assert.equal(vpc, undefined);
      else assert.deepEqual(vpc?.SubnetIds, VPC.subnetIds, name);
      if (i === usersRole) assert.deepEqual(vpc?.SecurityGroupIds, ['sg-0123456789abcdef0']);
    }
  }
});

test('state machine: the deployed definition is the builder output with the real function ARNs', () => {
  for (const [name, i] of Object.entries(ALL)) {
    const machines = Object.values(template(i, ORGANIZE).findResources('AWS::StepFunctions::StateMachine'));
    assert.equal(machines.length, 1);
    const props = (machines[0] as { Properties: Record<string, unknown> }).Properties;
    const fns = i.organize.organize.functions;
    const expected = buildOrganizeStateMachine({ functionArns: { pass: `<${logicalId(fns.pass)}.Arn>`, fail: `<${logicalId(fns.fail)}.Arn>` }, installation: 'acme' });
    assert.deepEqual(JSON.parse(flat(props['DefinitionString'])), expected, name);
    assert.deepEqual(props['TracingConfiguration'], { Enabled: true });
    assert.equal((props['LoggingConfiguration'] as { Level: string }).Level, 'ALL');
  }
});

test('starts: a rule on the installation\'s bus for batch.committed of its collect slices, and an hourly fallback schedule', () => {
  const t = template(own, ORGANIZE);
  const machine = { Ref: logicalId(own.organize.organize.stateMachine) };
  const rules = Object.values(t.findResources('AWS::Events::Rule')).map((r) => (r as { Properties: Record<string, unknown> }).Properties);
  assert.equal(rules.length, 1);
  const rule = rules[0]!;
  assert.deepEqual(rule['EventBusName'], { 'Fn::ImportValue': 'reef-acme-event-bus-name' });
  assert.deepEqual(rule['EventPattern'], { source: ['reef.acme'], 'detail-type': ['data:batch.committed'], detail: { slice: COLLECT } });
  const [target] = rule['Targets'] as Array<{ Arn: unknown; InputTransformer: { InputPathsMap: Record<string, string>; InputTemplate: string } }>;
  assert.deepEqual(target!.Arn, machine);
  assert.deepEqual(target!.InputTransformer.InputPathsMap, { 'detail-slice': '$.detail.slice', 'detail-dataset': '$.detail.dataset', 'detail-timelabel': '$.detail.timelabel' });
  assert.equal(target!.InputTransformer.InputTemplate, '{"trigger":"event","slice":<detail-slice>,"dataset":<detail-dataset>,"timelabel":<detail-timelabel>}');

  const schedules = Object.values(t.findResources('AWS::Scheduler::Schedule')).map((r) => (r as { Properties: Record<string, unknown> }).Properties);
  assert.equal(schedules.length, 1);
  assert.equal(schedules[0]!['ScheduleExpression'], 'rate(1 hour)');
  assert.equal(schedules[0]!['ScheduleExpressionTimezone'], 'Etc/UTC');
  const scheduled = schedules[0]!['Target'] as { Arn: unknown; Input: string };
  assert.deepEqual(scheduled.Arn, machine);
  assert.deepEqual(JSON.parse(scheduled.Input), { trigger: 'schedule', scheduledTime: '<aws.scheduler.scheduled-time>' });
});

test('a created warehouse: Redshift Serverless in the core stack, private, in the given subnets, encrypted with the lake key, retained; the organize functions let themselves in', () => {
  const t = template(created, CORE);
  const w = created.core.serverlessWarehouse!;
  const lakeKey = { 'Fn::GetAtt': [logicalId(created.core.lakeKey), 'Arn'] };
  const namespace = t.toJSON().Resources[logicalId(w.namespace)];
  assert.equal(namespace.DeletionPolicy, 'Retain');
  assert.equal(namespace.Properties.NamespaceName, 'reef-acme');
  assert.equal(namespace.Properties.DbName, 'reef');
  assert.deepEqual(namespace.Properties.KmsKeyId, lakeKey);
  assert.deepEqual(namespace.Properties.IamRoles, [{ 'Fn::GetAtt': [logicalId(created.core.copyRole!.role), 'Arn'] }]);
  // The password is a dynamic reference to the generated secret, never a literal.
  assert.match(flat(namespace.Properties.AdminUserPassword), /^\{\{resolve:secretsmanager:<\w+>:SecretString:password::\}\}$/);
  t.hasResourceProperties('AWS::SecretsManager::Secret', { KmsKeyId: lakeKey, GenerateSecretString: Match.objectLike({ GenerateStringKey: 'password' }) });
  const workgroup = t.toJSON().Resources[logicalId(w.workgroup)].Properties;
  assert.equal(workgroup.PubliclyAccessible, false);
  assert.deepEqual(workgroup.SubnetIds, VPC.subnetIds);
  assert.deepEqual(workgroup.SecurityGroupIds, [{ 'Fn::GetAtt': [logicalId(w.securityGroup), 'GroupId'] }]);
  assert.equal(workgroup.BaseCapacity, 16);
  assert.equal(workgroup.Port, 5439);
  const sg = t.toJSON().Resources[logicalId(w.securityGroup)].Properties;
  assert.equal(sg.SecurityGroupIngress, undefined, 'no ingress in the core stack');

  const ingress = Object.values(template(created, ORGANIZE).findResources('AWS::EC2::SecurityGroupIngress')).map((r) => (r as { Properties: Record<string, unknown> }).Properties);
  assert.deepEqual(ingress.map((r) => [r['GroupId'], r['SourceSecurityGroupId'], r['FromPort'], r['ToPort'], r['IpProtocol']]), [
    [{ 'Fn::ImportValue': 'reef-acme-warehouse-security-group-id' }, { 'Fn::GetAtt': [logicalId(created.organize.organize.securityGroup!), 'GroupId'] }, 5439, 5439, 'tcp'],
  ]);
  // Without createServerless the core stack has no warehouse.
  for (const i of [own, usersRole]) template(i, CORE).resourceCountIs('AWS::RedshiftServerless::Namespace', 0);
});

test('cdk-nag AwsSolutions and Serverless: no unacknowledged finding in any variant, every acknowledgement says why', () => {
  const ids = new Set<string>();
  for (const [name, i] of Object.entries(ALL)) {
    assert.deepEqual(nagFindings(i), [], name);
    for (const a of acknowledgements(i.app)) {
      assert.ok(a.reason.trim().length >= 20, `${a.path} ${a.id}: reason "${a.reason}"`);
      ids.add(a.id.replace(/^Annotation::/, ''));
    }
  }
  // Reviewed here: a new acknowledgement must be added on purpose.
  const organizeOnly = [...ids].filter((id) => /warehouse|EventBusDLQ|SMG4/.test(id)).sort();
  assert.deepEqual(organizeOnly, [
    'AwsSolutions-IAM5[Resource::<Lake5F1B88EA.Arn>/warehouse-eu/*]',
    'AwsSolutions-IAM5[Resource::<Lake5F1B88EA.Arn>/warehouse/redshift/*]',
    'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::reef-acme-lake-bucket-name/warehouse-eu/*]',
    'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::reef-acme-lake-bucket-name/warehouse/redshift/*]',
    'AwsSolutions-SMG4',
    'Serverless-EventBusDLQ',
  ]);
});

test('the shop example (what `cdk synth` builds from cdk.json) gets an organize stack for its warehouse', async () => {
  const flow = await loadFlow(resolve(REPO, 'examples/shop'));
  const shop = synth((app) => {
    const inst = buildInstallation(app, flow);
    return [inst.core, ...inst.slices.values()];
  });
  assert.equal(shop.synthError, undefined, String(shop.synthError));
  assert.deepEqual([...shop.templates.keys()].sort(), ['shop-collect-shop', 'shop-core', 'shop-harness-customer-scores', 'shop-organize-warehouse']);
  assert.deepEqual(nagFindings(shop), []);
});
