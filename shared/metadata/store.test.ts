/**
 * The metadata access layer against dynalite through the real SDK clients.
 * Crashes and races are staged with SDK middleware on a second client (a
 * request that fails or is overtaken on its way out), never with a fake table.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { TerminalError, TransientError } from '../errors.ts';
import type { Running } from '../local/standins.ts';
import { freePort, localDynamoClient, startDynamo } from '../local/standins.ts';
import type { ColumnSchema, DatasetSchema } from '../schema.ts';
import { MetadataStore } from './store.ts';
import type { BatchRecord } from './types.ts';

let dynamo: Running<DynamoDBClient>;
const extraClients: DynamoDBClient[] = [];

before(async () => {
  dynamo = await startDynamo(undefined);
});

after(async () => {
  for (const c of extraClients) c.destroy();
  await dynamo.stop();
});

class Clock {
  t = Date.parse('2026-03-05T09:10:00.000Z');
  now = (): Date => new Date(this.t);
  advance(seconds: number): void {
    this.t += seconds * 1000;
  }
}

let tables = 0;

async function newStore(options: { clock?: Clock; pageSize?: number; client?: DynamoDBClient; tableName?: string } = {}): Promise<MetadataStore> {
  const store = new MetadataStore({
    client: options.client ?? dynamo.client,
    tableName: options.tableName ?? `reef-meta-${++tables}`,
    now: options.clock?.now,
    pageSize: options.pageSize,
  });
  await store.ensureTable();
  return store;
}

/**
 * A second client on the same dynalite whose outgoing requests pass through
 * `intercept` first: it may throw (a crash before the request lands) or do
 * other writes (a competitor that gets there first).
 */
function interceptedClient(intercept: (command: string, input: string) => Promise<void>): DynamoDBClient {
  const client = localDynamoClient(dynamo.endpoint);
  extraClients.push(client);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      await intercept(context.commandName ?? '', JSON.stringify(args.input));
      return next(args);
    },
    { step: 'initialize', name: 'reefTestIntercept' },
  );
  return client;
}

function rejectsWith(code: string, kind: typeof TerminalError | typeof TransientError, category = 'internal') {
  return (e: unknown): boolean => {
    assert.ok(e instanceof kind, `expected ${kind.name}, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.equal(e.category, category);
    return true;
  };
}

const S = 'shop';
const LU = 'orders';
const T1 = '20260305070000';
const T2 = '20260305080000';
const T3 = '20260305090000';
const ref = { slice: S, loadunit: LU, timelabel: T2 };

async function running(store: MetadataStore, owner: string, timelabel = T2, loadunit = LU): Promise<BatchRecord> {
  await store.createBatch({ slice: S, loadunit, dataset: 'shop.orders', timelabel });
  const r = await store.startBatch({ slice: S, loadunit, timelabel, owner, leaseSeconds: 300 });
  assert.equal(r.outcome, 'started');
  return r.batch;
}

const figures = (rows: number) => ({ rows, files: 1, bytes: rows * 10 });

describe('table', () => {
  test('ensureTable creates an on-demand pk/sk table once and is idempotent', async () => {
    const store = await newStore();
    await store.ensureTable();
    const { Table } = await dynamo.client.send(new DescribeTableCommand({ TableName: store.tableName }));
    assert.equal(Table?.TableStatus, 'ACTIVE');
    assert.equal(Table?.BillingModeSummary?.BillingMode, 'PAY_PER_REQUEST');
    assert.deepEqual(Table?.KeySchema, [
      { AttributeName: MetadataStore.keyAttributes.partitionKey, KeyType: 'HASH' },
      { AttributeName: MetadataStore.keyAttributes.sortKey, KeyType: 'RANGE' },
    ]);
    assert.deepEqual(MetadataStore.keyAttributes, { partitionKey: 'pk', sortKey: 'sk' });
  });

  test('a missing table is a terminal error that says what to create', async () => {
    const store = new MetadataStore({ client: dynamo.client, tableName: 'never-created' });
    await assert.rejects(store.getBatch(S, LU, T1), rejectsWith('metadata.table-missing', TerminalError));
  });

  test('an unreachable DynamoDB is a transient error', async () => {
    const port = await freePort();
    const client = localDynamoClient(`http://127.0.0.1:${port}`);
    extraClients.push(client);
    const store = new MetadataStore({ client, tableName: 't' });
    await assert.rejects(store.getSliceConfig(S), rejectsWith('metadata.unavailable', TransientError));
  });

  test('names that would break the key layout are refused before any request', async () => {
    const store = await newStore();
    await assert.rejects(
      store.createBatch({ slice: S, loadunit: 'a#b', dataset: 'shop.a', timelabel: T1 }),
      rejectsWith('metadata.invalid-key', TerminalError, 'config'),
    );
    await assert.rejects(
      store.createBatch({ slice: 'x#SCHEMA', loadunit: LU, dataset: 'shop.a', timelabel: T1 }),
      rejectsWith('metadata.invalid-key', TerminalError, 'config'),
    );
    await assert.rejects(
      store.createBatch({ slice: S, loadunit: LU, dataset: 'shop.a', timelabel: '2026030507' }),
      rejectsWith('metadata.invalid-key', TerminalError, 'config'),
    );
    assert.deepEqual(await store.listBatches(S), []);
  });
});

