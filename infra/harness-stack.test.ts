/**
 * Proves the harness slices' CDK stacks on real synthesized templates, with
 * real cdk-nag, for the shop flow with publications added (a view, the same
 * view from a private application database, a collected table through a
 * webhook, a view read as a publication's own warehouse user), on the user's
 * own warehouse and on one the core stack creates.
 *
 * The isolation it proves: each harness role reads and writes only its own
 * partition (`SLICE#<slice>…`), reads `SLICE#warehouse…` without writing it,
 * reads a collect slice's config item only when it publishes that slice's
 * table (one GetItem on exactly `SLICE#<source>`), has no S3 at all, reads
 * only its own secrets, and KMS only to decrypt a created warehouse's admin
 * secret through Secrets Manager; no other role (collect, organize, another
 * harness slice) reaches a harness partition. Publication names are prefixes
 * of each other (`scores`, `scores-eu`, `scores-reader`), as are the collect
 * slices (`shop`, `shop-eu`). Bundling is off; bundle.test.ts runs the bundle.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import { loadFlow, validateSliceConfig } from '../shared/flow/load.ts';
import type { Flow, SliceSpec, WarehouseSpec } from '../shared/flow/types.ts';
import { buildHarnessStateMachine } from '../shared/orchestration/harness-machine.ts';
import { SLICE_ENV } from '../shared/runtime/env.ts';
import { REPO } from '../test/support/flow.ts';
import type { CollectSliceStack } from './collect-slice-stack.ts';
import type { HarnessSliceStack } from './harness-slice-stack.ts';
import { buildInstallation, coreStackId, sliceStackId } from './installation.ts';
import type { OrganizeSliceStack } from './organize-slice-stack.ts';
import {
  acknowledgements, canOnPartition, flat, list, logicalId, nagFindings, roleStatements, synth, type Statement, type Synthesized,
} from './template-support.ts';

const shop = await loadFlow(resolve(REPO, 'examples/shop'));

const WAREHOUSE_VPC = {
  vpcId: 'vpc-0123456789abcdef0',
  subnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1', 'subnet-0123456789abcdef2'],
  availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
};
const APP_VPC = { vpcId: 'vpc-0aaaaaaaaaaaaaaa0', subnetIds: ['subnet-0aaaaaaaaaaaaaaa0', 'subnet-0aaaaaaaaaaaaaaa1'], availabilityZones: ['eu-west-1a', 'eu-west-1b'] };

function spec(slice: string, config: Record<string, unknown>): SliceSpec {
  const s: SliceSpec = { slice, type: String(config.type), file: `publications/${slice}.yaml`, config };
  // As loadFlow would have checked them: the stacks only ever see valid configs.
  validateSliceConfig(s.type, s.config, s.file);
  return s;
}
const postgres = (target: string, more: Record<string, unknown> = {}) => ({
  type: 'harness/postgres', dataset: 'analytics.customer_ltv', connection: { secret: 'shop-app' }, target: { table: target }, mode: 'merge', ...more,
});

function publications(appVpc: boolean): SliceSpec[] {
  return [
    spec('scores', postgres('scores')),
    spec('scores-eu', postgres('scores_eu', appVpc ? { connection: { secret: 'shop-app-eu', vpc: APP_VPC } } : { connection: { secret: 'shop-app-eu' } })),
    spec('scores-reader', postgres('scores_reader', { warehouse: { secret: 'scores-warehouse-reader' } })),
    spec('orders-hook', { type: 'harness/webhook', dataset: 'shop.orders', url: 'https://crm.example.com/hooks/orders', signing: { secret: 'orders-hook-signing' } }),
  ];
}

function flowWith(warehouse: WarehouseSpec, appVpc: boolean): Flow {
  const shopEu: SliceSpec = { ...shop.sources[0]!, slice: 'shop-eu', file: 'sources/shop-eu.yaml' };
  return { ...shop, installation: { ...shop.installation, warehouse }, sources: [...shop.sources, shopEu], publications: publications(appVpc) };
}

const OWN = flowWith({ type: 'redshift', connection: { secret: 'shop-warehouse' }, createServerless: false }, true);
const CREATED = flowWith({ type: 'redshift', connection: { secret: 'shop-warehouse' }, createServerless: true, vpc: WAREHOUSE_VPC }, false);

const HARNESS = ['scores', 'scores-eu', 'scores-reader', 'orders-hook'];
const COLLECT = ['shop', 'shop-eu'];
const CORE = coreStackId('shop');
const stackOf = (slice: string) => sliceStackId('shop', 'harness', slice);

interface Installed extends Synthesized {
  slices: Map<string, unknown>;
}

function install(flow: Flow): Installed {
  let slices = new Map<string, unknown>();
  const s = synth((app: App) => {
    const inst = buildInstallation(app, flow);
    slices = inst.slices;
    return [inst.core, ...inst.slices.values()];
  });
  return { ...s, slices };
}

const own = install(OWN);
const created = install(CREATED);
const ALL = { own, created };

function template(i: Installed, stack: string): Template {
  const t = i.templates.get(stack);
  assert.ok(t, `no template for ${stack}; synth failed: ${String(i.synthError)}`);
  return t;
}

const harnessStack = (i: Installed, slice: string) => i.slices.get(slice) as HarnessSliceStack;
const harnessStatements = (i: Installed, slice: string): Statement[] => roleStatements(template(i, stackOf(slice)), logicalId(harnessStack(i, slice).harness.role));
const ddb = (statements: Statement[]) => statements.filter((s) => list(s.Action).some((a) => a.startsWith('dynamodb:')));
const WRITES = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:ConditionCheckItem'];
const READS = ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'];
/** Every partition a harness slice keeps: its config and records, events, webhook deliveries and dead letters. */
const ownPartitions = (slice: string) => [`SLICE#${slice}`, `SLICE#${slice}#EVENTS`, `SLICE#${slice}#DELIVERIES`, `SLICE#${slice}#DEADLETTERS`];
const WAREHOUSE_PARTITIONS = ['SLICE#warehouse', 'SLICE#warehouse#EVENTS', 'SLICE#warehouse#VIEW#analytics.customer_ltv', 'SLICE#warehouse#VIEWS', 'SLICE#warehouse#UPDATESETS'];

