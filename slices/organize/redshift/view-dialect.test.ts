/**
 * Pins the Redshift SQL of a view refresh (it cannot run here): the
 * signature query, the temp table of computed rows, apply by mode (MERGE or
 * delete-insert, with vanished keys deleted), every check, the refresh
 * markers, and quoting of hostile names. The PostgreSQL variant of the same
 * functions runs for real in refresh.test.ts and view-signature.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isReefError } from '../../../shared/errors.ts';
import {
  addViewColumnSql, checkSql, computeViewRowsSql, createRefreshMarkersSql, createViewTableSql, describeViewSql, formatTypesSql, refreshMarkerCheckSql,
  refreshMarkerInsertSql, viewApplySql, deleteRefreshMarkersSql,
} from './dialect.ts';

const LTV = { schema: 'analytics', table: 'customer_ltv' };
const COLUMNS = ['customer_id', 'orders', 'revenue'];

test('the signature query plans the body under LIMIT 0, and says where the body starts', () => {
  const body = 'SELECT 1 AS a -- trailing comment';
  const sent = describeViewSql(body);
  assert.equal(sent.sql, 'SELECT * FROM (\nSELECT 1 AS a -- trailing comment\n) AS q LIMIT 0');
  assert.equal(sent.sql.slice(sent.userOffset, sent.userOffset + body.length), body);
  assert.equal(formatTypesSql([{ oid: 23, typmod: -1 }, { oid: 1700, typmod: 786438 }]), 'SELECT format_type(23, -1) AS t0, format_type(1700, 786438) AS t1');
  assert.throws(() => formatTypesSql([{ oid: 1.5, typmod: -1 }]), TypeError);
});

test('the view table: types as the warehouse named them, DISTKEY and SORTKEY on the keys; columns added one at a time', () => {
  const cols = [{ name: 'customer_id', type: 'integer' }, { name: 'revenue', type: 'numeric(12,2)' }];
  assert.equal(
    createViewTableSql('redshift', LTV, cols, ['customer_id']),
    'CREATE TABLE IF NOT EXISTS "analytics"."customer_ltv" (\n  "customer_id" integer,\n  "revenue" numeric(12,2)\n) DISTKEY("customer_id") SORTKEY("customer_id")',
  );
  assert.equal(createViewTableSql('redshift', LTV, cols), 'CREATE TABLE IF NOT EXISTS "analytics"."customer_ltv" (\n  "customer_id" integer,\n  "revenue" numeric(12,2)\n)');
  assert.equal(addViewColumnSql('redshift', LTV, { name: 'last_order', type: 'timestamp with time zone' }), 'ALTER TABLE "analytics"."customer_ltv" ADD COLUMN "last_order" timestamp with time zone');
});

test('the computed rows go to a session temp table', () => {
  const sent = computeViewRowsSql('redshift', 'SELECT customer_id FROM shop.orders;');
  assert.equal(sent.sql, 'CREATE TEMP TABLE "reef_view_rows" AS SELECT * FROM (\nSELECT customer_id FROM shop.orders;\n) AS q');
  assert.equal(sent.userOffset, 'CREATE TEMP TABLE "reef_view_rows" AS SELECT * FROM (\n'.length);
});

test('apply by mode: replace = DELETE + INSERT (never TRUNCATE), append = INSERT, merge = delete vanished keys + MERGE or delete-insert', () => {
  const insert = 'INSERT INTO "analytics"."customer_ltv" ("customer_id", "orders", "revenue") SELECT r."customer_id", r."orders", r."revenue" FROM "reef_view_rows" AS r';
  assert.deepEqual(viewApplySql('redshift', { target: LTV, columns: COLUMNS, mode: 'replace' }), ['DELETE FROM "analytics"."customer_ltv"', insert]);
  assert.deepEqual(viewApplySql('redshift', { target: LTV, columns: COLUMNS, mode: 'append' }), [insert]);

  const vanished =
    'DELETE FROM "analytics"."customer_ltv" WHERE NOT EXISTS (SELECT 1 FROM "reef_view_rows" AS r WHERE "analytics"."customer_ltv"."customer_id" = r."customer_id")';
  assert.deepEqual(viewApplySql('redshift', { target: LTV, columns: COLUMNS, mode: 'merge', keys: ['customer_id'] }), [
    vanished,
    'MERGE INTO "analytics"."customer_ltv" AS t USING "reef_view_rows" AS r ON t."customer_id" = r."customer_id" ' +
      'WHEN MATCHED THEN UPDATE SET "orders" = r."orders", "revenue" = r."revenue" ' +
      'WHEN NOT MATCHED THEN INSERT ("customer_id", "orders", "revenue") VALUES (r."customer_id", r."orders", r."revenue")',
  ]);
  assert.deepEqual(viewApplySql('redshift', { target: LTV, columns: COLUMNS, mode: 'merge', keys: ['customer_id'], strategy: 'delete-insert' }), [
    vanished,
    'DELETE FROM "analytics"."customer_ltv" USING "reef_view_rows" AS r WHERE "analytics"."customer_ltv"."customer_id" = r."customer_id"',
    insert,
  ]);
  // Only keys: nothing to update, so no MERGE (Redshift's wants a WHEN MATCHED clause).
  assert.deepEqual(viewApplySql('redshift', { target: LTV, columns: ['customer_id'], mode: 'merge', keys: ['customer_id'] }), [
    'DELETE FROM "analytics"."customer_ltv" WHERE NOT EXISTS (SELECT 1 FROM "reef_view_rows" AS r WHERE "analytics"."customer_ltv"."customer_id" = r."customer_id")',
    'INSERT INTO "analytics"."customer_ltv" ("customer_id") SELECT r."customer_id" FROM "reef_view_rows" AS r WHERE NOT EXISTS (SELECT 1 FROM "analytics"."customer_ltv" AS t WHERE t."customer_id" = r."customer_id")',
  ]);
  for (const bad of [{ keys: [] }, { keys: ['nope'] }]) {
    assert.throws(() => viewApplySql('redshift', { target: LTV, columns: COLUMNS, mode: 'merge', ...bad }), (e: unknown) => isReefError(e) && e.category === 'config');
  }
});

test('every check counts its failing rows in one column', () => {
  assert.equal(checkSql('redshift', LTV, { kind: 'not_null', column: 'customer_id' }).sql, 'SELECT count(*) AS failing FROM "analytics"."customer_ltv" WHERE "customer_id" IS NULL');
  assert.equal(
    checkSql('redshift', LTV, { kind: 'unique', columns: ['customer_id', 'day'] }).sql,
    'SELECT COALESCE(SUM(n), 0) AS failing FROM (SELECT count(*) AS n FROM "analytics"."customer_ltv" WHERE "customer_id" IS NOT NULL AND "day" IS NOT NULL GROUP BY "customer_id", "day" HAVING count(*) > 1) AS d',
  );
  assert.equal(
    checkSql('redshift', LTV, { kind: 'accepted_values', column: 'status', values: ['paid', "it's", 'a\\b', 3] }).sql,
    `SELECT count(*) AS failing FROM "analytics"."customer_ltv" WHERE "status" IS NOT NULL AND "status" NOT IN ('paid', 'it''s', 'a\\\\b', '3')`,
  );
  assert.equal(checkSql('redshift', LTV, { kind: 'row_count' }).sql, 'SELECT count(*) AS failing FROM "analytics"."customer_ltv"');
  const custom = checkSql('redshift', LTV, { kind: 'sql', sql: 'SELECT * FROM analytics.customer_ltv WHERE revenue < 0' });
  assert.equal(custom.sql, 'SELECT count(*) AS failing FROM (\nSELECT * FROM analytics.customer_ltv WHERE revenue < 0\n) AS f');
  assert.equal(custom.userOffset, 'SELECT count(*) AS failing FROM (\n'.length);
});

test('refresh markers: their own table, keyed by view, timelabel and version; hostile values stay literals', () => {
  assert.deepEqual(createRefreshMarkersSql('redshift'), [
    'CREATE SCHEMA IF NOT EXISTS "reef"',
    'CREATE TABLE IF NOT EXISTS "reef"."refresh_markers" (\n  "view" VARCHAR(1024) NOT NULL,\n  "timelabel" CHAR(14) NOT NULL,\n  "version" INTEGER NOT NULL,\n' +
      '  "rows" BIGINT NOT NULL,\n  "run_id" VARCHAR(1024) NOT NULL,\n  "refreshed_at" TIMESTAMP NOT NULL,\n  PRIMARY KEY ("view", "timelabel", "version")\n)',
  ]);
  const m = { view: "analytics.x'; DROP TABLE y; --", timelabel: '20260305080000', version: 3 };
  assert.equal(
    refreshMarkerCheckSql('redshift', m),
    `SELECT "rows", "run_id" FROM "reef"."refresh_markers" WHERE "view" = 'analytics.x''; DROP TABLE y; --' AND "timelabel" = '20260305080000' AND "version" = 3`,
  );
  assert.equal(
    refreshMarkerInsertSql('redshift', { ...m, rows: 42, runId: 'run-1' }),
    `INSERT INTO "reef"."refresh_markers" ("view", "timelabel", "version", "rows", "run_id", "refreshed_at") VALUES ('analytics.x''; DROP TABLE y; --', '20260305080000', 3, 42, 'run-1', SYSDATE)`,
  );
  assert.throws(() => refreshMarkerCheckSql('redshift', { ...m, version: 1.5 }), (e: unknown) => isReefError(e) && e.code === 'internal.view-version');
  assert.equal(
    deleteRefreshMarkersSql('redshift', m.view, ['20260305080000', '20260305090000']),
    `DELETE FROM "reef"."refresh_markers" WHERE "view" = 'analytics.x''; DROP TABLE y; --' AND "timelabel" IN ('20260305080000', '20260305090000')`,
  );
});

test('hostile view and column names are quoted', () => {
  const t = { schema: 'we"ird', table: 't;drop' };
  assert.deepEqual(viewApplySql('redshift', { target: t, columns: ['a"b'], mode: 'replace' }), [
    'DELETE FROM "we""ird"."t;drop"',
    'INSERT INTO "we""ird"."t;drop" ("a""b") SELECT r."a""b" FROM "reef_view_rows" AS r',
  ]);
});
