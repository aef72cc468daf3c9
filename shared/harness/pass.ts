/**
 * One harness pass: every publication publishes, in timelabel order, each
 * timelabel its dataset finished (a committed load or refresh: a refresh
 * whose check failed is not committed, so it is never published, and the
 * target keeps its last good state) that it has not published yet. A
 * publication stops at its first failure and tries again on the next pass,
 * so its target never skips ahead of a timelabel that could not be written.
 * A publication that lists a column its dataset lost (column-losses.ts)
 * pauses at the first timelabel without it, neither publishing NULLs nor
 * failing, until its file no longer lists the column.
 */
import type pg from 'pg';
import { TerminalError } from '../errors.ts';
import type { SliceSpec } from '../flow/types.ts';
import type { BatchRecord } from '../metadata/types.ts';
import { claimStep, pauseStep, settleStep, type StepKind } from '../orchestration/step-record.ts';
import { emit, type Services } from '../runtime/services.ts';
import { ORGANIZE_SLICE, type SliceDefinition } from '../slice.ts';
import { datasetLossesFromMetadata, lossAt, PUBLICATION_PAUSED, PUBLICATION_PAUSED_EVENT, publicationPauseMessage, publicationResume, type ColumnLoss } from './column-losses.ts';
import type { WarehouseDialectName } from './publication.ts';

export interface PublishOutcome {
  /** The publication (harness slice) name. */
  publication: string;
  dataset: string;
  timelabel: string;
  status: 'published' | 'failed' | 'paused';
  rows: number;
  error?: { code: string; message: string };
}

export interface HarnessPassInput {
  services: Services;
  publications: SliceSpec[];
  /** Key columns of each dataset that has some (a view's `@keys`, a collected table's keys); asked only when something is due. */
  keysOf(dataset: string): string[] | undefined | Promise<string[] | undefined>;
  findType(type: string): SliceDefinition<unknown> | undefined;
  /**
   * Connects to the warehouse a publication's dataset is read from (as its
   * own warehouse user when its config names one); called only when
   * something is due for it, and ended once it is done.
   */
  connect(publication: SliceSpec): Promise<{ client: pg.Client; dialect: WarehouseDialectName }>;
  runId: string;
  onOutcome?(outcome: PublishOutcome): void;
}

function harnessOf(spec: SliceSpec, findType: HarnessPassInput['findType']) {
  const harness = findType(spec.type)?.harness;
  if (harness === undefined) {
    throw new TerminalError('config', `${spec.file}: type ${spec.type} is not a harness slice type; expected one that publishes a dataset`, { code: 'config.slice-type' });
  }
  return harness;
}

export async function publishAll(input: HarnessPassInput): Promise<PublishOutcome[]> {
  const { services, runId } = input;
  const finished = (await services.metadata.listBatches(ORGANIZE_SLICE)).filter((b) => b.status === 'committed');
  const due: { spec: SliceSpec; dataset: string; timelabels: string[]; own: BatchRecord[] }[] = [];
  for (const spec of input.publications) {
    const dataset = harnessOf(spec, input.findType).dataset(spec.config);
    const own = (await services.metadata.listBatches(spec.slice, dataset)).filter((b) => b.loadunit === dataset);
    const published = new Set(own.filter((b) => b.status === 'committed').map((b) => b.timelabel));
    const timelabels = finished.filter((b) => b.loadunit === dataset && !published.has(b.timelabel)).map((b) => b.timelabel).sort();
    if (timelabels.length > 0) due.push({ spec, dataset, timelabels, own });
  }

  const outcomes: PublishOutcome[] = [];
  for (const { spec, dataset, timelabels, own } of due) {
    const harness = harnessOf(spec, input.findType);
    const publisher = await harness.publisher();
    const keys = await input.keysOf(dataset);
    const kind: StepKind = { slice: spec.slice, step: 'publish', doneEvent: 'batch.published', failedEvent: 'publish.failed' };
    const mapped = harness.mappedColumns(spec.config);
    const warehouse = await input.connect(spec);
    try {
      // Only a list can name a column the dataset lost; `all` publishes what the dataset has.
      const losses = mapped === undefined ? [] : await datasetLossesFromMetadata(services.metadata, dataset, warehouse.dialect);
      for (const timelabel of timelabels) {
        const loss = mapped === undefined ? undefined : lossAt(losses, mapped, timelabel);
        if (loss !== undefined) {
          const outcome = await pausePublication(services, kind, runId, spec, dataset, timelabel, loss, own);
          if (outcome !== undefined) {
            outcomes.push(outcome);
            input.onOutcome?.(outcome);
          }
          break;
        }
        if (!(await claimStep(services, kind, runId, dataset, timelabel))) break;
        const result = await settleStep(services, kind, runId, dataset, timelabel, async () => {
          const r = await publisher.publish({ services, slice: spec.slice, config: spec.config, dataset, timelabel, runId, warehouse, keys });
          return { rows: r.rows, manifestKey: spec.file, detail: r.detail };
        });
        const outcome: PublishOutcome = result.ok
          ? { publication: spec.slice, dataset, timelabel, status: 'published', rows: result.rows }
          : { publication: spec.slice, dataset, timelabel, status: 'failed', rows: 0, error: result.error };
        outcomes.push(outcome);
        input.onOutcome?.(outcome);
        if (!result.ok) break;
      }
    } finally {
      await warehouse.client.end().catch(() => {});
    }
  }
  return outcomes;
}

/**
 * Parks the publication at its first timelabel without a column it lists:
 * a `paused` record saying which column, which change and what to edit, and
 * one metadata event. Undefined when it was paused there for the same reason
 * already (nothing new to record or tell) or another pass holds the record.
 */
async function pausePublication(
  services: Services,
  kind: StepKind,
  runId: string,
  spec: SliceSpec,
  dataset: string,
  timelabel: string,
  loss: ColumnLoss,
  own: readonly BatchRecord[],
): Promise<PublishOutcome | undefined> {
  const message = publicationPauseMessage(spec.slice, spec.file, dataset, loss);
  const told = own.some((b) => b.status === 'paused' && b.error?.message === message);
  if (own.some((b) => b.timelabel === timelabel && b.status === 'paused' && b.error?.message === message)) return undefined;
  if (!(await claimStep(services, kind, runId, dataset, timelabel))) return undefined;
  await pauseStep(services, kind, runId, dataset, timelabel, { code: PUBLICATION_PAUSED, message });
  if (!told) {
    await emit(services, {
      kind: 'metadata', type: PUBLICATION_PAUSED_EVENT, slice: spec.slice, dataset, timelabel,
      detail: { code: PUBLICATION_PAUSED, message, publication: spec.slice, file: spec.file, column: loss.column, change: loss.change, since: loss.since, command: publicationResume(spec.file, loss.column) },
    });
  }
  return { publication: spec.slice, dataset, timelabel, status: 'paused', rows: 0, error: { code: PUBLICATION_PAUSED, message } };
}
