/**
 * Proves the type mapping end to end: a table holding every PostgreSQL type
 * the slice names (and NULLs in each column) is extracted through the real
 * S3 client into s3rver, the parts are read back with DuckDB (a Parquet
 * reader independent of the writer), and every value is compared with the
 * source's own text form of it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { downloadParts, openParquet, type ParquetSession } from '../../../test/support/duckdb.ts';
import type pg from 'pg';
import { startTestPostgres, type TestPostgres } from '../../../test/support/postgres.ts';
import { startS3, type Running } from '../../../shared/local/standins.ts';
import { isReefError } from '../../../shared/errors.ts';
import type { BatchManifest } from '../../../shared/lake/manifest.ts';
import { describeTable } from './catalog.ts';
import { extractTable } from './extract-table.ts';
import { mapColumn, pinTextForms } from './types.ts';

let server: TestPostgres;
let s3: Running<S3Client>;
let s3dir: string;
let client: pg.Client;
let hasCitext = false;

before(async () => {
  server = await startTestPostgres();
  client = await server.client(await server.freshDatabase('reef_types'));
  s3dir = mkdtempSync(join(tmpdir(), 'reef-types-s3-'));
  s3 = await startS3(s3dir, ['lake']);
  try {
    await client.query('CREATE EXTENSION citext');
    hasCitext = true;
  } catch {
    // Not every server ships contrib; the column is left out then.
  }
});

after(async () => {
  await client?.end();
  await s3?.stop();
  rmSync(s3dir, { recursive: true, force: true });
  await server?.stop();
});

/** Every part of a batch, downloaded and opened with DuckDB as one relation `batch`. */
async function openBatch(manifest: BatchManifest): Promise<ParquetSession> {
  return openParquet(await downloadParts(s3.client, 'lake', manifest.files.map((f) => f.key)));
}

/**
 * How each column is compared: an expression over the source (PostgreSQL,
 * text settings pinned) and one over the Parquet (DuckDB) that must give the
 * same JS value for every row, and the Parquet schema DuckDB must report.
 */
interface Check {
  pg: string;
  duck: string;
  /** Compare as float4 (the source as JS double rounded to float). */
  float4?: boolean;
  parquet: { type: string | null; converted?: string | null; logical?: RegExp | null };
  carriedAsText?: RegExp;
}

/** Epoch microseconds as text, or 'infinity'/'-infinity', from both sides. */
const pgMicros = (c: string): string => `CASE WHEN ${c} IS NULL THEN NULL WHEN isfinite(${c}) THEN (extract(epoch FROM ${c}) * 1000000)::bigint::text ELSE ${c}::text END`;
const duckMicros = (c: string): string => `CASE WHEN ${c} IS NULL THEN NULL WHEN isinf(${c}) THEN CASE WHEN epoch_us(${c}) IS NULL AND ${c} > '1970-01-01' OR ${c}::VARCHAR = 'infinity' THEN 'infinity' ELSE '-infinity' END ELSE epoch_us(${c})::VARCHAR END`;
const pgDays = (c: string): string => `CASE WHEN ${c} IS NULL THEN NULL WHEN isfinite(${c}) THEN (${c} - DATE '1970-01-01')::text ELSE ${c}::text END`;
const duckDays = (c: string): string => `CASE WHEN ${c} IS NULL THEN NULL WHEN isinf(${c}) THEN ${c}::VARCHAR ELSE (${c} - DATE '1970-01-01')::VARCHAR END`;
const text = (c: string, parquet: Check['parquet'], carriedAsText?: RegExp): Check => ({ pg: `${c}::text`, duck: `${c}::VARCHAR`, parquet, carriedAsText });
const STRING = { type: 'BYTE_ARRAY', converted: 'UTF8', logical: /StringType/ };
const asText = (c: string, why: RegExp): Check => text(c, STRING, why);
const textList = (c: string, element: Check['parquet'], carriedAsText?: RegExp): Check => ({
  pg: `${c}::text[]`,
  duck: `list_transform(${c}, x -> x::VARCHAR)`,
  parquet: element,
  carriedAsText,
});

