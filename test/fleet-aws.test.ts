/**
 * `reef fleet` over AWS: four copies of the shop example (acme, globex,
 * initech, hooli) synthesized and deployed into one AWS stand-in (real SDK
 * clients; IAM decided by the deployed trust and role policies, including the
 * upgrade window), each with its metadata table in dynalite under the name
 * its core stack's output gives, and a release served over HTTP
 * (`<release>/<version>/<installation>/<stack>.template.json`, the deployed
 * templates with their ReefVersion output set to the version).
 *
 * The customers of acme, globex and initech open their upgrade windows (acme's
 * through the real `reef vendor-access grant-upgrade --aws`); hooli's never
 * does. The vendor runs the real `reef fleet ... --aws`, with its own key.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TEST_ACCOUNT, TEST_REGION } from '../infra/policy-simulation.ts';
import { AwsFleet } from '../shared/fleet/aws.ts';
import { readRegistry, writeRegistry, type FleetInstallation } from '../shared/fleet/registry.ts';
import { healthProblems, readRolloutState, rollbackRollout, startRollout, type FleetDriver, type RolloutState } from '../shared/fleet/rollout.ts';
import { startDynamo, type Running } from '../shared/local/standins.ts';
import { MetadataStore } from '../shared/metadata/store.ts';
import { coreExportName, coreStackId, REEF_VERSION_OUTPUT } from '../shared/stack-names.ts';
import { toTimelabel } from '../shared/timelabel.ts';
import { UPGRADE_WINDOW_PARAMETER, vendorRoleName } from '../shared/vendor/access.ts';
import { grantAwsWindow } from '../shared/vendor/window-aws.ts';
import type { AwsStandin, UpdateFault } from './support/aws-standin.ts';
import { CUSTOMER_KEY, deployShop, externalIdOf, VENDOR_KEY } from './support/aws-installation.ts';
import { REPO, reef } from './support/flow.ts';

const INSTALLED = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const NAMES = ['acme', 'globex', 'initech', 'hooli'] as const;
type Name = (typeof NAMES)[number];
const SLICES = [
  { kind: 'collect', slice: 'shop', type: 'collect/postgres', dataset: 'shop.orders', loadunit: 'orders' },
  { kind: 'organize', slice: 'warehouse', type: 'organize/redshift', dataset: 'analytics.customer_ltv', loadunit: 'customer_ltv' },
  { kind: 'harness', slice: 'customer-scores', type: 'harness/postgres', dataset: 'analytics.customer_ltv', loadunit: 'customer_scores' },
] as const;
const sliceStacks = (name: string) => SLICES.map((s) => `${name}-${s.kind}-${s.slice}`);

let standin: AwsStandin;
/** What the next stack updates run into; set by a test, cleared after it. */
let fault: ((stack: string) => UpdateFault | undefined) | undefined;
const dirs = {} as Record<Name, string>;
const tables = {} as Record<Name, string>;
/** The templates as first deployed, by stack name: what every release version is made from. */
const deployed = new Map<string, unknown>();
let dynamo: Running<DynamoDBClient>;
let releaseServer: Server;
let release = '';
/** Every template path the release served, in order. */
const served: string[] = [];
const RELEASED = new Set([INSTALLED, '0.2.0', '0.3.0']);
/** The vendor's CLI environment: its own key, the stand-in for CloudFormation and STS, dynalite for DynamoDB. */
let asVendor: Record<string, string>;

const reefVersionOf = (stack: string) => (standin.stack(stack).template.Outputs?.[REEF_VERSION_OUTPUT]?.Value as string | undefined) ?? 'none';
const versionsOf = (name: string) => sliceStacks(name).map(reefVersionOf);
const updatesOf = (name: string, since: number) =>
  standin.trail.filter((e) => e.EventName === 'UpdateStack' && e.EventTime * 1000 >= since && (JSON.parse(e.CloudTrailEvent) as { requestParameters?: { stackName?: string } }).requestParameters?.stackName?.startsWith(`${name}-`));

