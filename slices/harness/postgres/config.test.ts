/**
 * The publication file: its JSON Schema compiles under the same strict ajv
 * settings `reef validate` uses and takes the example; the rules beyond the
 * schema name the field and say what was expected; the definition says what
 * the pass needs (dataset, secret, a parseable fallback schedule, a lazily
 * loaded publisher); and the columns and keys a publish works out from the
 * dataset's columns.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { isReefError } from '../../../shared/errors.ts';
import { parseSchedule } from '../../../shared/timelabel.ts';
import { planColumns } from './columns.ts';
import { configProblems, configSchema, exampleConfig, type HarnessPostgresConfig } from './config.ts';
import { harnessPostgres } from './definition.ts';

const validate = new Ajv2020({ allErrors: true, strict: true, strictRequired: false }).compile(configSchema);

const BASE: HarnessPostgresConfig = {
  type: 'harness/postgres',
  dataset: 'analytics.customer_ltv',
  connection: { secret: 'shop-app' },
  target: { table: 'customer_ltv' },
  mode: 'replace',
};

test('the schema takes the example and the smallest config, and refuses unknown fields, bad modes and bad dataset names', () => {
  assert.equal(validate(exampleConfig), true, JSON.stringify(validate.errors));
  assert.equal(validate(BASE), true, JSON.stringify(validate.errors));
  assert.equal(validate({ ...BASE, columns: 'all', connection: { secret: 'x', ssl: 'verify-full' } }), true);
  assert.equal(validate({ ...BASE, target: { table: `we"ird'; --`, schema: 'Ünï 🐟' } }), true, 'target names are quoted, not restricted');
  for (const bad of [
    { ...BASE, mode: 'append' },
    { ...BASE, extra: 1 },
    { ...BASE, dataset: 'customer_ltv' },
    { ...BASE, dataset: 'analytics.customer ltv' },
    { ...BASE, target: { table: '' } },
    { ...BASE, target: { table: 'a\0b' } },
    { ...BASE, columns: [] },
    { ...BASE, columns: 'some' },
    { ...BASE, columns: [{ column: 'a', rename: 'b' }] },
    { ...BASE, keys: [] },
  ]) {
    assert.equal(validate(bad), false, JSON.stringify(bad));
  }
});

test('rules beyond the schema: unique target names after renames, keys among the published columns and only for merge, names PostgreSQL keeps whole, not the reef schema', () => {
  assert.deepEqual(configProblems(exampleConfig), []);
  const problems = configProblems({
    ...BASE,
    target: { schema: 'reef', table: 'x'.repeat(40) + '🐟'.repeat(6) },
    mode: 'merge',
    keys: ['id', 'gone', 'id'],
    columns: [{ column: 'id' }, { column: 'total', as: 'id' }, { column: 'id', as: 'again' }, { column: 'note', as: 'n'.repeat(64) }],
  });
  assert.deepEqual(problems.map((p) => p.path.join('.')), ['target.table', 'target.schema', 'columns.1.as', 'columns.2.column', 'columns.3.as', 'keys.1', 'keys.2']);
  assert.match(problems[0].message, /64 bytes long; expected at most 63 bytes/);
  assert.match(problems[1].message, /found schema "reef", where Reef keeps its publish markers/);
  assert.match(problems[2].message, /found target column name "id", already given to columns\[0\]; expected unique column names in the target table: rename one with "as"/);
  assert.match(problems[3].message, /found dataset column "id", already published by columns\[0\]/);
  assert.match(problems[5].message, /found key "gone", which columns does not publish; expected one of the published dataset columns: id, total, note/);
  assert.match(problems[6].message, /found key "id" twice/);
  assert.deepEqual(configProblems({ ...BASE, keys: ['id'] }).map((p) => p.message), ['found keys with mode replace; expected keys only with mode merge, which upserts by them']);
});

test('the definition: the dataset and secret a config names, a fallback schedule the flow loader can parse, a publisher loaded on demand', async () => {
  assert.equal(harnessPostgres.kind, 'harness');
  assert.equal(harnessPostgres.harness.dataset(exampleConfig), 'analytics.customer_ltv');
  assert.deepEqual(harnessPostgres.secretNames(exampleConfig), ['shop-app']);
  assert.equal(parseSchedule(harnessPostgres.schedule()).kind, 'interval');
  assert.equal(harnessPostgres.example, exampleConfig);
  const publisher = await harnessPostgres.harness.publisher();
  assert.equal(typeof publisher.publish, 'function');
  assert.deepEqual(harnessPostgres.problems(exampleConfig), []);
});

const DATASET = [
  { name: 'id', type: 'bigint', portable: true },
  { name: 'revenue', type: 'numeric(12,2)', portable: true },
  { name: 'tier', type: 'analytics.tier', portable: false },
];

function configError(fn: () => unknown, code: string, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => isReefError(e) && e.category === 'config' && e.code === code && pattern.test(e.message));
}

test('a publish works out its columns (all, or selected and renamed) and its keys (the file\'s, else the dataset\'s, by dataset name)', () => {
  const all = planColumns({ slice: 'ltv', config: BASE, dataset: 'analytics.customer_ltv', dialect: 'postgres', datasetColumns: DATASET });
  assert.deepEqual(all.columns.map((c) => [c.source.name, c.name, c.type]), [['id', 'id', 'bigint'], ['revenue', 'revenue', 'numeric(12,2)'], ['tier', 'tier', 'text']]);
  assert.deepEqual(all.keys, []);
  const merge: HarnessPostgresConfig = { ...BASE, mode: 'merge', columns: [{ column: 'revenue', as: 'Revenue' }, { column: 'id', as: 'Customer' }] };
  const fromDataset = planColumns({ slice: 'ltv', config: merge, dataset: 'analytics.customer_ltv', dialect: 'postgres', datasetColumns: DATASET, datasetKeys: ['id'] });
  assert.deepEqual(fromDataset.columns.map((c) => c.name), ['Revenue', 'Customer']);
  assert.deepEqual(fromDataset.keys, ['Customer']);
  const fromFile = planColumns({ slice: 'ltv', config: { ...merge, keys: ['revenue'] }, dataset: 'analytics.customer_ltv', dialect: 'postgres', datasetColumns: DATASET, datasetKeys: ['id'] });
  assert.deepEqual(fromFile.keys, ['Revenue'], 'the file\'s keys win over the dataset\'s');

  configError(
    () => planColumns({ slice: 'ltv', config: { ...BASE, mode: 'merge' }, dataset: 'analytics.customer_ltv', dialect: 'postgres', datasetColumns: DATASET }),
    'config.keys',
    /^publications\/ltv\.yaml: keys: found none in the file, and dataset analytics\.customer_ltv declares none/,
  );
  configError(
    () => planColumns({ slice: 'ltv', config: { ...merge, columns: [{ column: 'revenue' }] }, dataset: 'analytics.customer_ltv', dialect: 'postgres', datasetColumns: DATASET, datasetKeys: ['id'] }),
    'config.keys',
    /keys \(from dataset analytics\.customer_ltv\): found key "id", which is not published; expected one of the published dataset columns: revenue/,
  );
  configError(
    () => planColumns({ slice: 'ltv', config: { ...BASE, columns: [{ column: 'Revenue' }] }, dataset: 'analytics.customer_ltv', dialect: 'postgres', datasetColumns: DATASET }),
    'config.column',
    /columns\[0\]\.column: found "Revenue", which dataset analytics\.customer_ltv does not have; expected one of id, revenue, tier/,
  );
});