/** Every role of the installation's slice stacks that is not this harness slice's: collect, organize, the other harness slices. */
function otherRoles(i: Installed, except: string): Array<[string, Statement[]]> {
  const out: Array<[string, Statement[]]> = [];
  for (const c of COLLECT) {
    const stack = i.slices.get(c) as CollectSliceStack;
    out.push([c, roleStatements(template(i, stack.stackName), logicalId(stack.collect.role))]);
  }
  const organize = i.slices.get('warehouse') as OrganizeSliceStack;
  out.push(['warehouse', roleStatements(template(i, organize.stackName), logicalId(organize.organize.role))]);
  for (const h of HARNESS.filter((x) => x !== except)) out.push([h, harnessStatements(i, h)]);
  return out;
}

// ---------------------------------------------------------------------------

test('synth succeeds offline: one stack per publication, each depending on the core stack only, with no warning', () => {
  for (const [name, i] of Object.entries(ALL)) {
    assert.equal(i.synthError, undefined, `${name}: ${String(i.synthError)}`);
    for (const h of HARNESS) assert.deepEqual(harnessStack(i, h).dependencies.map((d) => d.stackName), [CORE], `${name} ${h}`);
    assert.deepEqual([...i.templates.keys()].filter((k) => k.includes('-harness-')).sort(), HARNESS.map(stackOf).sort(), name);
    for (const stack of i.stacks.values()) {
      const found = [...Annotations.fromStack(stack).findWarning('*', Match.anyValue()), ...Annotations.fromStack(stack).findError('*', Match.anyValue())];
      assert.deepEqual(found.map((w) => `${w.id}: ${JSON.stringify(w.entry.data)}`), [], `${name} ${stack.stackName}`);
    }
  }
});

