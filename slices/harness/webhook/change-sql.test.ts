/**
 * The warehouse statements as text. The PostgreSQL form runs for real in
 * publish.test.ts; the Redshift form has no cluster to run on here, so its
 * row digest and shadow updates are pinned, and both forms are checked to
 * quote every name they take from a config or a dataset.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WarehouseDialectName } from '../../../shared/harness/publication.ts';
import {
  applyToShadowSql,
  createDeletesSql,
  createShadowSql,
  createUpsertsSql,
  duplicateKeySql,
  nullKeySql,
  pageSql,
  publicationTables,
  rowHashSql,
  type ChangeSqlInput,
} from './change-sql.ts';
import { OID } from './row-json.ts';

const keyed: ChangeSqlInput = {
  dataset: { schema: 'analytics', table: 'customer_ltv' },
  tables: publicationTables('crm'),
  columns: [
    { name: 'customer_id', oid: OID.int4 },
    { name: 'active', oid: OID.bool },
    { name: 'attrs', oid: OID.redshiftSuper },
    { name: 'blob', oid: OID.redshiftVarbyte },
  ],
  keys: ['customer_id'],
  shadowColumns: ['customer_id'],
};

test('Redshift: the row digest casts what Redshift cannot cast to VARCHAR its own way', () => {
  assert.equal(
    rowHashSql('redshift', 's', keyed.columns),
    `MD5('["customer_id","active","attrs","blob"]' || '|' || ` +
      `COALESCE(CAST(OCTET_LENGTH(CAST(s."customer_id" AS VARCHAR(65535))) AS VARCHAR) || ':' || CAST(s."customer_id" AS VARCHAR(65535)), '~') || ',' || ` +
      `COALESCE(CAST(OCTET_LENGTH(CASE WHEN s."active" THEN 't' WHEN NOT s."active" THEN 'f' END) AS VARCHAR) || ':' || CASE WHEN s."active" THEN 't' WHEN NOT s."active" THEN 'f' END, '~') || ',' || ` +
      `COALESCE(CAST(OCTET_LENGTH(JSON_SERIALIZE(s."attrs")) AS VARCHAR) || ':' || JSON_SERIALIZE(s."attrs"), '~') || ',' || ` +
      `COALESCE(CAST(OCTET_LENGTH(FROM_VARBYTE(s."blob", 'hex')) AS VARCHAR) || ':' || FROM_VARBYTE(s."blob", 'hex'), '~'))`,
  );
  assert.equal(rowHashSql('postgres', 's', [{ name: 'a', oid: OID.bool }]), `MD5('["a"]' || '|' || COALESCE(octet_length((s."a")::text)::text || ':' || (s."a")::text, '~'))`);
});

test('Redshift: the shadow takes a delivered timelabel with DELETE … USING (no alias on the target) and INSERT', () => {
  assert.deepEqual(applyToShadowSql('redshift', keyed), [
    'DELETE FROM "reef_harness"."crm__shadow" USING "reef_harness"."crm__upserts" AS c WHERE "reef_harness"."crm__shadow"."customer_id" = c."customer_id"',
    'DELETE FROM "reef_harness"."crm__shadow" USING "reef_harness"."crm__deletes" AS c WHERE "reef_harness"."crm__shadow"."customer_id" = c."customer_id"',
    'INSERT INTO "reef_harness"."crm__shadow" ("customer_id", "reef_row_hash") SELECT c."customer_id", c."reef_row_hash" FROM "reef_harness"."crm__upserts" AS c',
  ]);
  const keyless = { ...keyed, keys: [], shadowColumns: ['customer_id', 'active', 'attrs', 'blob'] };
  assert.deepEqual(applyToShadowSql('redshift', keyless), [
    'DELETE FROM "reef_harness"."crm__shadow" USING "reef_harness"."crm__deletes" AS c WHERE "reef_harness"."crm__shadow"."reef_row_hash" = c."reef_row_hash"',
    'INSERT INTO "reef_harness"."crm__shadow" ("customer_id", "active", "attrs", "blob", "reef_row_hash") SELECT c."customer_id", c."active", c."attrs", c."blob", c."reef_row_hash" FROM "reef_harness"."crm__upserts" AS c',
  ]);
  // Sent with other columns than the shadow was made with: every old digest differs, so the shadow is made again.
  assert.deepEqual(applyToShadowSql('redshift', { ...keyless, shadowColumns: ['customer_id'] }), [
    'DROP TABLE "reef_harness"."crm__shadow"',
    'CREATE TABLE "reef_harness"."crm__shadow" AS SELECT c."customer_id", c."active", c."attrs", c."blob", c."reef_row_hash" FROM "reef_harness"."crm__upserts" AS c',
  ]);
});

test('names from a config or a dataset are always quoted, in both dialects', () => {
  const hostile = 'x"; DROP TABLE t; --';
  const input: ChangeSqlInput = {
    dataset: { schema: 'analytics', table: hostile },
    tables: publicationTables('crm'),
    columns: [{ name: hostile, oid: OID.int4 }, { name: 'n', oid: OID.numeric }],
    keys: [hostile],
    shadowColumns: [hostile],
  };
  const quoted = '"x""; DROP TABLE t; --"';
  // The SQL with every quoted identifier and string literal taken out: what is left is what the warehouse parses as SQL.
  const outsideQuotes = (sql: string): string => sql.replace(/"(?:[^"]|"")*"|'(?:[^']|'')*'/g, '_');
  for (const dialect of ['postgres', 'redshift'] as WarehouseDialectName[]) {
    const statements = [
      createShadowSql(dialect, input),
      createUpsertsSql(dialect, input),
      createDeletesSql(dialect, input),
      ...applyToShadowSql(dialect, input),
      pageSql(dialect, input.tables.upserts, [hostile], 10),
      nullKeySql(dialect, input.dataset, [hostile]),
      duplicateKeySql(dialect, input.dataset, [hostile], [OID.int4]),
    ];
    for (const sql of statements) {
      assert.ok(sql.includes(quoted), `${dialect}: the name is there, quoted: ${sql}`);
      assert.ok(!outsideQuotes(sql).includes('DROP TABLE t'), `${dialect}: ${sql}`);
    }
  }
});