describe('configs', () => {
  test('installation config round-trips', async () => {
    const store = await newStore();
    assert.equal(await store.getInstallationConfig(), undefined);
    const settings = { warehouse: { kind: 'redshift', database: '' }, tags: [], retries: 3 };
    const put = await store.putInstallationConfig('acme', settings);
    assert.deepEqual(await store.getInstallationConfig(), put);
    assert.deepEqual(put.settings, settings);
  });

  test('slice config: versions, exact round-trip, unchanged writes nothing, validation first', async () => {
    const clock = new Clock();
    const store = await newStore({ clock });
    const validate = (type: string, config: unknown): void => {
      if ((config as { bad?: boolean }).bad) throw new TerminalError('config', `${type}: bad is true; expected false`);
    };
    const config = { host: 'db', port: 5432, empty: '', nested: { list: [1, 'two', null, { deep: [] }] }, big: 1e300, precise: 2 ** 60, unicode: 'Ω🐟' };
    const v1 = await store.putSliceConfig({ slice: S, type: 'collect/postgres', config }, validate);
    assert.equal(v1.version, 1);
    assert.deepEqual(v1.config, config);
    assert.deepEqual(await store.getSliceConfig(S), v1);

    clock.advance(60);
    const reordered = { unicode: 'Ω🐟', precise: 2 ** 60, big: 1e300, nested: { list: [1, 'two', null, { deep: [] }] }, empty: '', port: 5432, host: 'db' };
    const same = await store.putSliceConfig({ slice: S, type: 'collect/postgres', config: reordered }, validate);
    assert.deepEqual(same, v1, 'an unchanged config returns the stored record');
    assert.deepEqual(await store.getSliceConfig(S), v1, 'and writes nothing (updatedAt unchanged)');

    await assert.rejects(
      store.putSliceConfig({ slice: S, type: 'collect/postgres', config: { ...config, bad: true } }, validate),
      rejectsWith('config', TerminalError, 'config'),
    );
    await assert.rejects(
      store.putSliceConfig({ slice: 'other', type: 'collect/postgres', config: { bad: true } }, validate),
      rejectsWith('config', TerminalError, 'config'),
    );
    await assert.rejects(
      store.putSliceConfig({ slice: S, type: 'collect/postgres', config: { port: Number.NaN } }, validate),
      rejectsWith('metadata.not-json', TerminalError, 'config'),
    );
    assert.deepEqual(await store.getSliceConfig(S), v1, 'a rejected config leaves the stored one');
    assert.equal(await store.getSliceConfig('other'), undefined, 'a rejected first config writes nothing');

    const v2 = await store.putSliceConfig({ slice: S, type: 'collect/postgres', config: { ...config, port: 5433 } }, validate);
    assert.equal(v2.version, 2);
    assert.equal(v2.updatedAt, '2026-03-05T09:11:00.000Z');
    assert.deepEqual(await store.getSliceConfig(S), v2);
  });

  test('slice config: a concurrent writer wins and the other gets a transient conflict', async () => {
    const tableName = `reef-meta-${++tables}`;
    const rival = await newStore({ tableName });
    const validate = (): void => {};
    await rival.putSliceConfig({ slice: S, type: 'collect/postgres', config: { port: 1 } }, validate);
    let overtaken = false;
    const client = interceptedClient(async (command) => {
      // The rival writes version 2 after this store read version 1 and before its write lands.
      if (command === 'PutItemCommand' && !overtaken) {
        overtaken = true;
        await rival.putSliceConfig({ slice: S, type: 'collect/postgres', config: { port: 2 } }, validate);
      }
    });
    const store = new MetadataStore({ client, tableName });
    await assert.rejects(
      store.putSliceConfig({ slice: S, type: 'collect/postgres', config: { port: 3 } }, validate),
      rejectsWith('metadata.conflict', TransientError),
    );
    const stored = await rival.getSliceConfig(S);
    assert.equal(stored?.version, 2);
    assert.deepEqual(stored?.config, { port: 2 });
  });

  test('listSliceConfigs finds every slice across scan pages and nothing else', async () => {
    const store = await newStore({ pageSize: 2 });
    for (const slice of ['c', 'a', 'b']) {
      await store.putSliceConfig({ slice, type: 'collect/postgres', config: { slice } }, () => {});
      await store.createBatch({ slice, loadunit: LU, dataset: 'x.y', timelabel: T1 });
    }
    await store.putInstallationConfig('acme', {});
    const all = await store.listSliceConfigs();
    assert.deepEqual(
      all.map((c) => [c.slice, c.config]),
      [['a', { slice: 'a' }], ['b', { slice: 'b' }], ['c', { slice: 'c' }]],
    );
  });
});