test('harness role, metadata: reads and writes only its own partitions, reads SLICE#warehouse… without writing it, never Scan, nothing else', () => {
  for (const [name, i] of Object.entries(ALL)) {
    for (const h of HARNESS) {
      const statements = ddb(harnessStatements(i, h));
      const actions = statements.flatMap((s) => list(s.Action));
      assert.ok(!actions.includes('dynamodb:Scan') && actions.every((a) => !a.includes('*')), `${name} ${h}: ${actions.join(',')}`);
      const can = (action: string, pk: string) => canOnPartition(statements, action, pk);
      for (const pk of ownPartitions(h)) for (const a of [...READS, ...WRITES]) assert.ok(can(a, pk), `${name} ${h}: ${a} on ${pk}`);
      for (const pk of WAREHOUSE_PARTITIONS) {
        for (const a of READS) assert.ok(can(a, pk), `${name} ${h}: ${a} on ${pk}`);
        for (const a of WRITES) assert.ok(!can(a, pk), `${name} ${h}: may ${a} on ${pk}`);
      }
      const elsewhere = [
        'INSTALLATION', 'SLICE#warehouse-eu', `SLICE#${h}-x`, `SLICE#${h}x`, 'SLICE#shop-eu', 'SLICE#shop#SCHEMA#shop.customers', 'SLICE#shop#EVENTS',
        ...HARNESS.filter((x) => x !== h).flatMap(ownPartitions),
      ];
      for (const pk of elsewhere) for (const a of [...READS, ...WRITES]) assert.ok(!can(a, pk), `${name} ${h}: may ${a} on ${pk}`);
      // Only the publication of a collected table reads its collect slice's config item, and only that.
      const onShop = [...READS, ...WRITES].filter((a) => can(a, 'SLICE#shop'));
      assert.deepEqual(onShop, h === 'orders-hook' ? ['dynamodb:GetItem'] : [], `${name} ${h}`);
      // And the schema versions of that one table (a publication listing a column the source dropped pauses), by Query only.
      const onSchema = [...READS, ...WRITES].filter((a) => can(a, 'SLICE#shop#SCHEMA#shop.orders'));
      assert.deepEqual(onSchema, h === 'orders-hook' ? ['dynamodb:Query'] : [], `${name} ${h}`);
    }
  }
});

test('harness role, the rest: no lake at all, only its own secrets, KMS only for a created warehouse\'s admin secret, events on the bus', () => {
  const secret = (n: string) => `arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${n}-??????`;
  const ADMIN = 'import:reef-shop-warehouse-admin-secret-arn';
  const expectedSecrets: Record<string, Record<string, string[]>> = {
    own: {
      scores: [secret('shop-app'), secret('shop-warehouse')],
      'scores-eu': [secret('shop-app-eu'), secret('shop-warehouse')],
      // Its own warehouse user, instead of the installation's warehouse secret.
      'scores-reader': [secret('shop-app'), secret('scores-warehouse-reader')],
      'orders-hook': [secret('orders-hook-signing'), secret('shop-warehouse')],
    },
    created: {
      scores: [secret('shop-app'), ADMIN],
      'scores-eu': [secret('shop-app-eu'), ADMIN],
      'scores-reader': [secret('shop-app'), secret('scores-warehouse-reader')],
      'orders-hook': [secret('orders-hook-signing'), ADMIN],
    },
  };
  for (const [name, i] of Object.entries(ALL)) {
    for (const h of HARNESS) {
      const statements = harnessStatements(i, h);
      const actions = statements.flatMap((s) => list(s.Action));
      assert.deepEqual(actions.filter((a) => a.startsWith('s3:')), [], `${name} ${h}: no S3 action`);
      assert.ok(!JSON.stringify(statements).includes('lake-bucket'), `${name} ${h}: no lake resource`);
      const secrets = statements.filter((s) => list(s.Action).some((a) => a.startsWith('secretsmanager:')));
      assert.deepEqual(secrets.flatMap((s) => list(s.Action)), ['secretsmanager:GetSecretValue']);
      assert.deepEqual(secrets.flatMap((s) => list(s.Resource).map(flat)).sort(), expectedSecrets[name]![h]!.sort(), `${name} ${h}`);
      const kms = statements.filter((s) => list(s.Action).some((a) => a.startsWith('kms:')));
      const usesAdminSecret = expectedSecrets[name]![h]!.includes(ADMIN);
      assert.deepEqual(
        kms.map((s) => [list(s.Action), list(s.Resource).map(flat), flat(s.Condition!['StringEquals']!['kms:ViaService']), flat(s.Condition!['StringEquals']!['kms:EncryptionContext:SecretARN'])]),
        usesAdminSecret ? [[['kms:Decrypt'], ['import:reef-shop-lake-key-arn'], 'secretsmanager.<AWS::Region>.amazonaws.com', ADMIN]] : [],
        `${name} ${h}`,
      );
      const events = statements.filter((s) => list(s.Action).some((a) => a.startsWith('events:')));
      assert.deepEqual(events.map((s) => [list(s.Action), list(s.Resource).map(flat)]), [
        [['events:PutEvents'], ['arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:event-bus/import:reef-shop-event-bus-name']],
      ]);
      const inVpc = name === 'created' || h === 'scores-eu';
      const known = /^(dynamodb|kms|secretsmanager|events):|^logs:(CreateLogStream|PutLogEvents)$|^xray:(PutTraceSegments|PutTelemetryRecords)$/;
      const eni = statements.filter((s) => list(s.Action).some((a) => a.startsWith('ec2:')));
      assert.equal(eni.length, inVpc ? 1 : 0, `${name} ${h}: ENI actions only in a VPC`);
      for (const s of statements.filter((x) => !eni.includes(x))) for (const a of list(s.Action)) assert.match(a, known, `${name} ${h}: ${a}`);
    }
  }
});

