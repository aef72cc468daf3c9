/**
 * Proves the vendor roles and the slice roles with an IAM policy simulator
 * (@cloud-copilot/iam-simulate) on the policies of the synthesized templates,
 * resolved into the ARNs they take in one account and region:
 *
 * - no vendor role (monitoring, administration, upgrade in its window) may
 *   read a lake object under any slice prefix, use the lake key to decrypt,
 *   read any secret, or query a warehouse (Redshift, Redshift Serverless,
 *   Redshift Data API, Athena); both with the roles' explicit Deny guard and
 *   without it (the Allows alone grant none of it);
 * - each vendor role may do what it exists for, and no more of the other's;
 * - each role trusts only the vendor account with the external id, and the
 *   upgrade role only before the window parameter;
 * - every slice role reaches only its own prefix, config item and secrets,
 *   with slice names that are prefixes of each other (shop, shop-eu; scores,
 *   scores-eu);
 * - the checks can fail: a deliberately broadened policy is caught;
 * - cdk-nag AwsSolutions and Serverless report nothing unacknowledged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadFlow } from '../shared/flow/load.ts';
import type { Flow, SliceSpec } from '../shared/flow/types.ts';
import { ORGANIZE_SLICE } from '../shared/slice.ts';
import { slicePrefix, partKey, redshiftManifestKey } from '../shared/lake/layout.ts';
import { keys } from '../shared/metadata/keys.ts';
import { VENDOR_ROLES, type VendorRole } from '../shared/metadata/types.ts';
import { UPGRADE_WINDOW_PARAMETER, vendorRoleName } from '../shared/vendor/access.ts';
import { buildInstallation, coreStackId, sliceStackId } from './installation.ts';
import { acknowledgements, logicalId, nagFindings, synth } from './template-support.ts';
import { allowsOnly, decide, TemplateResolver, TEST_ACCOUNT, TEST_REGION, type PolicyDocument, type Request } from './policy-simulation.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const VENDOR_ACCOUNT = '999988887777';
const EXTERNAL_ID = 'reef-shop-4f1c9a';
const UNTIL = '2026-07-01T18:00:00Z';
const IN_WINDOW = '2026-06-30T12:00:00Z';
const AFTER_WINDOW = '2026-07-01T18:00:01Z';

const shop = await loadFlow(resolve(REPO, 'examples/shop'));
const shopSource = shop.sources[0]!;
const shopConfig = shopSource.config as { connection: Record<string, unknown> };
// Its own secret, so that "another slice's secret" means something for the collect slices too.
const shopEu: SliceSpec = { ...shopSource, slice: 'shop-eu', file: 'sources/shop-eu.yaml', config: { ...shopConfig, connection: { ...shopConfig.connection, secret: 'shop-eu-source' } } };
const scores = shop.publications[0]!;
const scoresConfig = scores.config as { connection: Record<string, unknown>; target: Record<string, unknown> };
const scoresEu: SliceSpec = {
  ...scores,
  slice: `${scores.slice}-eu`,
  file: `publications/${scores.slice}-eu.yaml`,
  config: { ...scoresConfig, connection: { ...scoresConfig.connection, secret: 'shop-app-eu' }, target: { ...scoresConfig.target, table: 'scores_eu' } },
};

function flowWith(vendor: Flow['installation']['vendor']): Flow {
  return {
    ...shop,
    installation: { ...shop.installation, account: TEST_ACCOUNT, region: TEST_REGION, ...(vendor ? { vendor } : {}) },
    sources: [shopSource, shopEu],
    publications: [scores, scoresEu],
  };
}

const FLOW = flowWith({ account: VENDOR_ACCOUNT, externalId: EXTERNAL_ID, upgradeWindow: { until: UNTIL } });
const installed = (() => {
  let inst: ReturnType<typeof buildInstallation> | undefined;
  const s = synth((app) => {
    inst = buildInstallation(app, FLOW);
    return [inst.core, ...inst.slices.values()];
  });
  return { ...s, inst: inst! };
})();
const resolver = new TemplateResolver(installed.templates);

const NAME = shop.installation.name;
const CORE = coreStackId(NAME);
const COLLECT = [shopSource.slice, shopEu.slice];
const HARNESS = [scores.slice, scoresEu.slice];
const SLICES = [...COLLECT, ORGANIZE_SLICE, ...HARNESS];
const kindOf = (slice: string) => (COLLECT.includes(slice) ? 'collect' : HARNESS.includes(slice) ? 'harness' : 'organize');
const sliceStack = (slice: string) => sliceStackId(NAME, kindOf(slice), slice);

// The real ARNs, resolved from the templates.
const exported = (what: string) => String(resolver.exportedValue(`reef-${NAME}-${what}`));
const TABLE_ARN = `arn:aws:dynamodb:${TEST_REGION}:${TEST_ACCOUNT}:table/${exported('table-name')}`;
const LAKE = exported('lake-bucket-name');
const LAKE_KEY_ARN = exported('lake-key-arn');
const secretArn = (name: string) => `arn:aws:secretsmanager:${TEST_REGION}:${TEST_ACCOUNT}:secret:${name}-AbCdEf`;
const SECRETS: Record<string, string[]> = {
  [shopSource.slice]: ['shop-source'],
  [shopEu.slice]: ['shop-eu-source'],
  [ORGANIZE_SLICE]: ['shop-warehouse'],
  [scores.slice]: ['shop-app'],
  [scoresEu.slice]: ['shop-app-eu'],
};
const ALL_SECRETS = [...new Set([...Object.values(SECRETS).flat(), 'some-other-app-secret'])];
/** An object of each slice's prefix, as the lake layout names it. */
const lakeObject = (slice: string) => `arn:aws:s3:::${LAKE}/${partKey(slice, 'public.orders', '20260305080000', 0)}`;
const stackArn = (name: string) => `arn:aws:cloudformation:${TEST_REGION}:${TEST_ACCOUNT}:stack/${name}/1a2b3c4d-0000-0000-0000-000000000000`;

