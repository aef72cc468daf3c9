/**
 * The customer's controls on a deployed installation, through the real `reef`
 * CLI and the real SDK clients, against the AWS stand-in holding the
 * synthesized stacks (test/support/aws-standin.ts): `vendor-access --aws`
 * moves the core stack's VendorUpgradeUntil parameter, and IAM, evaluating
 * the deployed trust policy with that value, lets the vendor's upgrade role
 * in or keeps it out; `reef audit --aws` reads what the vendor's roles did
 * from CloudTrail, allowed and denied.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { CloudFormationClient, DescribeStacksCommand, UpdateStackCommand } from '@aws-sdk/client-cloudformation';
import { TEST_ACCOUNT, TEST_REGION } from '../infra/policy-simulation.ts';
import { CLOSED_UPGRADE_WINDOW, UPGRADE_WINDOW_PARAMETER, vendorRoleName } from '../shared/vendor/access.ts';
import { CUSTOMER_KEY, deployShop, externalIdOf, VENDOR_KEY, type DeployedFlow } from './support/aws-installation.ts';
import { reef } from './support/flow.ts';

let shop: DeployedFlow;
before(async () => {
  shop = await deployShop('shop');
});
after(() => shop.standin.close());

const asCustomer = () => shop.standin.env(CUSTOMER_KEY);
const windowValue = () => shop.standin.stack('shop-core').parameters[UPGRADE_WINDOW_PARAMETER];
const roleArn = (role: 'monitoring' | 'upgrade') => `arn:aws:iam::${TEST_ACCOUNT}:role/${vendorRoleName('shop', role)}`;

/** The vendor's side: assume a role with the agreed external id, as the fleet tool does. */
async function vendorAssumes(role: 'monitoring' | 'upgrade', externalId = externalIdOf('shop')) {
  const sts = new STSClient({ endpoint: shop.standin.endpoint, region: TEST_REGION, credentials: { accessKeyId: VENDOR_KEY, secretAccessKey: 'x' } });
  try {
    const out = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn(role), RoleSessionName: 'ops', ExternalId: externalId }));
    return out.Credentials!;
  } finally {
    sts.destroy();
  }
}