test('no other role reaches a harness partition: not the collect roles, not the organize role, not another harness slice whose name it prefixes', () => {
  for (const [name, i] of Object.entries(ALL)) {
    for (const h of HARNESS) {
      for (const [other, statements] of otherRoles(i, h)) {
        const d = ddb(statements);
        for (const pk of ownPartitions(h)) {
          for (const a of d.flatMap((s) => list(s.Action))) assert.ok(!canOnPartition(d, a, pk), `${name}: ${other} may ${a} on ${pk}`);
        }
      }
    }
  }
});

test('harness functions: Publish and RecordFailure on Node 24 / arm64, one role, one bundle, the environment the handlers read, no lake bucket', () => {
  for (const [name, i] of Object.entries(ALL)) {
    for (const h of HARNESS) {
      const t = template(i, stackOf(h));
      const stack = harnessStack(i, h);
      const fns = Object.values(t.findResources('AWS::Lambda::Function')).map((r) => (r as { Properties: Record<string, unknown> }).Properties);
      assert.deepEqual(fns.map((f) => f['Handler']).sort(), ['index.fail', 'index.publish']);
      assert.deepEqual(new Set(fns.map((f) => JSON.stringify(f['Role']))), new Set([JSON.stringify({ 'Fn::GetAtt': [logicalId(stack.harness.role), 'Arn'] })]));
      assert.equal(new Set(fns.map((f) => JSON.stringify(f['Code']))).size, 1, 'one shared asset');
      const published = i === own ? OWN.publications : CREATED.publications;
      const config = published.find((p) => p.slice === h)!;
      for (const f of fns) {
        assert.equal(f['Runtime'], 'nodejs24.x');
        assert.deepEqual(f['Architectures'], ['arm64']);
        const env = (f['Environment'] as { Variables: Record<string, unknown> }).Variables;
        assert.equal(env[SLICE_ENV.slice], h);
        assert.equal(env[SLICE_ENV.sliceType], config.type);
        assert.deepEqual(JSON.parse(String(env[SLICE_ENV.sliceConfig])), config.config, 'the config as validated, for Publish to store');
        assert.equal(env[SLICE_ENV.warehouseDialect], 'redshift');
        assert.equal(env[SLICE_ENV.bucket], undefined, 'no lake bucket');
        assert.equal(env[SLICE_ENV.copyRole], undefined, 'a harness slice never COPYs');
        const reader = h === 'scores-reader';
        if (i === created && !reader) {
          assert.deepEqual(env[SLICE_ENV.secretName], { 'Fn::ImportValue': 'reef-shop-warehouse-admin-secret-arn' });
        } else {
          assert.equal(env[SLICE_ENV.secretName], reader ? 'scores-warehouse-reader' : 'shop-warehouse', `${name} ${h}`);
        }
        if (i === created) {
          assert.deepEqual(JSON.parse(flat(env[SLICE_ENV.warehouseEndpoint]).replace(/import:reef-shop-warehouse-host/, 'HOST')), { host: 'HOST', port: 5439, database: 'reef' });
        } else {
          assert.equal(env[SLICE_ENV.warehouseEndpoint], undefined);
        }
      }
    }
  }
});

