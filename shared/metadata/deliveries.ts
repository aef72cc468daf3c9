/**
 * What a harness slice delivered outside the installation, batch by batch:
 * a record per (slice, timelabel, batch) once the receiver accepted it, so a
 * re-run of the timelabel after a crash sends only what is missing; and a
 * dead letter per batch the harness gave up on. Both describe requests, never
 * the rows in them.
 */
import { TerminalError } from '../errors.ts';
import { decodeDeadLetter, decodeDeliveredBatch } from './codec.ts';
import { PARTITION_KEY, checkKeyPart, keys } from './keys.ts';
import type { MetadataTable } from './table.ts';
import { CONDITION_FAILED, ITEM_ABSENT, names } from './table.ts';
import type { DeadLetterRecord, DeliveredBatchRecord } from './types.ts';

export type DeliveredBatchInput = Omit<DeliveredBatchRecord, 'deliveredAt'>;
export type DeadLetterInput = Omit<DeadLetterRecord, 'occurrences' | 'failedAt' | 'resolvedAt'>;

type BatchFields = Pick<DeliveredBatchRecord, 'slice' | 'dataset' | 'timelabel' | 'batch' | 'batches' | 'idempotencyKey' | 'bodySha256' | 'bytes' | 'upserts' | 'deletes' | 'attempts' | 'runId'>;

function invalid(what: string, found: unknown, expected: string): TerminalError {
  return new TerminalError('internal', `${what} is ${JSON.stringify(found)}; expected ${expected}`, { code: 'metadata.invalid-input' });
}

function checkBatchFields(input: BatchFields): void {
  checkKeyPart('dataset', input.dataset);
  for (const k of ['bytes', 'upserts', 'deletes', 'attempts'] as const) {
    if (!Number.isSafeInteger(input[k]) || input[k] < 0) throw invalid(`delivery ${k}`, input[k], 'a non-negative integer');
  }
  if (!Number.isSafeInteger(input.batches) || input.batch > input.batches) throw invalid('delivery batches', input.batches, `an integer of at least the batch number ${input.batch}`);
  for (const k of ['idempotencyKey', 'bodySha256', 'runId'] as const) {
    if (typeof input[k] !== 'string' || input[k].length === 0) throw invalid(`delivery ${k}`, input[k], 'a non-empty string');
  }
}

function where(r: { slice: string; timelabel: string; batch: number; batches: number }): string {
  return `batch ${r.batch} of ${r.batches} of ${r.slice} for ${r.timelabel}`;
}

/**
 * Conditional on the batch not being recorded yet. The same batch again (a
 * retried write) answers the stored record; another body under the same
 * batch number means the timelabel's batches were cut differently since, and
 * the receiver already holds the first version: a conflict a person must see.
 */
export async function recordDelivery(table: MetadataTable, input: DeliveredBatchInput): Promise<DeliveredBatchRecord> {
  const key = keys.delivery(input.slice, input.timelabel, input.batch);
  checkBatchFields(input);
  if (!Number.isInteger(input.status) || input.status < 200 || input.status > 299) throw invalid('delivery status', input.status, 'a 2xx HTTP status');
  const record: DeliveredBatchRecord = { ...input, deliveredAt: table.nowIso() };
  if (await table.putIf('PutItem delivery', { ...key, ...record }, ITEM_ABSENT)) return record;
  const stored = await table.get('GetItem delivery', key);
  const existing = stored && decodeDeliveredBatch(stored);
  if (existing && existing.idempotencyKey === record.idempotencyKey && existing.bodySha256 === record.bodySha256) return existing;
  throw new TerminalError(
    'internal',
    `${where(record)}: found it delivered already with body sha256 ${existing?.bodySha256 ?? '?'} under ${existing?.idempotencyKey ?? '?'}; ` +
      `expected no record or the same body (${record.bodySha256} under ${record.idempotencyKey})`,
    { code: 'metadata.conflict' },
  );
}

