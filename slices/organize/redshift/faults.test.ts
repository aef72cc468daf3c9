/**
 * Idempotency at every step: a load (incremental merge by keys onto a table
 * holding an earlier batch, with a column added at the source) and a refresh
 * (a merge view with a check, first and over an earlier refresh) fail at each
 * step in turn. The failed attempt must leave the database exactly as it was,
 * and the retry must leave it exactly as one clean run leaves a twin database.
 * The steps are counted by recording the fault hook, so steps added later are
 * covered without touching this test.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type pg from 'pg';
import { startTestPostgres, type TestPostgres } from '../../../test/support/postgres.ts';
import { compileTestView, viewHeader } from '../../../test/support/views.ts';
import { startS3, type Running } from '../../../shared/local/standins.ts';
import { faultsFromEnv } from '../../../shared/local/faults.ts';
import { isReefError } from '../../../shared/errors.ts';
import { manifestKey } from '../../../shared/lake/layout.ts';
import type { Faults } from '../../../shared/runtime/services.ts';
import type { ViewSpec } from '../../../shared/views/types.ts';
import { describeTable } from '../../collect/postgres/catalog.ts';
import { extractTable } from '../../collect/postgres/extract-table.ts';
import { loadBatch } from './load.ts';
import { refreshView } from './refresh.ts';

let server: TestPostgres;
let s3: Running<S3Client>;
let s3dir: string;
const clients: pg.Client[] = [];
const BUCKET = 'lake';

before(async () => {
  server = await startTestPostgres();
  s3dir = mkdtempSync(join(tmpdir(), 'reef-faults-s3-'));
  s3 = await startS3(s3dir, [BUCKET]);
});

after(async () => {
  for (const c of clients) await c.end();
  await s3?.stop();
  rmSync(s3dir, { recursive: true, force: true });
  await server?.stop();
});

async function freshClient(prefix: string): Promise<pg.Client> {
  const c = await server.client(await server.freshDatabase(prefix));
  clients.push(c);
  return c;
}

/** When a marker was written and by which run differ between two clean runs; nothing else may. */
const VOLATILE = new Set(['loaded_at', 'refreshed_at', 'run_id']);

/**
 * Everything a load or refresh could leave behind: every relation outside the
 * system schemas (temporary ones included, so a staging table that outlived
 * its transaction shows), each table's columns and types, and its rows.
 */