describe('batches', () => {
  test('createBatch is idempotent and leaves an existing batch untouched', async () => {
    const clock = new Clock();
    const store = await newStore({ clock });
    const first = await store.createBatch({ slice: S, loadunit: LU, dataset: 'shop.orders', timelabel: T2 });
    assert.deepEqual(first, { slice: S, loadunit: LU, dataset: 'shop.orders', timelabel: T2, status: 'pending', attempts: 0, createdAt: '2026-03-05T09:10:00.000Z' });
    clock.advance(10);
    assert.deepEqual(await store.createBatch({ slice: S, loadunit: LU, dataset: 'shop.other', timelabel: T2 }), first);
    const started = await store.startBatch({ ...ref, owner: 'run-1', leaseSeconds: 60 });
    assert.deepEqual(await store.createBatch({ slice: S, loadunit: LU, dataset: 'shop.orders', timelabel: T2 }), started.batch);
    assert.equal((await store.listBatches(S)).length, 1);
  });

  test('the status machine allows only its transitions', async () => {
    const clock = new Clock();
    const store = await newStore({ clock });
    const err = { name: 'Reef.Terminal', category: 'source', code: 'source.gone', message: 'table vanished' };
    const pending = await store.createBatch({ slice: S, loadunit: LU, dataset: 'shop.orders', timelabel: T2 });

    // pending: nothing but start
    await assert.rejects(store.commitBatch({ ...ref, owner: 'a', figures: figures(1), manifestKey: 'm', schemaVersion: 1 }), rejectsWith('metadata.not-owner', TerminalError));
    await assert.rejects(store.fixBatchCursor({ ...ref, owner: 'a', cursor: { from: null, to: '1' } }), rejectsWith('metadata.not-owner', TerminalError));
    assert.deepEqual(await store.failBatch({ ...ref, owner: 'a', error: err }), pending);
    assert.deepEqual(await store.getBatch(S, LU, T2), pending);

    // pending → running
    clock.advance(1);
    const s1 = await store.startBatch({ ...ref, owner: 'a', leaseSeconds: 60 });
    assert.equal(s1.outcome, 'started');
    assert.equal(s1.batch.status, 'running');
    assert.equal(s1.batch.owner, 'a');
    assert.equal(s1.batch.attempts, 1);
    assert.equal(s1.batch.startedAt, '2026-03-05T09:10:01.000Z');
    assert.equal(s1.batch.leaseUntil, '2026-03-05T09:11:01.000Z');

    // running by the same owner (a Step Functions retry) → started again, lease renewed
    clock.advance(1);
    const again = await store.startBatch({ ...ref, owner: 'a', leaseSeconds: 60 });
    assert.equal(again.outcome, 'started');
    assert.equal(again.batch.attempts, 2);
    assert.equal(again.batch.leaseUntil, '2026-03-05T09:11:02.000Z');

    // running with a live lease by another owner → busy, unchanged
    const busy = await store.startBatch({ ...ref, owner: 'b', leaseSeconds: 60 });
    assert.equal(busy.outcome, 'busy');
    assert.deepEqual(busy.batch, again.batch);
    assert.deepEqual(await store.getBatch(S, LU, T2), again.batch);

    // running → failed
    clock.advance(1);
    const failed = await store.failBatch({ ...ref, owner: 'a', error: err });
    assert.equal(failed.status, 'failed');
    assert.deepEqual(failed.error, err);
    assert.equal(failed.finishedAt, '2026-03-05T09:10:03.000Z');
    assert.equal(failed.owner, undefined);
    assert.equal(failed.leaseUntil, undefined);

    // failed: not committable, not fixable, a second fail changes nothing
    await assert.rejects(store.commitBatch({ ...ref, owner: 'a', figures: figures(1), manifestKey: 'm', schemaVersion: 1 }), rejectsWith('metadata.not-owner', TerminalError));
    await assert.rejects(store.fixBatchCursor({ ...ref, owner: 'a', cursor: { from: null, to: '1' } }), rejectsWith('metadata.not-owner', TerminalError));
    assert.deepEqual(await store.failBatch({ ...ref, owner: 'a', error: { ...err, code: 'other' } }), failed);
    assert.deepEqual(await store.getBatch(S, LU, T2), failed);

    // failed → running, error and finish time cleared
    clock.advance(1);
    const retry = await store.startBatch({ ...ref, owner: 'b', leaseSeconds: 60 });
    assert.equal(retry.outcome, 'started');
    assert.equal(retry.batch.owner, 'b');
    assert.equal(retry.batch.attempts, 3);
    assert.equal(retry.batch.error, undefined);
    assert.equal(retry.batch.finishedAt, undefined);

    // running → committed
    clock.advance(1);
    const committed = await store.commitBatch({ ...ref, owner: 'b', figures: figures(5), manifestKey: 'lake/shop/orders/m.json', schemaVersion: 2 });
    assert.equal(committed.status, 'committed');
    assert.deepEqual(committed.figures, figures(5));
    assert.equal(committed.manifestKey, 'lake/shop/orders/m.json');
    assert.equal(committed.schemaVersion, 2);
    assert.equal(committed.finishedAt, '2026-03-05T09:10:05.000Z');
    assert.equal(committed.owner, undefined);
    assert.equal(committed.leaseUntil, undefined);
    assert.equal('committedBy' in committed, false, 'internal attributes stay inside the store');
    assert.equal('pk' in committed, false);

    // committed: terminal
    clock.advance(1);
    const c = await store.startBatch({ ...ref, owner: 'c', leaseSeconds: 60 });
    assert.equal(c.outcome, 'committed');
    assert.deepEqual(c.batch, committed);
    assert.deepEqual(await store.failBatch({ ...ref, owner: 'b', error: err }), committed);
    await assert.rejects(store.fixBatchCursor({ ...ref, owner: 'b', cursor: { from: null, to: '1' } }), rejectsWith('metadata.not-owner', TerminalError));
    await assert.rejects(store.commitBatch({ ...ref, owner: 'c', figures: figures(1), manifestKey: 'm', schemaVersion: 1 }), rejectsWith('metadata.not-owner', TerminalError));
    assert.deepEqual(await store.getBatch(S, LU, T2), committed);
  });

  test('a missing batch is a terminal internal error for every transition', async () => {
    const store = await newStore();
    const missing = rejectsWith('metadata.batch-missing', TerminalError);
    await assert.rejects(store.startBatch({ ...ref, owner: 'a', leaseSeconds: 60 }), missing);
    await assert.rejects(store.commitBatch({ ...ref, owner: 'a', figures: figures(1), manifestKey: 'm', schemaVersion: 1 }), missing);
    await assert.rejects(store.failBatch({ ...ref, owner: 'a', error: { name: 'x', category: 'internal', code: 'x', message: 'x' } }), missing);
    await assert.rejects(store.fixBatchCursor({ ...ref, owner: 'a', cursor: { from: null, to: null } }), missing);
    assert.deepEqual(await store.listBatches(S), [], 'no transition created a batch');
  });

  test('two concurrent starts by different owners: exactly one starts, the other is busy', async () => {
    const store = await newStore();
    for (let i = 0; i < 5; i++) {
      const timelabel = `202603050${i}0000`;
      await store.createBatch({ slice: S, loadunit: LU, dataset: 'shop.orders', timelabel });
      const results = await Promise.all(
        ['run-a', 'run-b'].map((owner) => store.startBatch({ slice: S, loadunit: LU, timelabel, owner, leaseSeconds: 300 })),
      );
      const outcomes = results.map((r) => r.outcome).sort();
      assert.deepEqual(outcomes, ['busy', 'started']);
      const winner = results.find((r) => r.outcome === 'started')!.batch.owner;
      const stored = await store.getBatch(S, LU, timelabel);
      assert.equal(stored?.owner, winner);
      assert.equal(stored?.attempts, 1);
    }
  });

  test('an expired lease is taken over and the old owner can no longer change the batch', async () => {
    const clock = new Clock();
    const store = await newStore({ clock });
    await running(store, 'old');
    await store.fixBatchCursor({ ...ref, owner: 'old', cursor: { from: '10', to: '20' } });
    clock.advance(299);
    assert.equal((await store.startBatch({ ...ref, owner: 'new', leaseSeconds: 300 })).outcome, 'busy');
    clock.advance(2);
    const taken = await store.startBatch({ ...ref, owner: 'new', leaseSeconds: 300 });
    assert.equal(taken.outcome, 'started');
    assert.equal(taken.batch.owner, 'new');
    assert.equal(taken.batch.attempts, 2);
    assert.deepEqual(taken.batch.cursor, { from: '10', to: '20' }, 'the cursor range survives a takeover');

    await assert.rejects(
      store.commitBatch({ ...ref, owner: 'old', figures: figures(9), manifestKey: 'm', schemaVersion: 1 }),
      rejectsWith('metadata.not-owner', TerminalError),
    );
    await assert.rejects(store.fixBatchCursor({ ...ref, owner: 'old', cursor: { from: '0', to: '99' } }), rejectsWith('metadata.not-owner', TerminalError));
    const afterFail = await store.failBatch({ ...ref, owner: 'old', error: { name: 'x', category: 'source', code: 'x', message: 'x' } });
    assert.deepEqual(afterFail, taken.batch, 'a stale owner failing the batch changes nothing');
    assert.equal((await store.getLoadunitState(S, LU)), undefined);
  });

  test('fixBatchCursor keeps the first range, also across a failed attempt', async () => {
    const store = await newStore();
    await running(store, 'a');
    assert.deepEqual(await store.fixBatchCursor({ ...ref, owner: 'a', cursor: { from: null, to: '2026-03-05 08:59:59' } }), { from: null, to: '2026-03-05 08:59:59' });
    assert.deepEqual(await store.fixBatchCursor({ ...ref, owner: 'a', cursor: { from: null, to: '2026-03-05 09:30:00' } }), { from: null, to: '2026-03-05 08:59:59' });
    await store.failBatch({ ...ref, owner: 'a', error: { name: 'x', category: 'source', code: 'x', message: '' } });
    await store.startBatch({ ...ref, owner: 'b', leaseSeconds: 60 });
    assert.deepEqual(await store.fixBatchCursor({ ...ref, owner: 'b', cursor: { from: '1', to: '2' } }), { from: null, to: '2026-03-05 08:59:59' });
    assert.deepEqual((await store.getBatch(S, LU, T2))?.cursor, { from: null, to: '2026-03-05 08:59:59' });
  });

  test('a commit by the wrong owner is rejected with what was expected and found, and changes nothing', async () => {
    const store = await newStore();
    const batch = await running(store, 'right');
    await assert.rejects(
      store.commitBatch({ ...ref, owner: 'wrong', figures: figures(3), manifestKey: 'm', schemaVersion: 1 }),
      (e: unknown) => {
        assert.ok(e instanceof TerminalError);
        assert.equal(e.code, 'metadata.not-owner');
        assert.equal(e.category, 'internal');
        assert.match(e.message, /shop\/orders\/20260305080000/);
        assert.match(e.message, /expected status running with owner wrong/);
        assert.match(e.message, /found status running with owner right/);
        return true;
      },
    );
    assert.deepEqual(await store.getBatch(S, LU, T2), batch);
    assert.equal(await store.getLoadunitState(S, LU), undefined);
  });

  test('listBatches orders by loadunit then timelabel across pages; a loadunit prefix does not leak', async () => {
    const store = await newStore({ pageSize: 2 });
    const make = (loadunit: string, timelabel: string, slice = S) => store.createBatch({ slice, loadunit, dataset: `shop.${loadunit}`, timelabel });
    await make('orders_archive', T1);
    await make('orders', T3);
    await make('customers', T2);
    await make('orders', T1);
    await make('orders', T2);
    await make('orders', T1, 'shop2');
    await store.putSliceConfig({ slice: S, type: 'collect/postgres', config: {} }, () => {});
    const all = await store.listBatches(S);
    assert.deepEqual(
      all.map((b) => `${b.loadunit}@${b.timelabel}`),
      [`customers@${T2}`, `orders@${T1}`, `orders@${T2}`, `orders@${T3}`, `orders_archive@${T1}`],
    );
    assert.deepEqual(
      (await store.listBatches(S, 'orders')).map((b) => b.timelabel),
      [T1, T2, T3],
    );
    assert.deepEqual(await store.listBatches(S, 'nothing'), []);
  });

  test('latestCommittedBatch skips newer uncommitted batches, across pages', async () => {
    const store = await newStore({ pageSize: 1 });
    assert.equal(await store.latestCommittedBatch(S, LU), undefined);
    for (const tl of [T1, T2]) {
      await running(store, 'a', tl);
      await store.commitBatch({ slice: S, loadunit: LU, timelabel: tl, owner: 'a', figures: figures(1), manifestKey: tl, schemaVersion: 1 });
    }
    await running(store, 'a', T3);
    await store.createBatch({ slice: S, loadunit: LU, dataset: 'shop.orders', timelabel: '20260305100000' });
    await running(store, 'a', T3, 'orders_archive');
    await store.commitBatch({ slice: S, loadunit: 'orders_archive', timelabel: T3, owner: 'a', figures: figures(1), manifestKey: 'x', schemaVersion: 1 });
    assert.equal((await store.latestCommittedBatch(S, LU))?.timelabel, T2);
  });

  test('recoverInterrupted fails every running batch of the slice and nothing else', async () => {
    const store = await newStore();
    await running(store, 'a', T1);
    await running(store, 'b', T2, 'customers');
    await running(store, 'c', T3);
    await store.commitBatch({ slice: S, loadunit: LU, timelabel: T3, owner: 'c', figures: figures(1), manifestKey: 'm', schemaVersion: 1 });
    const pending = await store.createBatch({ slice: S, loadunit: LU, dataset: 'shop.orders', timelabel: T2 });
    await store.createBatch({ slice: 'other', loadunit: LU, dataset: 'other.orders', timelabel: T1 });
    const otherRunning = await store.startBatch({ slice: 'other', loadunit: LU, timelabel: T1, owner: 'o', leaseSeconds: 60 });

    const changed = await store.recoverInterrupted(S);
    assert.deepEqual(
      changed.map((b) => [b.loadunit, b.timelabel, b.status, b.error?.code]),
      [
        ['customers', T2, 'failed', 'batch.interrupted'],
        [LU, T1, 'failed', 'batch.interrupted'],
      ],
    );
    assert.match(changed[1].error!.message, /owner a/);
    assert.equal(changed[1].error!.name, 'Reef.Transient');
    assert.deepEqual(await store.getBatch(S, LU, T2), pending);
    assert.equal((await store.getBatch(S, LU, T3))?.status, 'committed');
    assert.deepEqual(await store.getBatch('other', LU, T1), otherRunning.batch);
    assert.deepEqual(await store.recoverInterrupted(S), []);
    assert.equal((await store.startBatch({ slice: S, loadunit: LU, timelabel: T1, owner: 'd', leaseSeconds: 60 })).outcome, 'started');
  });

  test('reopenBatch sends committed and failed work back to pending, never a running or missing one', async () => {
    const store = await newStore();
    await running(store, 'a', T1);
    await store.commitBatch({ slice: S, loadunit: LU, timelabel: T1, owner: 'a', figures: figures(3), manifestKey: 'm', schemaVersion: 1 });
    await running(store, 'b', T2);
    await store.failBatch({ slice: S, loadunit: LU, timelabel: T2, owner: 'b', error: { name: 'Reef.Terminal', category: 'target', code: 'x', message: 'boom' } });
    await running(store, 'c', T3);

    const committed = await store.reopenBatch({ slice: S, loadunit: LU, timelabel: T1, reason: 'backfill 1' });
    assert.equal(committed.reopened, true);
    assert.equal(committed.batch.status, 'pending');
    assert.equal(committed.batch.reopened?.reason, 'backfill 1');
    const failed = await store.reopenBatch({ slice: S, loadunit: LU, timelabel: T2, reason: 'backfill 2' });
    assert.deepEqual([failed.reopened, failed.batch.status, failed.batch.error], [true, 'pending', undefined]);
    const held = await store.reopenBatch({ slice: S, loadunit: LU, timelabel: T3, reason: 'backfill 3' });
    assert.deepEqual([held.reopened, held.batch.status, held.batch.owner], [false, 'running', 'c'], 'a running batch stays with its holder');
    await assert.rejects(store.reopenBatch({ slice: S, loadunit: LU, timelabel: '20260305120000', reason: 'x' }), /reopenBatch/);
    assert.equal((await store.startBatch({ slice: S, loadunit: LU, timelabel: T1, owner: 'd', leaseSeconds: 60 })).outcome, 'started', 'a reopened batch runs again');
  });
});