function registryOf(names: readonly Name[]): string {
  const path = join(mkdtempSync(join(tmpdir(), 'reef-fleet-aws-')), 'fleet.json');
  writeRegistry(path, { installations: names.map((name): FleetInstallation => ({ name, account: TEST_ACCOUNT, region: TEST_REGION, externalId: externalIdOf(name), version: INSTALLED, channel: 'stable' })) });
  return path;
}

/** The metadata table's name as the core stack's output gives it (the customer's view of it). */
async function tableNameOf(name: string): Promise<string> {
  const cfn = new CloudFormationClient({ endpoint: standin.endpoint, region: TEST_REGION, credentials: { accessKeyId: CUSTOMER_KEY, secretAccessKey: 'x' } });
  try {
    const out = await cfn.send(new DescribeStacksCommand({ StackName: coreStackId(name) }));
    const table = out.Stacks![0]!.Outputs!.find((o) => o.ExportName === coreExportName(name, 'table-name'))?.OutputValue;
    assert.ok(table, `${name}-core exports its table name`);
    return table;
  } finally {
    cfn.destroy();
  }
}

function storeOf(name: Name, now?: () => Date): MetadataStore {
  return new MetadataStore({ client: dynamo.client, tableName: tables[name], now });
}

/** The period a time falls in: its whole UTC minute. */
const timelabelOf = (time: Date) => toTimelabel(new Date(Math.floor(time.getTime() / 60_000) * 60_000));

/** A batch of `slice` run to its end: committed, or failed with `message`. */
async function runBatch(store: MetadataStore, s: (typeof SLICES)[number], time: Date, failed?: string): Promise<void> {
  const ref = { slice: s.slice, loadunit: s.loadunit, timelabel: timelabelOf(time), owner: 'test-run' };
  await store.createBatch({ ...ref, dataset: s.dataset });
  await store.startBatch({ ...ref, leaseSeconds: 60 });
  if (failed) await store.failBatch({ ...ref, error: { name: 'Reef.Terminal', category: 'target', code: 'target.rejected', message: failed } });
  else await store.commitBatch({ ...ref, figures: { rows: 10, files: 1, bytes: 100 }, manifestKey: `manifests/${s.slice}.json`, schemaVersion: 1 });
}

/** Serves `<release>/<version>/<installation>/<stack>.template.json`: the deployed template, its ReefVersion set to the version. */
function startRelease(): Promise<void> {
  releaseServer = createServer((req, res) => {
    const m = /^\/releases\/([^/]+)\/([^/]+)\/([^/]+)\.template\.json$/.exec(req.url ?? '');
    const template = m && RELEASED.has(m[1]!) ? (structuredClone(deployed.get(m[3]!)) as { Outputs: Record<string, { Value: unknown }> } | undefined) : undefined;
    if (!m || !template || !m[3]!.startsWith(`${m[2]}-`)) {
      res.writeHead(404).end('no such key');
      return;
    }
    served.push(`${m[1]}/${m[2]}/${m[3]}`);
    template.Outputs[REEF_VERSION_OUTPUT]!.Value = m[1];
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(template));
  });
  return new Promise((ok) =>
    releaseServer.listen(0, '127.0.0.1', () => {
      release = `http://127.0.0.1:${(releaseServer.address() as AddressInfo).port}/releases`;
      ok();
    }),
  );
}

