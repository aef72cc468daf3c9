/**
 * The typed access layer over Reef's DynamoDB metadata table: the one module
 * that builds DynamoDB keys and expressions.
 *
 * Every state change is one conditional write, because the local stand-in
 * (dynalite) has no transactions, streams or TTL. A commit writes the batch
 * first and then flips the loadunit pointer with a forward-only condition, so a
 * crash between the two leaves a pointer that lags (repairable) and never one
 * that points at an uncommitted batch.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateTableCommand, DescribeTableCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import type { QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { TRANSIENT_ERROR_NAME, TerminalError, TransientError, isReefError } from '../errors.ts';
import type { DatasetSchema } from '../schema.ts';
import { diffSchemas } from '../schema.ts';
import type { Item } from './codec.ts';
import {
  decodeBatch,
  decodeEvent,
  decodeInstallation,
  decodeLoadunitState,
  decodeSchemaVersion,
  decodeSliceConfig,
  jsonEqual,
  toJsonValue,
} from './codec.ts';
import type { ItemKey } from './keys.ts';
import { EVENT_SK_UPPER_BOUND, PARTITION_KEY, SORT_KEY, checkKeyPart, checkTimelabel, keys, normalizeIsoTime } from './keys.ts';
import type {
  BatchError,
  BatchFigures,
  BatchRecord,
  CursorRange,
  InstallationConfig,
  LoadunitState,
  ReefEvent,
  SchemaVersion,
  SliceConfigRecord,
} from './types.ts';

export interface MetadataStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  /** Clock for timestamps and leases; tests inject one to expire a lease. */
  now?: () => Date;
  /** Query/Scan page size (DynamoDB's `Limit`); unset reads DynamoDB's 1 MB pages. Tests set it small to cross pages. */
  pageSize?: number;
}

/**
 * How many times startBatch re-tries its write when the re-read shows a state
 * it may start from (another run failed or released the batch in between).
 * Each round means someone else changed the batch, so a few is plenty.
 */
const START_ROUNDS = 3;
/** recordSchema retries once: a conflict means another writer just added a version, which the re-read sees. */
const SCHEMA_ROUNDS = 2;

const CONDITION_FAILED: unique symbol = Symbol('condition failed');
type Conditional<T> = T | typeof CONDITION_FAILED;

/** Throttles, server faults and dropped connections: retrying later can succeed. */
const TRANSIENT_ERROR_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TransactionConflictException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);
const TRANSIENT_NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);

function errorName(e: unknown): string {
  return e instanceof Error ? e.name : typeof e;
}

function isTransient(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const err = e as { name?: unknown; code?: unknown; $retryable?: unknown; $metadata?: { httpStatusCode?: number }; cause?: unknown; errors?: unknown };
  if (typeof err.name === 'string' && TRANSIENT_ERROR_NAMES.has(err.name)) return true;
  if (typeof err.code === 'string' && TRANSIENT_NETWORK_CODES.has(err.code)) return true;
  if (err.$retryable !== undefined) return true;
  if ((err.$metadata?.httpStatusCode ?? 0) >= 500) return true;
  // Node reports a refused dual-stack connect as an AggregateError of per-address errors.
  if (Array.isArray(err.errors) && err.errors.some(isTransient)) return true;
  return err.cause !== undefined && err.cause !== e && isTransient(err.cause);
}