test('placement: next to a private application database, else next to a created warehouse (whose security group lets them in), else no VPC', () => {
  for (const [name, i] of Object.entries(ALL)) {
    for (const h of HARNESS) {
      const t = template(i, stackOf(h));
      const vpcs = Object.values(t.findResources('AWS::Lambda::Function')).map((r) => (r as { Properties: { VpcConfig?: { SubnetIds: string[] } } }).Properties.VpcConfig?.SubnetIds);
      const expected = name === 'created' ? WAREHOUSE_VPC.subnetIds : h === 'scores-eu' ? APP_VPC.subnetIds : undefined;
      for (const v of vpcs) assert.deepEqual(v, expected, `${name} ${h}`);
      const ingress = Object.values(t.findResources('AWS::EC2::SecurityGroupIngress')).map((r) => (r as { Properties: Record<string, unknown> }).Properties);
      if (name === 'created') {
        assert.deepEqual(ingress.map((r) => [r['GroupId'], r['SourceSecurityGroupId'], r['FromPort'], r['ToPort'], r['IpProtocol']]), [
          [{ 'Fn::ImportValue': 'reef-shop-warehouse-security-group-id' }, { 'Fn::GetAtt': [logicalId(harnessStack(i, h).harness.securityGroup!), 'GroupId'] }, 5439, 5439, 'tcp'],
        ]);
      } else {
        assert.deepEqual(ingress, [], `${name} ${h}`);
      }
    }
  }
});

test('state machine: the deployed definition is the builder output with the real function ARNs', () => {
  for (const [name, i] of Object.entries(ALL)) {
    for (const h of HARNESS) {
      const machines = Object.values(template(i, stackOf(h)).findResources('AWS::StepFunctions::StateMachine'));
      assert.equal(machines.length, 1);
      const props = (machines[0] as { Properties: Record<string, unknown> }).Properties;
      const fns = harnessStack(i, h).harness.functions;
      const dataset = h === 'orders-hook' ? 'shop.orders' : 'analytics.customer_ltv';
      const expected = buildHarnessStateMachine({ functionArns: { publish: `<${logicalId(fns.publish)}.Arn>`, fail: `<${logicalId(fns.fail)}.Arn>` }, installation: 'shop', publication: h, dataset });
      assert.deepEqual(JSON.parse(flat(props['DefinitionString'])), expected, `${name} ${h}`);
      assert.deepEqual(props['TracingConfiguration'], { Enabled: true });
      assert.equal((props['LoggingConfiguration'] as { Level: string }).Level, 'ALL');
    }
  }
});

