/**
 * What a harness slice's functions build a pass from in AWS: the environment
 * its stack sets (every variable checked, each failure naming the variable
 * and what was expected), and the dataset's keys from the metadata (a view's
 * applied version, a collected table's stored collect config) on the real
 * SDK against the DynamoDB stand-in.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isReefError } from '../errors.ts';
import { validateSliceConfig } from '../flow/load.ts';
import { startDynamo, type Running } from '../local/standins.ts';
import { MetadataStore } from '../metadata/store.ts';
import type { ViewVersionInput } from '../metadata/view-versions.ts';
import { SLICE_ENV } from '../runtime/env.ts';
import { ORGANIZE_SLICE } from '../slice.ts';
import { parseSchedule } from '../timelabel.ts';
import type { ViewHeader } from '../views/types.ts';
import { exampleConfig as collectExample } from '../../slices/collect/postgres/config.ts';
import { exampleConfig as harnessExample } from '../../slices/harness/postgres/config.ts';
import { findSliceType } from '../../slices/registry.ts';
import { datasetKeysFromMetadata } from './keys.ts';
import { harnessSettingsFromEnv } from './setup.ts';

const ADMIN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:reef-acme-admin-AbCdEf';
const DEPLOYED = {
  [SLICE_ENV.slice]: 'crm-scores',
  [SLICE_ENV.sliceType]: 'harness/postgres',
  [SLICE_ENV.sliceConfig]: JSON.stringify(harnessExample),
};

test('the settings the harness stack sets: the publication as deployed, and Redshift without a COPY role (a harness slice only reads)', () => {
  const settings = harnessSettingsFromEnv({
    ...DEPLOYED,
    [SLICE_ENV.secretName]: ADMIN,
    [SLICE_ENV.warehouseDialect]: 'redshift',
    [SLICE_ENV.warehouseEndpoint]: JSON.stringify({ host: 'reef-acme.example.internal', port: 5439, database: 'reef' }),
  });
  assert.deepEqual(settings, {
    publication: { slice: 'crm-scores', type: 'harness/postgres', config: harnessExample },
    warehouse: { dialect: 'redshift', secret: ADMIN, endpoint: { host: 'reef-acme.example.internal', port: 5439, database: 'reef' } },
  });
});

test('a missing or malformed setting is a config error naming the variable and what it should hold', () => {
  const refused = (env: NodeJS.ProcessEnv, pattern: RegExp) =>
    assert.throws(() => harnessSettingsFromEnv(env), (e: unknown) => isReefError(e) && e.code === 'config.env' && e.category === 'config' && pattern.test(e.message));
  refused({ [SLICE_ENV.secretName]: 'wh' }, /REEF_SLICE_CONFIG: found nothing; expected the publication's config as JSON/);
  refused({ ...DEPLOYED, [SLICE_ENV.sliceConfig]: '{type:' }, /REEF_SLICE_CONFIG of slice crm-scores is not JSON/);
  refused({ ...DEPLOYED, [SLICE_ENV.sliceType]: 'collect/postgres', [SLICE_ENV.secretName]: 'wh' }, /REEF_SLICE_TYPE: found "collect\/postgres"; expected a harness slice type \(harness\/postgres, harness\/webhook\)/);
  refused({ ...DEPLOYED, [SLICE_ENV.slice]: '' }, /REEF_SLICE: found nothing; expected the slice name/);
  refused(DEPLOYED, /REEF_SECRET_NAME: found nothing; expected the name or ARN of the warehouse secret/);
  refused({ ...DEPLOYED, [SLICE_ENV.secretName]: 'wh', [SLICE_ENV.warehouseEndpoint]: '{"host":1}' }, /REEF_WAREHOUSE_ENDPOINT: found .*; expected \{"host", "port", "database"\}/);
});

let dynamo: Running<DynamoDBClient>;
let metadata: MetadataStore;

before(async () => {
  dynamo = await startDynamo(undefined);
  metadata = new MetadataStore({ client: dynamo.client, tableName: 'reef-harness-setup-test' });
  await metadata.ensureTable();
});
after(async () => dynamo?.stop());

const header = (keys: string[]): ViewHeader => ({ refresh: parseSchedule('1 hour'), refreshText: '1 hour', mode: keys.length > 0 ? 'merge' : 'replace', keys, checks: [], tagLines: {} });

function version(view: string, n: number, keys: string[], updateSet: string): ViewVersionInput {
  return {
    organizeSlice: ORGANIZE_SLICE, view, version: n, sqlHash: `hash-${view}-${n}`, body: 'SELECT 1 AS customer_id\n', header: header(keys),
    signature: [{ name: 'customer_id', type: 'integer' }], reads: [], effectiveFrom: '20260301000000', updateSet, removed: false,
  };
}

test('keys from the metadata: a view\'s newest applied version, never one whose update set is not recorded; a collected table\'s stored collect config', async () => {
  await metadata.putViewVersion(version('analytics.ltv', 1, ['customer_id'], 'us-1'));
  await metadata.recordUpdateSet({ organizeSlice: ORGANIZE_SLICE, id: 'us-1', effectiveFrom: '20260301000000', views: ['analytics.ltv', 'analytics.totals'], breaking: false, allowBreaking: false });
  await metadata.putViewVersion(version('analytics.totals', 1, [], 'us-1'));
  // An apply that crashed before its update set was recorded: its version must not count.
  await metadata.putViewVersion(version('analytics.ltv', 2, ['customer_id', 'region'], 'us-crashed'));
  assert.deepEqual(await datasetKeysFromMetadata(metadata, 'analytics.ltv', findSliceType), ['customer_id']);
  assert.equal(await datasetKeysFromMetadata(metadata, 'analytics.totals', findSliceType), undefined, 'a view without @keys');

  await metadata.putSliceConfig({ slice: 'erp', type: 'collect/postgres', config: collectExample }, (t, c) => validateSliceConfig(t, c, 'slice erp'));
  assert.deepEqual(await datasetKeysFromMetadata(metadata, 'erp.customers', findSliceType), ['id']);
  assert.equal(await datasetKeysFromMetadata(metadata, 'erp.products', findSliceType), undefined, 'a snapshot loadunit has no keys');
  assert.equal(await datasetKeysFromMetadata(metadata, 'crm.accounts', findSliceType), undefined, 'a collect slice that never stored its config');
});
