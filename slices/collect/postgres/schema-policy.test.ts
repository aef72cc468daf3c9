/**
 * The schema policies as data: which policy a loadunit runs under, what
 * `ignore_new_columns` leaves out of a batch, how a freeze tells the changes
 * it waits on, and that the config's JSON Schema takes the policies at both
 * levels and refuses any other word.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { diffSchemas, type ColumnSchema } from '../../../shared/schema.ts';
import type { SourceColumn, SourceTable } from './catalog.ts';
import { configSchema, exampleConfig, type CollectPostgresConfig } from './config.ts';
import { acceptCommand, describeChanges, frozenMessage, hasChanges, keepRegisteredColumns, schemaPolicyOf } from './schema-policy.ts';

const column = (name: string, sourceType = 'text', nullable = true): ColumnSchema => ({ name, sourceType, nullable, parquet: { physical: 'BYTE_ARRAY', logical: { type: 'STRING' } } });
const sourceColumn = (name: string, position: number): SourceColumn => ({
  name, position, sourceType: 'text', typeOid: 25, notNull: false, dimensions: 0,
  base: { oid: 25, name: 'text', schema: 'pg_catalog', kind: 'b', category: 'S', typmod: -1 },
  element: null, numeric: null,
});

test('the loadunit policy wins over the source policy, which wins over the default, evolve', () => {
  assert.equal(schemaPolicyOf({}, undefined), 'evolve');
  assert.equal(schemaPolicyOf({}, {}), 'evolve');
  assert.equal(schemaPolicyOf({ schemaPolicy: 'freeze' }, {}), 'freeze');
  assert.equal(schemaPolicyOf({ schemaPolicy: 'freeze' }, { schemaPolicy: 'ignore_new_columns' }), 'ignore_new_columns');
  assert.equal(schemaPolicyOf({ schemaPolicy: 'ignore_new_columns' }, { schemaPolicy: 'evolve' }), 'evolve');
});

test('ignore_new_columns keeps the registered columns, in source order, and names the ones left out', () => {
  const table: SourceTable = { schema: 'public', table: 'products', columns: ['id', 'colour', 'sku', 'size'].map((n, i) => sourceColumn(n, i + 1)) };
  const kept = keepRegisteredColumns(table, { columns: [column('sku'), column('id'), column('category')] });
  assert.deepEqual(kept.table.columns.map((c) => c.name), ['id', 'sku']);
  assert.deepEqual(kept.ignored, ['colour', 'size']);
  assert.deepEqual(table.columns.map((c) => c.name), ['id', 'colour', 'sku', 'size'], 'the described table is left as it was');
  // Nothing registered yet: the first batch takes every column, which is what gets registered.
  assert.deepEqual(keepRegisteredColumns(table, undefined), { table, ignored: [] });
});

test('a freeze names every change, and a new version that only reorders columns is no change', () => {
  const before = { columns: [column('id', 'integer', false), column('email'), column('total', 'numeric(14,2)'), column('note')] };
  const after = { columns: [column('id', 'bigint', false), column('email', 'text', false), column('total', 'text'), column('segment')] };
  const changes = describeChanges(diffSchemas(before, after));
  assert.deepEqual(changes, [
    'added segment (text)',
    'dropped note (text)',
    'retyped id from integer to bigint (widening)',
    'retyped total from numeric(14,2) to text (incompatible)',
    'made email NOT NULL',
  ]);
  assert.equal(hasChanges(diffSchemas(before, after)), true);
  assert.equal(hasChanges(diffSchemas(before, { columns: [...before.columns].reverse() })), false);

  const message = frozenMessage('shop.customers', 'public.customers', changes.slice(0, 1));
  assert.match(message, /^shop\.customers is paused: its source table public\.customers changed \(added segment \(text\)\) and its schemaPolicy is freeze/);
  assert.ok(message.endsWith(`; to resume: ${acceptCommand('shop.customers')} (or set schemaPolicy: evolve for it)`), message);
  assert.equal(acceptCommand('shop.customers', 'my-flow'), 'reef accept my-flow shop.customers, then reef run my-flow');
});

test('the JSON Schema takes a policy at the source and on both kinds of loadunit, and refuses any other', () => {
  const validate = new Ajv2020({ allErrors: true, strict: true, strictRequired: false }).compile(configSchema);
  assert.equal(validate(exampleConfig), true, JSON.stringify(validate.errors));
  const config: CollectPostgresConfig = {
    ...exampleConfig,
    schemaPolicy: 'freeze',
    loadunits: [
      { table: 'public.customers', mode: 'incremental', cursor: 'updated_at', schemaPolicy: 'evolve' },
      { table: 'public.products', mode: 'snapshot', schemaPolicy: 'ignore_new_columns' },
      { pattern: 'audit.*', mode: 'snapshot', schemaPolicy: 'freeze' },
    ],
  };
  assert.equal(validate(config), true, JSON.stringify(validate.errors));
  assert.equal(validate({ ...exampleConfig, schemaPolicy: 'lenient' }), false);
  assert.equal(validate({ ...exampleConfig, loadunits: [{ table: 'public.products', mode: 'snapshot', schemaPolicy: 'strict' }] }), false);
});