function machineArnOf(slice: string): string {
  const t = resolver.template(sliceStack(slice));
  const ids = Object.entries(t.Resources).filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine').map(([id]) => id);
  assert.equal(ids.length, 1, `${slice}: state machines ${ids.join(', ')}`);
  return String(resolver.resolve(sliceStack(slice), { Ref: ids[0] }));
}
const executionArnOf = (slice: string) => `${machineArnOf(slice).replace(':stateMachine:', ':execution:')}:20260305080000-run`;

function sliceRoleOf(slice: string): { stack: string; id: string } {
  const stack = installed.inst.slices.get(slice) as unknown as Record<string, { role: Parameters<typeof logicalId>[0] }>;
  const construct = stack['collect'] ?? stack['organize'] ?? stack['harness'];
  assert.ok(construct, `${slice}: no slice construct`);
  return { stack: sliceStack(slice), id: logicalId(construct.role) };
}

function vendorRole(role: VendorRole) {
  const at = resolver.findRole(vendorRoleName(NAME, role));
  return { ...at, arn: resolver.roleArn(at.stack, at.id), policies: resolver.rolePolicies(at.stack, at.id), boundary: resolver.roleBoundary(at.stack, at.id) };
}

/** What no vendor role may ever do: read data, decrypt it, read a secret, query a warehouse. */
const FORBIDDEN: Request[] = [
  ...SLICES.map((s) => ({ action: 's3:GetObject', resource: lakeObject(s) })),
  { action: 's3:GetObjectVersion', resource: lakeObject(shopSource.slice) },
  { action: 's3:GetObject', resource: `arn:aws:s3:::${LAKE}/${redshiftManifestKey(shopSource.slice, 'public.orders', '20260305080000')}` },
  { action: 'kms:Decrypt', resource: LAKE_KEY_ARN },
  { action: 'kms:GenerateDataKey', resource: LAKE_KEY_ARN },
  ...ALL_SECRETS.map((n) => ({ action: 'secretsmanager:GetSecretValue', resource: secretArn(n) })),
  { action: 'redshift-data:ExecuteStatement', resource: `arn:aws:redshift:${TEST_REGION}:${TEST_ACCOUNT}:cluster:warehouse` },
  { action: 'redshift-data:ExecuteStatement', resource: `arn:aws:redshift-serverless:${TEST_REGION}:${TEST_ACCOUNT}:workgroup/0f1e2d3c-0000-0000-0000-000000000000` },
  { action: 'redshift:GetClusterCredentials', resource: `arn:aws:redshift:${TEST_REGION}:${TEST_ACCOUNT}:dbuser:warehouse/admin` },
  { action: 'redshift-serverless:GetCredentials', resource: `arn:aws:redshift-serverless:${TEST_REGION}:${TEST_ACCOUNT}:workgroup/0f1e2d3c-0000-0000-0000-000000000000` },
  { action: 'athena:StartQueryExecution', resource: `arn:aws:athena:${TEST_REGION}:${TEST_ACCOUNT}:workgroup/primary` },
];