async function snapshot(client: pg.Client): Promise<Record<string, unknown>> {
  const relations = await client.query<{ schema: string; name: string; kind: string; temp: boolean }>(`
    SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS kind, c.relpersistence = 't' AS temp
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND c.relkind IN ('r', 'p', 'v', 'm')
    ORDER BY 1, 2`);
  const out: Record<string, unknown> = { relations: relations.rows };
  for (const r of relations.rows.filter((x) => !x.temp && x.kind === 'r')) {
    const cols = await client.query<{ name: string; type: string }>(
      `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = format('%I.%I', $1::text, $2::text)::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      [r.schema, r.name],
    );
    const kept = cols.rows.filter((c) => !VOLATILE.has(c.name)).map((c) => `${quote(c.name)}::text`);
    const rows = await client.query({ text: `SELECT ${kept.join(', ')} FROM ${quote(r.schema)}.${quote(r.name)}`, rowMode: 'array' });
    out[`${r.schema}.${r.name}`] = {
      columns: cols.rows,
      rows: rows.rows.map((row: unknown[]) => JSON.stringify(row)).sort(),
    };
  }
  return out;
}

function quote(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function recorder(point: string): { faults: Faults; steps: number[] } {
  const steps: number[] = [];
  return { steps, faults: { hit: (p, n) => void (p === point && n !== undefined && steps.push(n)) } };
}

interface Scenario {
  point: 'load.step' | 'refresh.step';
  /** Brings a fresh database to the state just before the attempt. */
  prepare(client: pg.Client): Promise<void>;
  attempt(client: pg.Client, faults?: Faults): Promise<{ status: string }>;
  status: string;
}

/**
 * The twin runs the attempt cleanly while the hook records its steps; then,
 * for each step, a fresh database fails there, is checked unchanged, retries
 * and must equal the twin.
 */
async function everyStep(s: Scenario): Promise<number> {
  const twin = await freshClient('reef_faults_twin');
  await s.prepare(twin);
  const rec = recorder(s.point);
  assert.equal((await s.attempt(twin, rec.faults)).status, s.status);
  const clean = await snapshot(twin);
  const steps = rec.steps.length;
  assert.deepEqual(rec.steps, Array.from({ length: steps }, (_, i) => i + 1), 'steps are numbered 1..n in the order they run');

  for (let step = 1; step <= steps; step++) {
    const db = await freshClient('reef_faults_step');
    await s.prepare(db);
    const before = await snapshot(db);
    await assert.rejects(s.attempt(db, faultsFromEnv(`${s.point}:${step}=throw`)), (e: unknown) => isReefError(e) && e.code === 'fault.injected', `step ${step} fails`);
    assert.deepEqual(await snapshot(db), before, `${s.point} ${step}: the failed attempt left nothing behind`);
    assert.equal((await s.attempt(db)).status, s.status, `${s.point} ${step}: the retry ran`);
    assert.deepEqual(await snapshot(db), clean, `${s.point} ${step}: the retry left exactly what one clean run leaves`);
  }
  // The hook really reached the database calls: a fault past the last step changes nothing.
  const past = await freshClient('reef_faults_past');
  await s.prepare(past);
  assert.equal((await s.attempt(past, faultsFromEnv(`${s.point}:${steps + 1}=throw`))).status, s.status);
  return steps;
}

describe('a load fails at each step, then retries', () => {
  let source: pg.Client;
  let k1: string;
  let k2: string;
  const T1 = '20260101000000';
  const T2 = '20260101001500';

  before(async () => {
    source = await freshClient('reef_faults_src');
    await source.query(`CREATE TABLE orders (id bigint PRIMARY KEY, region text, amount numeric(12,2), updated_at timestamptz NOT NULL)`);
    await source.query(`INSERT INTO orders SELECT i, CASE WHEN i % 2 = 0 THEN 'eu' ELSE 'us' END, i * 1.25, timestamptz '2026-01-01 00:00:00+00' + i * interval '1 minute' FROM generate_series(1, 60) AS i`);
    const cut = '2026-01-01 01:00:00+00';
    k1 = await extract(source, 'orders', T1, { column: 'updated_at', from: null, to: cut });
    // The second batch updates rows, adds rows and a column, so it merges and alters.
    await source.query(`ALTER TABLE orders ADD COLUMN note text`);
    await source.query(`UPDATE orders SET amount = amount + 100, note = 'changed', updated_at = timestamptz '2026-01-01 02:00:00+00' + id * interval '1 second' WHERE id % 5 = 0`);
    await source.query(`INSERT INTO orders SELECT i, 'ap', i, timestamptz '2026-01-01 02:30:00+00' + i * interval '1 second' FROM generate_series(61, 70) AS i`);
    k2 = await extract(source, 'orders', T2, { column: 'updated_at', from: cut, to: null });
  });

  const load = (client: pg.Client, key: string, faults?: Faults) =>
    loadBatch({ client, dialect: 'postgres', s3: s3.client, bucket: BUCKET, manifestKey: key, target: { schema: 'shop', table: 'orders' }, mode: 'incremental', keys: ['id'], faults });

  test('incremental merge with keys onto a table holding an earlier batch', async (t) => {
    const steps = await everyStep({
      point: 'load.step',
      prepare: async (c) => void (await load(c, k1)),
      attempt: (c, faults) => load(c, k2, faults),
      status: 'loaded',
    });
    // BEGIN, settings, markers schema and table, schema, table, lock, marker check, columns, ALTER, drop and create staging, COPY, 2 key checks, apply, marker, drop, COMMIT.
    assert.ok(steps >= 15, `found ${steps} steps`);
    t.diagnostic(`load steps: ${steps}`);
  });
});

async function extract(client: pg.Client, table: string, timelabel: string, cursor: { column: string; from: string | null; to: string | null }): Promise<string> {
  const t = await describeTable(client, { schema: 'public', table });
  await extractTable({ client, table: t, s3: s3.client, bucket: BUCKET, slice: 'shop', loadunit: table, dataset: `public.${table}`, timelabel, cursor, rowGroupRows: 20, rowGroupsPerPart: 2 });
  return manifestKey('shop', table, timelabel);
}

describe('a refresh fails at each step, then retries', () => {
  const T1 = '20260305080000';
  const T2 = '20260305090000';
  let view: ViewSpec;

  before(async () => {
    view = await compileTestView(
      'analytics.customer_ltv',
      `${viewHeader('@refresh 1 hour', '@mode merge', '@keys customer_id', '@check not_null(revenue)', '@check row_count(1, 1000)')}SELECT customer_id, count(*) AS orders, sum(amount) AS revenue
FROM shop.orders
GROUP BY customer_id
`,
      ['shop.orders'],
    );
  });

  const refresh = (client: pg.Client, timelabel: string, faults?: Faults) => refreshView({ client, dialect: 'postgres', view, timelabel, version: 1, runId: `run-${timelabel}`, faults });
  const orders = async (c: pg.Client) => {
    await c.query(`CREATE SCHEMA shop; CREATE TABLE shop.orders (id integer, customer_id integer, amount numeric(10,2))`);
    await c.query(`INSERT INTO shop.orders VALUES (1, 10, 5.00), (2, 11, 7.50), (3, 12, 1.00)`);
  };

  test('the first refresh, which creates the table', async (t) => {
    const steps = await everyStep({ point: 'refresh.step', prepare: orders, attempt: (c, faults) => refresh(c, T1, faults), status: 'refreshed' });
    assert.ok(steps >= 15, `found ${steps} steps`);
    t.diagnostic(`first refresh steps: ${steps}`);
  });

  test('a refresh over an earlier one: updated, new and vanished keys', async (t) => {
    const steps = await everyStep({
      point: 'refresh.step',
      prepare: async (c) => {
        await orders(c);
        assert.equal((await refresh(c, T1)).status, 'refreshed');
        await c.query(`DELETE FROM shop.orders WHERE customer_id = 12; INSERT INTO shop.orders VALUES (4, 10, 2.00), (5, 13, 9.00)`);
      },
      attempt: (c, faults) => refresh(c, T2, faults),
      status: 'refreshed',
    });
    assert.ok(steps >= 15, `found ${steps} steps`);
    t.diagnostic(`refresh steps: ${steps}`);
  });
});
