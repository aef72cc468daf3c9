/**
 * A harness slice's Task handlers, bound to their services: what Lambda and
 * the local runtime both call, the same for every harness type (the pass is
 * generic; the type only publishes one timelabel). `publish` stores the
 * deployed config, runs one publishAll pass for this one publication and
 * answers a small summary; `fail` records why a pass could not run.
 */
import { PUBLICATIONS_DIR } from '../flow/load.ts';
import type { SliceSpec } from '../flow/types.ts';
import { HARNESS_FAILED_EVENT, HARNESS_TASKS, type HarnessFailInput, type HarnessFailure, type HarnessPublishInput, type HarnessSummary, type HarnessTask } from '../orchestration/harness-contracts.ts';
import { MAX_SUMMARY_ITEMS } from '../orchestration/pass-contracts.ts';
import { recordPassFailure, requireRunId } from '../orchestration/pass-tasks.ts';
import { storeDeployedSliceConfig } from '../runtime/deployed-config.ts';
import { atBoundary, type Handler, type Services } from '../runtime/services.ts';
import type { SliceRuntime } from '../slice.ts';
import { findSliceType } from '../../slices/registry.ts';
import { datasetKeysFromMetadata } from './keys.ts';
import { publishAll, type PublishOutcome } from './pass.ts';
import { harnessSettingsFromEnv, type HarnessSettings } from './setup.ts';
import { connectPublicationWarehouse } from './warehouse.ts';

/** The dataset a deployed config names; undefined when the config is too broken to say (a failure is still recorded). */
function datasetOf(settings: HarnessSettings): string | undefined {
  try {
    const dataset = findSliceType(settings.publication.type)?.harness?.dataset(settings.publication.config);
    return typeof dataset === 'string' ? dataset : undefined;
  } catch {
    return undefined;
  }
}

/** Failures first (they are what a reader of the execution history looks for), then in the order they ran. */
export function summarize(runId: string, publication: string, dataset: string, outcomes: PublishOutcome[]): HarnessSummary {
  const failed = outcomes.filter((o) => o.status === 'failed');
  const published = outcomes.length - failed.length;
  return {
    runId,
    publication,
    dataset,
    published,
    failed: failed.length,
    progressed: published > 0,
    items: [...failed, ...outcomes.filter((o) => o.status !== 'failed')]
      .slice(0, MAX_SUMMARY_ITEMS)
      .map((o) => ({ timelabel: o.timelabel, status: o.status, rows: o.rows, ...(o.error ? { error: o.error } : {}) })),
  };
}

export async function publish(services: Services, settings: HarnessSettings, input: HarnessPublishInput): Promise<HarnessSummary> {
  const runId = requireRunId(input, HARNESS_TASKS.publish, 'harness');
  // Refused here, before anything is read, when the deployed config does not pass its type's schema and rules.
  const stored = await storeDeployedSliceConfig(services, settings.publication);
  const spec: SliceSpec = { slice: stored.slice, type: stored.type, file: `${PUBLICATIONS_DIR}/${stored.slice}.yaml`, config: stored.config };
  const dataset = findSliceType(spec.type)!.harness!.dataset(spec.config);
  const outcomes = await publishAll({
    services,
    publications: [spec],
    keysOf: (d) => datasetKeysFromMetadata(services.metadata, d, findSliceType),
    findType: findSliceType,
    connect: (p) => connectPublicationWarehouse(services, settings.warehouse, p, findSliceType),
    runId,
  });
  const summary = summarize(runId, spec.slice, dataset, outcomes);
  services.log('publish pass done', { runId, publication: spec.slice, published: summary.published, failed: summary.failed, trigger: input.request?.trigger });
  return summary;
}

export function fail(services: Services, settings: HarnessSettings, input: HarnessFailInput): Promise<HarnessFailure> {
  const slice = settings.publication.slice;
  return recordPassFailure(services, input, {
    task: HARNESS_TASKS.fail, machine: 'harness', slice, dataset: datasetOf(settings), eventType: HARNESS_FAILED_EVENT, what: `publication ${slice}`,
  });
}

/** The handlers by task; `harnessRuntime` keys them by Task state name. */
export function harnessHandlers(services: Services, settings: HarnessSettings): Record<HarnessTask, Handler> {
  return {
    publish: atBoundary((input) => publish(services, settings, input as HarnessPublishInput)),
    fail: atBoundary((input) => fail(services, settings, input as HarnessFailInput)),
  };
}

/** What every harness type's `runtime()` answers: the handlers bound from the environment its stack sets, by Task state name. */
export function harnessRuntime(): SliceRuntime {
  return {
    handlers: (services) => {
      const h = harnessHandlers(services, harnessSettingsFromEnv());
      return Object.fromEntries((Object.keys(HARNESS_TASKS) as HarnessTask[]).map((task) => [HARNESS_TASKS[task], h[task]]));
    },
  };
}
