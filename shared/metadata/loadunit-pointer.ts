/**
 * The loadunit pointer: the item a commit flips last, naming the newest
 * committed batch and its cursor, where the next run starts.
 */
import { latestCommittedBatch } from './batches.ts';
import { decodeLoadunitState } from './codec.ts';
import { keys } from './keys.ts';
import type { MetadataTable } from './table.ts';
import { CONDITION_FAILED, ITEM_ABSENT } from './table.ts';
import type { BatchRecord, LoadunitState } from './types.ts';

/**
 * Moves the loadunit pointer to `batch` only if that is forward, so a late or
 * repeated commit never rewinds the cursor and rows are counted once.
 */
export async function advancePointer(table: MetadataTable, batch: BatchRecord): Promise<boolean> {
  const figures = batch.figures ?? { rows: 0, files: 0, bytes: 0 };
  const result = await table.updateIf('UpdateItem loadunit pointer', {
    key: keys.loadunit(batch.slice, batch.loadunit),
    update:
      'SET #slice = :slice, #loadunit = :loadunit, #dataset = :dataset, #lastCommittedTimelabel = :timelabel, #cursor = :cursor, #lastFigures = :figures, #updatedAt = :now, #totalRows = if_not_exists(#totalRows, :zero) + :rows',
    condition: `${ITEM_ABSENT} OR #lastCommittedTimelabel < :timelabel`,
    values: {
      ':slice': batch.slice,
      ':loadunit': batch.loadunit,
      ':dataset': batch.dataset,
      ':timelabel': batch.timelabel,
      ':cursor': batch.cursor?.to ?? null,
      ':figures': figures,
      ':now': table.nowIso(),
      ':zero': 0,
      ':rows': figures.rows,
    },
  });
  return result !== CONDITION_FAILED;
}

export async function getLoadunitState(table: MetadataTable, slice: string, loadunit: string): Promise<LoadunitState | undefined> {
  const item = await table.get('GetItem loadunit state', keys.loadunit(slice, loadunit));
  return item && decodeLoadunitState(item);
}

export async function listLoadunitStates(table: MetadataTable, slice: string): Promise<LoadunitState[]> {
  const items = await table.queryPrefix('Query loadunit states', keys.slicePartition(slice), keys.loadunitPrefix);
  return items.map(decodeLoadunitState);
}

export async function repairLoadunitPointer(table: MetadataTable, slice: string, loadunit: string): Promise<LoadunitState | undefined> {
  const latest = await latestCommittedBatch(table, slice, loadunit);
  if (latest) await advancePointer(table, latest);
  return getLoadunitState(table, slice, loadunit);
}
