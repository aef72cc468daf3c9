/**
 * The webhook publish end to end, against a real PostgreSQL as the warehouse,
 * a real MetadataStore on dynalite and a real HTTP receiver on 127.0.0.1.
 * Proves: batches stay within the byte and row caps and together carry
 * exactly the changed rows and the deletes; values are exact JSON; the
 * signature verifies with the shared key; 5xx is retried until accepted once,
 * and a re-run sends nothing; Retry-After is honoured; a 400 fails at once;
 * an exhausted budget dead-letters without row values; a crash after batch 1
 * of 3 resumes with batches 2 and 3 only, from the frozen changes; the next
 * timelabel sends only what changed since; rows without keys are compared whole.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type pg from 'pg';
import { TerminalError, TransientError, isReefError } from '../../../shared/errors.ts';
import type { PublishInput, PublishResult } from '../../../shared/harness/publication.ts';
import { faultsFromEnv } from '../../../shared/local/faults.ts';
import { SecretsFile } from '../../../shared/local/secrets-file.ts';
import { LOCAL_REGION, freePort, startDynamo, type Running } from '../../../shared/local/standins.ts';
import { MetadataStore } from '../../../shared/metadata/store.ts';
import { NO_FAULTS, type Faults, type Services } from '../../../shared/runtime/services.ts';
import { startTestPostgres, type TestPostgres } from '../../../test/support/postgres.ts';
import type { HarnessWebhookConfig } from './config.ts';
import { createWebhookPublisher } from './publish.ts';
import { TestReceiver } from './test-receiver.ts';

const KEY = 'k3y-for-tests-0123456789abcdef';
const SECRET = 'crm-hook';
const INSTALLATION = 'acme';
const T1 = '20260305080000';
const T2 = '20260305090000';
const T3 = '20260305100000';

let server: TestPostgres;
let dynamo: Running<DynamoDBClient>;
let receiver: TestReceiver;
let secretsDir: string;
let secrets: SecretsFile;
const clients: pg.Client[] = [];
const s3 = new S3Client({ region: LOCAL_REGION });

before(async () => {
  server = await startTestPostgres();
  dynamo = await startDynamo(undefined);
  receiver = await TestReceiver.start();
  secretsDir = mkdtempSync(join(tmpdir(), 'reef-webhook-secrets-'));
  secrets = new SecretsFile(join(secretsDir, 'secrets.json'));
  secrets.put(SECRET, { key: KEY });
});

after(async () => {
  for (const c of clients) await c.end();
  await receiver?.stop();
  await dynamo?.stop();
  await server?.stop();
  s3.destroy();
  rmSync(secretsDir, { recursive: true, force: true });
});

let counter = 0;

interface Scenario {
  warehouse: pg.Client;
  store: MetadataStore;
  slice: string;
  /** Waits the publisher asked for, in order; nothing actually waits. */
  sleeps: number[];
  publish(timelabel: string, options?: { config?: Partial<HarnessWebhookConfig>; faults?: Faults; keys?: string[] }): Promise<PublishResult>;
}

/** A fresh warehouse database, metadata table and publication name; the receiver forgets everything. */
async function scenario(config: Partial<HarnessWebhookConfig> = {}): Promise<Scenario> {
  const n = ++counter;
  const warehouse = await server.client(await server.freshDatabase('reef_webhook'));
  clients.push(warehouse);
  const store = new MetadataStore({ client: dynamo.client, tableName: `reef-webhook-${n}` });
  await store.ensureTable();
  receiver.reset();
  const slice = `crm-${n}`;
  const sleeps: number[] = [];
  const publisher = createWebhookPublisher({ clock: { sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 } });
  const base: HarnessWebhookConfig = {
    type: 'harness/webhook',
    dataset: 'analytics.customer_ltv',
    url: `${receiver.url}/hooks/ltv`,
    signing: { secret: SECRET },
    keys: ['customer_id'],
    retry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 5000 },
    ...config,
  };
  return {
    warehouse,
    store,
    slice,
    sleeps,
    publish: (timelabel, options = {}) => {
      const services: Services = {
        installation: INSTALLATION,
        metadata: store,
        s3,
        bucket: 'unused',
        secrets,
        events: { publish: async () => {} },
        faults: options.faults ?? NO_FAULTS,
        now: () => new Date(),
        log: () => {},
      };
      const input: PublishInput<HarnessWebhookConfig> = {
        services,
        slice,
        config: { ...base, ...options.config },
        dataset: base.dataset,
        timelabel,
        runId: `run-${timelabel}`,
        warehouse: { client: warehouse, dialect: 'postgres' },
        keys: options.keys,
      };
      return publisher.publish(input);
    },
  };
}

