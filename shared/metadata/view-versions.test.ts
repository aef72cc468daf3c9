/**
 * View versions and update sets against dynalite through the real SDK
 * clients: conditional writes, which version is in effect for a timelabel,
 * and the rule that a version counts only once its update set is recorded.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { TerminalError } from '../errors.ts';
import type { Running } from '../local/standins.ts';
import { startDynamo } from '../local/standins.ts';
import { parseSchedule } from '../timelabel.ts';
import type { ViewHeader } from '../views/types.ts';
import { MetadataStore } from './store.ts';
import type { ViewVersionInput } from './view-versions.ts';

let dynamo: Running<DynamoDBClient>;

before(async () => {
  dynamo = await startDynamo(undefined);
});

after(async () => {
  await dynamo.stop();
});

let clock = Date.parse('2026-03-05T09:10:00.000Z');
let tables = 0;

async function newStore(): Promise<{ store: MetadataStore; tableName: string }> {
  const tableName = `reef-views-${++tables}`;
  const store = new MetadataStore({ client: dynamo.client, tableName, now: () => new Date(clock) });
  await store.ensureTable();
  return { store, tableName };
}

const ORG = 'warehouse';
const HOURLY = 'analytics.hourly_revenue';
const DAILY = 'analytics.daily_revenue';

const HEADER: ViewHeader = {
  refresh: parseSchedule('1 hour'),
  refreshText: '1 hour',
  mode: 'merge',
  keys: ['hour'],
  checks: [{ kind: 'not_null', column: 'hour', line: 5 }],
  tagLines: { refresh: 2, mode: 3, keys: 4 },
};

function version(view: string, n: number, effectiveFrom: string, updateSet: string, extra: Partial<ViewVersionInput> = {}): ViewVersionInput {
  return {
    organizeSlice: ORG,
    view,
    version: n,
    sqlHash: `hash-${view}-${n}`,
    body: `SELECT ${n} AS v FROM shop.orders\n`,
    header: HEADER,
    signature: [{ name: 'v', type: 'integer' }],
    reads: [{ relation: 'shop.orders', columns: [], ambiguous: [] }],
    effectiveFrom,
    updateSet,
    removed: false,
    ...extra,
  };
}

function updateSet(id: string, effectiveFrom: string, views: string[]) {
  return { organizeSlice: ORG, id, effectiveFrom, views, breaking: false, allowBreaking: false };
}

const conflict = (pattern: RegExp) => (e: unknown): boolean => {
  assert.ok(e instanceof TerminalError, `expected a TerminalError, got ${String(e)}`);
  assert.equal(e.category, 'config');
  assert.equal(e.code, 'metadata.conflict');
  assert.match(e.message, pattern);
  return true;
};

test('versions are written once: a retry of the same version answers it, a different one under its number is refused', async () => {
  const { store, tableName } = await newStore();
  const v1 = await store.putViewVersion(version(HOURLY, 1, '20260301000000', 'us-a'));
  assert.equal(v1.createdAt, '2026-03-05T09:10:00.000Z');
  assert.equal('organizeSlice' in v1, false);

  clock += 60_000;
  assert.deepEqual(await store.putViewVersion(version(HOURLY, 1, '20260301000000', 'us-a')), v1, 'a retried apply gets the first write back');
  await assert.rejects(
    store.putViewVersion(version(HOURLY, 1, '20260306000000', 'us-b', { sqlHash: 'other' })),
    conflict(/^view analytics\.hourly_revenue version 1 in slice warehouse: found it already stored by update set us-a .*; expected the number to be free .*run reef plan again$/),
  );
  assert.deepEqual(await store.listViewVersions(ORG, HOURLY), [v1]);

  // The documented key layout, read with a plain client: the organize slice's partition, a zero-padded version.
  const doc = DynamoDBDocumentClient.from(dynamo.client);
  const item = await doc.send(new GetCommand({ TableName: tableName, Key: { pk: 'SLICE#warehouse#VIEW#analytics.hourly_revenue', sk: 'V#000001' } }));
  assert.equal(item.Item?.updateSet, 'us-a');
  const index = await doc.send(new GetCommand({ TableName: tableName, Key: { pk: 'SLICE#warehouse#VIEWS', sk: 'VIEW#analytics.hourly_revenue' } }));
  assert.equal(index.Item?.view, HOURLY);
});

test('versionInEffect picks the newest applied version whose effectiveFrom is at or before the timelabel', async () => {
  const { store } = await newStore();
  const v1 = await store.putViewVersion(version(HOURLY, 1, '20260301000000', 'us-1'));
  await store.recordUpdateSet(updateSet('us-1', '20260301000000', [HOURLY]));
  const v2 = await store.putViewVersion(version(HOURLY, 2, '20260306000000', 'us-2'));
  await store.recordUpdateSet(updateSet('us-2', '20260306000000', [HOURLY]));

  assert.equal(await store.versionInEffect(ORG, HOURLY, '20260228230000'), undefined, 'before the first version');
  assert.deepEqual(await store.versionInEffect(ORG, HOURLY, '20260301000000'), v1);
  assert.deepEqual(await store.versionInEffect(ORG, HOURLY, '20260305230000'), v1, 'the last hour before the switch');
  assert.deepEqual(await store.versionInEffect(ORG, HOURLY, '20260306000000'), v2);
  assert.deepEqual(await store.versionInEffect(ORG, HOURLY, '20260310120000'), v2);

  // An apply that crashed before recording its update set switched nothing.
  await store.putViewVersion(version(HOURLY, 3, '20260307000000', 'us-3'));
  assert.deepEqual(await store.versionInEffect(ORG, HOURLY, '20260308000000'), v2);
  assert.deepEqual(await store.latestViewVersions(ORG), [v2]);
  assert.deepEqual(
    (await store.listViewVersions(ORG, HOURLY)).map((v) => v.version),
    [1, 2, 3],
    'listed all the same, so the next apply numbers past it',
  );

  // A later apply that takes effect earlier supersedes one still waiting for its timelabel.
  const v4 = await store.putViewVersion(version(HOURLY, 4, '20260305140000', 'us-4'));
  await store.recordUpdateSet(updateSet('us-4', '20260305140000', [HOURLY]));
  assert.deepEqual(await store.versionInEffect(ORG, HOURLY, '20260305130000'), v1);
  assert.deepEqual(await store.versionInEffect(ORG, HOURLY, '20260306000000'), v4);

  await assert.rejects(store.versionInEffect(ORG, HOURLY, '2026-03-06'), (e: unknown) => e instanceof TerminalError && e.code === 'metadata.invalid-key');
});

test('latestViewVersions lists each view once, newest applied version, and leaves removed views out', async () => {
  const { store } = await newStore();
  assert.deepEqual(await store.latestViewVersions(ORG), []);
  await store.putViewVersion(version(HOURLY, 1, '20260301000000', 'us-1'));
  const daily1 = await store.putViewVersion(version(DAILY, 1, '20260301000000', 'us-1'));
  await store.recordUpdateSet(updateSet('us-1', '20260301000000', [HOURLY, DAILY]));
  const hourly2 = await store.putViewVersion(version(HOURLY, 2, '20260306000000', 'us-2'));
  await store.recordUpdateSet(updateSet('us-2', '20260306000000', [HOURLY, DAILY]));
  assert.deepEqual(await store.latestViewVersions(ORG), [daily1, hourly2]);
  assert.deepEqual(await store.latestViewVersions('other-warehouse'), [], 'another organize slice has views of its own');

  await store.putViewVersion(version(DAILY, 2, '20260307000000', 'us-3', { removed: true }));
  await store.recordUpdateSet(updateSet('us-3', '20260307000000', [DAILY]));
  assert.deepEqual(await store.latestViewVersions(ORG), [hourly2]);
  assert.deepEqual(await store.versionInEffect(ORG, DAILY, '20260306120000'), daily1);
  assert.equal(await store.versionInEffect(ORG, DAILY, '20260307000000'), undefined, 'removed from its timelabel on');
});

test('update sets are recorded once, read back by id, and listed by effectiveFrom', async () => {
  const { store } = await newStore();
  const later = await store.recordUpdateSet({ ...updateSet('us-b', '20260307000000', [HOURLY, DAILY]), breaking: true, allowBreaking: true });
  assert.deepEqual(later, {
    id: 'us-b',
    effectiveFrom: '20260307000000',
    views: [DAILY, HOURLY],
    breaking: true,
    allowBreaking: true,
    createdAt: new Date(clock).toISOString(),
  });
  const earlier = await store.recordUpdateSet(updateSet('us-a', '20260306000000', [HOURLY]));
  assert.deepEqual(await store.getUpdateSet(ORG, 'us-b'), later);
  assert.equal(await store.getUpdateSet(ORG, 'us-none'), undefined);
  assert.deepEqual(await store.listUpdateSets(ORG), [earlier, later]);

  clock += 60_000;
  assert.deepEqual(await store.recordUpdateSet(updateSet('us-a', '20260306000000', [HOURLY])), earlier, 'a retry answers the first record');
  await assert.rejects(
    store.recordUpdateSet(updateSet('us-a', '20260308000000', [DAILY])),
    conflict(/^update set us-a in slice warehouse: found it already recorded from 20260306000000 for analytics\.hourly_revenue; expected/),
  );
  await assert.rejects(
    store.recordUpdateSet(updateSet('us#x', '20260308000000', [DAILY])),
    (e: unknown) => e instanceof TerminalError && e.code === 'metadata.invalid-key',
  );
});
