/**
 * Delivery records and dead letters against dynalite through the real SDK
 * clients: each is one conditional write; a retried write is answered with
 * what is stored, a different request under the same batch is a conflict;
 * dead letters count their occurrences and are resolved by a later delivery.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { TerminalError } from '../errors.ts';
import type { Running } from '../local/standins.ts';
import { startDynamo } from '../local/standins.ts';
import type { DeadLetterInput, DeliveredBatchInput } from './deliveries.ts';
import { MetadataStore } from './store.ts';

let dynamo: Running<DynamoDBClient>;

before(async () => {
  dynamo = await startDynamo(undefined);
});

after(async () => {
  await dynamo.stop();
});

let clock = Date.parse('2026-03-05T09:10:00.000Z');
let tables = 0;

async function newStore(pageSize?: number): Promise<{ store: MetadataStore; tableName: string }> {
  const tableName = `reef-deliveries-${++tables}`;
  clock = Date.parse('2026-03-05T09:10:00.000Z');
  const store = new MetadataStore({ client: dynamo.client, tableName, now: () => new Date(clock), pageSize });
  await store.ensureTable();
  return { store, tableName };
}

const S = 'crm';
const T1 = '20260305080000';
const T2 = '20260305090000';

function delivery(batch: number, extra: Partial<DeliveredBatchInput> = {}): DeliveredBatchInput {
  return {
    slice: S,
    dataset: 'analytics.customer_ltv',
    timelabel: T1,
    batch,
    batches: 12,
    idempotencyKey: `reef:acme:${S}:${T1}:${batch}`,
    bodySha256: `sha-${batch}`,
    bytes: 1000 + batch,
    upserts: 10,
    deletes: 1,
    status: 200,
    attempts: 1,
    runId: 'run-1',
    ...extra,
  };
}

function deadLetter(batch: number, extra: Partial<DeadLetterInput> = {}): DeadLetterInput {
  const { status: _status, ...d } = delivery(batch);
  return { ...d, lastStatus: 503, lastError: 'the receiver answered 503 Service Unavailable', code: 'webhook.undelivered', attempts: 5, ...extra };
}

const conflict = (e: unknown): boolean => {
  assert.ok(e instanceof TerminalError, `expected a TerminalError, got ${String(e)}`);
  assert.equal(e.code, 'metadata.conflict');
  return true;
};

test('a delivery is recorded once under the slice partition; the same batch again answers it, another body under its number is a conflict', async () => {
  const { store, tableName } = await newStore();
  const first = await store.recordDelivery(delivery(2));
  assert.equal(first.deliveredAt, '2026-03-05T09:10:00.000Z');

  clock += 60_000;
  const retried = await store.recordDelivery({ ...delivery(2), attempts: 3, runId: 'run-2' });
  assert.deepEqual(retried, first, 'the stored record, not the retry');
  await assert.rejects(store.recordDelivery(delivery(2, { bodySha256: 'other' })), conflict);

  const doc = DynamoDBDocumentClient.from(dynamo.client);
  const item = await doc.send(new GetCommand({ TableName: tableName, Key: { pk: `SLICE#${S}#DELIVERIES`, sk: `${T1}#000002` } }));
  assert.equal(item.Item?.idempotencyKey, `reef:acme:${S}:${T1}:2`);
});

test('deliveries are listed per timelabel in batch order, across pages', async () => {
  const { store } = await newStore(2);
  for (const b of [11, 2, 1, 10]) await store.recordDelivery(delivery(b));
  await store.recordDelivery(delivery(1, { timelabel: T2, idempotencyKey: 'other-timelabel' }));
  assert.deepEqual((await store.listDeliveries(S, T1)).map((d) => d.batch), [1, 2, 10, 11]);
  assert.deepEqual((await store.listDeliveries(S, T2)).map((d) => d.idempotencyKey), ['other-timelabel']);
  assert.deepEqual(await store.listDeliveries('other', T1), []);
});

test('bad input is refused before any write: a non-2xx status, a batch past the count, a name with #', async () => {
  const { store } = await newStore();
  await assert.rejects(store.recordDelivery(delivery(1, { status: 500 })), /delivery status is 500; expected a 2xx/);
  await assert.rejects(store.recordDelivery(delivery(13)), /delivery batches is 12; expected an integer of at least the batch number 13/);
  await assert.rejects(store.recordDelivery(delivery(0)), /delivery batch 0 is outside 1\.\.999999/);
  await assert.rejects(store.recordDelivery(delivery(1, { slice: 'a#b' })), /contains '#'/);
  assert.deepEqual(await store.listDeliveries(S, T1), []);
});

test('a dead letter counts its occurrences, keeps the latest failure, is resolved by a delivery and reopened by a later failure', async () => {
  const { store } = await newStore();
  const first = await store.recordDeadLetter(deadLetter(3));
  assert.deepEqual([first.occurrences, first.lastStatus, first.failedAt, first.resolvedAt], [1, 503, '2026-03-05T09:10:00.000Z', undefined]);

  clock += 60_000;
  const second = await store.recordDeadLetter(deadLetter(3, { lastStatus: undefined, lastError: 'the connection failed (ECONNREFUSED)', attempts: 2 }));
  assert.deepEqual([second.occurrences, second.lastStatus, second.lastError, second.attempts], [2, undefined, 'the connection failed (ECONNREFUSED)', 2]);

  assert.equal(await store.resolveDeadLetter(S, T1, 3), true);
  assert.equal(await store.resolveDeadLetter(S, T1, 3), false, 'resolved once');
  assert.equal(await store.resolveDeadLetter(S, T1, 4), false, 'nothing to resolve');
  assert.equal((await store.listDeadLetters(S, T1))[0].resolvedAt, '2026-03-05T09:11:00.000Z');

  const third = await store.recordDeadLetter(deadLetter(3, { code: 'webhook.rejected', lastStatus: 400 }));
  assert.deepEqual([third.occurrences, third.code, third.resolvedAt], [3, 'webhook.rejected', undefined]);

  await assert.rejects(store.recordDeadLetter(deadLetter(3, { idempotencyKey: 'another-request' })), conflict);
  await store.recordDeadLetter(deadLetter(1, { timelabel: T2, idempotencyKey: 'other-timelabel' }));
  assert.deepEqual((await store.listDeadLetters(S)).map((d) => [d.timelabel, d.batch]), [[T1, 3], [T2, 1]]);
});