before(async () => {
  const first = await deployShop('acme', { updateMs: 50, updateFault: (stack) => fault?.(stack) });
  standin = first.standin;
  dirs.acme = first.dir;
  for (const name of NAMES.slice(1)) dirs[name] = (await deployShop(name, { standin })).dir;
  for (const name of NAMES) for (const stack of sliceStacks(name)) deployed.set(stack, structuredClone(standin.stack(stack).template));
  dynamo = await startDynamo(undefined);
  await startRelease();
  asVendor = { ...standin.env(VENDOR_KEY), AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint };
  // The in-process driver reaches the stand-ins the same way: through the SDK's own variables.
  Object.assign(process.env, asVendor);
  delete process.env.AWS_SESSION_TOKEN;

  // Each installation's metadata: its slice configs, a committed period, and an old failed batch no gate may hold against it.
  const hourAgo = new Date(Date.now() - 3_600_000);
  await Promise.all(
    NAMES.map(async (name) => {
      tables[name] = await tableNameOf(name);
      const store = storeOf(name, () => hourAgo);
      await store.ensureTable();
      for (const s of SLICES) {
        await store.putSliceConfig({ slice: s.slice, type: s.type, config: {} }, () => {});
        await runBatch(store, s, hourAgo);
      }
      await runBatch(store, SLICES[0], new Date(hourAgo.getTime() + 15 * 60_000), 'source went away (before any rollout)');
    }),
  );

  // The customers of acme, globex and initech open their upgrade windows: acme's with the CLI, the others with the
  // same code in process (a CLI start costs a second or two). hooli's customer never does.
  const cfn = new CloudFormationClient({ endpoint: standin.endpoint, region: TEST_REGION, credentials: { accessKeyId: CUSTOMER_KEY, secretAccessKey: 'x' } });
  try {
    const [grant] = await Promise.all([
      reef(['vendor-access', 'grant-upgrade', dirs.acme, '--hours', '4', '--aws'], standin.env(CUSTOMER_KEY)),
      grantAwsWindow(cfn, 'globex', 4, new Date()),
      grantAwsWindow(cfn, 'initech', 4, new Date()),
    ]);
    assert.equal(grant.code, 0, grant.stderr);
  } finally {
    cfn.destroy();
  }
});

after(async () => {
  await standin?.close();
  await dynamo?.stop();
  await new Promise((ok) => (releaseServer ? releaseServer.close(ok) : ok(undefined)));
});

let rolledOut = '';