/** The delivered batches of one timelabel, by batch number. */
export async function listDeliveries(table: MetadataTable, slice: string, timelabel: string): Promise<DeliveredBatchRecord[]> {
  const items = await table.queryPrefix('Query deliveries', keys.deliveriesPartition(slice), keys.deliveryTimelabelPrefix(timelabel));
  return items.map(decodeDeliveredBatch).sort((a, b) => a.batch - b.batch);
}

/**
 * One item per batch, however many runs gave up on it: the latest failure
 * wins and `occurrences` counts them. Conditional on the item being absent or
 * about the same request (same idempotency key); a later delivery of the
 * batch sets `resolvedAt` (resolveDeadLetter), a later failure clears it.
 */
export async function recordDeadLetter(table: MetadataTable, input: DeadLetterInput): Promise<DeadLetterRecord> {
  const key = keys.deadLetter(input.slice, input.timelabel, input.batch);
  checkBatchFields(input);
  checkKeyPart('dead letter code', input.code);
  const set = [
    'slice', 'dataset', 'timelabel', 'batch', 'batches', 'idempotencyKey', 'bodySha256', 'bytes', 'upserts', 'deletes', 'attempts', 'lastError', 'code', 'runId',
  ] as const;
  const values: Record<string, unknown> = Object.fromEntries(set.map((k) => [`:${k}`, input[k]]));
  let update = `SET ${set.map((k) => `#${k} = :${k}`).join(', ')}, #failedAt = :now, #occurrences = if_not_exists(#occurrences, :zero) + :one`;
  if (input.lastStatus !== undefined) {
    update += ', #lastStatus = :lastStatus';
    values[':lastStatus'] = input.lastStatus;
  }
  update += input.lastStatus === undefined ? ' REMOVE #resolvedAt, #lastStatus' : ' REMOVE #resolvedAt';
  const result = await table.updateIf('UpdateItem dead letter', {
    key,
    update,
    condition: `attribute_not_exists(#${PARTITION_KEY}) OR #idempotencyKey = :idempotencyKey`,
    values: { ...values, ':now': table.nowIso(), ':zero': 0, ':one': 1 },
    returnItem: true,
  });
  if (result !== CONDITION_FAILED) return decodeDeadLetter(result);
  const stored = await table.get('GetItem dead letter', key);
  throw new TerminalError(
    'internal',
    `${where(input)}: found a dead letter under ${String(stored?.idempotencyKey ?? '?')}; expected none or one under the same key ${input.idempotencyKey}`,
    { code: 'metadata.conflict' },
  );
}

/** Marks a batch's dead letter resolved once it was delivered after all; false when there is none, or it is resolved already. */
export async function resolveDeadLetter(table: MetadataTable, slice: string, timelabel: string, batch: number): Promise<boolean> {
  const result = await table.updateIf('UpdateItem resolve dead letter', {
    key: keys.deadLetter(slice, timelabel, batch),
    update: 'SET #resolvedAt = :now',
    condition: `attribute_exists(#${PARTITION_KEY}) AND attribute_not_exists(#resolvedAt)`,
    values: { ':now': table.nowIso() },
  });
  return result !== CONDITION_FAILED;
}

/** A slice's dead letters, resolved ones included, oldest timelabel first; or those of one timelabel. */
export async function listDeadLetters(table: MetadataTable, slice: string, timelabel?: string): Promise<DeadLetterRecord[]> {
  const pk = keys.deadLettersPartition(slice);
  let items;
  if (timelabel !== undefined) {
    items = await table.queryPrefix('Query dead letters', pk, keys.deliveryTimelabelPrefix(timelabel));
  } else {
    const condition = `#${PARTITION_KEY} = :pk`;
    items = await table.query('Query dead letters', { KeyConditionExpression: condition, ExpressionAttributeNames: names(condition), ExpressionAttributeValues: { ':pk': pk } });
  }
  return items.map(decodeDeadLetter);
}