/**
 * The resource policy IAM evaluates beside the identity policies: the lake
 * key's key policy (KMS needs it to allow too) and the lake bucket's policy,
 * as deployed.
 */
const lakeKeyPolicy = resolver.resolve(CORE, resolver.template(CORE).Resources[logicalId(installed.inst.core.lakeKey)]!.Properties!['KeyPolicy']) as PolicyDocument;
const lakeBucketPolicy = (() => {
  const bucket = logicalId(installed.inst.core.lakeBucket);
  const policy = Object.values(resolver.template(CORE).Resources).find((r) => r.Type === 'AWS::S3::BucketPolicy' && JSON.stringify(r.Properties!['Bucket']) === JSON.stringify({ Ref: bucket }));
  return resolver.resolve(CORE, policy!.Properties!['PolicyDocument']) as PolicyDocument;
})();
const resourcePolicyOf = (r: Request): PolicyDocument | undefined =>
  r.resource === LAKE_KEY_ARN ? lakeKeyPolicy : r.resource.startsWith(`arn:aws:s3:::${LAKE}/`) ? lakeBucketPolicy : undefined;

/** The forbidden requests a principal's policies allow, each as one line: what must be empty. */
async function dataAccess(principal: string, policies: PolicyDocument[], now: string): Promise<string[]> {
  const found: string[] = [];
  for (const r of FORBIDDEN) {
    const decision = await decide(principal, policies, { ...r, context: { 'aws:CurrentTime': now, 'aws:SecureTransport': 'true' } }, resourcePolicyOf(r));
    if (decision === 'Allowed') found.push(`${r.action} on ${r.resource}`);
  }
  return found;
}

async function expectDecision(principal: string, policies: PolicyDocument[], r: Request, expected: 'Allowed' | 'Denied', why: string, boundary?: PolicyDocument): Promise<void> {
  const decision = await decide(principal, policies, r, undefined, boundary);
  assert.equal(decision === 'Allowed' ? 'Allowed' : 'Denied', expected, `${why}: ${r.action} on ${r.resource} ${JSON.stringify(r.context ?? {})} was ${decision}`);
}

// ---------------------------------------------------------------------------

test('synth succeeds; the three vendor roles are in the core stack under their fixed names', () => {
  assert.equal(installed.synthError, undefined, String(installed.synthError));
  for (const role of VENDOR_ROLES) assert.equal(resolver.findRole(vendorRoleName(NAME, role)).stack, CORE, role);
  const parameter = resolver.template(CORE).Parameters?.[UPGRADE_WINDOW_PARAMETER];
  assert.equal(parameter?.Default, UNTIL);
});

test('no vendor role can read lake objects, decrypt with the lake key, read a secret or query the warehouse', async () => {
  for (const role of VENDOR_ROLES) {
    const { arn, policies } = vendorRole(role);
    // As deployed: the explicit Deny guard answers.
    for (const r of FORBIDDEN) {
      assert.equal(await decide(arn, policies, { ...r, context: { 'aws:CurrentTime': IN_WINDOW, 'aws:SecureTransport': 'true' } }, resourcePolicyOf(r)), 'ExplicitlyDenied', `${role}: ${r.action} on ${r.resource}`);
    }
    // Without the guard: the Allows alone grant none of it, so the guard is a second line, not the only one.
    assert.deepEqual(await dataAccess(arn, allowsOnly(policies), IN_WINDOW), [], role);
  }
});

