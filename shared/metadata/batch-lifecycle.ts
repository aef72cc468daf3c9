/**
 * A batch's state changes, each one conditional write: `pending|failed →
 * running` under an owner token and lease, then `running → committed|failed`
 * only by that owner. A commit writes the batch first and then advances the
 * loadunit pointer.
 */
import { TRANSIENT_ERROR_NAME, TerminalError, TransientError } from '../errors.ts';
import type { BatchRef } from './batches.ts';
import { batchMissing, batchName, compareBatches, requireBatch } from './batches.ts';
import type { Item } from './codec.ts';
import { decodeBatch } from './codec.ts';
import type { ItemKey } from './keys.ts';
import { PARTITION_KEY, keys } from './keys.ts';
import { advancePointer } from './loadunit-pointer.ts';
import type { Conditional, MetadataTable } from './table.ts';
import { CONDITION_FAILED, KEY_PREFIX, names } from './table.ts';
import type { BatchError, BatchFigures, BatchRecord, CursorRange } from './types.ts';

/**
 * How many times startBatch re-tries its write when the re-read shows a state
 * it may start from (another run failed or released the batch in between).
 * Each round means someone else changed the batch, so a few is plenty.
 */
const START_ROUNDS = 3;

/** A batch and the run that holds (or means to hold) it. */
export interface OwnedBatchRef extends BatchRef {
  owner: string;
}
export interface StartBatchInput extends OwnedBatchRef {
  leaseSeconds: number;
}
export interface FixBatchCursorInput extends OwnedBatchRef {
  cursor: CursorRange;
}
export interface CommitBatchInput extends OwnedBatchRef {
  figures: BatchFigures;
  manifestKey: string;
  schemaVersion: number;
}
export interface FailBatchInput extends OwnedBatchRef {
  error: BatchError;
}
export type StartOutcome = { outcome: 'started' | 'committed' | 'busy'; batch: BatchRecord };

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

function notOwner(input: OwnedBatchRef, action: string, found: BatchRecord): TerminalError {
  return new TerminalError(
    'internal',
    `batch ${batchName(input)}: expected status running with owner ${input.owner} to ${action}, found status ${found.status} with owner ${found.owner ?? 'none'}`,
    { code: 'metadata.not-owner' },
  );
}

/** An update that applies only while `owner` still holds the running batch; answers the batch item as written. */
function updateWhileHeld(table: MetadataTable, operation: string, key: ItemKey, owner: string, update: string, values: Record<string, unknown>): Promise<Conditional<Item>> {
  return table.updateIf(operation, {
    key,
    update,
    condition: '#status = :running AND #owner = :owner',
    values: { ...values, ':running': 'running', ':owner': owner },
    returnItem: true,
  });
}

/** running + owner → failed (or paused); undefined when the owner no longer holds the batch. */
async function markFailed(table: MetadataTable, key: ItemKey, owner: string, error: BatchError, status: 'failed' | 'paused' = 'failed'): Promise<BatchRecord | undefined> {
  const result = await updateWhileHeld(table, `UpdateItem ${status === 'failed' ? 'fail' : 'pause'} batch`, key, owner, 'SET #status = :failed, #error = :error, #finishedAt = :now REMOVE #owner, #leaseUntil', {
    ':failed': status,
    ':error': { name: error.name, category: error.category, code: error.code, message: error.message },
    ':now': table.nowIso(),
  });
  return result === CONDITION_FAILED ? undefined : decodeBatch(result);
}

