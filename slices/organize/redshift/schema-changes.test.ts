/**
 * What a source's schema history does to the warehouse, without a warehouse:
 * which retypes are widenings, where each column lands on PostgreSQL and on
 * Redshift, and which changes break a view that reads the column, from when.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyRetype, diffSchemas, type ColumnSchema, type DatasetSchema } from '../../../shared/schema.ts';
import type { SchemaVersion } from '../../../shared/metadata/types.ts';
import { breaksIn, schemaEffects } from './schema-changes.ts';

test('classifyRetype: widenings keep every value with its meaning; everything else is incompatible', () => {
  const widening: [string, string][] = [
    ['smallint', 'integer'], ['integer', 'bigint'], ['real', 'double precision'], ['numeric(14,2)', 'numeric(16,2)'],
    ['numeric(10,2)', 'numeric(12,4)'], ['numeric(10,2)', 'numeric'], ['character varying(32)', 'character varying(64)'], ['character varying(32)', 'text'],
  ];
  const incompatible: [string, string][] = [
    ['bigint', 'integer'], ['numeric(10,2)', 'numeric(10,4)'], ['numeric', 'numeric(38,2)'], ['text', 'character varying(10)'],
    ['integer', 'text'], ['timestamp without time zone', 'timestamp with time zone'], ['integer', 'numeric(20,0)'], ['double precision', 'real'],
  ];
  for (const [from, to] of widening) assert.equal(classifyRetype(from, to), 'widening', `${from} → ${to}`);
  for (const [from, to] of incompatible) assert.equal(classifyRetype(from, to), 'incompatible', `${from} → ${to}`);
});

const INT = (name: string, bits: 32 | 64 = 32): ColumnSchema => ({
  name, sourceType: bits === 32 ? 'integer' : 'bigint', nullable: true, parquet: { physical: bits === 32 ? 'INT32' : 'INT64' },
});
const TEXT = (name: string): ColumnSchema => ({ name, sourceType: 'text', nullable: true, parquet: { physical: 'BYTE_ARRAY', logical: { type: 'STRING' } } });

/** Registry versions as recordSchema writes them: each with the diff from the one before. */
function history(...steps: [string, ColumnSchema[]][]): SchemaVersion[] {
  let before: DatasetSchema | undefined;
  return steps.map(([since, columns], i) => {
    const schema = { columns };
    const v: SchemaVersion = { dataset: 'shop.t', version: i + 1, schema, since, createdAt: '2026-03-16T00:00:00.000Z' };
    if (before) v.diff = diffSchemas(before, schema);
    before = schema;
    return v;
  });
}

test('a widening alters the column in place on PostgreSQL; on Redshift it lands in a new column and breaks readers', () => {
  const versions = history(['20260316000000', [INT('id'), INT('qty')]], ['20260316090000', [INT('id'), INT('qty', 64)]]);
  const pg = schemaEffects('postgres', versions);
  assert.deepEqual([...pg.widened], ['qty']);
  assert.deepEqual([...pg.landing], []);
  assert.deepEqual(pg.breaks, []);
  // Before the widening's version, nothing is widened yet.
  assert.deepEqual([...schemaEffects('postgres', versions, 1).widened], []);

  const rs = schemaEffects('redshift', versions);
  assert.deepEqual([...rs.widened], []);
  assert.deepEqual([...rs.landing], [['qty', 'qty__bigint']]);
  assert.deepEqual(rs.breaks, [{ column: 'qty', change: 'retyped', from: 'integer', to: 'bigint', landsIn: 'qty__bigint', since: '20260316090000', version: 2 }]);
});

test('an incompatible retype lands in <name>__<type>; a drop breaks readers until the column comes back', () => {
  const versions = history(
    ['20260316000000', [INT('id'), TEXT('code'), TEXT('note')]],
    ['20260316101500', [INT('id'), INT('code')]],
    ['20260316140000', [INT('id'), INT('code'), TEXT('note')]],
  );
  const fx = schemaEffects('postgres', versions);
  assert.deepEqual([...fx.landing], [['code', 'code__integer']]);
  assert.deepEqual(fx.breaks, [
    { column: 'note', change: 'dropped', from: 'text', since: '20260316101500', version: 2, until: '20260316140000' },
    { column: 'code', change: 'retyped', from: 'text', to: 'integer', landsIn: 'code__integer', since: '20260316101500', version: 2 },
  ]);
  // The hour holding the first changed batch is affected, the one before is not; the drop ends when the column returns.
  assert.deepEqual(breaksIn(fx.breaks, '20260316090000', '20260316100000'), []);
  assert.deepEqual(breaksIn(fx.breaks, '20260316100000', '20260316110000').map((b) => b.column), ['note', 'code']);
  assert.deepEqual(breaksIn(fx.breaks, '20260316140000', '20260316150000').map((b) => b.column), ['code']);
});