test('the check fails on a broadened policy: an Allow of s3:GetObject, kms:Decrypt or a secret is caught', async () => {
  const { arn, policies } = vendorRole('monitoring');
  const broadened = (Action: string[]): PolicyDocument[] => [...policies, { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action, Resource: '*' }] }];
  const s3 = await dataAccess(arn, allowsOnly(broadened(['s3:GetObject'])), IN_WINDOW);
  assert.equal(s3.length, SLICES.length + 1, s3.join('\n'));
  assert.deepEqual(await dataAccess(arn, allowsOnly(broadened(['kms:Decrypt'])), IN_WINDOW), [`kms:Decrypt on ${LAKE_KEY_ARN}`]);
  assert.equal((await dataAccess(arn, allowsOnly(broadened(['secretsmanager:*'])), IN_WINDOW)).length, ALL_SECRETS.length);
  assert.equal((await dataAccess(arn, allowsOnly(broadened(['redshift-data:*', 'athena:*'])), IN_WINDOW)).length, 3);
  // And the guard holds against exactly such a policy, attached by hand (AWS's ReadOnlyAccess reads S3 objects).
  assert.deepEqual(await dataAccess(arn, broadened(['s3:GetObject', 'kms:Decrypt', 'secretsmanager:GetSecretValue', 'redshift-data:*', 'athena:*']), IN_WINDOW), []);
});