describe('loadunit pointer', () => {
  test('moves forward only, counts rows once, and carries the cursor', async () => {
    const store = await newStore();
    const commit = (timelabel: string, owner: string, rows: number) =>
      store.commitBatch({ slice: S, loadunit: LU, timelabel, owner, figures: figures(rows), manifestKey: `m/${timelabel}`, schemaVersion: 1 });

    await running(store, 'a', T2);
    await store.fixBatchCursor({ slice: S, loadunit: LU, timelabel: T2, owner: 'a', cursor: { from: null, to: '200' } });
    const c2 = await commit(T2, 'a', 20);
    let state = await store.getLoadunitState(S, LU);
    assert.equal(state?.lastCommittedTimelabel, T2);
    assert.equal(state?.cursor, '200');
    assert.equal(state?.totalRows, 20);
    assert.equal(state?.dataset, 'shop.orders');
    assert.deepEqual(state?.lastFigures, figures(20));

    // the same run commits again (a retry): same record, no double count
    assert.deepEqual(await commit(T2, 'a', 20), c2);
    assert.equal((await store.getLoadunitState(S, LU))?.totalRows, 20);

    // an older timelabel commits later (a backfill): the pointer stays
    await running(store, 'b', T1);
    await store.fixBatchCursor({ slice: S, loadunit: LU, timelabel: T1, owner: 'b', cursor: { from: null, to: '100' } });
    await commit(T1, 'b', 10);
    assert.deepEqual(await store.getLoadunitState(S, LU), state);

    // a newer one moves it
    await running(store, 'c', T3);
    await commit(T3, 'c', 30);
    state = await store.getLoadunitState(S, LU);
    assert.equal(state?.lastCommittedTimelabel, T3);
    assert.equal(state?.cursor, null, 'a batch without a cursor range (a snapshot) leaves no cursor');
    assert.equal(state?.totalRows, 50);
    assert.deepEqual(
      (await store.listLoadunitStates(S)).map((s) => [s.loadunit, s.lastCommittedTimelabel]),
      [[LU, T3]],
    );
  });

  test('a crash between the batch write and the pointer flip is repaired, by a retry or by repairLoadunitPointer', async () => {
    const tableName = `reef-meta-${++tables}`;
    const store = await newStore({ tableName });
    const crashing = new MetadataStore({
      client: interceptedClient(async (command, input) => {
        if (command === 'UpdateItemCommand' && input.includes('LOADUNIT#')) throw new Error('simulated crash before the pointer flip');
      }),
      tableName,
    });

    await running(store, 'a', T1);
    await store.commitBatch({ slice: S, loadunit: LU, timelabel: T1, owner: 'a', figures: figures(10), manifestKey: 'm1', schemaVersion: 1 });

    // T2: the batch write lands, the pointer flip does not
    await running(store, 'b', T2);
    await assert.rejects(crashing.commitBatch({ slice: S, loadunit: LU, timelabel: T2, owner: 'b', figures: figures(20), manifestKey: 'm2', schemaVersion: 1 }));
    assert.equal((await store.getBatch(S, LU, T2))?.status, 'committed');
    assert.equal((await store.getLoadunitState(S, LU))?.lastCommittedTimelabel, T1, 'the pointer lags');
    const repaired = await store.repairLoadunitPointer(S, LU);
    assert.equal(repaired?.lastCommittedTimelabel, T2);
    assert.equal(repaired?.totalRows, 30);
    assert.deepEqual(await store.repairLoadunitPointer(S, LU), repaired, 'repairing a current pointer changes nothing');

    // T3: same crash, then the run's own retry of commitBatch moves the pointer
    await running(store, 'c', T3);
    await assert.rejects(crashing.commitBatch({ slice: S, loadunit: LU, timelabel: T3, owner: 'c', figures: figures(30), manifestKey: 'm3', schemaVersion: 1 }));
    await store.commitBatch({ slice: S, loadunit: LU, timelabel: T3, owner: 'c', figures: figures(30), manifestKey: 'm3', schemaVersion: 1 });
    const state = await store.getLoadunitState(S, LU);
    assert.equal(state?.lastCommittedTimelabel, T3);
    assert.equal(state?.totalRows, 60);

    assert.equal(await store.repairLoadunitPointer(S, 'never-committed'), undefined);
  });
});

