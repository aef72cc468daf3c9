/**
 * Pins the Redshift SQL the slice generates (it cannot run here): the whole
 * load sequence with COPY from the Redshift manifest and the IAM role, MERGE,
 * ALTER, DISTKEY/SORTKEY, the type mapping, and quoting of hostile names.
 * Also the Redshift manifest JSON. The PostgreSQL variant runs for real in
 * load.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ColumnSchema } from '../../../shared/schema.ts';
import type { BatchManifest } from '../../../shared/lake/manifest.ts';
import { isReefError } from '../../../shared/errors.ts';
import { addColumnSql, applySql, createTableSql, quoteIdent, quoteLiteral, redshiftCopySql, warehouseType } from './dialect.ts';
import { redshiftLoadStatements } from './load.ts';
import { redshiftManifest, redshiftManifestKeyFor } from './redshift-manifest.ts';

const col = (name: string, sourceType: string, parquet: ColumnSchema['parquet'], carriedAsText?: string): ColumnSchema => ({
  name, sourceType, nullable: true, parquet, ...(carriedAsText ? { carriedAsText } : {}),
});
const STRING = { physical: 'BYTE_ARRAY', logical: { type: 'STRING' } } as const;

const ID = col('id', 'bigint', { physical: 'INT64' });
const REGION = col('region', 'text', STRING);
const AMOUNT = col('amount', 'numeric(12,2)', { physical: 'INT64', logical: { type: 'DECIMAL', precision: 12, scale: 2 } });
const DOC = col('doc', 'jsonb', { physical: 'BYTE_ARRAY', logical: { type: 'JSON' } });
const HOSTILE = col('a"b;drop', 'text', STRING);

function manifest(columns: ColumnSchema[], files = 2): BatchManifest {
  return {
    slice: 'shop', dataset: 'public.orders', loadunit: 'orders', timelabel: '20260105080000',
    files: Array.from({ length: files }, (_, i) => ({ key: `shop/orders/timelabel=20260105080000/part-0000${i}.parquet`, rows: 10, bytes: 1000 + i })),
    rows: 10 * files, bytes: files * 1000 + (files * (files - 1)) / 2,
    schema: { columns }, cursor: { column: null, from: null, to: null }, checksum: { algorithm: 'sha256', value: 'x' }, createdAt: '2026-01-05T09:10:03.123Z',
  };
}

test('the Redshift type of every Parquet column the collect slice writes', () => {
  const cases: [ColumnSchema, string, string][] = [
    [col('a', 'smallint', { physical: 'INT32', logical: { type: 'INTEGER', bitWidth: 16, signed: true } }), 'SMALLINT', 'smallint'],
    [col('a', 'integer', { physical: 'INT32' }), 'INTEGER', 'integer'],
    [col('a', 'positive_int', { physical: 'INT32' }), 'INTEGER', 'integer'],
    [ID, 'BIGINT', 'bigint'],
    [AMOUNT, 'DECIMAL(12,2)', 'numeric(12,2)'],
    [col('a', 'numeric(38,10)', { physical: 'FIXED_LEN_BYTE_ARRAY', length: 16, logical: { type: 'DECIMAL', precision: 38, scale: 10 } }), 'DECIMAL(38,10)', 'numeric(38,10)'],
    [col('a', 'numeric', STRING, 'numeric without a declared precision'), 'VARCHAR(65535)', 'numeric'],
    [col('a', 'real', { physical: 'FLOAT' }), 'REAL', 'real'],
    [col('a', 'double precision', { physical: 'DOUBLE' }), 'DOUBLE PRECISION', 'double precision'],
    [col('a', 'boolean', { physical: 'BOOLEAN' }), 'BOOLEAN', 'boolean'],
    [REGION, 'VARCHAR(65535)', 'text'],
    [col('a', 'character varying(40)', STRING), 'VARCHAR(65535)', 'text'],
    [col('a', 'character(6)', STRING), 'CHAR(6)', 'character(6)'],
    [col('a', 'character(5000)', STRING), 'VARCHAR(65535)', 'character(5000)'],
    [col('a', 'uuid', { physical: 'FIXED_LEN_BYTE_ARRAY', length: 16, logical: { type: 'UUID' } }), 'VARCHAR(36)', 'uuid'],
    [col('a', 'date', { physical: 'INT32', logical: { type: 'DATE' } }), 'DATE', 'date'],
    [col('a', 'time without time zone', { physical: 'INT64', logical: { type: 'TIME', unit: 'MICROS', isAdjustedToUTC: false } }), 'TIME', 'time'],
    [col('a', 'timestamp without time zone', { physical: 'INT64', logical: { type: 'TIMESTAMP', unit: 'MICROS', isAdjustedToUTC: false } }), 'TIMESTAMP', 'timestamp'],
    [col('a', 'timestamp with time zone', { physical: 'INT64', logical: { type: 'TIMESTAMP', unit: 'MICROS', isAdjustedToUTC: true } }), 'TIMESTAMPTZ', 'timestamptz'],
    [col('a', 'json', { physical: 'BYTE_ARRAY', logical: { type: 'JSON' } }), 'SUPER', 'json'],
    [DOC, 'SUPER', 'jsonb'],
    [col('a', 'bytea', { physical: 'BYTE_ARRAY' }), 'VARBYTE', 'bytea'],
    [col('a', 'mood', { physical: 'BYTE_ARRAY', logical: { type: 'ENUM' } }), 'VARCHAR(65535)', 'text'],
    [col('a', 'integer[]', { physical: 'INT32', list: true }), 'SUPER', 'integer[]'],
    [col('a', 'mood[]', { physical: 'BYTE_ARRAY', logical: { type: 'ENUM' }, list: true }), 'SUPER', 'text[]'],
    [col('a', 'inet[]', { ...STRING, list: true }, 'elements carried as text: inet'), 'SUPER', 'inet[]'],
    [col('a', 'interval', STRING, 'ISO 8601 text'), 'VARCHAR(65535)', 'interval'],
    [col('a', 'money', STRING, 'lc_monetary'), 'VARCHAR(65535)', 'text'],
    [col('a', '"char"', STRING, 'a single byte'), 'VARCHAR(65535)', 'text'],
    [col('a', 'public.hstore', STRING, 'extension type'), 'VARCHAR(65535)', 'text'],
  ];
  for (const [c, redshift, postgres] of cases) {
    assert.equal(warehouseType('redshift', c), redshift, `redshift type of ${c.sourceType}`);
    assert.equal(warehouseType('postgres', c), postgres, `postgres type of ${c.sourceType}`);
  }
});

test('hostile identifiers stay identifiers; literals stay literals; names too long for the warehouse are refused', () => {
  assert.equal(quoteIdent('redshift', 'a"b;drop'), '"a""b;drop"');
  assert.equal(addColumnSql('redshift', { schema: 'sh"op', table: 'x; DROP TABLE y' }, HOSTILE), 'ALTER TABLE "sh""op"."x; DROP TABLE y" ADD COLUMN "a""b;drop" VARCHAR(65535)');
  assert.equal(quoteLiteral('redshift', "it's \\ here"), "'it''s \\\\ here'");
  assert.equal(quoteLiteral('postgres', "it's \\ here"), "E'it''s \\\\ here'");
  assert.equal(quoteLiteral('postgres', "plain 'q'"), "'plain ''q'''");
  assert.throws(() => quoteIdent('postgres', 'x'.repeat(64)), (e: unknown) => isReefError(e) && e.category === 'target' && /64 bytes long; expected at most 63/.test(e.message));
  assert.equal(quoteIdent('redshift', 'x'.repeat(127)).length, 129);
  assert.throws(() => quoteIdent('redshift', 'a\0b'), /NUL/);
  assert.throws(() => quoteIdent('redshift', ''), /empty/);
});

test('CREATE TABLE: DISTKEY on the first key and SORTKEY on the keys by default, both optional', () => {
  const t = { schema: 'shop', table: 'orders' };
  assert.equal(
    createTableSql('redshift', t, [ID, REGION, AMOUNT], ['id', 'region']),
    'CREATE TABLE IF NOT EXISTS "shop"."orders" (\n  "id" BIGINT,\n  "region" VARCHAR(65535),\n  "amount" DECIMAL(12,2)\n) DISTKEY("id") SORTKEY("id", "region")',
  );
  assert.equal(createTableSql('redshift', t, [ID, REGION], ['id'], { distKey: null, sortKey: ['region'] }), 'CREATE TABLE IF NOT EXISTS "shop"."orders" (\n  "id" BIGINT,\n  "region" VARCHAR(65535)\n) SORTKEY("region")');
  assert.equal(createTableSql('redshift', t, [ID]), 'CREATE TABLE IF NOT EXISTS "shop"."orders" (\n  "id" BIGINT\n)');
  assert.equal(createTableSql('postgres', t, [ID, DOC], ['id']), 'CREATE TABLE IF NOT EXISTS "shop"."orders" (\n  "id" bigint,\n  "doc" jsonb\n)');
  assert.throws(() => createTableSql('redshift', t, [ID], ['nope']), (e: unknown) => isReefError(e) && e.category === 'config' && /key "nope" of shop\.orders is not a column/.test(e.message));
});

test('apply by mode: DELETE + INSERT for a snapshot (never TRUNCATE), MERGE or DELETE USING by keys, INSERT to append', () => {
  const target = { schema: 'shop', table: 'orders' };
  const columns = [ID, REGION, AMOUNT, DOC];
  const insert = 'INSERT INTO "shop"."orders" ("id", "region", "amount", "doc") SELECT s."id", s."region", s."amount", JSON_PARSE(s."doc") FROM "reef_staging" AS s';
  assert.deepEqual(applySql('redshift', { target, columns, mode: 'snapshot', keys: ['id'] }), ['DELETE FROM "shop"."orders"', insert]);
  assert.deepEqual(applySql('redshift', { target, columns, mode: 'incremental' }), [insert]);
  assert.deepEqual(applySql('redshift', { target, columns, mode: 'incremental', keys: ['id', 'region'] }), [
    'MERGE INTO "shop"."orders" AS t USING "reef_staging" AS s ON t."id" = s."id" AND t."region" = s."region" ' +
      'WHEN MATCHED THEN UPDATE SET "amount" = s."amount", "doc" = JSON_PARSE(s."doc") ' +
      'WHEN NOT MATCHED THEN INSERT ("id", "region", "amount", "doc") VALUES (s."id", s."region", s."amount", JSON_PARSE(s."doc"))',
  ]);
  assert.deepEqual(applySql('redshift', { target, columns, mode: 'incremental', keys: ['id'], strategy: 'delete-insert' }), [
    'DELETE FROM "shop"."orders" USING "reef_staging" AS s WHERE "shop"."orders"."id" = s."id"',
    insert,
  ]);
  // Only keys: nothing to update, so matched rows are left as they are.
  assert.deepEqual(applySql('redshift', { target, columns: [ID], mode: 'incremental', keys: ['id'] }), [
    'MERGE INTO "shop"."orders" AS t USING "reef_staging" AS s ON t."id" = s."id" WHEN NOT MATCHED THEN INSERT ("id") VALUES (s."id")',
  ]);
  assert.deepEqual(applySql('postgres', { target, columns: [ID, DOC], mode: 'snapshot' }), [
    'DELETE FROM "shop"."orders"',
    'INSERT INTO "shop"."orders" ("id", "doc") SELECT s."id", s."doc" FROM "reef_staging" AS s',
  ]);
});

test('the Redshift manifest lists every part as a mandatory s3 URL with its length, under the organize slice\'s prefix', () => {
  const m = manifest([ID]);
  assert.deepEqual(redshiftManifest(m, 'lake'), {
    entries: [
      { url: 's3://lake/shop/orders/timelabel=20260105080000/part-00000.parquet', mandatory: true, meta: { content_length: 1000 } },
      { url: 's3://lake/shop/orders/timelabel=20260105080000/part-00001.parquet', mandatory: true, meta: { content_length: 1001 } },
    ],
  });
  assert.equal(JSON.stringify(redshiftManifest(manifest([ID], 1), 'lake')), '{"entries":[{"url":"s3://lake/shop/orders/timelabel=20260105080000/part-00000.parquet","mandatory":true,"meta":{"content_length":1000}}]}');
  assert.equal(redshiftManifestKeyFor(m), 'warehouse/redshift/shop/orders/timelabel=20260105080000/_redshift.manifest');
  assert.equal(
    redshiftCopySql({ manifestUrl: "s3://lake/shop/o'rders/_redshift.manifest", iamRole: 'arn:aws:iam::123456789012:role/reef-organize', region: 'eu-west-1' }),
    `COPY "reef_staging" FROM 's3://lake/shop/o''rders/_redshift.manifest' IAM_ROLE 'arn:aws:iam::123456789012:role/reef-organize' FORMAT AS PARQUET MANIFEST REGION 'eu-west-1'`,
  );
});

test('the whole Redshift load of an incremental batch with keys, an added column, and the marker in the same transaction', () => {
  const steps = redshiftLoadStatements({
    manifest: manifest([ID, REGION, AMOUNT, DOC]),
    manifestUrl: 's3://lake/shop/orders/timelabel=20260105080000/_manifest.json',
    target: { schema: 'shop', table: 'orders' },
    mode: 'incremental',
    keys: ['id'],
    existingColumns: ['id', 'region', 'amount'],
    copy: { manifestUrl: 's3://lake/shop/orders/timelabel=20260105080000/_redshift.manifest', iamRole: 'arn:aws:iam::123456789012:role/reef-organize' },
  });
  assert.deepEqual(
    steps.map((s) => `${s.kind}: ${s.sql}`),
    [
      'exec: BEGIN',
      'exec: CREATE SCHEMA IF NOT EXISTS "reef"',
      'exec: CREATE TABLE IF NOT EXISTS "reef"."load_markers" (\n  dataset VARCHAR(1024) NOT NULL,\n  timelabel CHAR(14) NOT NULL,\n  batch_manifest VARCHAR(1024) NOT NULL,\n  row_count BIGINT NOT NULL,\n  loaded_at TIMESTAMP NOT NULL,\n  PRIMARY KEY (dataset, timelabel)\n)',
      'exec: CREATE SCHEMA IF NOT EXISTS "shop"',
      'exec: CREATE TABLE IF NOT EXISTS "shop"."orders" (\n  "id" BIGINT,\n  "region" VARCHAR(65535),\n  "amount" DECIMAL(12,2),\n  "doc" SUPER\n) DISTKEY("id") SORTKEY("id")',
      'exec: LOCK "shop"."orders"',
      `marker-check: SELECT batch_manifest, row_count FROM "reef"."load_markers" WHERE dataset = 'shop.orders' AND timelabel = '20260105080000'`,
      'exec: ALTER TABLE "shop"."orders" ADD COLUMN "doc" SUPER',
      'exec: DROP TABLE IF EXISTS "reef_staging"',
      'exec: CREATE TEMP TABLE "reef_staging" (\n  "id" BIGINT,\n  "region" VARCHAR(65535),\n  "amount" DECIMAL(12,2),\n  "doc" VARCHAR(65535)\n)',
      `exec: COPY "reef_staging" FROM 's3://lake/shop/orders/timelabel=20260105080000/_redshift.manifest' IAM_ROLE 'arn:aws:iam::123456789012:role/reef-organize' FORMAT AS PARQUET MANIFEST`,
      'check: SELECT 1 FROM "reef_staging" WHERE "id" IS NULL LIMIT 1',
      'check: SELECT CAST("id" AS VARCHAR) AS key, count(*) AS n FROM "reef_staging" GROUP BY "id" HAVING count(*) > 1 LIMIT 1',
      'exec: MERGE INTO "shop"."orders" AS t USING "reef_staging" AS s ON t."id" = s."id" ' +
        'WHEN MATCHED THEN UPDATE SET "region" = s."region", "amount" = s."amount", "doc" = JSON_PARSE(s."doc") ' +
        'WHEN NOT MATCHED THEN INSERT ("id", "region", "amount", "doc") VALUES (s."id", s."region", s."amount", JSON_PARSE(s."doc"))',
      `exec: INSERT INTO "reef"."load_markers" (dataset, timelabel, batch_manifest, row_count, loaded_at) VALUES ('shop.orders', '20260105080000', 's3://lake/shop/orders/timelabel=20260105080000/_manifest.json', 20, SYSDATE)`,
      'exec: DROP TABLE IF EXISTS "reef_staging"',
      'exec: COMMIT',
    ],
  );
});

test('a Redshift snapshot of an empty batch skips the COPY and still empties the table; a new table gets no ALTER', () => {
  const steps = redshiftLoadStatements({
    manifest: manifest([ID], 0),
    manifestUrl: 's3://lake/m',
    target: { schema: 'shop', table: 'orders' },
    mode: 'snapshot',
    existingColumns: [],
    copy: { manifestUrl: 's3://lake/r', iamRole: 'arn:aws:iam::1:role/r' },
  });
  const sql = steps.map((s) => s.sql);
  assert.ok(!sql.some((s) => s.startsWith('COPY') || s.startsWith('ALTER') || s.startsWith('TRUNCATE')));
  assert.deepEqual(sql.slice(-6, -3), ['CREATE TEMP TABLE "reef_staging" (\n  "id" BIGINT\n)', 'DELETE FROM "shop"."orders"', 'INSERT INTO "shop"."orders" ("id") SELECT s."id" FROM "reef_staging" AS s']);
});
