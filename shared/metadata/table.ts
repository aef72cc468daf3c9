/**
 * The plumbing under MetadataStore: one document client on one table, reads
 * that follow every page, and conditional writes whose failed condition is an
 * answer rather than an error. Only the record modules beside it use this;
 * everything outside shared/metadata goes through MetadataStore.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateTableCommand, DescribeTableCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import type { QueryCommandInput, ScanCommandInput } from '@aws-sdk/lib-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { TransientError } from '../errors.ts';
import type { Item } from './codec.ts';
import { errorName, mapDynamoError } from './dynamo-errors.ts';
import type { ItemKey } from './keys.ts';
import { PARTITION_KEY, SORT_KEY } from './keys.ts';

export const CONDITION_FAILED: unique symbol = Symbol('condition failed');
export type Conditional<T> = T | typeof CONDITION_FAILED;

/** Condition of a first write: nothing is stored under the key yet. */
export const ITEM_ABSENT = `attribute_not_exists(#${PARTITION_KEY})`;
/** Key condition selecting the sort keys of partition `:pk` that start with `:prefix`. */
export const KEY_PREFIX = `#${PARTITION_KEY} = :pk AND begins_with(#${SORT_KEY}, :prefix)`;

/** `#name` placeholders used in the expressions, mapped to themselves: every attribute goes through one (many, like `status` and `owner`, are reserved words). */
export function names(...expressions: (string | undefined)[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const expression of expressions) {
    for (const m of expression?.matchAll(/#(\w+)/g) ?? []) out[m[0]] = m[1];
  }
  return out;
}

export interface ConditionalUpdate {
  key: ItemKey;
  update: string;
  condition: string;
  values: Record<string, unknown>;
  /** Answer with the item as written; without it a successful update answers an empty item. */
  returnItem?: boolean;
}

export class MetadataTable {
  readonly tableName: string;
  /** Clock for timestamps and leases; tests inject one to expire a lease. */
  readonly now: () => Date;
  private readonly client: DynamoDBClient;
  private readonly doc: DynamoDBDocumentClient;
  private readonly pageSize: number | undefined;

  constructor(options: { client: DynamoDBClient; tableName: string; now: () => Date; pageSize: number | undefined }) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.now = options.now;
    this.pageSize = options.pageSize;
    this.doc = DynamoDBDocumentClient.from(options.client, {
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    });
  }

  nowIso(): string {
    return this.now().toISOString();
  }

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

  async get(operation: string, key: ItemKey): Promise<Item | undefined> {
    const out = await this.send(operation, () => this.doc.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true })));
    return out.Item;
  }

  async put(operation: string, item: Item): Promise<void> {
    await this.send(operation, () => this.doc.send(new PutCommand({ TableName: this.tableName, Item: item })));
  }

  /** False when the condition did not hold and nothing was written. */
  async putIf(operation: string, item: Item, condition: string, values?: Record<string, unknown>): Promise<boolean> {
    const result = await this.conditional(operation, () =>
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: condition,
          ExpressionAttributeNames: names(condition),
          ExpressionAttributeValues: values,
        }),
      ),
    );
    return result !== CONDITION_FAILED;
  }

  async updateIf(operation: string, u: ConditionalUpdate): Promise<Conditional<Item>> {
    const result = await this.conditional(operation, () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: u.key,
          UpdateExpression: u.update,
          ConditionExpression: u.condition,
          ExpressionAttributeNames: names(u.update, u.condition),
          ExpressionAttributeValues: u.values,
          ReturnValues: u.returnItem ? 'ALL_NEW' : undefined,
        }),
      ),
    );
    return result === CONDITION_FAILED ? result : (result.Attributes ?? {});
  }

  async queryPrefix(operation: string, pk: string, skPrefix: string): Promise<Item[]> {
    return this.query(operation, {
      KeyConditionExpression: KEY_PREFIX,
      ExpressionAttributeNames: names(KEY_PREFIX),
      ExpressionAttributeValues: { ':pk': pk, ':prefix': skPrefix },
    });
  }

  /**
   * Follows every page, up to `max` items. With a filter, `Limit` counts items
   * read before filtering, so it cannot be used to stop at `max`.
   */
  async query(
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

  /** Follows every page of a consistent scan. */
  async scan(operation: string, input: Omit<ScanCommandInput, 'TableName' | 'ExclusiveStartKey' | 'Limit' | 'ConsistentRead'>): Promise<Item[]> {
    const items: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.send(operation, () =>
        this.doc.send(
          new ScanCommand({
            ...input,
            TableName: this.tableName,
            ConsistentRead: true,
            Limit: this.pageSize,
            ExclusiveStartKey: start,
          }),
        ),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
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
    return mapDynamoError(this.tableName, operation, e);
  }
}