/** `analytics.customer_ltv` with customers 1..rows; names padded to `width` characters so rows have a known size. */
async function customers(warehouse: pg.Client, rows: number, width = 100): Promise<void> {
  await warehouse.query('CREATE SCHEMA analytics');
  await warehouse.query('CREATE TABLE analytics.customer_ltv (customer_id integer PRIMARY KEY, name text, revenue numeric(12,2), updated_at timestamptz)');
  await warehouse.query(
    `INSERT INTO analytics.customer_ltv SELECT g, rpad('customer ' || g, $2, '.'), g * 1.5, '2026-03-05 08:15:00.123456+00'::timestamptz FROM generate_series(1, $1) AS g`,
    [rows, width],
  );
}

function verifies(headers: Record<string, unknown>, body: string, key: string): boolean {
  const given = String(headers['x-reef-signature']);
  const expected = `sha256=${createHmac('sha256', key).update(body, 'utf8').digest('hex')}`;
  return given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}

function ids(rows: Record<string, unknown>[]): number[] {
  return rows.map((r) => Number(r.customer_id)).sort((a, b) => a - b);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

const reefError = (kind: typeof TerminalError | typeof TransientError, code: string, pattern?: RegExp) => (e: unknown): boolean => {
  assert.ok(e instanceof kind, `expected ${kind.name}, got ${String(e)}`);
  assert.equal(e.code, code);
  if (pattern) assert.match(e.message, pattern);
  return true;
};

async function markerState(s: Scenario, timelabel: string): Promise<string | undefined> {
  const r = await s.warehouse.query<{ state: string }>('SELECT state FROM reef_harness.webhook_markers WHERE publication = $1 AND timelabel = $2', [s.slice, timelabel]);
  return r.rows[0]?.state;
}

test('batches stay within maxBytes and maxRows, carry exactly the changed rows and deletes, and are signed with the key', async () => {
  const maxBytes = 4096;
  const s = await scenario({ batch: { maxBytes } });
  await customers(s.warehouse, 200);

  const first = await s.publish(T1);
  assert.equal(first.status, 'published');
  assert.equal(first.rows, 200);
  const bodies = receiver.bodies();
  assert.ok(bodies.length >= 5, `200 rows of ~190 bytes need at least 5 bodies of 4 KiB, got ${bodies.length}`);
  receiver.requests.forEach((r, i) => {
    assert.ok(Buffer.byteLength(r.body) <= maxBytes, `body ${i + 1} is ${Buffer.byteLength(r.body)} bytes`);
    assert.equal(r.method, 'POST');
    assert.equal(r.path, '/hooks/ltv');
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['idempotency-key'], `reef:${INSTALLATION}:${s.slice}:${T1}:${i + 1}`);
    assert.equal(r.headers['x-reef-timelabel'], T1);
    assert.equal(r.headers['x-reef-batch'], `${i + 1}/${bodies.length}`);
    assert.ok(verifies(r.headers, r.body, KEY), `body ${i + 1}'s signature verifies with the key`);
    assert.ok(!verifies(r.headers, r.body, `${KEY}x`), 'and not with another key');
    assert.ok(!verifies(r.headers, `${r.body} `, KEY), 'nor for another body');
  });
  bodies.forEach((b, i) => {
    assert.deepEqual({ ...b, upserts: [], deletes: [] }, { publication: s.slice, dataset: 'analytics.customer_ltv', timelabel: T1, batch: i + 1, batches: bodies.length, upserts: [], deletes: [] });
  });
  assert.deepEqual(ids(bodies.flatMap((b) => b.upserts)), range(1, 200), 'every row once, as an upsert');
  assert.deepEqual(bodies.flatMap((b) => b.deletes), []);
  assert.deepEqual(bodies[0].upserts[0], { customer_id: 1, name: 'customer 1'.padEnd(100, '.'), revenue: '1.50', updated_at: '2026-03-05T08:15:00.123456+00:00' });
  // A batch is full: one more row would not have fitted.
  assert.ok(Buffer.byteLength(receiver.requests[0].body) > maxBytes - 300, 'the first batch was filled close to the cap');

  // Five changed, three deleted, two new, one updated to the values it had.
  await s.warehouse.query(`UPDATE analytics.customer_ltv SET revenue = revenue + 1 WHERE customer_id BETWEEN 5 AND 9`);
  await s.warehouse.query(`DELETE FROM analytics.customer_ltv WHERE customer_id IN (100, 101, 102)`);
  await s.warehouse.query(`INSERT INTO analytics.customer_ltv VALUES (201, 'new 201', 10, now()), (202, 'new 202', 20, now())`);
  await s.warehouse.query(`UPDATE analytics.customer_ltv SET name = name WHERE customer_id = 10`);
  receiver.reset();
  const second = await s.publish(T2);
  assert.equal(second.status, 'published');
  assert.equal(second.rows, 10);
  const next = receiver.bodies();
  for (const r of receiver.requests) assert.ok(Buffer.byteLength(r.body) <= maxBytes);
  const upserts = next.flatMap((b) => b.upserts);
  assert.deepEqual(ids(upserts), [5, 6, 7, 8, 9, 201, 202], 'only the changed and new rows');
  assert.equal(upserts.find((u) => u.customer_id === 5)?.revenue, '8.50', 'with their new values');
  assert.deepEqual(next.flatMap((b) => b.deletes), [{ customer_id: 100 }, { customer_id: 101 }, { customer_id: 102 }], 'the deleted keys');

  // maxRows cuts by count as well: four changes at most two per request.
  await s.warehouse.query(`UPDATE analytics.customer_ltv SET revenue = 0 WHERE customer_id IN (1, 2, 3)`);
  await s.warehouse.query(`DELETE FROM analytics.customer_ltv WHERE customer_id = 4`);
  receiver.reset();
  await s.publish(T3, { config: { batch: { maxBytes, maxRows: 2 } } });
  assert.deepEqual(
    receiver.bodies().map((b) => [b.batch, b.batches, ids(b.upserts), b.deletes]),
    [
      [1, 2, [1, 2], []],
      [2, 2, [3], [{ customer_id: 4 }]],
    ],
  );
});