test('monitoring: describes executions, state machines, functions, stacks, reads metadata and logs; changes nothing', async () => {
  const { arn, policies, boundary } = vendorRole('monitoring');
  assert.ok(boundary, 'monitoring has a permissions boundary');
  const allowed = (r: Request, why: string) => expectDecision(arn, policies, r, 'Allowed', `monitoring ${why}`, boundary);
  const denied = (r: Request, why: string) => expectDecision(arn, policies, r, 'Denied', `monitoring ${why}`, boundary);
  for (const slice of SLICES) {
    await allowed({ action: 'states:DescribeExecution', resource: executionArnOf(slice) }, slice);
    await allowed({ action: 'states:GetExecutionHistory', resource: executionArnOf(slice) }, slice);
    await allowed({ action: 'states:DescribeStateMachine', resource: machineArnOf(slice) }, slice);
    await denied({ action: 'states:StartExecution', resource: machineArnOf(slice) }, slice);
    await allowed({ action: 'cloudformation:DescribeStacks', resource: stackArn(sliceStack(slice)) }, slice);
    await denied({ action: 'cloudformation:UpdateStack', resource: stackArn(sliceStack(slice)) }, slice);
  }
  await allowed({ action: 'cloudformation:DescribeStacks', resource: stackArn(CORE) }, 'core');
  await denied({ action: 'cloudformation:DescribeStacks', resource: stackArn('someone-elses-stack') }, 'other stacks');
  for (const action of ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:Scan']) await allowed({ action, resource: TABLE_ARN }, 'metadata');
  for (const action of ['dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem']) await denied({ action, resource: TABLE_ARN }, 'metadata');
  // A function's log stream, of the shop slice's plan function.
  const t = resolver.template(sliceStack(shopSource.slice));
  const logGroup = Object.entries(t.Resources).find(([id, r]) => r.Type === 'AWS::Logs::LogGroup' && id.includes('Plan'))![0];
  const logGroupArn = String(resolver.resolve(sliceStack(shopSource.slice), { 'Fn::GetAtt': [logGroup, 'Arn'] }));
  await allowed({ action: 'logs:GetLogEvents', resource: logGroupArn.replace(/:\*$/, ':log-stream:2026/03/05/[$LATEST]abc') }, 'logs');
  await denied({ action: 'logs:GetLogEvents', resource: `arn:aws:logs:${TEST_REGION}:${TEST_ACCOUNT}:log-group:/aws/lambda/payroll:log-stream:x` }, 'other logs');
  await allowed({ action: 'cloudwatch:GetMetricData', resource: '*' }, 'metrics');
});

test('administration: starts and redrives executions, updates config items only (their attributes, their partition)', async () => {
  const { arn, policies, boundary } = vendorRole('administration');
  assert.ok(boundary, 'administration has a permissions boundary');
  const at = (r: Request, expected: 'Allowed' | 'Denied', why: string) => expectDecision(arn, policies, r, expected, `administration ${why}`, boundary);
  const update = (pk: string, attributes: string[]): Request => ({
    action: 'dynamodb:UpdateItem',
    resource: TABLE_ARN,
    context: { 'dynamodb:LeadingKeys': [pk], 'dynamodb:Attributes': attributes },
  });
  for (const slice of SLICES) {
    await at({ action: 'states:StartExecution', resource: machineArnOf(slice) }, 'Allowed', slice);
    await at({ action: 'states:RedriveExecution', resource: executionArnOf(slice) }, 'Allowed', slice);
    await at(update(keys.sliceConfig(slice).pk, ['pk', 'sk', 'configJson', 'version', 'updatedAt']), 'Allowed', `${slice} config`);
    // Not a batch record's status, not the slice's schemas or events.
    await at(update(keys.sliceConfig(slice).pk, ['pk', 'sk', 'status']), 'Denied', `${slice} batch status`);
    await at(update(keys.eventsPartition(slice), ['pk', 'sk', 'configJson']), 'Denied', `${slice} events`);
    await at({ action: 'dynamodb:PutItem', resource: TABLE_ARN, context: { 'dynamodb:LeadingKeys': [keys.sliceConfig(slice).pk] } }, 'Denied', slice);
    await at({ action: 'cloudformation:UpdateStack', resource: stackArn(sliceStack(slice)) }, 'Denied', slice);
  }
  await at(update(keys.installation().pk, ['pk', 'sk', 'configJson']), 'Denied', 'installation item');
  await at({ action: 'states:StartExecution', resource: `arn:aws:states:${TEST_REGION}:${TEST_ACCOUNT}:stateMachine:payroll` }, 'Denied', 'another state machine');
});

test('upgrade: creates and updates the slice stacks, passing only their roles, only inside the window; never the core stack', async () => {
  const { arn, policies } = vendorRole('upgrade');
  const at = (r: Request, expected: 'Allowed' | 'Denied', why: string) => expectDecision(arn, policies, r, expected, `upgrade ${why}`);
  const inWindow = { 'aws:CurrentTime': IN_WINDOW };
  for (const slice of SLICES) {
    for (const action of ['cloudformation:UpdateStack', 'cloudformation:CreateChangeSet', 'cloudformation:ExecuteChangeSet']) {
      await at({ action, resource: stackArn(sliceStack(slice)), context: inWindow }, 'Allowed', slice);
      await at({ action, resource: stackArn(sliceStack(slice)), context: { 'aws:CurrentTime': AFTER_WINDOW } }, 'Denied', `${slice} after the window`);
    }
    const role = sliceRoleOf(slice);
    const passRole = (service: string, now: string): Request => ({ action: 'iam:PassRole', resource: resolver.roleArn(role.stack, role.id), context: { 'iam:PassedToService': service, 'aws:CurrentTime': now } });
    await at(passRole('lambda.amazonaws.com', IN_WINDOW), 'Allowed', `${slice} role to Lambda`);
    await at(passRole('lambda.amazonaws.com', AFTER_WINDOW), 'Denied', `${slice} role after the window`);
    await at(passRole('ec2.amazonaws.com', IN_WINDOW), 'Denied', `${slice} role to EC2`);
  }
  // A new slice's stack, within the window.
  await at({ action: 'cloudformation:CreateStack', resource: stackArn(sliceStackId(NAME, 'collect', 'crm')), context: inWindow }, 'Allowed', 'a new slice');
  await at({ action: 'cloudformation:UpdateStack', resource: stackArn(CORE), context: inWindow }, 'Denied', 'the core stack (holds the vendor roles and the window)');
  await at({ action: 'cloudformation:UpdateStack', resource: stackArn('payroll'), context: inWindow }, 'Denied', 'another stack');
  for (const other of [...VENDOR_ROLES.map((r) => vendorRoleName(NAME, r)), 'admin', `${CORE}-Role`]) {
    await at({ action: 'iam:PassRole', resource: `arn:aws:iam::${TEST_ACCOUNT}:role/${other}`, context: { 'iam:PassedToService': 'lambda.amazonaws.com', ...inWindow } }, 'Denied', `role ${other}`);
  }
  // The window is the parameter: closing it (a past time) turns the role off without a new template.
  const closed = new TemplateResolver(installed.templates, { [UPGRADE_WINDOW_PARAMETER]: '1970-01-01T00:00:00.000Z' });
  const at2 = closed.findRole(vendorRoleName(NAME, 'upgrade'));
  assert.equal(await decide(arn, closed.rolePolicies(at2.stack, at2.id), { action: 'cloudformation:UpdateStack', resource: stackArn(sliceStack(shopSource.slice)), context: inWindow }), 'ImplicitlyDenied');
});

test('upgrade: CloudFormation may change the slice stacks\' resources on its behalf, inside the window; the role itself may not call them', async () => {
  const { arn, policies } = vendorRole('upgrade');
  const at = (r: Request, expected: 'Allowed' | 'Denied', why: string) => expectDecision(arn, policies, r, expected, `upgrade ${why}`);
  const via = { 'aws:CurrentTime': IN_WINDOW, 'aws:CalledViaFirst': 'cloudformation.amazonaws.com', 'aws:CalledVia': ['cloudformation.amazonaws.com'] };
  for (const slice of SLICES) {
    const t = resolver.template(sliceStack(slice));
    const fn = Object.entries(t.Resources).find(([, r]) => r.Type === 'AWS::Lambda::Function')![0];
    const functionArn = String(resolver.resolve(sliceStack(slice), { 'Fn::GetAtt': [fn, 'Arn'] }));
    await at({ action: 'lambda:UpdateFunctionCode', resource: functionArn, context: via }, 'Allowed', `${slice} function through CloudFormation`);
    await at({ action: 'lambda:UpdateFunctionCode', resource: functionArn, context: { 'aws:CurrentTime': IN_WINDOW } }, 'Denied', `${slice} function called directly`);
    await at({ action: 'lambda:UpdateFunctionCode', resource: functionArn, context: { ...via, 'aws:CurrentTime': AFTER_WINDOW } }, 'Denied', `${slice} function after the window`);
    await at({ action: 'lambda:InvokeFunction', resource: functionArn, context: via }, 'Denied', `${slice} function invoked`);
    await at({ action: 'states:UpdateStateMachine', resource: machineArnOf(slice), context: via }, 'Allowed', `${slice} state machine`);
    const role = sliceRoleOf(slice);
    await at({ action: 'iam:PutRolePolicy', resource: resolver.roleArn(role.stack, role.id), context: via }, 'Allowed', `${slice} role policy`);
  }
  await at({ action: 'lambda:UpdateFunctionCode', resource: `arn:aws:lambda:${TEST_REGION}:${TEST_ACCOUNT}:function:payroll-export`, context: via }, 'Denied', 'a function of another stack');
  await at({ action: 'lambda:UpdateFunctionCode', resource: `arn:aws:lambda:${TEST_REGION}:${TEST_ACCOUNT}:function:${CORE}-Anything`, context: via }, 'Denied', 'a function of the core stack');
  await at({ action: 'iam:PutRolePolicy', resource: vendorRole('monitoring').arn, context: via }, 'Allowed', 'the grants slice stacks put on the monitoring role (its boundary caps them)');
  for (const role of VENDOR_ROLES) {
    const target = vendorRole(role).arn;
    await at({ action: 'iam:DeleteRolePermissionsBoundary', resource: target, context: via }, 'Denied', `${role} boundary removed`);
    await at({ action: 'iam:PutRolePermissionsBoundary', resource: target, context: via }, 'Denied', `${role} boundary replaced`);
  }
  await at({ action: 'iam:PutRolePolicy', resource: vendorRole('upgrade').arn, context: via }, 'Denied', 'its own policies');
  // A release's artifacts: objects of the vendor's own buckets only, through CloudFormation.
  const release = 'arn:aws:s3:::reef-releases-eu-west-1/0.2.0/acme/shop-collect-shop.template.json';
  await at({ action: 's3:GetObject', resource: release, context: { ...via, 's3:ResourceAccount': VENDOR_ACCOUNT } }, 'Allowed', 'a release template');
  await at({ action: 's3:GetObject', resource: release, context: { 'aws:CurrentTime': IN_WINDOW, 's3:ResourceAccount': VENDOR_ACCOUNT } }, 'Denied', 'a release template read directly');
  await at({ action: 's3:GetObject', resource: 'arn:aws:s3:::customer-exports/x.csv', context: { ...via, 's3:ResourceAccount': TEST_ACCOUNT } }, 'Denied', "an object of the customer's account");
  assert.equal(await decide(arn, policies, { action: 's3:GetObject', resource: lakeObject(shopSource.slice), context: { ...via, 's3:ResourceAccount': TEST_ACCOUNT, 'aws:SecureTransport': 'true' } }, lakeBucketPolicy), 'ExplicitlyDenied');
});

test('boundaries: a policy attached to the monitoring or administration role later (say, by an upgraded slice stack) cannot give it any other action', async () => {
  const widened: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['lambda:InvokeFunction', 'states:StartExecution', 'dynamodb:PutItem', 'iam:CreateRole', 'sts:AssumeRole'], Resource: '*' }] };
  for (const role of ['monitoring', 'administration'] as const) {
    const { arn, policies, boundary } = vendorRole(role);
    const at = (r: Request, expected: 'Allowed' | 'Denied', why: string) => expectDecision(arn, [...policies, widened], r, expected, `${role} ${why}`, boundary);
    await at({ action: 'lambda:InvokeFunction', resource: `arn:aws:lambda:${TEST_REGION}:${TEST_ACCOUNT}:function:${sliceStack(shopSource.slice)}-Collect` }, 'Denied', 'invoke a slice function');
    await at({ action: 'dynamodb:PutItem', resource: TABLE_ARN }, 'Denied', 'write the metadata');
    await at({ action: 'iam:CreateRole', resource: `arn:aws:iam::${TEST_ACCOUNT}:role/backdoor` }, 'Denied', 'create a role');
    await at({ action: 'sts:AssumeRole', resource: resolver.roleArn(sliceRoleOf(shopSource.slice).stack, sliceRoleOf(shopSource.slice).id) }, 'Denied', 'assume a slice role');
    // Without the boundary the widened policy would have worked: the boundary is what stops it.
    assert.equal(await decide(arn, [...policies, widened], { action: 'dynamodb:PutItem', resource: TABLE_ARN }), 'Allowed', role);
  }
  // Within the boundary, the role keeps what it is for.
  const admin = vendorRole('administration');
  await expectDecision(admin.arn, [...admin.policies, widened], { action: 'states:StartExecution', resource: machineArnOf(shopSource.slice) }, 'Allowed', 'administration starts', admin.boundary);
});

