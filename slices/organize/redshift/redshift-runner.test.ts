/**
 * Pins what the organize slice sends to Redshift when it runs a load and a
 * refresh there: the exact statement sequence, in order, in one transaction.
 *
 * No Redshift cluster can run here, so the warehouse is a recording client
 * (the one stand-in in these tests): it answers the catalog and marker
 * queries as a cluster would and keeps every statement. The lake is real (the
 * S3 stand-in): the load reads the batch manifest from it and writes the
 * Redshift manifest its COPY reads. The same runners are run for real against
 * PostgreSQL in load.test.ts and refresh.test.ts; the generated SQL itself is
 * pinned statement by statement in dialect.test.ts and view-dialect.test.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type pg from 'pg';
import { isReefError } from '../../../shared/errors.ts';
import { manifestKey } from '../../../shared/lake/layout.ts';
import { writeManifest, type BatchManifest } from '../../../shared/lake/manifest.ts';
import { startS3, type Running } from '../../../shared/local/standins.ts';
import type { ColumnSchema } from '../../../shared/schema.ts';
import type { S3Client } from '@aws-sdk/client-s3';
import { compileTestView, viewHeader } from '../../../test/support/views.ts';
import {
  addViewColumnSql, checkSql, computeViewRowsSql, countViewRowsSql, createRefreshMarkersSql, createSchemaSql, createViewTableSql, describeViewSql, dropViewRowsSql,
  duplicateKeysSql, existingColumnsSql, lockTableSql, nullKeysSql, pinRefreshSessionSql, refreshMarkerCheckSql, refreshMarkerInsertSql, viewApplySql,
  VIEW_ROWS_TABLE,
} from './dialect.ts';
import { loadBatch, redshiftLoadStatements } from './load.ts';
import { redshiftManifest } from './redshift-manifest.ts';
import { refreshView } from './refresh.ts';
import { singleStatement } from './view-sql.ts';

const BUCKET = 'lake';
const ROLE = 'arn:aws:iam::123456789012:role/reef-acme-redshift-copy';
const TIMELABEL = '20260105080000';

interface Sent {
  sql: string;
  params?: unknown[];
}

/** A column as a Redshift row description gives it: name, type OID, modifier. */
interface Field {
  name: string;
  dataTypeID: number;
  dataTypeModifier: number;
}

/**
 * What the cluster would answer. `existing`: the target's columns in
 * svv_columns given what was sent so far (empty: no table). Everything else
 * answers no rows.
 */
function recordingCluster(answers: { existing?: string[] | ((sent: Sent[]) => string[]); markerRows?: Record<string, unknown>[]; fields?: Field[]; types?: Record<string, string>; viewRows?: number }) {
  const sent: Sent[] = [];
  const client = {
    async query(sql: string, params?: unknown[]) {
      sent.push(params === undefined ? { sql } : { sql, params });
      if (sql.includes('FROM svv_columns')) {
        const existing = typeof answers.existing === 'function' ? answers.existing(sent) : (answers.existing ?? []);
        return { rows: existing.map((column_name) => ({ column_name })), fields: [] };
      }
      if (sql.startsWith('SELECT batch_manifest, row_count FROM') || sql.startsWith('SELECT "rows", "run_id" FROM')) return { rows: answers.markerRows ?? [], fields: [] };
      if (sql.endsWith(' AS q LIMIT 0')) return { rows: [], fields: answers.fields ?? [] };
      if (sql.startsWith('SELECT format_type(')) return { rows: [answers.types ?? {}], fields: [] };
      if (sql.startsWith('SELECT count(*) AS n FROM')) return { rows: [{ n: String(answers.viewRows ?? 0) }], fields: [] };
      if (sql.startsWith('SELECT count(*) AS failing') || sql.startsWith('SELECT COALESCE(SUM(n), 0) AS failing')) return { rows: [{ failing: '0' }], fields: [] };
      return { rows: [], fields: [] };
    },
  };
  return { client: client as unknown as pg.ClientBase, sent };
}

const col = (name: string, sourceType: string, parquet: ColumnSchema['parquet']): ColumnSchema => ({ name, sourceType, nullable: true, parquet });
const ID = col('id', 'bigint', { physical: 'INT64' });
const STATUS = col('status', 'text', { physical: 'BYTE_ARRAY', logical: { type: 'STRING' } });
const DOC = col('doc', 'jsonb', { physical: 'BYTE_ARRAY', logical: { type: 'JSON' } });

function batch(files: number): BatchManifest {
  return {
    slice: 'shop', dataset: 'shop.orders', loadunit: 'orders', timelabel: TIMELABEL,
    files: Array.from({ length: files }, (_, i) => ({ key: `shop/orders/timelabel=${TIMELABEL}/part-0000${i}.parquet`, rows: 5, bytes: 700 + i })),
    rows: 5 * files, bytes: files * 700 + (files * (files - 1)) / 2,
    schema: { columns: [ID, STATUS, DOC] }, cursor: { column: 'updated_at', from: null, to: '2026-01-05 08:59:00' }, checksum: { algorithm: 'sha256', value: 'x' },
    createdAt: '2026-01-05T09:10:03.123Z',
  };
}