test('values are exact JSON whatever the session says: numerics as strings, timestamps ISO with offset, json as it is', async () => {
  const s = await scenario({ keys: ['id'], dataset: 'analytics.every_type' });
  await s.warehouse.query('CREATE SCHEMA analytics');
  await s.warehouse.query(`CREATE TABLE analytics.every_type (
    id integer, small smallint, big bigint, num numeric(38,10), num_nan numeric, f8 double precision, f4 real, f4_nan real, f8_inf double precision,
    ok boolean, ts timestamp, tstz timestamptz, d date, d_inf date, iv interval, j json, jb jsonb, b bytea, ints integer[], texts text[], grid integer[][],
    u uuid, n text)`);
  await s.warehouse.query(`INSERT INTO analytics.every_type VALUES (
    1, -32768, 9007199254740993, 1234567890123456789012345678.0123456789, 'NaN', 0.1, 3.14159, 'NaN', '-Infinity',
    true, '2026-03-05 08:15:00.000001', '2026-03-05 09:15:00.123456+01', '2026-03-05', 'infinity', '1 day 2 hours',
    '{"big": 12345678901234567890, "s": "é\\u00e9"}', '{"b": [1, 2.50], "a": null}', '\\x00ff', '{1,NULL,3}', '{"a b",NULL,"c,d","q\\"uote"}', '{{1,2},{3,4}}',
    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', NULL)`);
  // A pass's session with other habits: the publish pins its own forms and leaves these as they were.
  await s.warehouse.query(`SET DateStyle = 'SQL, DMY'; SET TimeZone = 'America/New_York'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 0; SET bytea_output = 'escape'`);

  await s.publish(T1);
  const expected =
    '{"id":1,"small":-32768,"big":"9007199254740993","num":"1234567890123456789012345678.0123456789","num_nan":"NaN","f8":0.1,"f4":3.14159,"f4_nan":"NaN","f8_inf":"-Infinity",' +
    '"ok":true,"ts":"2026-03-05T08:15:00.000001","tstz":"2026-03-05T08:15:00.123456+00:00","d":"2026-03-05","d_inf":"infinity","iv":"P1DT2H",' +
    '"j":{"big": 12345678901234567890, "s": "é\\u00e9"},"jb":{"a": null, "b": [1, 2.50]},"b":"AP8=","ints":[1,null,3],"texts":["a b",null,"c,d","q\\"uote"],"grid":[[1,2],[3,4]],' +
    '"u":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","n":null}';
  assert.equal(receiver.requests.length, 1);
  assert.ok(receiver.requests[0].body.includes(`"upserts":[${expected}]`), `body holds the row exactly:\n${receiver.requests[0].body}`);
  const settings = await s.warehouse.query(`SELECT current_setting('TimeZone') AS tz, current_setting('DateStyle') AS ds, current_setting('bytea_output') AS bo`);
  assert.deepEqual(settings.rows[0], { tz: 'America/New_York', ds: 'SQL, DMY', bo: 'escape' });

  // The digest read the pinned forms too: publishing again under yet other settings finds nothing changed.
  await s.warehouse.query(`SET TimeZone = 'Asia/Kathmandu'; SET DateStyle = 'German'`);
  receiver.reset();
  const again = await s.publish(T2);
  assert.deepEqual([again.status, again.rows, receiver.requests.length], ['published', 0, 0]);
});