test('starts: a rule on the installation\'s bus for the organize slice\'s loads and refreshes of its dataset only, and its type\'s fallback schedule', () => {
  const expected: Record<string, [string, string]> = {
    scores: ['analytics.customer_ltv', 'rate(15 minutes)'],
    'orders-hook': ['shop.orders', 'rate(1 hour)'],
  };
  for (const [h, [dataset, rate]] of Object.entries(expected)) {
    const t = template(own, stackOf(h));
    const machine = { Ref: logicalId(harnessStack(own, h).harness.stateMachine) };
    const rules = Object.values(t.findResources('AWS::Events::Rule')).map((r) => (r as { Properties: Record<string, unknown> }).Properties);
    assert.equal(rules.length, 1);
    assert.deepEqual(rules[0]!['EventBusName'], { 'Fn::ImportValue': 'reef-shop-event-bus-name' });
    assert.deepEqual(rules[0]!['EventPattern'], { source: ['reef.shop'], 'detail-type': ['data:batch.loaded', 'data:view.refreshed'], detail: { slice: ['warehouse'], dataset: [dataset] } });
    const [target] = rules[0]!['Targets'] as Array<{ Arn: unknown; InputTransformer: { InputPathsMap: Record<string, string>; InputTemplate: string } }>;
    assert.deepEqual(target!.Arn, machine);
    assert.equal(target!.InputTransformer.InputTemplate, '{"trigger":"event","slice":<detail-slice>,"dataset":<detail-dataset>,"timelabel":<detail-timelabel>}');

    const schedules = Object.values(t.findResources('AWS::Scheduler::Schedule')).map((r) => (r as { Properties: Record<string, unknown> }).Properties);
    assert.deepEqual(schedules.map((s) => [s['ScheduleExpression'], s['ScheduleExpressionTimezone']]), [[rate, 'Etc/UTC']], h);
    const scheduled = schedules[0]!['Target'] as { Arn: unknown; Input: string };
    assert.deepEqual(scheduled.Arn, machine);
    assert.deepEqual(JSON.parse(scheduled.Input), { trigger: 'schedule', scheduledTime: '<aws.scheduler.scheduled-time>' });
  }
});

test('refused at synth: a publication named like the organize slice, one without a warehouse, one outside a created warehouse\'s VPC', () => {
  const build = (flow: Flow) => () => buildInstallation(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), flow);
  assert.throws(build({ ...OWN, publications: [spec('warehouse', postgres('w'))] }), /harness slice warehouse: found a publication named like the organize slice/);
  const { warehouse: _w, ...noWarehouse } = OWN.installation;
  assert.throws(build({ ...OWN, installation: noWarehouse, views: [], publications: [spec('scores', postgres('scores'))] }), /publications\/scores\.yaml: found a publication, but reef\.yaml names no warehouse/);
  assert.throws(
    build({ ...CREATED, publications: [spec('scores-eu', postgres('scores_eu', { connection: { secret: 'shop-app-eu', vpc: APP_VPC } }))] }),
    /publications\/scores-eu\.yaml: connection\.vpc: found vpc-0aaaaaaaaaaaaaaa0; expected vpc-0123456789abcdef0/,
  );
});

test('cdk-nag AwsSolutions and Serverless: no unacknowledged finding, every acknowledgement in a harness stack says why and is one reviewed here', () => {
  for (const [name, i] of Object.entries(ALL)) {
    assert.deepEqual(nagFindings(i), [], name);
    const harness = acknowledgements(i.app).filter((a) => a.path.includes('-harness-'));
    for (const a of harness) assert.ok(a.reason.trim().length >= 20, `${a.path} ${a.id}: reason "${a.reason}"`);
    const ids = [...new Set(harness.map((a) => a.id.replace(/^Annotation::/, '')))].sort();
    assert.deepEqual(ids, [
      'AwsSolutions-IAM5[Resource::*]',
      'Serverless-EventBusDLQ',
      'Serverless-LambdaDLQ',
      // Both variants place some harness functions in a VPC (scores-eu next to its database; every one next to a created warehouse).
      '@aws-cdk/aws-ec2:noSubnetRouteTableId',
    ].sort(), name);
  }
});

test('the shop example (what `cdk synth` builds from cdk.json) gets a harness stack for publications/customer-scores.yaml', () => {
  const s = synth((app: App) => {
    const inst = buildInstallation(app, shop);
    return [inst.core, ...inst.slices.values()];
  });
  assert.equal(s.synthError, undefined, String(s.synthError));
  assert.ok(s.templates.has(stackOf('customer-scores')));
  assert.deepEqual(nagFindings(s), []);
});
