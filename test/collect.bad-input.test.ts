/**
 * Bad input through the real CLI: each gives a one-line error that names the
 * file, field or object, and nothing is left half-done.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadFlow } from '../shared/flow/load.ts';
import { LocalRuntime } from '../shared/local/runtime.ts';
import { freePort } from '../shared/local/standins.ts';
import { reef, writeFlow } from './support/flow.ts';
import { startTestPostgres, type TestPostgres } from './support/postgres.ts';
import { listKeys } from './support/lake.ts';

const T = '20260303000000';

function flowWith(source: string, extra: Record<string, string> = {}): string {
  return writeFlow({ 'reef.yaml': 'name: bad-input\n', 'sources/erp.yaml': source, ...extra });
}

const ERP = (table: string, secret = 'erp-source') =>
  `type: collect/postgres\nschedule: every 1 hour\nconnection:\n  secret: ${secret}\nloadunits:\n  - table: ${table}\n    mode: snapshot\n`;

/** The flow's local secret for erp-source, written as the user would. */
function withSecret(dir: string, value: Record<string, unknown>): void {
  mkdirSync(join(dir, '.reef'), { recursive: true });
  writeFileSync(join(dir, '.reef/secrets.json'), JSON.stringify({ 'erp-source': value }), { mode: 0o600 });
}

/** Nothing half-done: no committed batch and no object in the lake. */
async function assertNothingLanded(dir: string): Promise<void> {
  const runtime = await LocalRuntime.start(await loadFlow(dir), { full: true });
  try {
    const batches = await runtime.services.metadata.listBatches('erp');
    assert.deepEqual(batches.filter((b) => b.status === 'committed' || b.status === 'running'), []);
    assert.deepEqual(await listKeys(runtime.services.s3, runtime.services.bucket, 'erp/'), []);
  } finally {
    await runtime.stop();
  }
}

const oneLine = (s: string) => s.trim().split('\n').filter(Boolean);

describe('bad input', () => {
  let pg: TestPostgres;
  let db: string;
  before(async () => {
    pg = await startTestPostgres();
    db = await pg.freshDatabase('erp');
    const c = await pg.client(db);
    await c.query('CREATE TABLE public.customers (id int primary key, name text); INSERT INTO customers VALUES (1, $$a$$);');
    await c.query('CREATE TABLE public.x (id int)');
    await c.end();
  });
  after(async () => pg?.stop());

  test('malformed YAML names the file and line', async () => {
    const dir = flowWith('type: collect/postgres\nschedule: every 1 hour\nconnection:\n  secret: a\n loadunits: []\n');
    const r = await reef(['validate', dir]);
    assert.equal(r.code, 2);
    assert.equal(oneLine(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /sources\/erp\.yaml:\d+/);
  });

  test('an unknown slice type names the file, the type and the known types', async () => {
    const r = await reef(['run', flowWith(ERP('public.customers').replace('collect/postgres', 'collect/oracle')), '--timelabel', T]);
    assert.equal(r.code, 2);
    assert.equal(oneLine(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /sources\/erp\.yaml:1.*collect\/oracle.*collect\/postgres/);
  });

  test('a missing table fails its batch with the table named, and nothing lands', async () => {
    const dir = flowWith(ERP('public.nope'));
    withSecret(dir, pg.connection(db));
    const r = await reef(['run', dir, '--timelabel', T, '--json']);
    assert.equal(r.code, 1);
    const report = JSON.parse(r.stdout) as { batches: { status: string; error: { code: string; message: string } }[] };
    assert.equal(report.batches[0].status, 'failed');
    assert.equal(report.batches[0].error.code, 'source.missing-table');
    assert.match(report.batches[0].error.message, /public\.nope/);
    await assertNothingLanded(dir);
  });

  // A server named by REEF_TEST_DATABASE_URL may trust every password; only the embedded one is known to check it.
  test('a wrong password fails with the secret named and never shows the password', { skip: process.env.REEF_TEST_DATABASE_URL ? 'the external test server may not check passwords' : false }, async () => {
    const dir = flowWith(ERP('public.customers'));
    withSecret(dir, { ...pg.connection(db), password: 'not-the-password-8731' });
    const r = await reef(['run', dir, '--timelabel', T, '--json']);
    assert.equal(r.code, 1);
    const report = JSON.parse(r.stdout) as { batches: { error: { code: string; message: string } }[] };
    assert.equal(report.batches[0].error.code, 'source.auth');
    assert.match(report.batches[0].error.message, /erp-source/);
    assert.doesNotMatch(r.stdout + r.stderr, /not-the-password-8731/);
    await assertNothingLanded(dir);
  });

  test('an unreachable host is retried, then fails naming the host', async () => {
    const dir = flowWith(ERP('public.customers'));
    const port = await freePort();
    withSecret(dir, { ...pg.connection(db), host: '127.0.0.1', port });
    const r = await reef(['run', dir, '--timelabel', T, '--json'], { REEF_RETRY_INTERVAL_MS: '10' });
    assert.equal(r.code, 1);
    const report = JSON.parse(r.stdout) as { batches: { error: { code: string; message: string } }[] };
    assert.equal(report.batches[0].error.code, 'source.unreachable');
    assert.match(report.batches[0].error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    await assertNothingLanded(dir);
  });

  test('a table name with quotes and semicolons is refused before anything runs, and no SQL is injected', async () => {
    const dir = flowWith(ERP(`'public.x"; drop table x; --'`));
    withSecret(dir, pg.connection(db));
    const r = await reef(['run', dir, '--timelabel', T]);
    assert.equal(r.code, 2);
    assert.equal(oneLine(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /sources\/erp\.yaml:\d+: loadunits\[0\]\.table/);
    const c = await pg.client(db);
    const still = await c.query(`SELECT to_regclass('public.x') IS NOT NULL AS present`);
    await c.end();
    assert.equal(still.rows[0].present, true, 'table x is still there');
  });

  test('a hostile table name given a plain loadunit name is extracted as that exact table', async () => {
    const c = await pg.client(db);
    await c.query(`CREATE TABLE public."x""; drop table x; --" (id int); INSERT INTO public."x""; drop table x; --" VALUES (7), (8)`);
    await c.end();
    // In the config the table is written as in SQL: a name with a quote in it is double-quoted, its quote doubled.
    const dir = flowWith(`${ERP(`'public."x""; drop table x; --"'`)}    as: weird\n`);
    withSecret(dir, pg.connection(db));
    const r = await reef(['run', dir, '--timelabel', T, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { batches: { dataset: string; status: string; rows: number }[] };
    assert.deepEqual(report.batches.map((b) => [b.dataset, b.status, b.rows]), [['erp.weird', 'committed', 2]]);
    const c2 = await pg.client(db);
    const still = await c2.query(`SELECT to_regclass('public.x') IS NOT NULL AS present`);
    await c2.end();
    assert.equal(still.rows[0].present, true);
  });
});