test('a receiver answering 500 twice then 200 accepts the batch once; a re-run of the timelabel sends nothing', async () => {
  const s = await scenario();
  await customers(s.warehouse, 3);
  receiver.script([{ status: 500 }, { status: 500 }]);

  const result = await s.publish(T1);
  assert.equal(result.status, 'published');
  assert.equal(receiver.requests.length, 3);
  assert.deepEqual(receiver.requests.map((r) => r.status), [500, 500, 200]);
  assert.equal(new Set(receiver.requests.map((r) => r.body)).size, 1, 'the same body every time');
  assert.deepEqual([...receiver.accepted], [[`reef:${INSTALLATION}:${s.slice}:${T1}:1`, 1]]);
  // Equal jitter at random() = 0.5: three quarters of 100 ms, then of 200 ms.
  assert.deepEqual(s.sleeps, [75, 150]);
  const [delivery] = await s.store.listDeliveries(s.slice, T1);
  assert.deepEqual([delivery.batch, delivery.batches, delivery.attempts, delivery.status, delivery.upserts, delivery.deletes], [1, 1, 3, 200, 3, 0]);
  assert.equal(await markerState(s, T1), 'delivered');

  const rerun = await s.publish(T1);
  assert.deepEqual([rerun.status, rerun.rows], ['already-published', 3]);
  assert.equal(receiver.requests.length, 3, 'nothing sent again');
});

test('429 with Retry-After waits at least that long; a Retry-After beyond maxDelayMs stops the attempts', async () => {
  const s = await scenario();
  await customers(s.warehouse, 2);
  receiver.script([{ status: 429, headers: { 'Retry-After': '3' } }]);
  await s.publish(T1);
  assert.deepEqual(receiver.requests.map((r) => r.status), [429, 200]);
  assert.deepEqual(s.sleeps, [3000], 'Retry-After 3 s, not the 75 ms backoff');

  await s.warehouse.query('UPDATE analytics.customer_ltv SET revenue = 7');
  receiver.reset();
  receiver.answer = () => ({ status: 429, headers: { 'Retry-After': '120' } });
  await assert.rejects(s.publish(T2), reefError(TransientError, 'webhook.undelivered', /429.*Retry-After 120 s, longer than retry\.maxDelayMs \(5000 ms\)/));
  assert.equal(receiver.requests.length, 1);
  assert.deepEqual(s.sleeps, [3000], 'no further wait');
  const [dead] = await s.store.listDeadLetters(s.slice, T2);
  assert.deepEqual([dead.lastStatus, dead.attempts, dead.code], [429, 1, 'webhook.undelivered']);
});

test('a 400 fails at once with a terminal error and a dead letter; once fixed, a re-run sends the same batch and resolves it', async () => {
  const s = await scenario();
  await customers(s.warehouse, 3);
  receiver.answer = () => ({ status: 400 });
  await assert.rejects(
    s.publish(T1),
    reefError(TerminalError, 'webhook.rejected', new RegExp(`batch 1 of 1 of ${s.slice} \\(analytics\\.customer_ltv at ${T1}\\) to http://127\\.0\\.0\\.1:\\d+/hooks/ltv: the receiver answered 400 Bad Request`)),
  );
  assert.equal(receiver.requests.length, 1, 'no retry');
  assert.deepEqual(s.sleeps, []);
  const [dead] = await s.store.listDeadLetters(s.slice);
  assert.deepEqual(
    { batch: dead.batch, attempts: dead.attempts, lastStatus: dead.lastStatus, code: dead.code, occurrences: dead.occurrences, resolved: dead.resolvedAt !== undefined },
    { batch: 1, attempts: 1, lastStatus: 400, code: 'webhook.rejected', occurrences: 1, resolved: false },
  );
  assert.equal(await markerState(s, T1), 'frozen', 'the timelabel is not recorded as delivered');

  const refused = receiver.requests[0];
  receiver.answer = () => ({ status: 204 });
  assert.equal((await s.publish(T1)).status, 'published');
  assert.equal(receiver.requests.length, 2);
  assert.equal(receiver.requests[1].body, refused.body);
  assert.equal(receiver.requests[1].headers['idempotency-key'], refused.headers['idempotency-key']);
  const [resolved] = await s.store.listDeadLetters(s.slice, T1);
  assert.ok(resolved.resolvedAt, 'the dead letter is marked resolved');
});