test('rollout --aws of 0.2.0 in waves 50,100: canary, then each wave; every slice stack runs 0.2.0, the registry says so, the core stacks are untouched', async () => {
  const since = Date.now();
  rolledOut = registryOf(['acme', 'globex', 'initech']);
  const cores = NAMES.map((n) => JSON.stringify(standin.stack(coreStackId(n)).template));
  const run = await reef(['fleet', 'rollout', '0.2.0', '--waves', '50,100', '--aws', '--release', release, '--registry', rolledOut, '--json'], asVendor);
  assert.equal(run.code, 0, run.stderr + run.stdout);
  const state = JSON.parse(run.stdout) as RolloutState;
  assert.equal(state.status, 'completed');
  assert.deepEqual(state.waves, [
    { label: 'canary', installations: ['acme'] },
    { label: '50%', installations: ['globex'] },
    { label: '100%', installations: ['initech'] },
  ]);
  for (const name of ['acme', 'globex', 'initech'] as const) {
    assert.equal(state.installations[name]!.status, 'healthy', name);
    assert.deepEqual(versionsOf(name), ['0.2.0', '0.2.0', '0.2.0'], name);
    for (const stack of sliceStacks(name)) assert.equal(standin.stack(stack).status, 'UPDATE_COMPLETE', stack);
    // In order collect, organize, harness, each from the release's template for this installation.
    assert.deepEqual(
      updatesOf(name, since).map((e) => {
        const { stackName, templateURL } = (JSON.parse(e.CloudTrailEvent) as { requestParameters: { stackName: string; templateURL: string } }).requestParameters;
        return [stackName, templateURL];
      }),
      sliceStacks(name).map((stack) => [stack, `${release}/0.2.0/${name}/${stack}.template.json`]),
    );
    // By the upgrade role, in a session that names the version.
    for (const e of updatesOf(name, since)) assert.match(e.CloudTrailEvent, new RegExp(`assumed-role/${vendorRoleName(name, 'upgrade')}/reef-fleet-0\\.2\\.0"`));
  }
  assert.deepEqual(
    readRegistry(rolledOut).installations.map((i) => [i.name, i.version]),
    [['acme', '0.2.0'], ['globex', '0.2.0'], ['initech', '0.2.0']],
  );
  assert.deepEqual(versionsOf('hooli'), [INSTALLED, INSTALLED, INSTALLED], 'not in the registry: not touched');
  assert.deepEqual(NAMES.map((n) => JSON.stringify(standin.stack(coreStackId(n)).template)), cores, 'the core stacks keep their templates');
  assert.equal(standin.trail.filter((e) => e.EventName === 'UpdateStack' && e.EventTime * 1000 >= since && /-core"/.test(e.CloudTrailEvent)).length, 0);

});

test('rollback --aws takes every upgraded installation back to the previous version, from <release>/<from>/...', async () => {
  assert.ok(rolledOut, 'needs the completed rollout of the test before');
  const since = Date.now();
  served.length = 0;
  const back = await reef(['fleet', 'rollback', '--aws', '--release', release, '--registry', rolledOut], asVendor);
  assert.equal(back.code, 0, back.stderr + back.stdout);
  assert.equal(back.stdout, 'Rollout of 0.2.0: rolled-back.\n');
  for (const name of ['acme', 'globex', 'initech'] as const) {
    assert.deepEqual(versionsOf(name), [INSTALLED, INSTALLED, INSTALLED], name);
    assert.equal(updatesOf(name, since).length, 3, name);
  }
  // Newest first: initech, globex, acme; each stack from the previous version's templates.
  assert.deepEqual(
    served,
    ['initech', 'globex', 'acme'].flatMap((name) => sliceStacks(name).map((stack) => `${INSTALLED}/${name}/${stack}`)),
  );
  assert.deepEqual(readRegistry(rolledOut).installations.map((i) => i.version), [INSTALLED, INSTALLED, INSTALLED]);
  assert.equal(readRolloutState(rolledOut)?.status, 'rolled-back');
});

test('a canary whose slice stack rolls back halts the rollout: exit 1, the failed resource named, the next stacks and installations untouched', async (t) => {
  const since = Date.now();
  const registry = registryOf(['acme', 'globex', 'initech']);
  const template = deployed.get('acme-organize-warehouse') as { Resources: Record<string, { Type: string }> };
  const fn = Object.entries(template.Resources).find(([, r]) => r.Type === 'AWS::Lambda::Function')![0];
  fault = (stack) => (stack === 'acme-organize-warehouse' ? { logicalId: fn, reason: 'Resource handler returned message: "Unzipped size must be smaller than 262144000 bytes"' } : undefined);
  t.after(() => (fault = undefined));

  const run = await reef(['fleet', 'rollout', '0.3.0', '--waves', '50,100', '--aws', '--release', release, '--registry', registry], asVendor);
  assert.equal(run.code, 1, run.stderr + run.stdout);
  assert.match(run.stdout, /^canary\s+1\s+HALTED$/m);
  assert.match(run.stdout, /halted; 2 installation\(s\) left on their old version/);
  const line = run.stdout.split('\n').find((l) => l.startsWith('acme (canary): '));
  assert.equal(
    line,
    `acme (canary): upgrade failed: target error (aws.stack-update-failed): acme-organize-warehouse: the update ended UPDATE_ROLLBACK_COMPLETE: ${fn} (AWS::Lambda::Function) UPDATE_FAILED: Resource handler returned message: "Unzipped size must be smaller than 262144000 bytes"`,
  );
  // The first failure stops the upgrade: collect was updated, organize rolled back, harness never tried.
  assert.deepEqual(versionsOf('acme'), ['0.3.0', INSTALLED, INSTALLED]);
  assert.deepEqual(
    updatesOf('acme', since).map((e) => (JSON.parse(e.CloudTrailEvent) as { requestParameters: { stackName: string } }).requestParameters.stackName),
    ['acme-collect-shop', 'acme-organize-warehouse'],
  );
  for (const name of ['globex', 'initech']) {
    assert.deepEqual(versionsOf(name), [INSTALLED, INSTALLED, INSTALLED], name);
    assert.equal(updatesOf(name, since).length, 0, name);
  }
  assert.deepEqual(readRegistry(registry).installations.map((i) => i.version), [INSTALLED, INSTALLED, INSTALLED]);

  // What a gate would see of acme now: the versions differ (named stack by stack) and the warehouse slice is unhealthy.
  const snapshot = await new AwsFleet({ release }).snapshot(readRegistry(registry).installations[0]!);
  assert.equal(snapshot.version, `mixed (acme-collect-shop 0.3.0, acme-organize-warehouse ${INSTALLED}, acme-harness-customer-scores ${INSTALLED})`);
  assert.deepEqual(snapshot.slices, [
    { slice: 'shop', healthy: true },
    { slice: 'warehouse', healthy: false, why: `stack acme-organize-warehouse is UPDATE_ROLLBACK_COMPLETE: The following resource(s) failed to update: [${fn}].` },
    { slice: 'customer-scores', healthy: true },
  ]);
  assert.deepEqual(healthProblems(snapshot, '0.3.0', new Date(since).toISOString()), [
    `runs ${snapshot.version}, expected 0.3.0`,
    `slice warehouse unhealthy: stack acme-organize-warehouse is UPDATE_ROLLBACK_COMPLETE: The following resource(s) failed to update: [${fn}].`,
  ]);

  // Rolled back, the half-upgraded canary is whole again (organize and harness had nothing to change).
  const back = await reef(['fleet', 'rollback', '--aws', '--release', release, '--registry', registry], asVendor);
  assert.equal(back.code, 0, back.stderr + back.stdout);
  assert.deepEqual(versionsOf('acme'), [INSTALLED, INSTALLED, INSTALLED]);
});

test("an installation whose customer never opened the window: the rollout halts with the window-closed message; the denied AssumeRole is in CloudTrail", async () => {
  const since = Date.now();
  assert.equal(standin.stack('hooli-core').parameters[UPGRADE_WINDOW_PARAMETER], '1970-01-01T00:00:00.000Z');
  const registry = registryOf(['hooli', 'acme']);
  const run = await reef(['fleet', 'rollout', '0.2.0', '--aws', '--release', release, '--registry', registry], asVendor);
  assert.equal(run.code, 1, run.stderr + run.stdout);
  const line = run.stdout.split('\n').find((l) => l.startsWith('hooli (canary): '));
  assert.match(
    line ?? run.stdout,
    new RegExp(
      `^hooli \\(canary\\): upgrade failed: target error \\(fleet\\.upgrade-window-closed\\): STS AssumeRole reef-hooli-vendor-upgrade in ${TEST_ACCOUNT} was denied: hooli's upgrade window is closed, or the registry's external id \\(${externalIdOf('hooli')}\\) is not its reef\\.yaml vendor\\.externalId; the customer opens the window with \`reef vendor-access grant-upgrade <flow> --hours N --aws\``,
    ),
  );
  assert.deepEqual(versionsOf('hooli'), [INSTALLED, INSTALLED, INSTALLED]);
  assert.deepEqual(versionsOf('acme'), [INSTALLED, INSTALLED, INSTALLED], 'the next wave never started');

  const assumed = standin.trail
    .filter((e) => e.EventName === 'AssumeRole' && e.EventTime * 1000 >= since)
    .map((e) => JSON.parse(e.CloudTrailEvent) as { errorCode?: string; requestParameters: { roleArn: string; roleSessionName: string; externalId: string } });
  const role = (r: 'monitoring' | 'upgrade') => `arn:aws:iam::${TEST_ACCOUNT}:role/${vendorRoleName('hooli', r)}`;
  // Monitoring listed its stacks; the upgrade role was refused, by the trust policy's window.
  assert.deepEqual(
    assumed.map((e) => [e.requestParameters.roleArn, e.requestParameters.roleSessionName, e.requestParameters.externalId, e.errorCode]),
    [
      [role('monitoring'), 'reef-fleet-0.2.0', externalIdOf('hooli'), undefined],
      [role('upgrade'), 'reef-fleet-0.2.0', externalIdOf('hooli'), 'AccessDenied'],
    ],
  );

  // A wrong external id is refused for the monitoring role too, and said so.
  const wrong: FleetInstallation = { name: 'globex', account: TEST_ACCOUNT, region: TEST_REGION, externalId: externalIdOf('acme'), version: INSTALLED, channel: 'stable' };
  await assert.rejects(new AwsFleet({ release }).snapshot(wrong), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'fleet.access-denied');
    assert.match(e.message, /^STS AssumeRole reef-globex-vendor-monitoring in 111122223333 was denied: expected the registry's external id \(reef-acme-4f1c9a\) to be globex's reef\.yaml vendor\.externalId/);
    return true;
  });
});