export async function startBatch(table: MetadataTable, input: StartBatchInput): Promise<StartOutcome> {
  const key = keys.batch(input.slice, input.loadunit, input.timelabel);
  checkOwner(input.owner);
  if (!Number.isFinite(input.leaseSeconds) || input.leaseSeconds <= 0) {
    throw new TerminalError('internal', `lease of ${input.leaseSeconds} s for batch ${batchName(input)}; expected a positive number of seconds`, {
      code: 'metadata.invalid-input',
    });
  }
  const update = 'SET #status = :running, #owner = :owner, #leaseUntil = :lease, #attempts = #attempts + :one, #startedAt = :now REMOVE #error, #finishedAt';
  // A run may start a batch nobody holds, one whose holder's lease ran out, or one it holds itself (a Step Functions retry of the same run).
  const condition = `attribute_exists(#${PARTITION_KEY}) AND (#status IN (:pending, :failed, :paused) OR (#status = :running AND (#leaseUntil < :now OR #owner = :owner)))`;
  for (let round = 0; round < START_ROUNDS; round++) {
    const t = table.now();
    const now = t.toISOString();
    const result = await table.updateIf('UpdateItem start batch', {
      key,
      update,
      condition,
      values: {
        ':running': 'running',
        ':pending': 'pending',
        ':failed': 'failed',
        ':paused': 'paused',
        ':owner': input.owner,
        ':lease': new Date(t.getTime() + input.leaseSeconds * 1000).toISOString(),
        ':one': 1,
        ':now': now,
      },
      returnItem: true,
    });
    if (result !== CONDITION_FAILED) return { outcome: 'started', batch: decodeBatch(result) };

    const found = await requireBatch(table, input, 'startBatch');
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

export async function fixBatchCursor(table: MetadataTable, input: FixBatchCursorInput): Promise<CursorRange> {
  const key = keys.batch(input.slice, input.loadunit, input.timelabel);
  checkOwner(input.owner);
  const result = await updateWhileHeld(table, 'UpdateItem batch cursor', key, input.owner, 'SET #cursor = if_not_exists(#cursor, :cursor)', {
    ':cursor': { from: input.cursor.from ?? null, to: input.cursor.to ?? null },
  });
  if (result === CONDITION_FAILED) {
    throw notOwner(input, 'fix its cursor', await requireBatch(table, input, 'fixBatchCursor'));
  }
  const stored = decodeBatch(result).cursor;
  return stored ?? { from: input.cursor.from ?? null, to: input.cursor.to ?? null };
}

export async function commitBatch(table: MetadataTable, input: CommitBatchInput): Promise<BatchRecord> {
  const key = keys.batch(input.slice, input.loadunit, input.timelabel);
  checkOwner(input.owner);
  const figures = checkFigures(input.figures);
  // `committedBy` is kept (and never returned) so a repeated commit by the same run can be recognised after `owner` is removed.
  const update =
    'SET #status = :committed, #figures = :figures, #manifestKey = :manifestKey, #schemaVersion = :schemaVersion, #finishedAt = :now, #committedBy = :owner REMOVE #owner, #leaseUntil';
  const result = await updateWhileHeld(table, 'UpdateItem commit batch', key, input.owner, update, {
    ':committed': 'committed',
    ':figures': figures,
    ':manifestKey': input.manifestKey,
    ':schemaVersion': input.schemaVersion,
    ':now': table.nowIso(),
  });
  let batch: BatchRecord;
  if (result !== CONDITION_FAILED) {
    batch = decodeBatch(result);
  } else {
    const item = await table.get('GetItem batch', key);
    const found = item && decodeBatch(item);
    if (!item || !found) throw batchMissing(input, 'commitBatch');
    if (found.status !== 'committed' || item.committedBy !== input.owner) throw notOwner(input, 'commit it', found);
    batch = found;
  }
  // Also on a repeated commit: the first attempt may have stopped before moving the pointer.
  await advancePointer(table, batch);
  return batch;
}

export async function failBatch(table: MetadataTable, input: FailBatchInput): Promise<BatchRecord> {
  const key = keys.batch(input.slice, input.loadunit, input.timelabel);
  checkOwner(input.owner);
  const updated = await markFailed(table, key, input.owner, input.error);
  return updated ?? requireBatch(table, input, 'failBatch');
}

/** running + owner → paused: the work cannot run until a definition changes; `reason` says why and what to run. */
export async function pauseBatch(table: MetadataTable, input: FailBatchInput): Promise<BatchRecord> {
  const key = keys.batch(input.slice, input.loadunit, input.timelabel);
  checkOwner(input.owner);
  const updated = await markFailed(table, key, input.owner, input.error, 'paused');
  return updated ?? requireBatch(table, input, 'pauseBatch');
}

export async function recoverInterrupted(table: MetadataTable, slice: string): Promise<BatchRecord[]> {
  const filter = '#status = :running';
  const running = await table.query(
    'Query running batches',
    {
      KeyConditionExpression: KEY_PREFIX,
      FilterExpression: filter,
      ExpressionAttributeNames: names(KEY_PREFIX, filter),
      ExpressionAttributeValues: { ':pk': keys.slicePartition(slice), ':prefix': keys.batchPrefix(), ':running': 'running' },
    },
    { filtered: true },
  );
  const changed: BatchRecord[] = [];
  for (const batch of running.map(decodeBatch).sort(compareBatches)) {
    const owner = batch.owner ?? '';
    const updated = await markFailed(table, keys.batch(batch.slice, batch.loadunit, batch.timelabel), owner, {
      name: TRANSIENT_ERROR_NAME,
      category: 'internal',
      code: 'batch.interrupted',
      message: `batch ${batchName(batch)} was still running (owner ${owner || 'none'}) when the local runtime started again; expected it to have committed or failed before the runtime stopped, so it will run again`,
    });
    if (updated) changed.push(updated);
  }
  return changed;
}

/**
 * committed or failed → pending, so the next pass does the work again (a
 * backfill). A running batch is left to its holder: reopening it under a live
 * run would let two runs write the same period. Answers the batch as it is
 * now, reopened or not.
 */
export async function reopenBatch(table: MetadataTable, input: BatchRef & { reason: string }): Promise<{ reopened: boolean; batch: BatchRecord }> {
  const key = keys.batch(input.slice, input.loadunit, input.timelabel);
  const result = await table.updateIf('UpdateItem reopen batch', {
    key,
    update: 'SET #status = :pending, #reopened = :reopened REMOVE #error, #finishedAt',
    condition: `attribute_exists(#${PARTITION_KEY}) AND #status IN (:committed, :failed, :paused)`,
    values: { ':pending': 'pending', ':committed': 'committed', ':failed': 'failed', ':paused': 'paused', ':reopened': { at: table.nowIso(), reason: input.reason } },
    returnItem: true,
  });
  if (result !== CONDITION_FAILED) return { reopened: true, batch: decodeBatch(result) };
  return { reopened: false, batch: await requireBatch(table, input, 'reopenBatch') };
}