const CHECKS: Record<string, Check> = {
  c_int2: text('c_int2', { type: 'INT32', converted: 'INT_16' }),
  c_int4: text('c_int4', { type: 'INT32', converted: null, logical: null }),
  c_int8: text('c_int8', { type: 'INT64', converted: null, logical: null }),
  c_num_9_3: text('c_num_9_3', { type: 'INT32', converted: 'DECIMAL', logical: /DecimalType\(scale=3, precision=9\)/ }),
  c_num_12_2: text('c_num_12_2', { type: 'INT64', converted: 'DECIMAL', logical: /DecimalType\(scale=2, precision=12\)/ }),
  c_num_18_0: text('c_num_18_0', { type: 'INT64', converted: 'DECIMAL', logical: /DecimalType\(scale=0, precision=18\)/ }),
  c_num_20_2: text('c_num_20_2', { type: 'FIXED_LEN_BYTE_ARRAY', converted: 'DECIMAL', logical: /DecimalType\(scale=2, precision=20\)/ }),
  c_num_38_10: text('c_num_38_10', { type: 'FIXED_LEN_BYTE_ARRAY', converted: 'DECIMAL', logical: /DecimalType\(scale=10, precision=38\)/ }),
  c_num_free: asText('c_num_free', /without a declared precision/),
  c_num_50_5: asText('c_num_50_5', /exceeds the 38 digits/),
  c_float4: { pg: 'c_float4', duck: 'c_float4', float4: true, parquet: { type: 'FLOAT', logical: null } },
  c_float8: { pg: 'c_float8', duck: 'c_float8', parquet: { type: 'DOUBLE', logical: null } },
  c_bool: text('c_bool', { type: 'BOOLEAN', logical: null }),
  c_text: text('c_text', STRING),
  c_varchar: text('c_varchar', STRING),
  // char(n) keeps its padding: format() uses the type's output function, a cast to text would trim.
  c_char: { pg: `CASE WHEN c_char IS NOT NULL THEN format('%s', c_char) END`, duck: 'c_char', parquet: STRING },
  c_name: text('c_name', STRING),
  c_uuid: text('c_uuid', { type: 'FIXED_LEN_BYTE_ARRAY', converted: null, logical: /UUIDType/ }),
  c_date: { pg: pgDays('c_date'), duck: duckDays('c_date'), parquet: { type: 'INT32', converted: 'DATE', logical: /DateType/ } },
  c_time: text('c_time', { type: 'INT64', converted: null, logical: /TimeType\(isAdjustedToUTC=0, unit=TimeUnit\(MILLIS=<null>, MICROS=MicroSeconds/ }),
  c_ts: { pg: pgMicros('c_ts'), duck: duckMicros('c_ts'), parquet: { type: 'INT64', converted: null, logical: /TimestampType\(isAdjustedToUTC=0, unit=TimeUnit\(MILLIS=<null>, MICROS=MicroSeconds/ } },
  c_ts3: { pg: pgMicros('c_ts3'), duck: duckMicros('c_ts3'), parquet: { type: 'INT64', converted: null, logical: /TimestampType\(isAdjustedToUTC=0/ } },
  c_tstz: { pg: pgMicros('c_tstz'), duck: duckMicros('c_tstz'), parquet: { type: 'INT64', converted: 'TIMESTAMP_MICROS', logical: /TimestampType\(isAdjustedToUTC=1, unit=TimeUnit\(MILLIS=<null>, MICROS=MicroSeconds/ } },
  c_interval: asText('c_interval', /INTERVAL holds milliseconds/),
  c_json: text('c_json', { type: 'BYTE_ARRAY', converted: 'JSON', logical: /JsonType/ }),
  c_jsonb: text('c_jsonb', { type: 'BYTE_ARRAY', converted: 'JSON', logical: /JsonType/ }),
  c_bytea: { pg: `encode(c_bytea, 'hex')`, duck: 'lower(hex(c_bytea))', parquet: { type: 'BYTE_ARRAY', converted: null, logical: null } },
  c_enum: text('c_enum', { type: 'BYTE_ARRAY', converted: 'ENUM', logical: /EnumType/ }),
  c_domain: text('c_domain', { type: 'INT32', logical: null }),
  c_int_arr: { pg: 'c_int_arr', duck: 'c_int_arr', parquet: { type: 'INT32', logical: null } },
  c_text_arr: textList('c_text_arr', STRING),
  c_num_arr: textList('c_num_arr', { type: 'INT64', converted: 'DECIMAL', logical: /DecimalType\(scale=2, precision=10\)/ }),
  c_uuid_arr: textList('c_uuid_arr', { type: 'FIXED_LEN_BYTE_ARRAY', logical: /UUIDType/ }),
  c_enum_arr: textList('c_enum_arr', { type: 'BYTE_ARRAY', converted: 'ENUM' }),
  c_tstz_arr: {
    pg: `CASE WHEN c_tstz_arr IS NOT NULL THEN array(SELECT (extract(epoch FROM e) * 1000000)::bigint FROM unnest(c_tstz_arr) AS e) END`,
    duck: 'list_transform(c_tstz_arr, x -> epoch_us(x))',
    parquet: { type: 'INT64', logical: /TimestampType\(isAdjustedToUTC=1/ },
  },
  c_inet_arr: textList('c_inet_arr', STRING, /elements carried as text: inet/),
  c_int_2d: asText('c_int_2d', /declared with 2 dimensions/),
  c_inet: asText('c_inet', /inet has no faithful Parquet type/),
  c_money: asText('c_money', /lc_monetary/),
  c_timetz: asText('c_timetz', /no UTC offset/),
  c_bit: asText('c_bit', /bit has no faithful Parquet type/),
  c_point: asText('c_point', /point has no faithful Parquet type/),
  c_range: asText('c_range', /int4range is a range/),
  c_tsvector: asText('c_tsvector', /tsvector has no faithful Parquet type/),
  c_required: text('c_required', { type: 'INT32' }),
};

const COLUMNS = `
  id integer PRIMARY KEY,
  c_int2 smallint, c_int4 integer, c_int8 bigint,
  c_num_9_3 numeric(9,3), c_num_12_2 numeric(12,2), c_num_18_0 numeric(18,0), c_num_20_2 numeric(20,2), c_num_38_10 numeric(38,10),
  c_num_free numeric, c_num_50_5 numeric(50,5),
  c_float4 real, c_float8 double precision, c_bool boolean,
  c_text text, c_varchar varchar(40), c_char char(6), c_name name, c_uuid uuid,
  c_date date, c_time time, c_ts timestamp, c_ts3 timestamp(3), c_tstz timestamptz, c_interval interval,
  c_json json, c_jsonb jsonb, c_bytea bytea, c_enum mood, c_domain positive_int,
  c_int_arr integer[], c_text_arr text[], c_num_arr numeric(10,2)[], c_uuid_arr uuid[], c_enum_arr mood[], c_tstz_arr timestamptz[],
  c_inet_arr inet[], c_int_2d integer[][],
  c_inet inet, c_money money, c_timetz timetz, c_bit bit(4), c_point point, c_range int4range, c_tsvector tsvector,
  c_required integer NOT NULL`;

/** Rows by column name; what is not named is NULL. Literals are PostgreSQL input syntax. */
const ROWS: Record<string, string>[] = [
  { id: '1', c_required: '0' },
  {
    id: '2', c_required: '1',
    c_int2: '-32768', c_int4: '-2147483648', c_int8: '-9223372036854775808',
    c_num_9_3: '-999999.999', c_num_12_2: '1234567890.12', c_num_18_0: '999999999999999999',
    // A double would round these: 12345678901234567.89 is 12345678901234568 as float8.
    c_num_20_2: '12345678901234567.89', c_num_38_10: '1234567890123456789012345678.0123456789',
    c_num_free: 'NaN', c_num_50_5: '123456789012345678901234567890123456789012345.12345',
    c_float4: '3.14159', c_float8: '0.1', c_bool: 'true',
    c_text: 'héllo wörld 🐟🚀 ✓ 日本語 "quoted" \\ back\\slash', c_varchar: 'ascii', c_char: 'ab', c_name: 'pg_name', c_uuid: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    c_date: '1900-01-01', c_time: '04:05:06.789012', c_ts: '1969-07-20 20:17:40.000001', c_ts3: '2024-02-29 23:59:59.999', c_tstz: '2024-03-10 01:30:00-08',
    c_interval: '1 year 2 mons 3 days 04:05:06.789012',
    c_json: '{ "keep" : [1, 2.50, "spacing"] }', c_jsonb: '{"b": [1, 2, {"c": null}], "a": "x 🐟"}',
    c_bytea: '\\x00ff000100', c_enum: 'happy 😀', c_domain: '7',
    c_int_arr: '{1,NULL,3}', c_text_arr: '{"a b",NULL,"c,d","é🐟",""}', c_num_arr: '{1.50,NULL,-2.25}', c_uuid_arr: '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,NULL}',
    c_enum_arr: '{sad,"happy 😀"}', c_tstz_arr: '{"2024-01-01 00:00:00+00","1960-06-01 12:00:00.5+02"}',
    c_inet_arr: '{10.0.0.1,NULL,::1/128}', c_int_2d: '{{1,2},{3,4}}',
    c_inet: '192.168.0.1/24', c_money: '1234.56', c_timetz: '04:05:06+02', c_bit: '1010', c_point: '(1.5,-2)', c_range: '[1,10)', c_tsvector: 'fat cat',
  },
  {
    id: '3', c_required: '2',
    c_int2: '32767', c_int4: '2147483647', c_int8: '9223372036854775807',
    c_num_9_3: '0.001', c_num_12_2: '-0.50', c_num_18_0: '-1', c_num_20_2: '-999999999999999999.99', c_num_38_10: '-0.0000000001',
    c_num_free: '-0.000000000000000000001', c_num_50_5: '0',
    c_float4: 'NaN', c_float8: 'Infinity', c_bool: 'false',
    c_text: '', c_varchar: 'x', c_char: 'abcdef', c_name: 'n', c_uuid: '00000000-0000-0000-0000-000000000000',
    c_date: '0044-03-15 BC', c_time: '00:00:00', c_ts: '0001-01-01 00:00:00', c_ts3: '1970-01-01 00:00:00', c_tstz: '2024-03-10 12:00:00+05:45',
    c_interval: '-1 days -00:00:00.000001',
    c_json: '[]', c_jsonb: '[]', c_bytea: '\\x', c_enum: 'sad', c_domain: '1',
    c_int_arr: '{}', c_text_arr: '{}', c_num_arr: '{}', c_uuid_arr: '{}', c_enum_arr: '{}', c_tstz_arr: '{}', c_inet_arr: '{}', c_int_2d: '{}',
    c_money: '-0.01', c_timetz: '23:59:59.999999-11',
  },
  {
    id: '4', c_required: '3',
    c_float4: '-Infinity', c_float8: '-1e308',
    c_date: 'infinity', c_ts: '-infinity', c_ts3: 'infinity', c_tstz: '-infinity',
    c_interval: '0', c_text: 'line1\nline2\ttab',
  },
  {
    id: '5', c_required: '4',
    c_float8: 'NaN', c_date: '-infinity', c_ts: 'infinity', c_tstz: 'infinity',
    c_text: 'far future', c_ts3: '9999-12-31 23:59:59.999',
  },
  { id: '6', c_required: '5', c_float8: '5e-324', c_date: '9999-12-31', c_ts: '9999-12-31 23:59:59.999999', c_tstz: '1969-12-31 23:59:59.999999+00', c_time: '23:59:59.999999' },
  { id: '7', c_required: '6', c_tstz: '2000-01-01 00:00:00+14', c_date: '5874897-12-31' },
];

test('every PostgreSQL type reaches Parquet faithfully (or as text, with the reason), value for value', async () => {
  await client.query(`CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy 😀')`);
  await client.query(`CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0)`);
  await client.query(`CREATE TABLE every_type (${COLUMNS}${hasCitext ? ', c_citext citext' : ''})`);
  const checks: Record<string, Check> = { ...CHECKS, ...(hasCitext ? { c_citext: text('c_citext', STRING) } : {}) };
  const rows = hasCitext ? ROWS.map((r, i) => (i === 1 ? { ...r, c_citext: 'MiXeD' } : r)) : ROWS;
  for (const r of rows) {
    const names = Object.keys(r);
    await client.query(`INSERT INTO every_type (${names.join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')})`, Object.values(r));
  }
  // Many copies of row 2 with different ids, so the data spans several row groups and parts.
  await client.query(`INSERT INTO every_type SELECT g, ${Object.keys(checks).join(', ')} FROM every_type, generate_series(100, 2599) AS g WHERE id = 2`);

  const table = await describeTable(client, { schema: 'public', table: 'every_type' });
  const manifest = await extractTable({
    client, table, s3: s3.client, bucket: 'lake', slice: 'types', loadunit: 'every_type', dataset: 'public.every_type', timelabel: '20260101000000',
    rowGroupRows: 1000, rowGroupsPerPart: 2,
  });
  assert.equal(manifest.rows, rows.length + 2500);
  assert.equal(manifest.files.length, 2, '2507 rows in row groups of 1000, two per part');

  // The recorded schema says what was written, and why a column went as text.
  for (const c of manifest.schema.columns) {
    if (c.name === 'id') continue;
    const check = checks[c.name];
    assert.ok(check, `a check for ${c.name}`);
    if (check.carriedAsText) assert.match(c.carriedAsText ?? '', check.carriedAsText, `${c.name} carriedAsText`);
    else assert.equal(c.carriedAsText, undefined, `${c.name} is carried in its own type`);
  }
  assert.equal(manifest.schema.columns.find((c) => c.name === 'c_required')!.nullable, false);
  assert.equal(manifest.schema.columns.find((c) => c.name === 'c_num_20_2')!.sourceType, 'numeric(20,2)');
  assert.deepEqual(manifest.schema.columns.find((c) => c.name === 'c_num_38_10')!.parquet, {
    physical: 'FIXED_LEN_BYTE_ARRAY', length: 16, logical: { type: 'DECIMAL', precision: 38, scale: 10 },
  });

  const lake = await openBatch(manifest);
  try {
    // Logical types as an independent reader sees them. LIST columns: the leaf is `element`.
    const schema = await lake.query(`SELECT name, type, converted_type, logical_type, repetition_type FROM parts`);
    const leaves = new Map<string, Record<string, unknown>>();
    let list: string | undefined;
    for (const s of schema) {
      if (s.converted_type === 'LIST') list = String(s.name);
      else if (s.name === 'element' && list) leaves.set(list, s);
      else if (s.name !== 'list') leaves.set(String(s.name), s);
    }
    for (const [name, check] of Object.entries(checks)) {
      const leaf = leaves.get(name);
      assert.ok(leaf, `${name} is in the Parquet schema`);
      assert.equal(leaf.type, check.parquet.type, `${name} physical type`);
      if (check.parquet.converted !== undefined) assert.equal(leaf.converted_type, check.parquet.converted, `${name} converted type`);
      if (check.parquet.logical === null) assert.equal(leaf.logical_type, null, `${name} has no logical type`);
      else if (check.parquet.logical) assert.match(String(leaf.logical_type), check.parquet.logical, `${name} logical type`);
    }
    assert.equal(leaves.get('c_required')!.repetition_type, 'REQUIRED');
    assert.equal(leaves.get('c_int4')!.repetition_type, 'OPTIONAL');

    // Values: the source's own forms against DuckDB's reading of the Parquet, row by row.
    const names = Object.keys(checks);
    await pinTextForms(client);
    const source = await client.query(`SELECT id, ${names.map((n) => `${checks[n].pg} AS ${n}`).join(', ')} FROM every_type ORDER BY id`);
    const lakeRows = await lake.query(`SELECT id, ${names.map((n) => `${checks[n].duck} AS ${n}`).join(', ')} FROM batch ORDER BY id`);
    assert.equal(lakeRows.length, source.rows.length);
    for (let i = 0; i < source.rows.length; i++) {
      const want = source.rows[i];
      const got = lakeRows[i];
      assert.equal(got.id, want.id);
      for (const n of names) {
        const w = want[n];
        const g = got[n];
        const where = `row id ${want.id}, column ${n}`;
        if (checks[n].float4 && typeof w === 'number') assert.ok(Object.is(g, Math.fround(w)), `${where}: ${String(g)} vs ${w}`);
        else if (typeof w === 'number') assert.ok(Object.is(g, w), `${where}: ${String(g)} vs ${w}`);
        else if (Array.isArray(w) && Array.isArray(g)) assert.deepEqual(g.map((x) => (typeof x === 'bigint' ? String(x) : x)), w, where);
        else assert.equal(g, w, where);
      }
    }
    // Spot checks that no float ever carried a decimal on the way.
    const exact = await lake.query(`SELECT c_num_20_2::VARCHAR AS a, c_num_38_10::VARCHAR AS b FROM batch WHERE id = 2`);
    assert.deepEqual(exact[0], { a: '12345678901234567.89', b: '1234567890123456789012345678.0123456789' });
    const inf = await lake.query(`SELECT c_date::VARCHAR AS d, c_tstz::VARCHAR AS t FROM batch WHERE id IN (4, 5) ORDER BY id`);
    assert.deepEqual(inf, [{ d: 'infinity', t: '-infinity' }, { d: '-infinity', t: 'infinity' }]);
  } finally {
    lake.close();
  }
});

test('values a Parquet type cannot hold fail the batch with the column and the value named', async () => {
  await client.query(`CREATE TABLE nan_amounts (id integer, amount numeric(10,2))`);
  await client.query(`INSERT INTO nan_amounts VALUES (1, 1.50), (2, 'NaN')`);
  const table = await describeTable(client, { schema: 'public', table: 'nan_amounts' });
  await assert.rejects(
    extractTable({ client, table, s3: s3.client, bucket: 'lake', slice: 'types', loadunit: 'nan_amounts', dataset: 'public.nan_amounts', timelabel: '20260101000000' }),
    (e: unknown) => {
      assert.ok(isReefError(e));
      assert.equal(e.category, 'source');
      assert.equal(e.transient, false);
      assert.equal(e.code, 'source.unrepresentable-value');
      assert.match(e.message, /column amount \(numeric\(10,2\)\) holds NaN/);
      return true;
    },
  );
});

test('mapColumn: multi-dimensional values in a one-dimensional array column fail clearly', async () => {
  const c2 = await server.client(await server.freshDatabase('reef_types_md'));
  try {
    await c2.query(`CREATE TABLE arrays (a integer[])`);
    await c2.query(`INSERT INTO arrays VALUES ('{1,2}'), ('{{1,2},{3,4}}')`);
    const table = await describeTable(c2, { schema: 'public', table: 'arrays' });
    assert.equal(mapColumn(table.columns[0]).list, true);
    await assert.rejects(
      extractTable({ client: c2, table, s3: s3.client, bucket: 'lake', slice: 'types', loadunit: 'arrays', dataset: 'public.arrays', timelabel: '20260101000000' }),
      /column a \(integer\[\]\) holds a 2-dimensional array/,
    );
  } finally {
    await c2.end();
  }
});
