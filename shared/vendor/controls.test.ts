/**
 * The customer's controls over the vendor on a real metadata table (dynalite
 * through the real SDK clients): the upgrade window's grant, expiry and
 * revoke as conditional writes, a write race settled by the version
 * condition, and the local runtime acting as a vendor role with every
 * attempt, allowed or denied, in the audit that `reef audit` reads.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TerminalError } from '../errors.ts';
import { loadFlow } from '../flow/load.ts';
import type { Flow } from '../flow/types.ts';
import type { Running } from '../local/standins.ts';
import { localDynamoClient, startDynamo } from '../local/standins.ts';
import { MetadataStore } from '../metadata/store.ts';
import { VENDOR_ROLES } from '../metadata/types.ts';
import { actAsVendor, parseHours, upgradeWindowStatus } from './controls.ts';

let dynamo: Running<DynamoDBClient>;
let flow: Flow;
const clients: DynamoDBClient[] = [];

before(async () => {
  dynamo = await startDynamo(undefined);
  // Only read: loadFlow parses the example's files and starts nothing.
  flow = await loadFlow(join(dirname(fileURLToPath(import.meta.url)), '../../examples/shop'));
});

after(async () => {
  for (const c of clients) c.destroy();
  await dynamo.stop();
});

class Clock {
  t = Date.parse('2026-03-05T09:10:00.000Z');
  now = (): Date => new Date(this.t);
  advanceHours(h: number): void {
    this.t += h * 3_600_000;
  }
}

let tables = 0;

async function newStore(clock: Clock, client: DynamoDBClient = dynamo.client, tableName = `reef-vendor-${++tables}`): Promise<MetadataStore> {
  const store = new MetadataStore({ client, tableName, now: clock.now });
  await store.ensureTable();
  return store;
}

test('--hours accepts whole hours 1..168 only, and says what it found', () => {
  assert.equal(parseHours('1'), 1);
  assert.equal(parseHours('168'), 168);
  for (const bad of ['0', '169', '1.5', '12h', '', '-3', 'abc']) {
    assert.throws(
      () => parseHours(bad),
      (e: unknown) => e instanceof TerminalError && e.code === 'vendor.invalid-hours' && e.message.startsWith(`--hours is ${JSON.stringify(bad)}; expected a whole number of hours from 1 to 168`),
      bad,
    );
  }
});

test('the upgrade role may deploy only inside the window: before a grant, within it, after it ran out, after a revoke; each attempt audited', async () => {
  const clock = new Clock();
  const metadata = await newStore(clock);
  const act = () => actAsVendor({ flow, metadata, now: clock.now() }, 'upgrade', 'deploy');

  const before = await act();
  assert.equal(before.record.allowed, false);
  assert.match(before.record.reason, /upgrade window is not granted/);

  const granted = await metadata.grantUpgradeWindow(4);
  assert.deepEqual([granted.state, granted.until, granted.version], ['granted', '2026-03-05T13:10:00.000Z', 1]);
  assert.equal(upgradeWindowStatus(granted, clock.now()).minutesLeft, 240);
  clock.advanceHours(3);
  const inside = await act();
  assert.equal(inside.record.allowed, true, inside.record.reason);
  assert.equal(inside.record.resource, 'stacks shop-*');

  clock.advanceHours(1);
  const expired = await act();
  assert.equal(expired.record.allowed, false, 'at `until` exactly the window is closed, as DateLessThan is in IAM');
  assert.match(expired.record.reason, /upgrade window is expired/);
  assert.deepEqual(await metadata.revokeUpgradeWindow(), { changed: false, window: granted }, 'nothing open to revoke');

  // Later, not in the same millisecond: actions at one instant are listed in id order, not in the order they came.
  clock.advanceHours(1);
  const regranted = await metadata.grantUpgradeWindow(168);
  assert.equal(regranted.version, 2);
  const revoked = await metadata.revokeUpgradeWindow();
  assert.equal(revoked.changed, true);
  assert.deepEqual([revoked.window?.state, revoked.window?.revokedAt, revoked.window?.version], ['revoked', clock.now().toISOString(), 3]);
  const afterRevoke = await act();
  assert.equal(afterRevoke.record.allowed, false);
  assert.match(afterRevoke.record.reason, /upgrade window is revoked/);

  const audit = await metadata.listVendorActions();
  assert.deepEqual(audit.map((a) => [a.role, a.action, a.allowed]), [['upgrade', 'deploy', false], ['upgrade', 'deploy', true], ['upgrade', 'deploy', false], ['upgrade', 'deploy', false]]);
  assert.deepEqual((await metadata.listVendorActions({ since: expired.record.time })).map((a) => a.id), [expired.record.id, afterRevoke.record.id], '--since is inclusive');

  await assert.rejects(metadata.grantUpgradeWindow(169), (e: unknown) => e instanceof TerminalError && /upgrade window is 169; expected a whole number of hours from 1 to 168/.test(e.message));
  assert.equal((await metadata.getUpgradeWindow())?.version, 3, 'a refused grant wrote nothing');
});

test('no vendor role reads the lake or a secret, open window or not; monitoring reads status, upgrade does not', async () => {
  const clock = new Clock();
  const metadata = await newStore(clock);
  await metadata.grantUpgradeWindow(8);
  await metadata.createBatch({ slice: 'shop', loadunit: 'orders', timelabel: '20260305080000', dataset: 'shop.orders' });
  for (const role of VENDOR_ROLES) {
    for (const action of ['read-lake', 'read-secret'] as const) {
      const r = await actAsVendor({ flow, metadata, now: clock.now() }, role, action);
      assert.equal(r.record.allowed, false, `${role} ${action}`);
      assert.equal(r.output, undefined, 'a denied action returns nothing');
    }
  }
  const status = await actAsVendor({ flow, metadata, now: clock.now() }, 'monitoring', 'status');
  assert.equal(status.record.allowed, true);
  const collected = (status.output as { dataset: string; kind: string; lastTimelabel: string | null }[]).find((d) => d.kind === 'collected');
  assert.deepEqual(collected && [collected.dataset, collected.lastTimelabel], ['shop.orders', null], 'what the metadata holds: a batch not committed yet');
  const upgradeStatus = await actAsVendor({ flow, metadata, now: clock.now() }, 'upgrade', 'status');
  assert.equal(upgradeStatus.record.allowed, false);
  assert.match(upgradeStatus.record.reason, /only monitoring may/);

  const audit = await metadata.listVendorActions();
  assert.equal(audit.length, VENDOR_ROLES.length * 2 + 2);
  assert.deepEqual(audit.filter((a) => a.allowed).map((a) => `${a.role} ${a.action}`), ['monitoring status']);
  assert.ok(audit.filter((a) => a.action === 'read-lake').every((a) => a.resource === 's3://shop-lake/*'));
});

test('a grant racing a revoke: the version condition refuses the stale write, which reads again and lands on top', async () => {
  const clock = new Clock();
  const tableName = `reef-vendor-${++tables}`;
  const other = await newStore(clock, dynamo.client, tableName);
  await other.grantUpgradeWindow(2);
  let raced = false;
  const client = localDynamoClient(dynamo.endpoint);
  clients.push(client);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      // Just before this store's first write of the window, the other one revokes it.
      if (context.commandName === 'PutItemCommand' && !raced) {
        raced = true;
        assert.equal((await other.revokeUpgradeWindow()).changed, true);
      }
      return next(args);
    },
    { step: 'initialize', name: 'reefTestRace' },
  );
  const racing = await newStore(clock, client, tableName);
  const window = await racing.grantUpgradeWindow(6);
  assert.ok(raced);
  assert.deepEqual([window.state, window.hours, window.version], ['granted', 6, 3], 'version 2 was the revoke; the grant read it and wrote 3');
  assert.deepEqual(await other.getUpgradeWindow(), window);
});