test('exhausting the retry budget writes a dead letter without row values and fails so the pass may retry later', async () => {
  const s = await scenario({ url: `${receiver.url}/hooks/ltv?token=query-token-never-shown` });
  await customers(s.warehouse, 3);
  await s.warehouse.query(`UPDATE analytics.customer_ltv SET name = 'Ada Lovelace' WHERE customer_id = 2`);
  receiver.answer = () => ({ status: 503 });
  let error: unknown;
  await s.publish(T1).catch((e: unknown) => (error = e));
  assert.ok(reefError(TransientError, 'webhook.undelivered', /the receiver answered 503 Service Unavailable \(request 3 of at most 3\)/)(error));
  assert.equal(receiver.requests.length, 3);
  assert.deepEqual(s.sleeps, [75, 150]);
  const [dead] = await s.store.listDeadLetters(s.slice, T1);
  assert.deepEqual(
    { batch: dead.batch, batches: dead.batches, attempts: dead.attempts, lastStatus: dead.lastStatus, upserts: dead.upserts, key: dead.idempotencyKey },
    { batch: 1, batches: 1, attempts: 3, lastStatus: 503, upserts: 3, key: `reef:${INSTALLATION}:${s.slice}:${T1}:1` },
  );
  const everything = JSON.stringify([dead, (error as Error).message]);
  for (const secret of ['Ada Lovelace', 'query-token-never-shown', KEY]) assert.ok(!everything.includes(secret), `${secret} appears nowhere`);

  // A receiver that is not there at all: network errors are retried the same way.
  await s.warehouse.query('UPDATE analytics.customer_ltv SET revenue = 1');
  const closed = await freePort();
  await assert.rejects(
    s.publish(T1, { config: { url: `http://127.0.0.1:${closed}/hooks/ltv` } }),
    reefError(TransientError, 'webhook.undelivered', /the connection failed \(ECONNREFUSED\)/),
  );
  const [again] = await s.store.listDeadLetters(s.slice, T1);
  assert.deepEqual([again.occurrences, again.lastStatus, again.attempts], [2, undefined, 3]);
});

test('a crash after batch 1 of 3 resumes with batches 2 and 3 only, from the frozen changes; the next timelabel sends what changed since', async () => {
  const s = await scenario({ batch: { maxBytes: 1024 } });
  await customers(s.warehouse, 9, 150);
  await assert.rejects(s.publish(T1, { faults: faultsFromEnv('publish.batch:1=throw') }), (e: unknown) => isReefError(e) && e.code === 'fault.injected');
  assert.deepEqual(receiver.bodies().map((b) => [b.batch, b.batches]), [[1, 3]]);
  const firstRows = ids(receiver.bodies()[0].upserts);

  // The dataset moves on before the re-run: the re-run still sends what was frozen for T1.
  await s.warehouse.query(`UPDATE analytics.customer_ltv SET revenue = 99 WHERE customer_id = 9`);
  const resumed = await s.publish(T1);
  assert.equal(resumed.status, 'published');
  assert.deepEqual(resumed.detail, { target: `${receiver.url}/hooks/ltv`, batches: 3, sent: 2, alreadyDelivered: 1, upserts: 9, deletes: 0, bytes: resumed.detail?.bytes, resumed: true });
  const bodies = receiver.bodies();
  assert.deepEqual(bodies.map((b) => [b.batch, b.batches]), [[1, 3], [2, 3], [3, 3]]);
  assert.ok([...receiver.accepted.values()].every((n) => n === 1), 'each batch accepted once');
  assert.equal(receiver.accepted.size, 3);
  assert.deepEqual(ids(bodies.flatMap((b) => b.upserts)), range(1, 9));
  assert.deepEqual(ids(bodies[0].upserts), firstRows);
  assert.equal(bodies.flatMap((b) => b.upserts).find((u) => u.customer_id === 9)?.revenue, '13.50', 'the frozen value, not the later one');

  receiver.reset();
  await s.publish(T2);
  assert.deepEqual(receiver.bodies().map((b) => b.upserts), [[{ customer_id: 9, name: 'customer 9'.padEnd(150, '.'), revenue: '99.00', updated_at: '2026-03-05T08:15:00.123456+00:00' }]]);
});

