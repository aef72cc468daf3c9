/**
 * What an organize function builds its pass from in AWS: the environment the
 * organize stack sets (every variable checked, each failure naming the
 * variable and what was expected) and the collect slices' configs as their
 * Plan functions stored them, on the real SDK against the DynamoDB stand-in.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isReefError } from '../../../shared/errors.ts';
import { startDynamo } from '../../../shared/local/standins.ts';
import { MetadataStore } from '../../../shared/metadata/store.ts';
import { SLICE_ENV } from '../../../shared/runtime/env.ts';
import { exampleConfig } from '../../collect/postgres/config.ts';
import { validateSliceConfig } from '../../../shared/flow/load.ts';
import { organizeSettingsFromEnv, organizeSetupFromMetadata } from './setup.ts';

const ROLE = 'arn:aws:iam::123456789012:role/reef-acme-copy';

test('the settings the organize stack sets: Redshift with its COPY role, an endpoint for a created warehouse, the collect slices', () => {
  const settings = organizeSettingsFromEnv({
    [SLICE_ENV.secretName]: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:reef-acme-admin-AbCdEf',
    [SLICE_ENV.warehouseDialect]: 'redshift',
    [SLICE_ENV.copyRole]: ROLE,
    [SLICE_ENV.warehouseEndpoint]: JSON.stringify({ host: 'reef-acme.123456789012.eu-west-1.redshift-serverless.amazonaws.com', port: '5439', database: 'reef' }),
    [SLICE_ENV.collectSlices]: JSON.stringify(['shop', 'erp']),
  });
  assert.deepEqual(settings, {
    warehouse: {
      dialect: 'redshift',
      secret: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:reef-acme-admin-AbCdEf',
      copy: { iamRole: ROLE },
      endpoint: { host: 'reef-acme.123456789012.eu-west-1.redshift-serverless.amazonaws.com', port: 5439, database: 'reef' },
    },
    collectSlices: ['shop', 'erp'],
  });
  // Without a dialect: the local stand-in's PostgreSQL.
  assert.deepEqual(organizeSettingsFromEnv({ [SLICE_ENV.secretName]: 'wh' }), { warehouse: { dialect: 'postgres', secret: 'wh' }, collectSlices: [] });
});

test('a missing or malformed setting is a config error naming the variable and what it should hold', () => {
  const refused = (env: NodeJS.ProcessEnv, pattern: RegExp) =>
    assert.throws(() => organizeSettingsFromEnv(env), (e: unknown) => isReefError(e) && e.code === 'config.env' && e.category === 'config' && pattern.test(e.message));
  refused({}, /REEF_SECRET_NAME: found nothing; expected the name or ARN of the warehouse secret/);
  refused({ [SLICE_ENV.secretName]: 'wh', [SLICE_ENV.warehouseDialect]: 'redshift' }, /REEF_COPY_ROLE_ARN: found nothing; expected the ARN of the role Redshift assumes for COPY/);
  refused({ [SLICE_ENV.secretName]: 'wh', [SLICE_ENV.warehouseDialect]: 'mysql' }, /REEF_WAREHOUSE_DIALECT: found "mysql"; expected redshift or postgres/);
  refused({ [SLICE_ENV.secretName]: 'wh', [SLICE_ENV.warehouseEndpoint]: '{"host":1}' }, /REEF_WAREHOUSE_ENDPOINT: found .*; expected \{"host", "port", "database"\}/);
  refused({ [SLICE_ENV.secretName]: 'wh', [SLICE_ENV.collectSlices]: 'shop,erp' }, /REEF_COLLECT_SLICES: found "shop,erp"; expected JSON/);
  refused({ [SLICE_ENV.secretName]: 'wh', [SLICE_ENV.collectSlices]: '{"shop":1}' }, /REEF_COLLECT_SLICES: found .*; expected a JSON array of collect slice names/);
});

test('the sources of a pass are the stored configs of the named collect slices; one that never stored its config is left out', async () => {
  const dynamo = await startDynamo(undefined);
  try {
    const metadata = new MetadataStore({ client: dynamo.client, tableName: 'reef-organize-setup-test' });
    await metadata.ensureTable();
    await metadata.putSliceConfig({ slice: 'shop', type: 'collect/postgres', config: exampleConfig }, (t, c) => validateSliceConfig(t, c, 'slice shop'));
    const setup = await organizeSetupFromMetadata(metadata, { warehouse: { dialect: 'postgres', secret: 'wh' }, collectSlices: ['shop', 'erp'] });
    assert.deepEqual(setup.sources, [{ slice: 'shop', type: 'collect/postgres', file: 'sources/shop.yaml', config: exampleConfig }]);
    assert.deepEqual(setup.views, [], 'no view version applied yet');
    assert.deepEqual(setup.warehouse, { dialect: 'postgres', secret: 'wh' });
  } finally {
    await dynamo.stop();
  }
});
