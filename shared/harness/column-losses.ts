/**
 * Which columns a published dataset lost, and from which timelabel: what
 * pauses a publication that maps one of them by name (a `columns` list)
 * instead of publishing NULLs or failing. Nothing is dropped in the
 * warehouse, so the loss is read from the metadata, never from the catalog:
 * - a collected table `<source>.<table>`: the schema registry's breaks
 *   (a column the source dropped, or retyped incompatibly into a new
 *   warehouse column), as the organize slice lands them;
 * - a view: a column an applied version's signature has and a later one
 *   lacks, from that version's first timelabel.
 * Both runtimes read it through `datasetLossesFromMetadata`, so a pass pauses
 * at the same timelabel locally and in AWS.
 */
import type { MetadataStore } from '../metadata/store.ts';
import type { ViewVersion } from '../metadata/types.ts';
import { ORGANIZE_SLICE } from '../slice.ts';
import { schemaEffects } from '../../slices/organize/redshift/schema-changes.ts';
import type { WarehouseDialectName } from './publication.ts';

export interface ColumnLoss {
  column: string;
  change: 'dropped' | 'retyped' | 'removed';
  /** The first timelabel of the dataset without the column. */
  since: string;
  /** The timelabel the column came back, if it did. */
  until?: string;
  /** What happened, in words: `the source dropped it (it was text)`. */
  what: string;
}

/** The metadata event of a publication that pauses (once, at its first paused timelabel, until it publishes again). */
export const PUBLICATION_PAUSED_EVENT = 'publication.paused';
/** The code of a publish record paused by a lost column. */
export const PUBLICATION_PAUSED = 'publication.paused';

/** Columns that leave a view's signature between applied versions (oldest first), each until a later version has it again. */
export function viewLosses(versions: readonly ViewVersion[]): ColumnLoss[] {
  const sorted = [...versions].filter((v) => !v.removed).sort((a, b) => (a.effectiveFrom < b.effectiveFrom ? -1 : a.effectiveFrom > b.effectiveFrom ? 1 : a.version - b.version));
  const losses: ColumnLoss[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const now = new Set(sorted[i].signature.map((c) => c.name));
    for (const l of losses) if (l.until === undefined && now.has(l.column)) l.until = sorted[i].effectiveFrom;
    for (const c of sorted[i - 1].signature) {
      if (now.has(c.name)) continue;
      losses.push({ column: c.name, change: 'removed', since: sorted[i].effectiveFrom, what: `version ${sorted[i].version} of the view no longer outputs it (it was ${c.type})` });
    }
  }
  return losses;
}

/** The first loss of a mapped column that reaches a timelabel. */
export function lossAt(losses: readonly ColumnLoss[], mapped: readonly string[], timelabel: string): ColumnLoss | undefined {
  return losses.find((l) => mapped.includes(l.column) && l.since <= timelabel && (l.until === undefined || timelabel < l.until));
}

/**
 * The dataset's losses from the metadata: a view's applied versions (a
 * version counts once its update set is recorded), else the registry of the
 * collect slice named by the dataset's schema.
 */
export async function datasetLossesFromMetadata(metadata: MetadataStore, dataset: string, dialect: WarehouseDialectName): Promise<ColumnLoss[]> {
  const versions = await metadata.listViewVersions(ORGANIZE_SLICE, dataset);
  if (versions.length > 0) {
    const applied = new Set((await metadata.listUpdateSets(ORGANIZE_SLICE)).map((u) => u.id));
    return viewLosses(versions.filter((v) => applied.has(v.updateSet)));
  }
  const schemas = await metadata.listSchemaVersions(dataset.slice(0, dataset.indexOf('.')), dataset);
  return schemaEffects(dialect, schemas).breaks.map((b) => ({
    column: b.column,
    change: b.change,
    since: b.since,
    until: b.until,
    what:
      b.change === 'dropped'
        ? `the source dropped it (it was ${b.from})`
        : `the source retyped it from ${b.from} to ${b.to}, incompatibly, so its new values land in ${b.landsIn} and ${b.column} stays NULL`,
  }));
}

/** What ends a publication's pause: the event's `command`, and the end of the record's message. */
export function publicationResume(file: string, column: string): string {
  return `edit ${file} so its columns no longer list ${column} (or publish columns: all); the next pass then publishes from where it stopped`;
}

/** What a paused publish record holds and its event says: the publication, the column, the change, and what to edit. */
export function publicationPauseMessage(publication: string, file: string, dataset: string, loss: ColumnLoss): string {
  return `publication ${publication} is paused: it publishes ${dataset}.${loss.column}, and ${loss.what} from ${loss.since} on; to resume: ${publicationResume(file, loss.column)}`;
}
