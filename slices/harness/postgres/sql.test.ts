/**
 * The statements a publish sends, pinned as text: the Redshift read (which no
 * test here can run) exactly, the PostgreSQL apply statements exactly, and the
 * quoting of names that try to escape their quotes. The PostgreSQL forms also
 * run for real in publish.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isReefError } from '../../../shared/errors.ts';
import {
  beginReadSql, copyStagingSql, createMarkersSql, createStagingSql, createTargetSql, datasetColumnsSql, declareReadCursorSql, duplicateKeysSql, fetchSql,
  markerCheckSql, markerInsertSql, mergeSql, nullKeysSql, pinTargetSessionSql, qualifiedName, quoteIdent, replaceSql,
} from './sql.ts';

const TARGET = { schema: 'public', table: 'customer_ltv' };

test('target names are always double-quoted, inner quotes doubled; empty, NUL and over-long names are refused', () => {
  assert.equal(quoteIdent('customer_ltv'), '"customer_ltv"');
  assert.equal(quoteIdent(`Robert"); DROP TABLE x; --`), `"Robert""); DROP TABLE x; --"`);
  assert.equal(qualifiedName({ schema: 'we"ird', table: 'ünï 🐟' }), '"we""ird"."ünï 🐟"');
  for (const bad of ['', 'a\0b', 'x'.repeat(64), 'é'.repeat(32)]) {
    assert.throws(() => quoteIdent(bad), (e: unknown) => isReefError(e) && e.code === 'config.identifier', JSON.stringify(bad));
  }
  assert.equal(quoteIdent('é'.repeat(31)), `"${'é'.repeat(31)}"`, '62 bytes fit');
});

test('the Redshift read: catalog, read-only transaction with UTC, a cursor with each type read as exact text, paged FETCH', () => {
  assert.equal(
    datasetColumnsSql('redshift'),
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`,
  );
  assert.deepEqual(beginReadSql('redshift'), ['BEGIN READ ONLY', "SET LOCAL timezone TO 'UTC'", 'SET LOCAL extra_float_digits TO 3']);
  const columns = [
    { name: 'id', type: 'bigint' },
    { name: 'profile', type: 'super' },
    { name: 'active', type: 'boolean' },
    { name: 'blob', type: 'varbyte(64000)' },
    { name: 'area', type: 'geometry' },
    { name: 'seen', type: 'timestamp with time zone' },
    { name: 'na"me', type: 'character varying(65535)' },
  ];
  assert.equal(
    declareReadCursorSql('redshift', { schema: 'analytics', table: 'customer_ltv' }, columns),
    'DECLARE reef_publish_rows CURSOR FOR SELECT CAST("id" AS VARCHAR(65535)), JSON_SERIALIZE("profile"), ' +
      `CASE WHEN "active" THEN 't' WHEN NOT "active" THEN 'f' END, '\\\\x' || FROM_VARBYTE("blob", 'hex'), ST_AsEWKT("area"), ` +
      'CAST("seen" AS VARCHAR(65535)), CAST("na""me" AS VARCHAR(65535)) FROM "analytics"."customer_ltv"',
  );
  assert.equal(fetchSql(), 'FETCH FORWARD 10000 FROM reef_publish_rows');
});

test('the PostgreSQL read: every column through its own text output, the text settings pinned for the transaction only', () => {
  assert.deepEqual(beginReadSql('postgres'), [
    'BEGIN READ ONLY',
    "SET LOCAL DateStyle = 'ISO, YMD'",
    "SET LOCAL IntervalStyle = 'iso_8601'",
    "SET LOCAL TimeZone = 'UTC'",
    "SET LOCAL extra_float_digits = '3'",
    "SET LOCAL bytea_output = 'hex'",
  ]);
  assert.equal(
    declareReadCursorSql('postgres', { schema: 'analytics', table: 'customer_ltv' }, [{ name: 'id', type: 'bigint' }, { name: 'tags', type: 'text[]' }]),
    'DECLARE reef_publish_rows CURSOR FOR SELECT "id"::text, "tags"::text FROM "analytics"."customer_ltv"',
  );
  assert.match(datasetColumnsSql('postgres'), /typbasetype/, 'domains are described by their base type');
  assert.equal(pinTargetSessionSql(), "SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL IntervalStyle = 'iso_8601'; SET LOCAL TimeZone = 'UTC'; SET LOCAL extra_float_digits = '3'; SET LOCAL bytea_output = 'hex'");
});

test('markers: one row per publication and timelabel, values only as parameters', () => {
  assert.equal(
    createMarkersSql(),
    `CREATE TABLE IF NOT EXISTS "reef"."publish_markers" (
  publication text NOT NULL,
  timelabel text NOT NULL,
  "rows" bigint NOT NULL,
  run_id text NOT NULL,
  published_at timestamptz NOT NULL,
  PRIMARY KEY (publication, timelabel)
)`,
  );
  assert.equal(markerCheckSql(), 'SELECT "rows" FROM "reef"."publish_markers" WHERE publication = $1 AND timelabel = $2');
  assert.equal(markerInsertSql(), 'INSERT INTO "reef"."publish_markers" (publication, timelabel, "rows", run_id, published_at) VALUES ($1, $2, $3, $4, $5)');
});

test('the target and staging: created from the mapped types, a merge target keyed, staging filled by COPY text', () => {
  const columns = [{ name: 'customer_id', type: 'bigint' }, { name: 'Lifetime "Revenue"', type: 'numeric(20,2)' }];
  assert.equal(createTargetSql(TARGET, columns, ['customer_id']), `CREATE TABLE "public"."customer_ltv" (
  "customer_id" bigint,
  "Lifetime ""Revenue""" numeric(20,2),
  PRIMARY KEY ("customer_id")
)`);
  assert.equal(createTargetSql(TARGET, columns, []), `CREATE TABLE "public"."customer_ltv" (
  "customer_id" bigint,
  "Lifetime ""Revenue""" numeric(20,2)
)`);
  assert.equal(createStagingSql(columns), `CREATE TEMP TABLE "reef_publish_staging" (
  "customer_id" bigint,
  "Lifetime ""Revenue""" numeric(20,2)
) ON COMMIT DROP`);
  assert.equal(copyStagingSql(['customer_id', 'Lifetime "Revenue"']), 'COPY pg_temp."reef_publish_staging" ("customer_id", "Lifetime ""Revenue""") FROM STDIN (FORMAT text)');
});

test('replace deletes then inserts (never TRUNCATE); merge deletes vanished keys, then upserts only rows that changed', () => {
  assert.deepEqual(replaceSql(TARGET, ['customer_id', 'revenue']), [
    'DELETE FROM "public"."customer_ltv"',
    'INSERT INTO "public"."customer_ltv" ("customer_id", "revenue") SELECT "customer_id", "revenue" FROM pg_temp."reef_publish_staging"',
  ]);
  assert.deepEqual(mergeSql(TARGET, ['region', 'customer_id', 'revenue', 'profile'], ['region', 'customer_id']), {
    deleteVanished:
      'DELETE FROM "public"."customer_ltv" AS t WHERE NOT EXISTS (SELECT 1 FROM pg_temp."reef_publish_staging" AS s WHERE s."region" = t."region" AND s."customer_id" = t."customer_id")',
    upsert:
      'INSERT INTO "public"."customer_ltv" AS t ("region", "customer_id", "revenue", "profile") SELECT "region", "customer_id", "revenue", "profile" FROM pg_temp."reef_publish_staging" ' +
      'ON CONFLICT ("region", "customer_id") DO UPDATE SET "revenue" = EXCLUDED."revenue", "profile" = EXCLUDED."profile" ' +
      'WHERE ROW(t."revenue"::text, t."profile"::text) IS DISTINCT FROM ROW(EXCLUDED."revenue"::text, EXCLUDED."profile"::text)',
  });
  assert.equal(
    mergeSql(TARGET, ['customer_id'], ['customer_id']).upsert,
    'INSERT INTO "public"."customer_ltv" AS t ("customer_id") SELECT "customer_id" FROM pg_temp."reef_publish_staging" ON CONFLICT ("customer_id") DO NOTHING',
    'a publication of keys only inserts the keys it lacks',
  );
  assert.equal(nullKeysSql(['region', 'customer_id']), 'SELECT count(*) AS n FROM pg_temp."reef_publish_staging" WHERE "region" IS NULL OR "customer_id" IS NULL');
  assert.equal(
    duplicateKeysSql(['region', 'customer_id']),
    'SELECT count(*) AS n FROM (SELECT 1 FROM pg_temp."reef_publish_staging" GROUP BY "region", "customer_id" HAVING count(*) > 1) AS d',
  );
});