test('a crash after every batch was delivered but before the commit: the re-run sends nothing and commits', async () => {
  const s = await scenario({ batch: { maxBytes: 1024 } });
  await customers(s.warehouse, 6, 150);
  await assert.rejects(s.publish(T1, { faults: faultsFromEnv('publish.delivered=throw') }), (e: unknown) => isReefError(e) && e.code === 'fault.injected');
  const sent = receiver.requests.length;
  assert.ok(sent >= 2);
  assert.equal(await markerState(s, T1), 'frozen');
  const result = await s.publish(T1);
  assert.deepEqual([result.status, result.detail?.sent, receiver.requests.length], ['published', 0, sent]);
  assert.equal(await markerState(s, T1), 'delivered');
});

test('without keys rows are compared whole: a changed row is an upsert of the new row and a delete of the old one', async () => {
  const s = await scenario({ keys: undefined, dataset: 'shop.events' });
  await s.warehouse.query('CREATE SCHEMA shop; CREATE TABLE shop.events (kind text, n integer)');
  await s.warehouse.query(`INSERT INTO shop.events VALUES ('a', 1), ('b', 2), ('b', 2), ('c', NULL)`);
  await s.publish(T1);
  const first = receiver.bodies();
  assert.deepEqual(first.flatMap((b) => b.upserts).map((r) => JSON.stringify(r)).sort(), ['{"kind":"a","n":1}', '{"kind":"b","n":2}', '{"kind":"c","n":null}'], 'identical rows once');

  await s.warehouse.query(`UPDATE shop.events SET n = 3 WHERE kind = 'a'`);
  receiver.reset();
  await s.publish(T2);
  const [body] = receiver.bodies();
  assert.deepEqual([body.upserts, body.deletes], [[{ kind: 'a', n: 3 }], [{ kind: 'a', n: 1 }]]);
});

test('keys default to the dataset keys the pass gives; NULL or repeated keys, and a timelabel behind the last delivered, are refused', async () => {
  const s = await scenario({ keys: undefined });
  await customers(s.warehouse, 3);
  await s.warehouse.query('ALTER TABLE analytics.customer_ltv DROP CONSTRAINT customer_ltv_pkey, ALTER COLUMN customer_id DROP NOT NULL');
  await s.publish(T2, { keys: ['customer_id'] });
  await s.warehouse.query('UPDATE analytics.customer_ltv SET revenue = 5 WHERE customer_id = 3');
  receiver.reset();
  await s.publish(T3, { keys: ['customer_id'] });
  assert.deepEqual(receiver.bodies().map((b) => [ids(b.upserts), b.deletes]), [[[3], []]], 'keyed by customer_id: an update, not a delete and an insert');

  await assert.rejects(s.publish(T1, { keys: ['customer_id'] }), reefError(TerminalError, 'webhook.behind', new RegExp(`asked for ${T1}, older than ${T2}`)));

  await s.warehouse.query(`INSERT INTO analytics.customer_ltv VALUES (3, 'again', 1, now())`);
  await assert.rejects(s.publish('20260305110000', { keys: ['customer_id'] }), reefError(TerminalError, 'webhook.duplicate-key', /more than one row with key customer_id=3/));
  await s.warehouse.query(`DELETE FROM analytics.customer_ltv WHERE name = 'again'; INSERT INTO analytics.customer_ltv VALUES (NULL, 'nobody', 1, now())`);
  await assert.rejects(s.publish('20260305110000', { keys: ['customer_id'] }), reefError(TerminalError, 'webhook.null-key'));
});

test('a row larger than maxBytes is a terminal error naming its key; nothing is sent', async () => {
  const s = await scenario({ batch: { maxBytes: 1024 } });
  await customers(s.warehouse, 3, 50);
  await s.warehouse.query(`UPDATE analytics.customer_ltv SET name = repeat('x', 2000) WHERE customer_id = 2`);
  await assert.rejects(s.publish(T1), reefError(TerminalError, 'webhook.row-too-large', /the row with key \{"customer_id":2\} of analytics\.customer_ltv is \d+ bytes as JSON.*more than batch\.maxBytes \(1024\)/));
  assert.equal(receiver.requests.length, 0);
});