test('grant-upgrade --aws sets VendorUpgradeUntil through CloudFormation; IAM then lets the upgrade role in; revoke --aws shuts it out again', async () => {
  assert.equal(windowValue(), CLOSED_UPGRADE_WINDOW, 'closed by default');
  await assert.rejects(vendorAssumes('upgrade'), { name: 'AccessDenied' }, 'closed window: the trust policy refuses');

  const show = await reef(['vendor-access', 'show', shop.dir, '--aws', '--json'], asCustomer());
  assert.equal(show.code, 0, show.stderr);
  assert.deepEqual((JSON.parse(show.stdout) as { value: string; window: { state: string } }).window.state, 'closed');

  const started = Date.now();
  const grant = await reef(['vendor-access', 'grant-upgrade', shop.dir, '--hours', '4', '--aws'], asCustomer());
  assert.equal(grant.code, 0, grant.stderr);
  const until = windowValue()!;
  assert.match(until, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  const hours = (Date.parse(until) - started) / 3_600_000;
  assert.ok(hours > 3.99 && hours <= 4.01, `until ${until} is ${hours} h away`);
  assert.equal(shop.standin.stack('shop-core').status, 'UPDATE_COMPLETE');
  assert.match(grant.stdout, new RegExp(`^shop-core: VendorUpgradeUntil set to ${until} \\(UPDATE_COMPLETE after \\d+ s\\)\\.$`, 'm'));
  assert.match(grant.stdout, /may update this installation's stacks until/);

  // Inside the window the upgrade role is assumable and may update a slice stack, not the core.
  const creds = await vendorAssumes('upgrade');
  const cfn = new CloudFormationClient({ endpoint: shop.standin.endpoint, region: TEST_REGION, credentials: { accessKeyId: creds.AccessKeyId!, secretAccessKey: creds.SecretAccessKey!, sessionToken: creds.SessionToken } });
  const slice = 'shop-collect-shop';
  await cfn.send(new UpdateStackCommand({ StackName: slice, UsePreviousTemplate: true, Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'], Tags: [{ Key: 'reef:version', Value: '0.2.0' }] }));
  await assert.rejects(
    cfn.send(new UpdateStackCommand({ StackName: 'shop-core', UsePreviousTemplate: true, Capabilities: ['CAPABILITY_NAMED_IAM'], Parameters: [{ ParameterKey: UPGRADE_WINDOW_PARAMETER, ParameterValue: '2099-01-01T00:00:00Z' }] })),
    { name: 'AccessDenied' },
    'the upgrade role may never move its own window',
  );

  const again = await reef(['vendor-access', 'revoke', shop.dir, '--aws', '--json'], asCustomer());
  assert.equal(again.code, 0, again.stderr);
  const revoked = JSON.parse(again.stdout) as { changed: boolean; value: string; window: { state: string; open: boolean } };
  assert.deepEqual([revoked.changed, revoked.value, revoked.window.state, revoked.window.open], [true, CLOSED_UPGRADE_WINDOW, 'closed', false]);
  assert.equal(windowValue(), CLOSED_UPGRADE_WINDOW);
  // The session assumed before the revoke is refused too: every Allow of the role carries the window.
  await assert.rejects(cfn.send(new DescribeStacksCommand({ StackName: slice })), { name: 'AccessDenied' });
  await assert.rejects(vendorAssumes('upgrade'), { name: 'AccessDenied' });
  cfn.destroy();

  const twice = await reef(['vendor-access', 'revoke', shop.dir, '--aws'], asCustomer());
  assert.equal(twice.code, 0, twice.stderr);
  assert.match(twice.stdout, /^shop-core: VendorUpgradeUntil is 1970-01-01T00:00:00\.000Z\.\nThe upgrade window is closed/);
});

test('vendor-access --aws without a vendor section, without credentials, or with a stack missing: one line, exit 2, nothing changed', async () => {
  const plain = await reef(['vendor-access', 'show', 'examples/shop', '--aws'], asCustomer());
  assert.equal(plain.code, 2);
  assert.match(plain.stderr, /^reef: config error \(vendor\.not-configured\): .*reef\.yaml: vendor: found nothing; expected a vendor section/);

  const stranger = await reef(['vendor-access', 'grant-upgrade', shop.dir, '--hours', '2', '--aws'], shop.standin.env('AKIANOBODY0000000000'));
  assert.equal(stranger.code, 2);
  assert.match(stranger.stderr, /^reef: config error \(aws\.credentials\): CloudFormation DescribeStacks shop-core: AWS refused the credentials \(InvalidClientTokenId/);

  const elsewhere = await reef(['vendor-access', 'show', shop.dir, '--aws', '--region', 'us-east-1'], { ...asCustomer(), AWS_ENDPOINT_URL_CLOUDFORMATION: 'http://127.0.0.1:9' });
  assert.equal(elsewhere.code, 2);
  assert.match(elsewhere.stderr, /^reef: target error \(aws\.unavailable\): CloudFormation DescribeStacks shop-core did not get an answer/);
  assert.equal(windowValue(), CLOSED_UPGRADE_WINDOW);
});

test('audit --aws lists from CloudTrail what the vendor roles did: assumptions allowed and refused, and the calls of each session, oldest first', async () => {
  // The first test opened, used and shut the window; add a monitoring session and a wrong external id.
  const monitoring = await vendorAssumes('monitoring');
  const cfn = new CloudFormationClient({ endpoint: shop.standin.endpoint, region: TEST_REGION, credentials: { accessKeyId: monitoring.AccessKeyId!, secretAccessKey: monitoring.SecretAccessKey!, sessionToken: monitoring.SessionToken } });
  await cfn.send(new DescribeStacksCommand({ StackName: 'shop-core' }));
  cfn.destroy();
  await assert.rejects(vendorAssumes('monitoring', 'guessed'), { name: 'AccessDenied' });

  const audit = await reef(['audit', shop.dir, '--aws', '--json'], asCustomer());
  assert.equal(audit.code, 0, audit.stderr);
  const a = JSON.parse(audit.stdout) as { source: string; account: string; sessions: number; actions: { role: string; action: string; resource: string; allowed: boolean; reason: string; time: string }[] };
  assert.deepEqual([a.source, a.account], ['cloudtrail', TEST_ACCOUNT]);
  const seen = a.actions.map((x) => `${x.role} ${x.action} ${x.allowed ? 'allowed' : 'denied'}`);
  // What the tests of this file had the vendor do, in order; nothing the customer did (their grant and revoke) is listed.
  assert.deepEqual(seen, [
    'upgrade sts:AssumeRole denied',
    'upgrade sts:AssumeRole allowed',
    'upgrade cloudformation:UpdateStack allowed',
    'upgrade cloudformation:UpdateStack denied',
    'upgrade cloudformation:DescribeStacks denied',
    'upgrade sts:AssumeRole denied',
    'monitoring sts:AssumeRole allowed',
    'monitoring cloudformation:DescribeStacks allowed',
    'monitoring sts:AssumeRole denied',
  ]);
  assert.equal(a.sessions, 2);
  const times = a.actions.map((x) => x.time);
  assert.deepEqual(times, [...times].sort());
  const refusedCore = a.actions[3]!;
  assert.match(refusedCore.resource, /:stack\/shop-core\//);
  assert.match(refusedCore.reason, /^AccessDenied: User: arn:aws:sts::111122223333:assumed-role\/reef-shop-vendor-upgrade\/ops is not authorized to perform: cloudformation:UpdateStack/);
  assert.match(a.actions[0]!.reason, /^AccessDenied: .*sts:AssumeRole on resource: arn:aws:iam::111122223333:role\/reef-shop-vendor-upgrade$/);

  const text = await reef(['audit', shop.dir, '--aws'], asCustomer());
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^time\s+role\s+action\s+resource\s+outcome$/m);
  assert.match(text.stdout, /\s+monitoring\s+sts:AssumeRole\s+arn:aws:iam::111122223333:role\/reef-shop-vendor-monitoring\s+DENIED$/m);
  assert.match(text.stdout, /^9 action\(s\) from CloudTrail event history in 111122223333 eu-west-1, 2 vendor session\(s\)\.$/m);

  const later = await reef(['audit', shop.dir, '--aws', '--since', new Date(Date.now() + 60_000).toISOString()], asCustomer());
  assert.equal(later.code, 0, later.stderr);
  assert.match(later.stdout, /^shop: no vendor role acted since .* \(CloudTrail event history/);
  const bad = await reef(['audit', shop.dir, '--aws', '--since', 'yesterday'], asCustomer());
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, 'reef: config error (audit.invalid-since): --since is "yesterday"; expected an ISO 8601 date or time such as 2026-03-05 or 2026-03-05T09:00:00Z\n');
});
