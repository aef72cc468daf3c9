/**
 * publish against real databases: a warehouse and application databases on
 * one real PostgreSQL, reached through the secrets file like the local
 * runtime does. Proves: replace and merge leave the target holding exactly
 * the dataset, value for value, in every type the warehouse holds; a merge
 * deletes keys that left the dataset and leaves unchanged rows untouched; a
 * missing target is created with the mapped types (and the keys as primary
 * key for a merge); columns are selected and renamed; a timelabel published
 * once is a no-op; an existing target with a column of the wrong type, a
 * missing column or no unique key for the merge is refused before anything is
 * written; a row the target refuses rolls everything back; connection
 * failures are transient or terminal as they should be and never show the
 * password; hostile names are only ever identifiers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import { isReefError, type ReefError } from '../../../shared/errors.ts';
import type { HarnessPostgresConfig } from './config.ts';
import { publish } from './publish.ts';
import { columnTypes, idle, primaryKey, publishInput, quote, rowsAsText, snapshot, startWorld, type World } from './publish-test-support.ts';

let world: World;

before(async () => {
  world = await startWorld();
  await world.warehouse.query(`
    CREATE SCHEMA analytics;
    CREATE TYPE analytics.tier AS ENUM ('bronze', 'gold 🥇');
    CREATE DOMAIN analytics.amount AS numeric(12,2) CHECK (VALUE > -1000000);
    CREATE TABLE analytics.customer_ltv (${EVERY_TYPE});
  `);
  await insertRows('analytics.customer_ltv', EVERY_ROW);
});

after(async () => {
  await world?.stop();
});

const EVERY_TYPE = `
  customer_id bigint, name text, revenue numeric(20,2), ratio numeric, score double precision, small real, active boolean,
  first_order date, last_seen timestamptz, local_ts timestamp(3), since interval, profile jsonb, raw json,
  tags text[], amounts numeric(10,2)[], code char(4), label varchar(40), uid uuid, blob bytea, tier analytics.tier, balance analytics.amount`;

const COLUMNS = ['customer_id', 'name', 'revenue', 'ratio', 'score', 'small', 'active', 'first_order', 'last_seen', 'local_ts', 'since', 'profile', 'raw', 'tags', 'amounts', 'code', 'label', 'uid', 'blob', 'tier', 'balance'];

/** Rows by column; what is not named is NULL. Literals are PostgreSQL input syntax. */
const EVERY_ROW: Record<string, string>[] = [
  { customer_id: '1' },
  {
    customer_id: '2', name: 'héllo wörld 🐟 日本語 "q" \\ back\\slash \\N not null\ttab\nline', revenue: '123456789012345678.91', ratio: 'NaN',
    score: '0.1', small: '3.14159', active: 'true', first_order: '0044-03-15 BC', last_seen: '2024-03-10 01:30:00.123456-08', local_ts: '2024-02-29 23:59:59.999',
    since: '1 year 2 mons 3 days 04:05:06.789012', profile: '{"b": [1, 2.50, {"c": null}], "a": "x 🐟\\ty\\n\\"q\\""}', raw: '{ "keep" : [1, 2.50, "spacing"] }',
    tags: '{"a b",NULL,"c,d","é🐟","","NULL","q\\"uote","back\\\\slash","{brace}"}', amounts: '{1.50,NULL,-2.25}', code: 'ab', label: 'cr\rlf\r\nend',
    uid: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', blob: '\\x00ff5c0a09', tier: 'gold 🥇', balance: '-999999.99',
  },
  {
    customer_id: '3', name: '', revenue: '-0.01', ratio: '-0.000000000000000000001', score: '-0', small: 'NaN', active: 'false', first_order: 'infinity',
    last_seen: '-infinity', local_ts: '1970-01-01 00:00:00', since: '-1 days -00:00:00.000001', profile: '[]', raw: '[]', tags: '{}', amounts: '{}',
    code: 'abcd', label: '', uid: '00000000-0000-0000-0000-000000000000', blob: '\\x', tier: 'bronze', balance: '0',
  },
  { customer_id: '4', score: 'Infinity', small: '-Infinity', last_seen: '1969-12-31 23:59:59.999999+00', since: '0', name: '\\', tags: '{NULL}' },
];