test('trust: only the vendor account, only with the external id; the upgrade role only inside the window', async () => {
  const vendorPrincipal = `arn:aws:iam::${VENDOR_ACCOUNT}:role/reef-operations`;
  // The vendor's own side lets its operators assume anything; the trust policy is what decides.
  const callerPolicies: PolicyDocument[] = [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }] }];
  for (const role of VENDOR_ROLES) {
    const { stack, id, arn } = vendorRole(role);
    const trust = resolver.trustPolicy(stack, id);
    const assume = (principal: string, context: Record<string, string>) => decide(principal, callerPolicies, { action: 'sts:AssumeRole', resource: arn, context: { 'aws:CurrentTime': IN_WINDOW, ...context } }, trust);
    assert.equal(await assume(vendorPrincipal, { 'sts:ExternalId': EXTERNAL_ID }), 'Allowed', role);
    assert.notEqual(await assume(vendorPrincipal, { 'sts:ExternalId': 'guessed' }), 'Allowed', `${role}: wrong external id`);
    assert.notEqual(await assume(vendorPrincipal, {}), 'Allowed', `${role}: no external id`);
    assert.notEqual(await assume(`arn:aws:iam::444455556666:role/reef-operations`, { 'sts:ExternalId': EXTERNAL_ID }), 'Allowed', `${role}: another account`);
    const afterWindow = await assume(vendorPrincipal, { 'sts:ExternalId': EXTERNAL_ID, 'aws:CurrentTime': AFTER_WINDOW });
    assert.equal(afterWindow === 'Allowed', role !== 'upgrade', `${role} after the window: ${afterWindow}`);
  }
});