test('a batch that fails after the upgrade began fails the gate, which names it; an older failed batch does not count', async () => {
  const registry = registryOf(['globex', 'initech']);
  const progress: string[] = [];
  const aws = new AwsFleet({ release, onProgress: (line) => progress.push(line) });
  let failedAt = '';
  // The driver as the CLI uses it; after globex's upgrade one of its batches fails (as a broken release would make it).
  const driver: FleetDriver = {
    async upgrade(installation, version) {
      await aws.upgrade(installation, version);
      if (installation.name !== 'globex') return;
      const at = new Date();
      failedAt = at.toISOString();
      await runBatch(storeOf('globex', () => at), SLICES[1], at, 'refresh of analytics.customer_ltv failed: column "ltv" does not exist');
    },
    snapshot: (installation) => aws.snapshot(installation),
  };
  const state = await startRollout({ registry, driver, version: '0.2.0', channel: 'stable', percentages: [100] });
  assert.equal(state.status, 'halted');
  assert.deepEqual(state.failed, [{ installation: 'globex', wave: 'canary', reason: `batch analytics.customer_ltv @ ${timelabelOf(new Date(failedAt))} failed at ${failedAt}, after the upgrade` }]);
  assert.deepEqual(versionsOf('globex'), ['0.2.0', '0.2.0', '0.2.0'], 'the upgrade itself went through');
  assert.deepEqual(
    progress.filter((l) => / updating |after \d+ s$/.test(l)).map((l) => l.replace(/\d+ s$/, 'N s')),
    sliceStacks('globex').flatMap((stack) => [`globex: updating ${stack} to 0.2.0`, `globex: ${stack} UPDATE_COMPLETE after N s`]),
  );
  assert.deepEqual(versionsOf('initech'), [INSTALLED, INSTALLED, INSTALLED], 'the next wave never started');

  // What the gate read: the slices healthy on 0.2.0, and every finished batch of the metadata table, the old failure too.
  const snapshot = await aws.snapshot(readRegistry(registry).installations[0]!);
  assert.equal(snapshot.version, '0.2.0');
  assert.deepEqual(snapshot.slices.map((s) => [s.slice, s.healthy]), [['shop', true], ['warehouse', true], ['customer-scores', true]]);
  assert.deepEqual(
    snapshot.batches.map((b) => [b.slice, b.dataset, b.status]).sort(),
    [
      ['customer-scores', 'analytics.customer_ltv', 'committed'],
      ['shop', 'shop.orders', 'committed'],
      ['shop', 'shop.orders', 'failed'],
      ['warehouse', 'analytics.customer_ltv', 'committed'],
      ['warehouse', 'analytics.customer_ltv', 'failed'],
    ],
  );

  const back = await rollbackRollout({ registry, driver: aws });
  assert.deepEqual([back.state.status, back.errors], ['rolled-back', []]);
  assert.deepEqual(versionsOf('globex'), [INSTALLED, INSTALLED, INSTALLED]);
});