async function insertRows(table: string, rows: Record<string, string>[], client: pg.Client = world.warehouse): Promise<void> {
  for (const row of rows) {
    const names = Object.keys(row);
    await client.query(`INSERT INTO ${table} (${names.map(quote).join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')})`, Object.values(row));
  }
}

const LTV: HarnessPostgresConfig = {
  type: 'harness/postgres',
  dataset: 'analytics.customer_ltv',
  connection: { secret: 'app' },
  target: { table: 'customer_ltv' },
  mode: 'replace',
};

/** A warehouse table of its own for a test that changes rows: `analytics.<name>` with (id, revenue, note). */
async function smallDataset(name: string, rows: [number, string | null, string | null][]): Promise<string> {
  await world.warehouse.query(`CREATE TABLE analytics.${name} (id integer, revenue numeric(12,2), note text)`);
  for (const [id, revenue, note] of rows) await world.warehouse.query(`INSERT INTO analytics.${name} VALUES ($1, $2, $3)`, [id, revenue, note]);
  return `analytics.${name}`;
}

async function rejection(p: Promise<unknown>): Promise<ReefError> {
  try {
    await p;
  } catch (e) {
    assert.ok(isReefError(e), `expected a Reef error, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the publish to fail');
}

test('replace creates the missing target with the dataset\'s types and publishes every value exactly', async () => {
  const app = await world.client(await world.appDatabase('app'));
  const result = await publish(publishInput(world, LTV));
  assert.equal(result.status, 'published');
  assert.equal(result.rows, EVERY_ROW.length);
  assert.deepEqual(result.detail, { target: { schema: 'public', table: 'customer_ltv' }, mode: 'replace', created: true, deleted: 0, written: EVERY_ROW.length });

  assert.deepEqual(await columnTypes(app, 'public', 'customer_ltv'), [
    ['customer_id', 'bigint'], ['name', 'text'], ['revenue', 'numeric(20,2)'], ['ratio', 'numeric'], ['score', 'double precision'], ['small', 'real'],
    ['active', 'boolean'], ['first_order', 'date'], ['last_seen', 'timestamp with time zone'], ['local_ts', 'timestamp(3) without time zone'],
    ['since', 'interval'], ['profile', 'jsonb'], ['raw', 'json'], ['tags', 'text[]'], ['amounts', 'numeric(10,2)[]'], ['code', 'character(4)'],
    ['label', 'character varying(40)'], ['uid', 'uuid'], ['blob', 'bytea'],
    // The enum need not exist in the application's database: its labels as text. The domain: its base type.
    ['tier', 'text'], ['balance', 'numeric(12,2)'],
  ]);
  assert.deepEqual(await primaryKey(app, 'public', 'customer_ltv'), [], 'a replace target gets no primary key');
  const expected = await rowsAsText(world.warehouse, 'analytics', 'customer_ltv', COLUMNS);
  assert.deepEqual(await rowsAsText(app, 'public', 'customer_ltv', COLUMNS), expected);
  // Spot checks, so the comparison above cannot pass on two equally wrong sides.
  const row2 = (await app.query(`SELECT name, revenue::text, ratio::text, raw::text, tags, first_order::text FROM customer_ltv WHERE customer_id = 2`)).rows[0];
  assert.equal(row2.name, EVERY_ROW[1].name);
  assert.equal(row2.revenue, '123456789012345678.91');
  assert.equal(row2.ratio, 'NaN');
  assert.equal(row2.raw, '{ "keep" : [1, 2.50, "spacing"] }');
  assert.deepEqual(row2.tags, ['a b', null, 'c,d', 'é🐟', '', 'NULL', 'q"uote', 'back\\slash', '{brace}']);
  assert.equal(row2.first_order, '0044-03-15 BC');
  const nulls = (await app.query(`SELECT num_nulls(${COLUMNS.map(quote).join(', ')}) AS n FROM customer_ltv WHERE customer_id = 1`)).rows[0];
  assert.equal(nulls.n, COLUMNS.length - 1);

  const marker = (await app.query(`SELECT publication, timelabel, "rows"::int AS rows, run_id, published_at FROM reef.publish_markers`)).rows;
  assert.deepEqual(marker, [{ publication: 'ltv-app', timelabel: '20260305080000', rows: EVERY_ROW.length, run_id: 'run-1', published_at: new Date('2026-03-05T09:10:00Z') }]);
  assert.deepEqual(world.events, [], 'the pass announces publishes, not publish itself');
  assert.deepEqual(await idle(world.warehouse), { readOnly: 'off', cursors: 0 });
});

test('replace: each timelabel leaves the target holding exactly the dataset of then, down to no rows', async () => {
  const dataset = await smallDataset('replaced', [[1, '10.00', 'a'], [2, '20.00', 'b']]);
  const app = await world.client(await world.appDatabase('app-replace'));
  const config: HarnessPostgresConfig = { ...LTV, dataset, connection: { secret: 'app-replace' }, target: { table: 'replaced' } };
  await publish(publishInput(world, config, { timelabel: '20260305080000' }));
  await world.warehouse.query(`DELETE FROM ${dataset} WHERE id = 1; UPDATE ${dataset} SET note = 'changed' WHERE id = 2; INSERT INTO ${dataset} VALUES (3, NULL, 'new')`);
  const second = await publish(publishInput(world, config, { timelabel: '20260305090000' }));
  assert.deepEqual(second.detail, { target: { schema: 'public', table: 'replaced' }, mode: 'replace', created: false, deleted: 2, written: 2 });
  assert.deepEqual(await rowsAsText(app, 'public', 'replaced', ['id', 'revenue', 'note']), ['["2","20.00","changed"]', '["3",null,"new"]']);
  await world.warehouse.query(`DELETE FROM ${dataset}`);
  const third = await publish(publishInput(world, config, { timelabel: '20260305100000' }));
  assert.equal(third.rows, 0);
  assert.deepEqual(await rowsAsText(app, 'public', 'replaced', ['id', 'revenue', 'note']), []);
});

test('merge creates the target with the keys as primary key, upserts, deletes keys that left the dataset and leaves unchanged rows untouched', async () => {
  const dataset = await smallDataset('merged', [[1, '10.00', 'same'], [2, '20.00', 'before'], [3, '30.00', 'going']]);
  const app = await world.client(await world.appDatabase('app-merge'));
  const config: HarnessPostgresConfig = { ...LTV, dataset, connection: { secret: 'app-merge' }, target: { schema: 'crm', table: 'merged' }, mode: 'merge' };
  const first = await publish(publishInput(world, config, { timelabel: '20260305080000', keys: ['id'] }));
  assert.equal(first.rows, 3);
  assert.deepEqual(await primaryKey(app, 'crm', 'merged'), ['id']);
  assert.deepEqual(await columnTypes(app, 'crm', 'merged'), [['id', 'integer'], ['revenue', 'numeric(12,2)'], ['note', 'text']]);
  const version = async (id: number) => (await app.query(`SELECT xmin::text AS v FROM crm.merged WHERE id = $1`, [id])).rows[0].v as string;
  const unchangedBefore = await version(1);
  const updatedBefore = await version(2);

  await world.warehouse.query(`UPDATE ${dataset} SET note = 'after', revenue = NULL WHERE id = 2; DELETE FROM ${dataset} WHERE id = 3; INSERT INTO ${dataset} VALUES (4, '40.00', 'new')`);
  const second = await publish(publishInput(world, config, { timelabel: '20260305090000', keys: ['id'] }));
  assert.deepEqual(second.detail, { target: { schema: 'crm', table: 'merged' }, mode: 'merge', created: false, deleted: 1, written: 2 });
  assert.deepEqual(await rowsAsText(app, 'crm', 'merged', ['id', 'revenue', 'note']), await rowsAsText(world.warehouse, 'analytics', 'merged', ['id', 'revenue', 'note']));
  assert.deepEqual(await rowsAsText(app, 'crm', 'merged', ['id', 'revenue', 'note']), ['["1","10.00","same"]', '["2",null,"after"]', '["4","40.00","new"]']);
  assert.equal(await version(1), unchangedBefore, 'a row whose values did not change is not rewritten');
  assert.notEqual(await version(2), updatedBefore);
});

test('merge writes every type exactly too, keys from the file', async () => {
  const app = await world.client(await world.appDatabase('app-merge-types'));
  const config: HarnessPostgresConfig = { ...LTV, connection: { secret: 'app-merge-types' }, mode: 'merge', keys: ['customer_id'] };
  await publish(publishInput(world, config));
  // A second timelabel over the same rows changes nothing: text comparison finds every value equal, jsonb and json included.
  const again = await publish(publishInput(world, config, { timelabel: '20260305090000' }));
  assert.deepEqual(again.detail, { target: { schema: 'public', table: 'customer_ltv' }, mode: 'merge', created: false, deleted: 0, written: 0 });
  assert.deepEqual(await rowsAsText(app, 'public', 'customer_ltv', COLUMNS), await rowsAsText(world.warehouse, 'analytics', 'customer_ltv', COLUMNS));
});

test('columns: only the listed ones, renamed; the dataset\'s keys name dataset columns and become the renamed primary key', async () => {
  const app = await world.client(await world.appDatabase('app-columns'));
  const config: HarnessPostgresConfig = {
    ...LTV,
    connection: { secret: 'app-columns' },
    target: { table: 'Customer Value' },
    mode: 'merge',
    columns: [{ column: 'revenue', as: 'Lifetime Revenue' }, { column: 'customer_id', as: 'Customer ID' }, { column: 'tags' }],
  };
  await publish(publishInput(world, config, { keys: ['customer_id'] }));
  assert.deepEqual(await columnTypes(app, 'public', 'Customer Value'), [['Lifetime Revenue', 'numeric(20,2)'], ['Customer ID', 'bigint'], ['tags', 'text[]']]);
  assert.deepEqual(await primaryKey(app, 'public', 'Customer Value'), ['Customer ID']);
  assert.deepEqual(
    await rowsAsText(app, 'public', 'Customer Value', ['Lifetime Revenue', 'Customer ID', 'tags']),
    await rowsAsText(world.warehouse, 'analytics', 'customer_ltv', ['revenue', 'customer_id', 'tags']),
  );
});

test('a timelabel published once is a no-op: the marker answers, the target stays as it was', async () => {
  const dataset = await smallDataset('once', [[1, '1.00', 'first']]);
  const app = await world.client(await world.appDatabase('app-once'));
  const config: HarnessPostgresConfig = { ...LTV, dataset, connection: { secret: 'app-once' }, target: { table: 'once' } };
  await publish(publishInput(world, config));
  const before = await snapshot(app);
  await world.warehouse.query(`INSERT INTO ${dataset} VALUES (2, '2.00', 'later')`);
  const again = await publish(publishInput(world, config, { runId: 'run-2' }));
  assert.deepEqual(again, { status: 'already-published', rows: 1, detail: { target: { schema: 'public', table: 'once' } } });
  assert.deepEqual(await snapshot(app), before);
  assert.deepEqual((await app.query(`SELECT run_id FROM reef.publish_markers`)).rows, [{ run_id: 'run-1' }]);
  // The next timelabel does publish the new row.
  assert.equal((await publish(publishInput(world, config, { timelabel: '20260305090000' }))).rows, 2);
});

test('two publishes of one timelabel at once: one writes, the other waits for it and finds its marker', async () => {
  const dataset = await smallDataset('racing', [[1, '1.00', 'a'], [2, '2.00', 'b']]);
  const db = await world.appDatabase('app-race');
  const config: HarnessPostgresConfig = { ...LTV, dataset, connection: { secret: 'app-race' }, target: { table: 'racing' }, mode: 'merge', keys: ['id'] };
  // Each publish reads through its own warehouse session, as two pass executions would.
  const other = await world.client(world.warehouse.database!);
  const results = await Promise.all([
    publish(publishInput(world, config, { runId: 'run-a' })),
    publish(publishInput(world, config, { runId: 'run-b', warehouse: { client: other, dialect: 'postgres' } })),
  ]);
  assert.deepEqual(results.map((r) => r.status).sort(), ['already-published', 'published']);
  assert.deepEqual(results.map((r) => r.rows), [2, 2]);
  const app = await world.client(db);
  assert.deepEqual(await rowsAsText(app, 'public', 'racing', ['id', 'revenue', 'note']), ['["1","1.00","a"]', '["2","2.00","b"]']);
  assert.equal((await app.query('SELECT count(*)::int AS n FROM reef.publish_markers')).rows[0].n, 1);
});

test('an application user without CREATE on the database publishes into schemas it was given; without the reef schema it is told what it lacks', async () => {
  const dataset = await smallDataset('granted', [[1, '1.00', 'a']]);
  const db = await world.appDatabase('app-admin');
  const admin = await world.client(db);
  const role = `reef_app_${process.pid}`;
  await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'app-secret-1'; CREATE SCHEMA app AUTHORIZATION ${role}`);
  world.secrets.put('app-limited', { ...world.server.connection(db), user: role, password: 'app-secret-1' });
  const config: HarnessPostgresConfig = { ...LTV, dataset, connection: { secret: 'app-limited' }, target: { schema: 'app', table: 'granted' } };
  const e = await rejection(publish(publishInput(world, config)));
  assert.equal(e.code, 'target.permission');
  assert.match(e.message, /creating schema "reef".*permission denied for database.*expected the secret's user to be allowed to do it/);
  await admin.query(`CREATE SCHEMA reef AUTHORIZATION ${role}`);
  assert.equal((await publish(publishInput(world, config))).status, 'published');
  assert.deepEqual(await rowsAsText(admin, 'app', 'granted', ['id', 'revenue', 'note']), ['["1","1.00","a"]']);
  await admin.query(`DROP SCHEMA app CASCADE; DROP SCHEMA reef CASCADE; DROP ROLE ${role}`);
});

describe('an existing target that does not fit is refused before anything is written', () => {
  let app: pg.Client;
  let dataset: string;
  const config = (table: string, more: Partial<HarnessPostgresConfig> = {}): HarnessPostgresConfig => ({ ...LTV, dataset, connection: { secret: 'app-fit' }, target: { schema: 'shop', table }, ...more });

  before(async () => {
    dataset = await smallDataset('fit', [[1, '1.50', 'x'], [2, '2.50', 'y']]);
    app = await world.client(await world.appDatabase('app-fit'));
    await app.query(`CREATE SCHEMA shop;
      CREATE TABLE shop.narrow (id integer, revenue integer, note text); INSERT INTO shop.narrow VALUES (7, 7, 'kept');
      CREATE TABLE shop.lacking (id integer, note text); INSERT INTO shop.lacking VALUES (7, 'kept');
      CREATE TABLE shop.unkeyed (id integer, revenue numeric(12,2), note text);
      CREATE VIEW shop.a_view AS SELECT 1 AS id;
      CREATE TABLE shop.checked (id integer PRIMARY KEY, revenue numeric(12,2) CHECK (revenue < 2), note text); INSERT INTO shop.checked VALUES (7, 1, 'kept');
      CREATE TABLE shop.wider (id bigint PRIMARY KEY, revenue numeric, note varchar, extra text DEFAULT 'app-owned');`);
  });

  async function refused(table: string, code: string, pattern: RegExp, more: Partial<HarnessPostgresConfig> = {}): Promise<void> {
    const before = await snapshot(app);
    const e = await rejection(publish(publishInput(world, config(table, more), { keys: ['id'] })));
    assert.equal(e.code, code, e.message);
    assert.equal(e.category, 'target');
    assert.equal(e.transient, false);
    assert.match(e.message, pattern);
    assert.deepEqual(await snapshot(app), before, 'the application database is exactly as before: no rows, no markers table, no schema');
    assert.deepEqual(await idle(world.warehouse), { readOnly: 'off', cursors: 0 });
  }

  test('a column of a type that cannot hold the values: the table, the column, the type found and the type expected', async () => {
    await refused('narrow', 'target.incompatible-column', /target table "shop"\."narrow": column "revenue" has type integer; expected numeric\(12,2\), or a type that holds every value of it, to publish dataset column analytics\.fit\."revenue"/);
  });

  test('a published column the target lacks', async () => {
    // A list names its columns: a missing one is refused (`columns: all` adds it, below).
    await refused('lacking', 'target.missing-column', /target table "shop"\."lacking" has no column "revenue"; expected it, of type numeric\(12,2\)/, {
      columns: [{ column: 'id' }, { column: 'revenue' }, { column: 'note' }],
    });
  });

  test('a merge into a table without a unique index on the keys', async () => {
    await refused('unkeyed', 'target.no-unique-key', /target table "shop"\."unkeyed" has no primary key or unique index on exactly \("id"\); expected one for mode merge/, { mode: 'merge' });
  });

  test('a view where the target table should be', async () => {
    await refused('a_view', 'target.not-a-table', /target "shop"\."a_view" is not a table \(relation kind v\)/);
  });

  test('a row the target refuses (its own CHECK) rolls the whole publish back', async () => {
    await refused('checked', 'target.constraint', /violates check constraint .*expected the dataset's rows to satisfy the target table's constraints/, { mode: 'merge' });
  });

  test('types that hold every value are accepted, and columns the publication does not write keep their defaults', async () => {
    const result = await publish(publishInput(world, config('wider', { mode: 'merge' }), { keys: ['id'] }));
    assert.equal(result.rows, 2);
    assert.deepEqual((await app.query(`SELECT id::text, revenue::text, note, extra FROM shop.wider ORDER BY id`)).rows, [
      { id: '1', revenue: '1.50', note: 'x', extra: 'app-owned' },
      { id: '2', revenue: '2.50', note: 'y', extra: 'app-owned' },
    ]);
  });
});

test('columns: all adds a column the dataset has and an existing target lacks, with its mapped type, and publishes it', async () => {
  const dataset = await smallDataset('grows', [[1, '1.50', 'x'], [2, '2.50', 'y']]);
  const app = await world.client(await world.appDatabase('app-grows'));
  await app.query(`CREATE TABLE public.growing (id integer, note text, extra text DEFAULT 'app-owned')`);
  const config: HarnessPostgresConfig = { ...LTV, dataset, connection: { secret: 'app-grows' }, target: { table: 'growing' } };
  const result = await publish(publishInput(world, config));
  assert.equal(result.status, 'published');
  assert.deepEqual(result.detail?.addedColumns, ['revenue']);
  const type = await app.query(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'public.growing'::regclass AND attname = 'revenue'`);
  assert.deepEqual(type.rows, [{ t: 'numeric(12,2)' }]);
  assert.deepEqual((await rowsAsText(app, 'public', 'growing', ['id', 'revenue', 'note', 'extra'])).sort(), ['["1","1.50","x","app-owned"]', '["2","2.50","y","app-owned"]']);
});

test('merge keys that are NULL or repeated in the dataset fail the publish and write nothing', async () => {
  const dataset = await smallDataset('badkeys', [[1, '1.00', 'a'], [1, '2.00', 'b']]);
  const app = await world.client(await world.appDatabase('app-badkeys'));
  const config: HarnessPostgresConfig = { ...LTV, dataset, connection: { secret: 'app-badkeys' }, target: { table: 'badkeys' }, mode: 'merge', keys: ['id'] };
  const before = await snapshot(app);
  const twice = await rejection(publish(publishInput(world, config)));
  assert.equal(twice.code, 'target.duplicate-key');
  assert.match(twice.message, /holds 1 key\(s\) \(id\) on more than one row/);
  await world.warehouse.query(`UPDATE ${dataset} SET id = NULL WHERE note = 'b'`);
  const nulls = await rejection(publish(publishInput(world, config)));
  assert.equal(nulls.code, 'target.null-key');
  assert.deepEqual(await snapshot(app), before);
});

test('a dataset the warehouse does not have, or a column it lacks, is named with what was expected', async () => {
  await world.appDatabase('app-missing');
  const missing = await rejection(publish(publishInput(world, { ...LTV, dataset: 'analytics.nowhere', connection: { secret: 'app-missing' } })));
  assert.equal(missing.code, 'target.dataset-missing');
  assert.match(missing.message, /dataset analytics\.nowhere is not in the warehouse/);
  const column = await rejection(publish(publishInput(world, { ...LTV, connection: { secret: 'app-missing' }, columns: [{ column: 'customer_id' }, { column: 'revenu' }] })));
  assert.equal(column.code, 'config.column');
  assert.match(column.message, /^publications\/ltv-app\.yaml: columns\[1\]\.column: found "revenu", which dataset analytics\.customer_ltv does not have; expected one of customer_id, name, revenue/);
  const keys = await rejection(publish(publishInput(world, { ...LTV, connection: { secret: 'app-missing' }, mode: 'merge' })));
  assert.equal(keys.code, 'config.keys');
});

describe('connections', () => {
  let silent: Server;
  before(async () => {
    const db = await world.appDatabase('app-wrong-password');
    world.secrets.put('app-wrong-password', { ...world.server.connection(db), password: 'not-the-Password-42' });
    world.secrets.put('app-closed-port', { ...world.server.connection(db), port: await closedPort() });
    // Accepts the connection, then drops it: what a host going away mid-handshake looks like.
    silent = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    world.secrets.put('app-dropping', { ...world.server.connection(db), port: (silent.address() as AddressInfo).port });
  });
  after(() => new Promise<void>((resolve) => silent.close(() => resolve())));

  test('a wrong password is terminal (target.credentials) and the message never holds it', async () => {
    const e = await rejection(publish(publishInput(world, { ...LTV, connection: { secret: 'app-wrong-password' } })));
    assert.equal(e.code, 'target.credentials');
    assert.equal(e.transient, false);
    assert.match(e.message, /secret app-wrong-password.*refused the credentials.*expected the secret's user and password to be accepted/);
    assert.doesNotMatch(JSON.stringify(e.toJSON()), /not-the-Password-42/);
  });

  test('a refused connection and a dropped one are transient (target.unreachable)', async () => {
    for (const secret of ['app-closed-port', 'app-dropping']) {
      const e = await rejection(publish(publishInput(world, { ...LTV, connection: { secret } })));
      assert.equal(e.code, 'target.unreachable', `${secret}: ${e.message}`);
      assert.equal(e.transient, true);
      assert.match(e.message, new RegExp(`secret ${secret}\\)`));
    }
  });
});

test('hostile names stay identifiers: schemas, tables, columns and keys with quotes, semicolons and comments', async () => {
  const hostileColumn = 'odd "col"; DROP TABLE canary; --';
  await world.warehouse.query(`CREATE TABLE analytics.hostile (id integer, ${quote(hostileColumn)} text, plain text)`);
  await world.warehouse.query(`INSERT INTO analytics.hostile VALUES (1, 'a''b"c', 'p'), (2, NULL, 'q')`);
  const app = await world.client(await world.appDatabase('app-hostile'));
  await app.query(`CREATE TABLE canary (x int); INSERT INTO canary VALUES (1)`);
  const schema = `we"ird'; DROP SCHEMA public CASCADE; --`;
  const table = `Robert'); DROP TABLE canary;--`;
  const key = `k"); DELETE FROM canary; --`;
  const config: HarnessPostgresConfig = {
    ...LTV,
    dataset: 'analytics.hostile',
    connection: { secret: 'app-hostile' },
    target: { schema, table },
    mode: 'merge',
    keys: ['id'],
    columns: [{ column: 'id', as: key }, { column: hostileColumn, as: `sel"ect * from "x` }, { column: 'plain', as: 'ünï 🐟' }],
  };
  await publish(publishInput(world, config));
  await world.warehouse.query(`DELETE FROM analytics.hostile WHERE id = 2`);
  await publish(publishInput(world, config, { timelabel: '20260305090000' }));
  assert.deepEqual(await columnTypes(app, schema, table), [[key, 'integer'], [`sel"ect * from "x`, 'text'], ['ünï 🐟', 'text']]);
  assert.deepEqual(await primaryKey(app, schema, table), [key]);
  assert.deepEqual(await rowsAsText(app, schema, table, [key, `sel"ect * from "x`, 'ünï 🐟']), ['["1","a\'b\\"c","p"]']);
  assert.deepEqual((await app.query('SELECT x FROM public.canary')).rows, [{ x: 1 }]);
});

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}