describe('schemas', () => {
  const col = (name: string, sourceType = 'integer', nullable = false): ColumnSchema => ({
    name,
    sourceType,
    nullable,
    parquet: sourceType === 'integer' ? { physical: 'INT32', logical: { type: 'INTEGER', bitWidth: 32, signed: true } } : { physical: 'BYTE_ARRAY', logical: { type: 'STRING' } },
  });

  test('records versions with diffs and reuses an identical latest schema', async () => {
    const clock = new Clock();
    const store = await newStore({ clock });
    const ds = 'shop.orders';
    assert.equal(await store.getLatestSchema(S, ds), undefined);

    const s1: DatasetSchema = { columns: [col('id'), col('note', 'text', true)] };
    const r1 = await store.recordSchema({ slice: S, dataset: ds, schema: s1, since: T1 });
    assert.equal(r1.created, true);
    assert.equal(r1.version.version, 1);
    assert.equal(r1.version.diff, undefined);
    assert.deepEqual(r1.version.schema, s1);

    clock.advance(60);
    const reordered: DatasetSchema = { columns: [{ parquet: col('id').parquet, nullable: false, sourceType: 'integer', name: 'id' }, col('note', 'text', true)] };
    const same = await store.recordSchema({ slice: S, dataset: ds, schema: reordered, since: T2 });
    assert.deepEqual(same, { version: r1.version, created: false });

    const s2: DatasetSchema = { columns: [...s1.columns, col('amount', 'numeric(12,2)')] };
    const r2 = await store.recordSchema({ slice: S, dataset: ds, schema: s2, since: T2 });
    assert.equal(r2.version.version, 2);
    assert.deepEqual(r2.version.diff, { added: [col('amount', 'numeric(12,2)')], dropped: [], retyped: [] });

    const s3: DatasetSchema = { columns: [col('id', 'bigint'), col('amount', 'numeric(12,2)')] };
    const r3 = await store.recordSchema({ slice: S, dataset: ds, schema: s3, since: T3 });
    assert.equal(r3.version.version, 3);
    assert.deepEqual(r3.version.diff, { added: [], dropped: [col('note', 'text', true)], retyped: [{ before: col('id'), after: col('id', 'bigint'), change: 'widening' }] });

    assert.deepEqual(await store.getLatestSchema(S, ds), r3.version);
    assert.deepEqual(await store.listSchemaVersions(S, ds), [r1.version, r2.version, r3.version]);
    assert.deepEqual(await store.listSchemaVersions(S, 'shop.customers'), []);
  });

  test('versions order numerically past 9, and a concurrent writer makes the other retry on top', async () => {
    const store = await newStore({ pageSize: 3 });
    const ds = 'shop.wide';
    const columns: ColumnSchema[] = [];
    for (let i = 1; i <= 11; i++) {
      columns.push(col(`c${i}`));
      await store.recordSchema({ slice: S, dataset: ds, schema: { columns: [...columns] }, since: T1 });
    }
    assert.deepEqual((await store.listSchemaVersions(S, ds)).map((v) => v.version), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    assert.equal((await store.getLatestSchema(S, ds))?.version, 11);

    const race = 'shop.race';
    const [a, b] = await Promise.all([
      store.recordSchema({ slice: S, dataset: race, schema: { columns: [col('a')] }, since: T1 }),
      store.recordSchema({ slice: S, dataset: race, schema: { columns: [col('b')] }, since: T1 }),
    ]);
    assert.equal(a.created && b.created, true);
    assert.deepEqual([a.version.version, b.version.version].sort(), [1, 2]);
    const [v1, v2] = await store.listSchemaVersions(S, race);
    assert.deepEqual(v2.diff, { added: v2.schema.columns, dropped: v1.schema.columns, retyped: [] });
  });
});

describe('events', () => {
  test('listed oldest first, from `since` on, up to `limit`, across pages', async () => {
    const store = await newStore({ pageSize: 2 });
    const times = ['2026-03-05T09:00:03.000Z', '2026-03-05T09:00:01.000Z', '2026-03-05T09:00:05Z', '2026-03-05T09:00:02.000Z', '2026-03-05T09:00:04.000Z'];
    for (const [i, time] of times.entries()) {
      await store.putEvent({ id: `e${i}`, kind: 'data', type: 'batch.committed', slice: S, dataset: 'shop.orders', timelabel: T2, detail: { i }, time });
    }
    await store.putEvent({ kind: 'metadata', type: 'column.added', slice: 'other', detail: {} });
    const all = await store.listEvents(S);
    assert.deepEqual(all.map((e) => e.id), ['e1', 'e3', 'e0', 'e4', 'e2']);
    assert.equal(all[4].time, '2026-03-05T09:00:05.000Z');
    assert.deepEqual(all[0], { id: 'e1', kind: 'data', type: 'batch.committed', slice: S, dataset: 'shop.orders', timelabel: T2, detail: { i: 1 }, time: '2026-03-05T09:00:01.000Z' });
    assert.deepEqual((await store.listEvents(S, { since: '2026-03-05T09:00:03.000Z' })).map((e) => e.id), ['e0', 'e4', 'e2']);
    assert.deepEqual((await store.listEvents(S, { since: '2026-03-05T09:00:02.000Z', limit: 3 })).map((e) => e.id), ['e3', 'e0', 'e4']);
    assert.equal((await store.listEvents('other')).length, 1);
  });

  test('idempotent on id, even when the time defaults and a retry comes later', async () => {
    const clock = new Clock();
    const store = await newStore({ clock });
    const first = await store.putEvent({ id: 'batch.committed:shop:orders:T2', kind: 'data', type: 'batch.committed', slice: S, detail: { rows: 1 } });
    assert.equal(first.time, '2026-03-05T09:10:00.000Z');
    clock.advance(30);
    const again = await store.putEvent({ id: 'batch.committed:shop:orders:T2', kind: 'data', type: 'batch.committed', slice: S, detail: { rows: 1 } });
    assert.deepEqual(again, first);
    assert.deepEqual(await store.listEvents(S), [first]);

    const generated = await store.putEvent({ kind: 'metadata', type: 'dataset.created', slice: S, detail: {} });
    assert.match(generated.id, /^[0-9a-f-]{36}$/);
    assert.equal((await store.listEvents(S)).length, 2);
  });

  test('a crash between the id marker and the event is healed by the retry, at the first time', async () => {
    const clock = new Clock();
    const tableName = `reef-meta-${++tables}`;
    const store = await newStore({ clock, tableName });
    const crashing = new MetadataStore({
      client: interceptedClient(async (command, input) => {
        if (command === 'PutItemCommand' && !input.includes('ID#')) throw new Error('simulated crash before the event write');
      }),
      tableName,
      now: clock.now,
    });
    await assert.rejects(crashing.putEvent({ id: 'ev-1', kind: 'data', type: 'batch.failed', slice: S, detail: {} }));
    assert.deepEqual(await store.listEvents(S), []);
    clock.advance(120);
    const retried = await store.putEvent({ id: 'ev-1', kind: 'data', type: 'batch.failed', slice: S, detail: {} });
    assert.equal(retried.time, '2026-03-05T09:10:00.000Z');
    assert.deepEqual(await store.listEvents(S), [retried]);
  });
});
