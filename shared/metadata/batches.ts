/**
 * Batch records: creating one idempotently per slice, loadunit and timelabel,
 * and reading them back. Their state changes are in batch-lifecycle.ts.
 */
import { TerminalError } from '../errors.ts';
import { decodeBatch } from './codec.ts';
import { checkKeyPart, keys } from './keys.ts';
import type { MetadataTable } from './table.ts';
import { ITEM_ABSENT, KEY_PREFIX, names } from './table.ts';
import type { BatchRecord } from './types.ts';

export interface BatchRef {
  slice: string;
  loadunit: string;
  timelabel: string;
}

export interface CreateBatchInput extends BatchRef {
  dataset: string;
}

export function batchName(b: BatchRef): string {
  return `${b.slice}/${b.loadunit}/${b.timelabel}`;
}

export function compareBatches(a: BatchRecord, b: BatchRecord): number {
  if (a.loadunit !== b.loadunit) return a.loadunit < b.loadunit ? -1 : 1;
  return a.timelabel < b.timelabel ? -1 : a.timelabel > b.timelabel ? 1 : 0;
}

export function batchMissing(b: BatchRef, operation: string): TerminalError {
  return new TerminalError('internal', `${operation}: batch ${batchName(b)} does not exist; expected createBatch to have recorded it first`, {
    code: 'metadata.batch-missing',
  });
}

export async function requireBatch(table: MetadataTable, b: BatchRef, operation: string): Promise<BatchRecord> {
  const found = await getBatch(table, b.slice, b.loadunit, b.timelabel);
  if (!found) throw batchMissing(b, operation);
  return found;
}

export async function createBatch(table: MetadataTable, input: CreateBatchInput): Promise<BatchRecord> {
  const key = keys.batch(input.slice, input.loadunit, input.timelabel);
  checkKeyPart('dataset', input.dataset);
  const record: BatchRecord = {
    slice: input.slice,
    loadunit: input.loadunit,
    dataset: input.dataset,
    timelabel: input.timelabel,
    status: 'pending',
    attempts: 0,
    createdAt: table.nowIso(),
  };
  if (await table.putIf('PutItem batch', { ...key, ...record }, ITEM_ABSENT)) return record;
  return requireBatch(table, input, 'createBatch');
}

export async function getBatch(table: MetadataTable, slice: string, loadunit: string, timelabel: string): Promise<BatchRecord | undefined> {
  const item = await table.get('GetItem batch', keys.batch(slice, loadunit, timelabel));
  return item && decodeBatch(item);
}

export async function listBatches(table: MetadataTable, slice: string, loadunit?: string): Promise<BatchRecord[]> {
  const items = await table.queryPrefix('Query batches', keys.slicePartition(slice), keys.batchPrefix(loadunit));
  // DynamoDB orders by UTF-8 bytes of `BATCH#<loadunit>#<timelabel>`, which is not loadunit order when a name holds a character below `#`.
  return items.map(decodeBatch).sort(compareBatches);
}

export async function latestCommittedBatch(table: MetadataTable, slice: string, loadunit: string): Promise<BatchRecord | undefined> {
  const filter = '#status = :committed';
  const [item] = await table.query(
    'Query latest committed batch',
    {
      KeyConditionExpression: KEY_PREFIX,
      FilterExpression: filter,
      ExpressionAttributeNames: names(KEY_PREFIX, filter),
      ExpressionAttributeValues: { ':pk': keys.slicePartition(slice), ':prefix': keys.batchPrefix(loadunit), ':committed': 'committed' },
      ScanIndexForward: false,
    },
    { max: 1, filtered: true },
  );
  return item && decodeBatch(item);
}