/** `#name` placeholders used in the expressions, mapped to themselves: every attribute goes through one (many, like `status` and `owner`, are reserved words). */
function names(...expressions: (string | undefined)[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const expression of expressions) {
    for (const m of expression?.matchAll(/#(\w+)/g) ?? []) out[m[0]] = m[1];
  }
  return out;
}

function batchName(b: { slice: string; loadunit: string; timelabel: string }): string {
  return `${b.slice}/${b.loadunit}/${b.timelabel}`;
}

function checkOwner(owner: string): string {
  if (typeof owner !== 'string' || owner.length === 0) {
    throw new TerminalError('internal', `owner token is ${JSON.stringify(owner)}; expected a non-empty string identifying the run`, {
      code: 'metadata.invalid-input',
    });
  }
  return owner;
}

function checkFigures(f: BatchFigures): BatchFigures {
  for (const k of ['rows', 'files', 'bytes'] as const) {
    if (!Number.isSafeInteger(f?.[k]) || f[k] < 0) {
      throw new TerminalError('internal', `batch figures ${k} = ${JSON.stringify(f?.[k])}; expected a non-negative integer`, {
        code: 'metadata.invalid-input',
      });
    }
  }
  return { rows: f.rows, files: f.files, bytes: f.bytes };
}

function compareBatches(a: BatchRecord, b: BatchRecord): number {
  if (a.loadunit !== b.loadunit) return a.loadunit < b.loadunit ? -1 : 1;
  return a.timelabel < b.timelabel ? -1 : a.timelabel > b.timelabel ? 1 : 0;
}

export class MetadataStore {
  /** The table's key attribute names; the CDK core stack creates the table with these. */
  static readonly keyAttributes = { partitionKey: PARTITION_KEY, sortKey: SORT_KEY } as const;

  readonly tableName: string;
  private readonly client: DynamoDBClient;
  private readonly doc: DynamoDBDocumentClient;
  private readonly now: () => Date;
  private readonly pageSize: number | undefined;

  constructor(options: MetadataStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.now = options.now ?? (() => new Date());
    this.pageSize = options.pageSize;
    this.doc = DynamoDBDocumentClient.from(options.client, {
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    });
  }

  // ---------------------------------------------------------------- table

  /** Local runtime only: on AWS the core stack owns the table. */
  async ensureTable(): Promise<void> {
    const TableName = this.tableName;
    let exists = true;
    try {
      const { Table } = await this.client.send(new DescribeTableCommand({ TableName }));
      // The waiter sleeps minDelay before its first look; skip it when there is nothing to wait for.
      if (Table?.TableStatus === 'ACTIVE') return;
    } catch (e) {
      if (errorName(e) !== 'ResourceNotFoundException') throw this.mapError('DescribeTable', e);
      exists = false;
    }
    if (!exists) {
      try {
        await this.client.send(
          new CreateTableCommand({
            TableName,
            BillingMode: 'PAY_PER_REQUEST',
            AttributeDefinitions: [
              { AttributeName: PARTITION_KEY, AttributeType: 'S' },
              { AttributeName: SORT_KEY, AttributeType: 'S' },
            ],
            KeySchema: [
              { AttributeName: PARTITION_KEY, KeyType: 'HASH' },
              { AttributeName: SORT_KEY, KeyType: 'RANGE' },
            ],
          }),
        );
      } catch (e) {
        // Another process created it between our describe and create: same outcome.
        if (errorName(e) !== 'ResourceInUseException') throw this.mapError('CreateTable', e);
      }
    }
    try {
      await waitUntilTableExists({ client: this.client, maxWaitTime: 30, minDelay: 1 }, { TableName });
    } catch (e) {
      throw new TransientError('internal', `metadata table ${TableName} did not become ACTIVE within 30 s; expected it to leave CREATING`, {
        code: 'metadata.unavailable',
        cause: e,
      });
    }
  }

  // ---------------------------------------------------------------- configs

  async putInstallationConfig(name: string, settings: Record<string, unknown>): Promise<InstallationConfig> {
    if (typeof name !== 'string' || name.length === 0) {
      throw new TerminalError('config', `installation name is ${JSON.stringify(name)}; expected a non-empty name`, { code: 'metadata.invalid-input' });
    }
    const normalized = toJsonValue(settings, 'installation settings', 'config');
    if (typeof normalized !== 'object' || normalized === null || Array.isArray(normalized)) {
      throw new TerminalError('config', `installation settings are ${Array.isArray(normalized) ? 'an array' : typeof normalized}; expected an object`, {
        code: 'metadata.invalid-input',
      });
    }
    const record: InstallationConfig = { name, settings: normalized as Record<string, unknown>, updatedAt: this.nowIso() };
    await this.put('PutItem installation config', {
      ...keys.installation(),
      name: record.name,
      settingsJson: JSON.stringify(record.settings),
      updatedAt: record.updatedAt,
    });
    return record;
  }

  async getInstallationConfig(): Promise<InstallationConfig | undefined> {
    const item = await this.get('GetItem installation config', keys.installation());
    return item && decodeInstallation(item);
  }

  async getSliceConfig(slice: string): Promise<SliceConfigRecord | undefined> {
    const item = await this.get('GetItem slice config', keys.sliceConfig(slice));
    return item && decodeSliceConfig(item);
  }

  /**
   * A scan: slice configs live in per-slice partitions so each slice's IAM role
   * reaches only its own. Meant for the CLI and the local runtime, not for a
   * slice's hot path.
   */
  async listSliceConfigs(): Promise<SliceConfigRecord[]> {
    const filter = `begins_with(#${PARTITION_KEY}, :pkPrefix) AND #${SORT_KEY} = :sk`;
    const items: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.send('Scan slice configs', () =>
        this.doc.send(
          new ScanCommand({
            TableName: this.tableName,
            FilterExpression: filter,
            ExpressionAttributeNames: names(filter),
            ExpressionAttributeValues: { ':pkPrefix': keys.sliceConfigScan.pkPrefix, ':sk': keys.sliceConfigScan.sk },
            ConsistentRead: true,
            Limit: this.pageSize,
            ExclusiveStartKey: start,
          }),
        ),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    return items.map(decodeSliceConfig).sort((a, b) => (a.slice < b.slice ? -1 : a.slice > b.slice ? 1 : 0));
  }

  async putSliceConfig(
    input: { slice: string; type: string; config: unknown },
    validate: (type: string, config: unknown) => void,
  ): Promise<SliceConfigRecord> {
    const key = keys.sliceConfig(input.slice);
    try {
      validate(input.type, input.config);
    } catch (e) {
      if (isReefError(e)) throw e;
      throw new TerminalError('config', `config of slice ${input.slice} (${input.type}) is invalid: ${e instanceof Error ? e.message : String(e)}`, {
        code: 'config.invalid',
        cause: e,
      });
    }
    const config = toJsonValue(input.config, `config of slice ${input.slice}`, 'config');
    const current = await this.getSliceConfig(input.slice);
    if (current && current.type === input.type && jsonEqual(current.config, config)) return current;

    const record: SliceConfigRecord = {
      slice: input.slice,
      type: input.type,
      config,
      version: (current?.version ?? 0) + 1,
      updatedAt: this.nowIso(),
    };
    const condition = current ? '#version = :read' : `attribute_not_exists(#${PARTITION_KEY})`;
    const result = await this.conditional('PutItem slice config', () =>
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...key, slice: record.slice, type: record.type, configJson: JSON.stringify(config), version: record.version, updatedAt: record.updatedAt },
          ConditionExpression: condition,
          ExpressionAttributeNames: names(condition),
          ExpressionAttributeValues: current ? { ':read': current.version } : undefined,
        }),
      ),
    );
    if (result === CONDITION_FAILED) {
      throw new TransientError(
        'internal',
        `config of slice ${input.slice} changed while it was being written: expected version ${current?.version ?? 'none'} to still be stored; another writer got there first`,
        { code: 'metadata.conflict' },
      );
    }
    return record;
  }

  // ---------------------------------------------------------------- batches

  async createBatch(input: { slice: string; loadunit: string; dataset: string; timelabel: string }): Promise<BatchRecord> {
    const key = keys.batch(input.slice, input.loadunit, input.timelabel);
    checkKeyPart('dataset', input.dataset);
    const record: BatchRecord = {
      slice: input.slice,
      loadunit: input.loadunit,
      dataset: input.dataset,
      timelabel: input.timelabel,
      status: 'pending',
      attempts: 0,
      createdAt: this.nowIso(),
    };
    const condition = `attribute_not_exists(#${PARTITION_KEY})`;
    const result = await this.conditional('PutItem batch', () =>
      this.doc.send(
        new PutCommand({ TableName: this.tableName, Item: { ...key, ...record }, ConditionExpression: condition, ExpressionAttributeNames: names(condition) }),
      ),
    );
    if (result !== CONDITION_FAILED) return record;
    return this.requireBatch(input, 'createBatch');
  }

  async getBatch(slice: string, loadunit: string, timelabel: string): Promise<BatchRecord | undefined> {
    const item = await this.get('GetItem batch', keys.batch(slice, loadunit, timelabel));
    return item && decodeBatch(item);
  }

  async listBatches(slice: string, loadunit?: string): Promise<BatchRecord[]> {
    const items = await this.queryPrefix('Query batches', keys.slicePartition(slice), keys.batchPrefix(loadunit));
    // DynamoDB orders by UTF-8 bytes of `BATCH#<loadunit>#<timelabel>`, which is not loadunit order when a name holds a character below `#`.
    return items.map(decodeBatch).sort(compareBatches);
  }

  async latestCommittedBatch(slice: string, loadunit: string): Promise<BatchRecord | undefined> {
    const condition = `#${PARTITION_KEY} = :pk AND begins_with(#${SORT_KEY}, :prefix)`;
    const filter = '#status = :committed';
    const [item] = await this.query(
      'Query latest committed batch',
      {
        KeyConditionExpression: condition,
        FilterExpression: filter,
        ExpressionAttributeNames: names(condition, filter),
        ExpressionAttributeValues: { ':pk': keys.slicePartition(slice), ':prefix': keys.batchPrefix(loadunit), ':committed': 'committed' },
        ScanIndexForward: false,
      },
      { max: 1, filtered: true },
    );
    return item && decodeBatch(item);
  }

  async startBatch(input: {
    slice: string;
    loadunit: string;
    timelabel: string;
    owner: string;
    leaseSeconds: number;
  }): Promise<{ outcome: 'started' | 'committed' | 'busy'; batch: BatchRecord }> {
    const key = keys.batch(input.slice, input.loadunit, input.timelabel);
    checkOwner(input.owner);
    if (!Number.isFinite(input.leaseSeconds) || input.leaseSeconds <= 0) {
      throw new TerminalError('internal', `lease of ${input.leaseSeconds} s for batch ${batchName(input)}; expected a positive number of seconds`, {
        code: 'metadata.invalid-input',
      });
    }
    const update =
      'SET #status = :running, #owner = :owner, #leaseUntil = :lease, #attempts = #attempts + :one, #startedAt = :now REMOVE #error, #finishedAt';
    // A run may start a batch nobody holds, one whose holder's lease ran out, or one it holds itself (a Step Functions retry of the same run).
    const condition = `attribute_exists(#${PARTITION_KEY}) AND (#status IN (:pending, :failed) OR (#status = :running AND (#leaseUntil < :now OR #owner = :owner)))`;
    for (let round = 0; round < START_ROUNDS; round++) {
      const t = this.now();
      const now = t.toISOString();
      const result = await this.conditional('UpdateItem start batch', () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key,
            UpdateExpression: update,
            ConditionExpression: condition,
            ExpressionAttributeNames: names(update, condition),
            ExpressionAttributeValues: {
              ':running': 'running',
              ':pending': 'pending',
              ':failed': 'failed',
              ':owner': input.owner,
              ':lease': new Date(t.getTime() + input.leaseSeconds * 1000).toISOString(),
              ':one': 1,
              ':now': now,
            },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      if (result !== CONDITION_FAILED) return { outcome: 'started', batch: decodeBatch(result.Attributes ?? {}) };

      const found = await this.requireBatch(input, 'startBatch');
      if (found.status === 'committed') return { outcome: 'committed', batch: found };
      if (found.status === 'running' && found.owner !== input.owner && (found.leaseUntil ?? '') >= now) {
        return { outcome: 'busy', batch: found };
      }
      // The batch changed between our write and the re-read (its holder failed or its lease ran out): try again.
    }
    throw new TransientError('internal', `batch ${batchName(input)} kept changing while run ${input.owner} tried to start it; expected it to settle within ${START_ROUNDS} attempts`, {
      code: 'metadata.conflict',
    });
  }

  async fixBatchCursor(input: { slice: string; loadunit: string; timelabel: string; owner: string; cursor: CursorRange }): Promise<CursorRange> {
    const key = keys.batch(input.slice, input.loadunit, input.timelabel);
    checkOwner(input.owner);
    const update = 'SET #cursor = if_not_exists(#cursor, :cursor)';
    const condition = '#status = :running AND #owner = :owner';
    const result = await this.conditional('UpdateItem batch cursor', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: names(update, condition),
          ExpressionAttributeValues: {
            ':cursor': { from: input.cursor.from ?? null, to: input.cursor.to ?? null },
            ':running': 'running',
            ':owner': input.owner,
          },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    if (result === CONDITION_FAILED) {
      throw this.notOwner(input, 'fix its cursor', await this.requireBatch(input, 'fixBatchCursor'));
    }
    const stored = decodeBatch(result.Attributes ?? {}).cursor;
    return stored ?? { from: input.cursor.from ?? null, to: input.cursor.to ?? null };
  }

  async commitBatch(input: {
    slice: string;
    loadunit: string;
    timelabel: string;
    owner: string;
    figures: BatchFigures;
    manifestKey: string;
    schemaVersion: number;
  }): Promise<BatchRecord> {
    const key = keys.batch(input.slice, input.loadunit, input.timelabel);
    checkOwner(input.owner);
    const figures = checkFigures(input.figures);
    // `committedBy` is kept (and never returned) so a repeated commit by the same run can be recognised after `owner` is removed.
    const update =
      'SET #status = :committed, #figures = :figures, #manifestKey = :manifestKey, #schemaVersion = :schemaVersion, #finishedAt = :now, #committedBy = :owner REMOVE #owner, #leaseUntil';
    const condition = '#status = :running AND #owner = :owner';
    const result = await this.conditional('UpdateItem commit batch', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: names(update, condition),
          ExpressionAttributeValues: {
            ':committed': 'committed',
            ':running': 'running',
            ':figures': figures,
            ':manifestKey': input.manifestKey,
            ':schemaVersion': input.schemaVersion,
            ':now': this.nowIso(),
            ':owner': input.owner,
          },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    let batch: BatchRecord;
    if (result !== CONDITION_FAILED) {
      batch = decodeBatch(result.Attributes ?? {});
    } else {
      const item = await this.get('GetItem batch', key);
      const found = item && decodeBatch(item);
      if (!item || !found) throw this.batchMissing(input, 'commitBatch');
      if (found.status !== 'committed' || item.committedBy !== input.owner) throw this.notOwner(input, 'commit it', found);
      batch = found;
    }
    // Also on a repeated commit: the first attempt may have stopped before moving the pointer.
    await this.advancePointer(batch);
    return batch;
  }

  async failBatch(input: { slice: string; loadunit: string; timelabel: string; owner: string; error: BatchError }): Promise<BatchRecord> {
    const key = keys.batch(input.slice, input.loadunit, input.timelabel);
    checkOwner(input.owner);
    const updated = await this.markFailed(key, input.owner, input.error);
    return updated ?? this.requireBatch(input, 'failBatch');
  }

  async recoverInterrupted(slice: string): Promise<BatchRecord[]> {
    const condition = `#${PARTITION_KEY} = :pk AND begins_with(#${SORT_KEY}, :prefix)`;
    const filter = '#status = :running';
    const running = await this.query('Query running batches', {
      KeyConditionExpression: condition,
      FilterExpression: filter,
      ExpressionAttributeNames: names(condition, filter),
      ExpressionAttributeValues: { ':pk': keys.slicePartition(slice), ':prefix': keys.batchPrefix(), ':running': 'running' },
    }, { filtered: true });
    const changed: BatchRecord[] = [];
    for (const batch of running.map(decodeBatch).sort(compareBatches)) {
      const owner = batch.owner ?? '';
      const updated = await this.markFailed(keys.batch(batch.slice, batch.loadunit, batch.timelabel), owner, {
        name: TRANSIENT_ERROR_NAME,
        category: 'internal',
        code: 'batch.interrupted',
        message: `batch ${batchName(batch)} was still running (owner ${owner || 'none'}) when the local runtime started again; expected it to have committed or failed before the runtime stopped, so it will run again`,
      });
      if (updated) changed.push(updated);
    }
    return changed;
  }

  // ---------------------------------------------------------------- loadunit pointer

  async getLoadunitState(slice: string, loadunit: string): Promise<LoadunitState | undefined> {
    const item = await this.get('GetItem loadunit state', keys.loadunit(slice, loadunit));
    return item && decodeLoadunitState(item);
  }

  async listLoadunitStates(slice: string): Promise<LoadunitState[]> {
    const items = await this.queryPrefix('Query loadunit states', keys.slicePartition(slice), keys.loadunitPrefix);
    return items.map(decodeLoadunitState);
  }

  async repairLoadunitPointer(slice: string, loadunit: string): Promise<LoadunitState | undefined> {
    const latest = await this.latestCommittedBatch(slice, loadunit);
    if (latest) await this.advancePointer(latest);
    return this.getLoadunitState(slice, loadunit);
  }

  // ---------------------------------------------------------------- schemas

  async getLatestSchema(slice: string, dataset: string): Promise<SchemaVersion | undefined> {
    const condition = `#${PARTITION_KEY} = :pk AND begins_with(#${SORT_KEY}, :prefix)`;
    const [item] = await this.query(
      'Query latest schema',
      {
        KeyConditionExpression: condition,
        ExpressionAttributeNames: names(condition),
        ExpressionAttributeValues: { ':pk': keys.schemaPartition(slice, dataset), ':prefix': keys.schemaVersionPrefix },
        ScanIndexForward: false,
      },
      { max: 1 },
    );
    return item && decodeSchemaVersion(item);
  }

  async listSchemaVersions(slice: string, dataset: string): Promise<SchemaVersion[]> {
    const items = await this.queryPrefix('Query schema versions', keys.schemaPartition(slice, dataset), keys.schemaVersionPrefix);
    return items.map(decodeSchemaVersion);
  }

  async recordSchema(input: { slice: string; dataset: string; schema: DatasetSchema; since: string }): Promise<{ version: SchemaVersion; created: boolean }> {
    keys.schemaPartition(input.slice, input.dataset);
    checkTimelabel(input.since);
    const schema = toJsonValue(input.schema, `schema of ${input.dataset}`, 'internal') as DatasetSchema;
    const condition = `attribute_not_exists(#${PARTITION_KEY})`;
    for (let round = 0; round < SCHEMA_ROUNDS; round++) {
      const latest = await this.getLatestSchema(input.slice, input.dataset);
      if (latest && jsonEqual(latest.schema, schema)) return { version: latest, created: false };
      const version: SchemaVersion = {
        dataset: input.dataset,
        version: (latest?.version ?? 0) + 1,
        schema,
        since: input.since,
        createdAt: this.nowIso(),
      };
      if (latest) version.diff = diffSchemas(latest.schema, schema);
      const result = await this.conditional('PutItem schema version', () =>
        this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: {
              ...keys.schemaVersion(input.slice, input.dataset, version.version),
              dataset: version.dataset,
              version: version.version,
              schemaJson: JSON.stringify(version.schema),
              diffJson: version.diff && JSON.stringify(version.diff),
              since: version.since,
              createdAt: version.createdAt,
            },
            ConditionExpression: condition,
            ExpressionAttributeNames: names(condition),
          }),
        ),
      );
      if (result !== CONDITION_FAILED) return { version, created: true };
    }
    throw new TransientError('internal', `schema registry of ${input.dataset} kept gaining versions while recording a new one; expected at most one concurrent writer`, {
      code: 'metadata.conflict',
    });
  }

  // ---------------------------------------------------------------- events

  /**
   * Idempotent on `id`: the first write of an id records its time in a marker
   * item, and every retry reuses that time, so it lands on the same event item
   * even when the caller let the time default.
   */
  async putEvent(event: Omit<ReefEvent, 'id' | 'time'> & { id?: string; time?: string }): Promise<ReefEvent> {
    const id = event.id ?? randomUUID();
    const marker = keys.eventIdMarker(event.slice, id);
    if (event.dataset !== undefined) checkKeyPart('dataset', event.dataset);
    if (event.timelabel !== undefined) checkTimelabel(event.timelabel);
    if (event.kind !== 'data' && event.kind !== 'metadata') {
      throw new TerminalError('internal', `event kind ${JSON.stringify(event.kind)}; expected 'data' or 'metadata'`, { code: 'metadata.invalid-input' });
    }
    const detail = toJsonValue(event.detail ?? {}, `detail of event ${event.type}`, 'internal') as Record<string, unknown>;
    let time = event.time === undefined ? this.nowIso() : normalizeIsoTime('event time', event.time);

    const condition = `attribute_not_exists(#${PARTITION_KEY})`;
    const markerWrite = await this.conditional('PutItem event id', () =>
      this.doc.send(
        new PutCommand({ TableName: this.tableName, Item: { ...marker, id, time }, ConditionExpression: condition, ExpressionAttributeNames: names(condition) }),
      ),
    );
    if (markerWrite === CONDITION_FAILED) {
      const stored = await this.get('GetItem event id', marker);
      if (typeof stored?.time === 'string') time = stored.time;
    }

    const record: ReefEvent = { id, kind: event.kind, type: event.type, slice: event.slice, detail, time };
    if (event.dataset !== undefined) record.dataset = event.dataset;
    if (event.timelabel !== undefined) record.timelabel = event.timelabel;
    const key = keys.event(event.slice, time, id);
    const result = await this.conditional('PutItem event', () =>
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...key, ...record, detail: undefined, detailJson: JSON.stringify(detail) },
          ConditionExpression: condition,
          ExpressionAttributeNames: names(condition),
        }),
      ),
    );
    if (result !== CONDITION_FAILED) return record;
    const stored = await this.get('GetItem event', key);
    return stored ? decodeEvent(stored) : record;
  }

  /** Oldest first; `since` is inclusive, `limit` caps how many come back. */
  async listEvents(slice: string, options: { since?: string; limit?: number } = {}): Promise<ReefEvent[]> {
    if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit < 1)) {
      throw new TerminalError('internal', `event limit ${options.limit}; expected a positive integer`, { code: 'metadata.invalid-input' });
    }
    const from = options.since === undefined ? '0' : normalizeIsoTime('since', options.since);
    const condition = `#${PARTITION_KEY} = :pk AND #${SORT_KEY} BETWEEN :from AND :to`;
    const items = await this.query(
      'Query events',
      {
        KeyConditionExpression: condition,
        ExpressionAttributeNames: names(condition),
        ExpressionAttributeValues: { ':pk': keys.eventsPartition(slice), ':from': from, ':to': EVENT_SK_UPPER_BOUND },
      },
      { max: options.limit },
    );
    return items.map(decodeEvent);
  }

  // ---------------------------------------------------------------- internals

  private nowIso(): string {
    return this.now().toISOString();
  }

  /**
   * Moves the loadunit pointer to `batch` only if that is forward, so a late or
   * repeated commit never rewinds the cursor and rows are counted once.
   */
  private async advancePointer(batch: BatchRecord): Promise<boolean> {
    const figures = batch.figures ?? { rows: 0, files: 0, bytes: 0 };
    const update =
      'SET #slice = :slice, #loadunit = :loadunit, #dataset = :dataset, #lastCommittedTimelabel = :timelabel, #cursor = :cursor, #lastFigures = :figures, #updatedAt = :now, #totalRows = if_not_exists(#totalRows, :zero) + :rows';
    const condition = `attribute_not_exists(#${PARTITION_KEY}) OR #lastCommittedTimelabel < :timelabel`;
    const result = await this.conditional('UpdateItem loadunit pointer', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.loadunit(batch.slice, batch.loadunit),
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: names(update, condition),
          ExpressionAttributeValues: {
            ':slice': batch.slice,
            ':loadunit': batch.loadunit,
            ':dataset': batch.dataset,
            ':timelabel': batch.timelabel,
            ':cursor': batch.cursor?.to ?? null,
            ':figures': figures,
            ':now': this.nowIso(),
            ':zero': 0,
            ':rows': figures.rows,
          },
        }),
      ),
    );
    return result !== CONDITION_FAILED;
  }

  /** running + owner → failed; undefined when the owner no longer holds the batch. */
  private async markFailed(key: ItemKey, owner: string, error: BatchError): Promise<BatchRecord | undefined> {
    const update = 'SET #status = :failed, #error = :error, #finishedAt = :now REMOVE #owner, #leaseUntil';
    const condition = '#status = :running AND #owner = :owner';
    const result = await this.conditional('UpdateItem fail batch', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: names(update, condition),
          ExpressionAttributeValues: {
            ':failed': 'failed',
            ':running': 'running',
            ':owner': owner,
            ':error': { name: error.name, category: error.category, code: error.code, message: error.message },
            ':now': this.nowIso(),
          },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return result === CONDITION_FAILED ? undefined : decodeBatch(result.Attributes ?? {});
  }

  private async requireBatch(b: { slice: string; loadunit: string; timelabel: string }, operation: string): Promise<BatchRecord> {
    const found = await this.getBatch(b.slice, b.loadunit, b.timelabel);
    if (!found) throw this.batchMissing(b, operation);
    return found;
  }

  private batchMissing(b: { slice: string; loadunit: string; timelabel: string }, operation: string): TerminalError {
    return new TerminalError('internal', `${operation}: batch ${batchName(b)} does not exist; expected createBatch to have recorded it first`, {
      code: 'metadata.batch-missing',
    });
  }

  private notOwner(input: { slice: string; loadunit: string; timelabel: string; owner: string }, action: string, found: BatchRecord): TerminalError {
    return new TerminalError(
      'internal',
      `batch ${batchName(input)}: expected status running with owner ${input.owner} to ${action}, found status ${found.status} with owner ${found.owner ?? 'none'}`,
      { code: 'metadata.not-owner' },
    );
  }

  private async get(operation: string, key: ItemKey): Promise<Item | undefined> {
    const out = await this.send(operation, () => this.doc.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true })));
    return out.Item;
  }

  private async put(operation: string, item: Item): Promise<void> {
    await this.send(operation, () => this.doc.send(new PutCommand({ TableName: this.tableName, Item: item })));
  }

  private async queryPrefix(operation: string, pk: string, skPrefix: string): Promise<Item[]> {
    const condition = `#${PARTITION_KEY} = :pk AND begins_with(#${SORT_KEY}, :prefix)`;
    return this.query(operation, {
      KeyConditionExpression: condition,
      ExpressionAttributeNames: names(condition),
      ExpressionAttributeValues: { ':pk': pk, ':prefix': skPrefix },
    });
  }

  /**
   * Follows every page, up to `max` items. With a filter, `Limit` counts items
   * read before filtering, so it cannot be used to stop at `max`.
   */
  private async query(
    operation: string,
    input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey' | 'Limit'>,
    options: { max?: number; filtered?: boolean } = {},
  ): Promise<Item[]> {
    const items: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const remaining = options.max === undefined || options.filtered ? undefined : options.max - items.length;
      const limits = [this.pageSize, remaining].filter((n): n is number => n !== undefined);
      const out = await this.send(operation, () =>
        this.doc.send(
          new QueryCommand({
            ...input,
            TableName: this.tableName,
            ConsistentRead: true,
            Limit: limits.length ? Math.min(...limits) : undefined,
            ExclusiveStartKey: start,
          }),
        ),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start && (options.max === undefined || items.length < options.max));
    return options.max === undefined ? items : items.slice(0, options.max);
  }

  private async send<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      throw this.mapError(operation, e);
    }
  }

  /** For writes whose condition may fail: that is an answer, not an error. */
  private async conditional<T>(operation: string, run: () => Promise<T>): Promise<Conditional<T>> {
    try {
      return await run();
    } catch (e) {
      if (errorName(e) === 'ConditionalCheckFailedException') return CONDITION_FAILED;
      throw this.mapError(operation, e);
    }
  }

  private mapError(operation: string, e: unknown): Error {
    if (isReefError(e)) return e;
    const detail = `${errorName(e)}: ${e instanceof Error ? e.message : String(e)}`;
    if (isTransient(e)) {
      return new TransientError('internal', `metadata table ${this.tableName} did not answer ${operation} (${detail}); expected DynamoDB to be reachable, retry with backoff`, {
        code: 'metadata.unavailable',
        cause: e,
      });
    }
    if (errorName(e) === 'ResourceNotFoundException') {
      return new TerminalError('internal', `metadata table ${this.tableName} was not found during ${operation}; expected the core stack (or ensureTable locally) to have created it`, {
        code: 'metadata.table-missing',
        cause: e,
      });
    }
    return new TerminalError('internal', `metadata ${operation} on table ${this.tableName} was rejected (${detail})`, {
      code: 'metadata.request-failed',
      cause: e,
    });
  }
}
