/**
 * The config's JSON Schema (compiled by ajv as `reef validate` compiles it,
 * in strict mode) and the rules beyond it, and the definition's declarations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parseSchedule } from '../../../shared/timelabel.ts';
import { configProblems, configSchema, exampleConfig, webhookSettings, DEFAULT_MAX_BYTES, type HarnessWebhookConfig } from './config.ts';
import { harnessWebhook } from './definition.ts';

const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, verbose: true });
const validate = ajv.compile(configSchema);

const minimal: HarnessWebhookConfig = {
  type: 'harness/webhook',
  dataset: 'shop-db.orders',
  url: 'https://hooks.example.com/orders',
  signing: { secret: 'orders-hook' },
};

function schemaErrors(config: unknown): string[] {
  return validate(config) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

test('the example and a minimal config pass the schema and the rules; defaults fill what is left out', () => {
  assert.deepEqual(schemaErrors(exampleConfig), []);
  assert.deepEqual(configProblems(exampleConfig), []);
  assert.deepEqual(schemaErrors(minimal), []);
  assert.deepEqual(configProblems(minimal), []);
  assert.deepEqual(webhookSettings(minimal), { maxBytes: DEFAULT_MAX_BYTES, maxRows: undefined, attempts: 5, baseDelayMs: 500, maxDelayMs: 30_000, timeoutMs: 30_000 });
});

test('the schema refuses unknown fields, other schemes, a dataset without schema, and limits out of range', () => {
  assert.match(schemaErrors({ ...minimal, extra: 1 }).join('\n'), /must NOT have additional properties/);
  assert.match(schemaErrors({ ...minimal, url: 'ftp://x/y' }).join('\n'), /\/url must match pattern/);
  assert.match(schemaErrors({ ...minimal, dataset: 'orders' }).join('\n'), /\/dataset must match pattern/);
  assert.match(schemaErrors({ ...minimal, batch: { maxBytes: 10 } }).join('\n'), /\/batch\/maxBytes must be >= 1024/);
  assert.match(schemaErrors({ ...minimal, columns: 'some' }).join('\n'), /\/columns/);
  assert.match(schemaErrors({ ...minimal, signing: { secret: 'x', key: 'inline' } }).join('\n'), /\/signing must NOT have additional properties/);
  assert.deepEqual(schemaErrors({ ...minimal, columns: ['id', 'total'], keys: ['id'] }), []);
});

test('the rules beyond the schema: credentials in the URL, repeated or reserved names, keys not sent, waits out of order', () => {
  const problems = configProblems({
    ...minimal,
    url: 'https://user:pw@hooks.example.com/x#frag',
    keys: ['id', 'id'],
    columns: ['total', 'reef_seq'],
    retry: { baseDelayMs: 2000, maxDelayMs: 1000 },
  });
  const text = problems.map((p) => `${p.path.join('.')}: ${p.message}`);
  assert.deepEqual(text, [
    'url: found user:password@ in the URL; expected none: configs are stored in the metadata and must not hold credentials (the signature authenticates Reef)',
    'url: found a #fragment; expected none (it is never sent)',
    'keys: found "id" twice; expected each key column once',
    'columns: found "reef_seq", a name Reef uses for its own columns; expected none of reef_seq, reef_row_hash, reef_dup',
    'keys.0: found key "id", which is not in columns; expected the keys to be sent (add it to columns)',
    'keys.1: found key "id", which is not in columns; expected the keys to be sent (add it to columns)',
    'retry.maxDelayMs: found 1000 ms, below baseDelayMs (2000 ms); expected at least the first wait',
  ]);
  assert.ok(!text.join('\n').includes('pw@'), 'the password is not repeated');
});

test('the definition: a harness publishing config.dataset, one timelabel at a time, with a parseable fallback schedule and its secret by name', async () => {
  assert.equal(harnessWebhook.kind, 'harness');
  assert.equal(harnessWebhook.harness.dataset(minimal), 'shop-db.orders');
  assert.deepEqual(harnessWebhook.secretNames(minimal), ['orders-hook']);
  assert.equal(harnessWebhook.maxConcurrency(), 1);
  assert.doesNotThrow(() => parseSchedule(harnessWebhook.schedule(), 'schedule'));
  const publisher = await harnessWebhook.harness.publisher();
  assert.equal(typeof publisher.publish, 'function');
});