/** Every request a slice role's policies decide differently from what its slice owns. */
async function crossSliceFindings(slice: string, policies: PolicyDocument[]): Promise<string[]> {
  const { stack, id } = sliceRoleOf(slice);
  const principal = resolver.roleArn(stack, id);
  const kind = kindOf(slice);
  const found: string[] = [];
  const check = async (r: Request, expected: boolean) => {
    const allowed = (await decide(principal, policies, { ...r, context: { 'aws:SecureTransport': 'true', ...r.context } }, resourcePolicyOf(r))) === 'Allowed';
    if (allowed !== expected) found.push(`${slice}: ${r.action} on ${r.resource} ${JSON.stringify(r.context ?? {})}: ${allowed ? 'allowed' : 'denied'}, expected ${expected ? 'allowed' : 'denied'}`);
  };
  for (const other of SLICES) {
    const own = other === slice;
    // Writes: only under its own prefix (the organize slice: its Redshift manifests, under its own prefix too).
    await check({ action: 's3:PutObject', resource: lakeObject(other) }, own && kind === 'collect');
    // Reads: its own prefix; the organize slice also reads what the collect slices wrote.
    await check({ action: 's3:GetObject', resource: lakeObject(other) }, (own && kind === 'collect') || (kind === 'organize' && COLLECT.includes(other)));
    await check({ action: 'dynamodb:PutItem', resource: TABLE_ARN, context: { 'dynamodb:LeadingKeys': [keys.sliceConfig(other).pk] } }, own);
    await check({ action: 'dynamodb:PutItem', resource: TABLE_ARN, context: { 'dynamodb:LeadingKeys': [keys.eventsPartition(other)] } }, own);
  }
  if (kind === 'organize') await check({ action: 's3:PutObject', resource: `arn:aws:s3:::${LAKE}/${redshiftManifestKey(shopSource.slice, 'public.orders', '20260305080000')}` }, true);
  // Secrets: its own; a harness slice also reads the warehouse's, whose data it publishes.
  const readable = new Set([...(SECRETS[slice] ?? []), ...(kind === 'harness' ? SECRETS[ORGANIZE_SLICE]! : [])]);
  for (const name of ALL_SECRETS) await check({ action: 'secretsmanager:GetSecretValue', resource: secretArn(name) }, readable.has(name));
  return found;
}

