/**
 * The deployed config travels in the Plan function's environment and is
 * stored in the metadata (validated) before planning.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDynamo } from '../local/standins.ts';
import { MetadataStore } from '../metadata/store.ts';
import { exampleConfig } from '../../slices/collect/postgres/config.ts';
import { storeDeployedConfig } from './aws.ts';
import { SLICE_ENV } from './env.ts';
import { NO_FAULTS, type Services } from './services.ts';

test('the Plan function stores the deployed config once, validated, and refuses an invalid one', async () => {
  const dynamo = await startDynamo(undefined);
  const metadata = new MetadataStore({ client: dynamo.client, tableName: 'reef-deployed-config-test' });
  await metadata.ensureTable();
  const services = { metadata, faults: NO_FAULTS } as unknown as Services;
  const saved = { ...process.env };
  try {
    process.env[SLICE_ENV.slice] = 'erp';
    process.env[SLICE_ENV.sliceType] = 'collect/postgres';
    process.env[SLICE_ENV.sliceConfig] = JSON.stringify(exampleConfig);
    await storeDeployedConfig(services);
    await storeDeployedConfig(services);
    const stored = await metadata.getSliceConfig('erp');
    assert.deepEqual(stored?.config, exampleConfig);
    assert.equal(stored?.version, 1, 'an unchanged config is not written again');

    process.env[SLICE_ENV.sliceConfig] = JSON.stringify({ ...exampleConfig, schedule: 'every 7 minutes' });
    await assert.rejects(storeDeployedConfig(services), /schedule/);
    assert.equal((await metadata.getSliceConfig('erp'))?.version, 1, 'an invalid config changes nothing');
  } finally {
    process.env = saved;
    await dynamo.stop();
  }
});