test('rollout and rollback take exactly one of --simulated <dir> and --aws --release <url>: otherwise one line and exit 2', async () => {
  const registry = registryOf(['acme']);
  const runs = await Promise.all([
    reef(['fleet', 'rollout', '0.2.0', '--registry', registry]),
    reef(['fleet', 'rollout', '0.2.0', '--aws', '--release', release, '--simulated', 'sims', '--registry', registry]),
    reef(['fleet', 'rollback', '--aws', '--registry', registry]),
    reef(['fleet', 'rollout', '0.2.0', '--aws', '--release', 's3://reef-releases', '--registry', registry]),
  ]);
  const expected = [
    'no installations named; expected --aws --release <url> (installations in AWS) or --simulated <dir> (simulated ones, reef fleet simulate)',
    'found both --simulated and --aws; expected one of them: --simulated <dir> for simulated installations, --aws --release <url> for installations in AWS',
    'found --aws without --release; expected --release <url>, the base URL of the release templates (<url>/<version>/<installation>/<stack>.template.json)',
    '--release is "s3://reef-releases"; expected an http(s) URL such as https://reef-releases.s3.eu-west-1.amazonaws.com (CloudFormation reads templates from S3)',
  ];
  runs.forEach((r, i) => {
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, `reef: config error (fleet.invalid-arguments): ${expected[i]}\n`);
  });
  assert.equal(readRolloutState(registry), undefined, 'nothing started');
});