let s3: Running<S3Client>;
let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'reef-redshift-runner-'));
  s3 = await startS3(dir, [BUCKET]);
});
after(async () => {
  await s3?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function stored(key: string): Promise<unknown> {
  const r = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return JSON.parse(await r.Body!.transformToString());
}

test('a Redshift load sends exactly redshiftLoadStatements, reading the columns after the lock, with COPY from the Redshift manifest it wrote', async () => {
  const m = batch(2);
  const key = manifestKey('shop', 'orders', TIMELABEL);
  await writeManifest(s3.client, BUCKET, key, m);
  const { client, sent } = recordingCluster({ existing: ['id', 'status'] });
  const r = await loadBatch({
    client, dialect: 'redshift', copy: { iamRole: ROLE }, s3: s3.client, bucket: BUCKET, manifestKey: key,
    target: { schema: 'shop', table: 'orders' }, mode: 'incremental', keys: ['id'],
  });
  assert.deepEqual(r, { status: 'loaded', rows: 10, dataset: 'shop.orders', timelabel: TIMELABEL });

  const redshiftKey = `warehouse/redshift/shop/orders/timelabel=${TIMELABEL}/_redshift.manifest`;
  assert.deepEqual(await stored(redshiftKey), redshiftManifest(m, BUCKET));
  const expected = redshiftLoadStatements({
    manifest: m, manifestUrl: `s3://${BUCKET}/${key}`, target: { schema: 'shop', table: 'orders' }, mode: 'incremental', keys: ['id'],
    existingColumns: ['id', 'status'], copy: { manifestUrl: `s3://${BUCKET}/${redshiftKey}`, iamRole: ROLE },
  }).map((s) => s.sql);
  const markerCheck = expected.findIndex((s) => s.startsWith('SELECT batch_manifest'));
  assert.deepEqual(sent, [
    ...expected.slice(0, markerCheck + 1).map((sql) => ({ sql })),
    // The table's columns, read under the lock: nothing can add one in between.
    { sql: existingColumnsSql('redshift'), params: ['shop', 'orders'] },
    ...expected.slice(markerCheck + 1).map((sql) => ({ sql })),
  ]);
  const text = sent.map((s) => s.sql);
  assert.ok(text.includes(`COPY "reef_staging" FROM 's3://${BUCKET}/${redshiftKey}' IAM_ROLE '${ROLE}' FORMAT AS PARQUET MANIFEST`));
  assert.ok(text.includes('ALTER TABLE "shop"."orders" ADD COLUMN "doc" SUPER'), 'the column the batch gained is added');
  assert.ok(!text.some((s) => /SET LOCAL (DateStyle|IntervalStyle)|SAVEPOINT|TRUNCATE|FROM STDIN/.test(s)), 'nothing PostgreSQL-only');
  assert.deepEqual([text[0], text.at(-1)], ['BEGIN', 'COMMIT']);
});

test('a Redshift load already marked rolls back after the marker check: no COPY, no change', async () => {
  const key = manifestKey('shop', 'orders', TIMELABEL);
  await writeManifest(s3.client, BUCKET, key, batch(1));
  const { client, sent } = recordingCluster({ existing: ['id', 'status', 'doc'], markerRows: [{ batch_manifest: `s3://${BUCKET}/${key}`, row_count: '5' }] });
  const r = await loadBatch({ client, dialect: 'redshift', copy: { iamRole: ROLE }, s3: s3.client, bucket: BUCKET, manifestKey: key, target: { schema: 'shop', table: 'orders' }, mode: 'snapshot' });
  assert.deepEqual(r, { status: 'already-loaded', rows: 5, dataset: 'shop.orders', timelabel: TIMELABEL });
  assert.equal(sent.at(-1)!.sql, 'ROLLBACK');
  assert.ok(!sent.some((s) => s.sql.startsWith('COPY') || s.sql.startsWith('INSERT') || s.sql.startsWith('DELETE')));
});

test('a Redshift load without a COPY role is a config error before anything is sent', async () => {
  const key = manifestKey('shop', 'orders', TIMELABEL);
  await writeManifest(s3.client, BUCKET, key, batch(1));
  const { client, sent } = recordingCluster({});
  await assert.rejects(
    loadBatch({ client, dialect: 'redshift', s3: s3.client, bucket: BUCKET, manifestKey: key, target: { schema: 'shop', table: 'orders' }, mode: 'snapshot' }),
    (e: unknown) => isReefError(e) && e.code === 'config.copy-role' && /found no IAM role for COPY/.test(e.message),
  );
  assert.deepEqual(sent, []);
});

const LTV = () =>
  compileTestView(
    'analytics.customer_ltv',
    `${viewHeader('@refresh 1 hour', '@mode merge', '@keys customer_id', '@check not_null(customer_id)', '@check unique(customer_id)')}SELECT customer_id, sum(amount) AS revenue FROM shop.orders GROUP BY customer_id\n`,
    ['shop.orders'],
  );
const LTV_FIELDS: Field[] = [{ name: 'customer_id', dataTypeID: 20, dataTypeModifier: -1 }, { name: 'revenue', dataTypeID: 1700, dataTypeModifier: 786438 }];

test('a first Redshift refresh of a merge view: describe, create with DISTKEY/SORTKEY, lock, marker, compute, key checks, merge, checks, marker, commit', async () => {
  const view = await LTV();
  const { client, sent } = recordingCluster({
    // The view's table exists once the refresh has created it.
    existing: (sent) => (sent.some((s) => s.sql.startsWith('CREATE TABLE IF NOT EXISTS "analytics"')) ? ['customer_id', 'revenue'] : []),
    fields: LTV_FIELDS,
    types: { t0: 'bigint', t1: 'numeric(12,2)' },
    viewRows: 3,
  });
  const r = await refreshView({ client, dialect: 'redshift', view, timelabel: TIMELABEL, version: 1, runId: 'run-1' });
  assert.equal(r.status, 'refreshed');
  assert.equal(r.rows, 3);

  const target = { schema: 'analytics', table: 'customer_ltv' };
  const signature = [{ name: 'customer_id', type: 'bigint' }, { name: 'revenue', type: 'numeric(12,2)' }];
  const body = await singleStatement(view.body);
  const columns = { sql: existingColumnsSql('redshift'), params: ['analytics', 'customer_ltv'] };
  assert.deepEqual(sent, [
    { sql: 'BEGIN' },
    { sql: pinRefreshSessionSql() },
    ...createRefreshMarkersSql('redshift').map((sql) => ({ sql })),
    { sql: createSchemaSql('redshift', 'analytics') },
    columns,
    { sql: describeViewSql(body).sql },
    { sql: 'SELECT format_type(20, -1) AS t0, format_type(1700, 786438) AS t1' },
    { sql: createViewTableSql('redshift', target, signature, ['customer_id']) },
    { sql: lockTableSql('redshift', target) },
    { sql: refreshMarkerCheckSql('redshift', { view: view.name, timelabel: TIMELABEL, version: 1 }) },
    columns,
    { sql: dropViewRowsSql('redshift') },
    { sql: computeViewRowsSql('redshift', body).sql },
    { sql: countViewRowsSql('redshift') },
    { sql: nullKeysSql('redshift', ['customer_id'], VIEW_ROWS_TABLE) },
    { sql: duplicateKeysSql('redshift', ['customer_id'], VIEW_ROWS_TABLE) },
    ...viewApplySql('redshift', { target, columns: ['customer_id', 'revenue'], mode: 'merge', keys: ['customer_id'] }).map((sql) => ({ sql })),
    { sql: checkSql('redshift', target, { kind: 'not_null', column: 'customer_id' }).sql },
    { sql: checkSql('redshift', target, { kind: 'unique', columns: ['customer_id'] }).sql },
    { sql: refreshMarkerInsertSql('redshift', { view: view.name, timelabel: TIMELABEL, version: 1, rows: 3, runId: 'run-1' }) },
    { sql: dropViewRowsSql('redshift') },
    { sql: 'COMMIT' },
  ]);
  const text = sent.map((s) => s.sql).join('\n');
  assert.match(text, /DISTKEY\("customer_id"\) SORTKEY\("customer_id"\)/);
  assert.match(text, /CAST\("customer_id" AS VARCHAR\)/, 'the key check in Redshift\'s spelling');
  assert.match(text, /DELETE FROM "analytics"\."customer_ltv" WHERE NOT EXISTS/, 'no alias on the DELETE target');
  assert.match(text, /SYSDATE\)$/m);
  assert.doesNotMatch(text, /SAVEPOINT|TRUNCATE|::text|now\(\)/);
});

test('a later Redshift refresh locks and checks the marker before the view runs, and adds a column the signature gained', async () => {
  const view = await LTV();
  const { client, sent } = recordingCluster({ existing: ['customer_id'], fields: LTV_FIELDS, types: { t0: 'bigint', t1: 'numeric(12,2)' }, viewRows: 2 });
  const r = await refreshView({ client, dialect: 'redshift', view, timelabel: TIMELABEL, version: 2, runId: 'run-2' });
  assert.deepEqual([r.status, r.addedColumns], ['refreshed', ['revenue']]);
  const text = sent.map((s) => s.sql);
  const target = { schema: 'analytics', table: 'customer_ltv' };
  const at = (sql: string) => text.indexOf(sql);
  assert.ok(!text.some((s) => s.startsWith('CREATE TABLE IF NOT EXISTS "analytics"')));
  assert.ok(at(lockTableSql('redshift', target)) < at(refreshMarkerCheckSql('redshift', { view: view.name, timelabel: TIMELABEL, version: 2 })));
  assert.ok(at(refreshMarkerCheckSql('redshift', { view: view.name, timelabel: TIMELABEL, version: 2 })) < at(describeViewSql(await singleStatement(view.body)).sql));
  assert.ok(at(addViewColumnSql('redshift', target, { name: 'revenue', type: 'numeric(12,2)' })) > 0);
  assert.deepEqual([text[0], text.at(-1)], ['BEGIN', 'COMMIT']);
});
