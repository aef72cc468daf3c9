/**
 * One harness pass: every publication publishes, in timelabel order, each
 * timelabel its dataset finished (a committed load or refresh: a refresh
 * whose check failed is not committed, so it is never published, and the
 * target keeps its last good state) that it has not published yet. A
 * publication stops at its first failure and tries again on the next pass,
 * so its target never skips ahead of a timelabel that could not be written.
 */
import type pg from 'pg';
import { TerminalError } from '../errors.ts';
import type { SliceSpec } from '../flow/types.ts';
import { claimStep, settleStep, type StepKind } from '../orchestration/step-record.ts';
import type { Services } from '../runtime/services.ts';
import { ORGANIZE_SLICE, type SliceDefinition } from '../slice.ts';
import type { WarehouseDialectName } from './publication.ts';

export interface PublishOutcome {
  /** The publication (harness slice) name. */
  publication: string;
  dataset: string;
  timelabel: string;
  status: 'published' | 'failed';
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
  const due: { spec: SliceSpec; dataset: string; timelabels: string[] }[] = [];
  for (const spec of input.publications) {
    const dataset = harnessOf(spec, input.findType).dataset(spec.config);
    const published = new Set((await services.metadata.listBatches(spec.slice, dataset)).filter((b) => b.loadunit === dataset && b.status === 'committed').map((b) => b.timelabel));
    const timelabels = finished.filter((b) => b.loadunit === dataset && !published.has(b.timelabel)).map((b) => b.timelabel).sort();
    if (timelabels.length > 0) due.push({ spec, dataset, timelabels });
  }

  const outcomes: PublishOutcome[] = [];
  for (const { spec, dataset, timelabels } of due) {
    const publisher = await harnessOf(spec, input.findType).publisher();
    const keys = await input.keysOf(dataset);
    const kind: StepKind = { slice: spec.slice, step: 'publish', doneEvent: 'batch.published', failedEvent: 'publish.failed' };
    const warehouse = await input.connect(spec);
    try {
      for (const timelabel of timelabels) {
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