test('slice roles: each reaches only its own prefix, config items and secrets (names that are prefixes of each other)', async () => {
  for (const slice of SLICES) {
    const { stack, id } = sliceRoleOf(slice);
    assert.deepEqual(await crossSliceFindings(slice, resolver.rolePolicies(stack, id)), []);
  }
  assert.ok(slicePrefix(shopEu.slice).startsWith(shopSource.slice) && scoresEu.slice.startsWith(scores.slice));
});

test('the cross-slice check fails on a broadened slice policy (a prefix wildcard one character too wide)', async () => {
  const { stack, id } = sliceRoleOf(shopSource.slice);
  // `shop*` instead of `shop/*`: the classic mistake that opens shop-eu's objects.
  const careless: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: `arn:aws:s3:::${LAKE}/${shopSource.slice}*` }] };
  const found = await crossSliceFindings(shopSource.slice, [...resolver.rolePolicies(stack, id), careless]);
  assert.deepEqual(found.map((f) => f.replace(/ on .*/, '')), [`${shopSource.slice}: s3:PutObject`, `${shopSource.slice}: s3:GetObject`]);
});

test('cdk-nag AwsSolutions and Serverless: no unacknowledged finding; every vendor acknowledgement says why', () => {
  assert.deepEqual(nagFindings(installed), []);
  const vendorAcks = acknowledgements(installed.app).filter((a) => a.path.includes('/Vendor'));
  assert.ok(vendorAcks.length > 0);
  for (const a of vendorAcks) assert.ok(a.reason.trim().length >= 40, `${a.path} ${a.id}: reason "${a.reason}"`);
});

test('without `vendor` in reef.yaml: no vendor role, no window parameter, no vendor policy in any stack', () => {
  const plain = synth((app) => {
    const inst = buildInstallation(app, flowWith(undefined));
    return [inst.core, ...inst.slices.values()];
  });
  assert.equal(plain.synthError, undefined, String(plain.synthError));
  for (const [name, t] of plain.templates) {
    assert.doesNotMatch(JSON.stringify(t.toJSON()), /vendor|VendorUpgradeUntil/i, name);
  }
});

test('reef.yaml `vendor` is validated: a bad account, a missing external id, an impossible time are told with line and field', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'reef-vendor-flow-'));
  mkdirSync(join(dir, 'sources'));
  writeFileSync(
    join(dir, 'reef.yaml'),
    ['name: acme', 'vendor:', '  account: "12345"', '  upgradeWindow:', '    until: 2026-02-30T10:00:00Z', ''].join('\n'),
  );
  const problems = await loadFlow(dir).then(
    () => assert.fail('expected the flow to be refused'),
    (e: unknown) => String(e instanceof Error ? e.message : e),
  );
  assert.match(problems, /reef\.yaml:3.*vendor\.account/);
  assert.match(problems, /reef\.yaml:2.*externalId/);
  writeFileSync(join(dir, 'reef.yaml'), ['name: acme', 'vendor:', '  account: "123456789012"', '  externalId: x-1', '  upgradeWindow:', '    until: 2026-02-30T10:00:00Z', ''].join('\n'));
  const impossible = await loadFlow(dir).then(
    () => assert.fail('expected the flow to be refused'),
    (e: unknown) => String(e instanceof Error ? e.message : e),
  );
  assert.match(impossible, /reef\.yaml:6.*vendor\.upgradeWindow\.until: found "2026-02-30T10:00:00Z", expected a real UTC time/);
});
