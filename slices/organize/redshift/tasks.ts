/**
 * The organize slice's Task handlers, bound to their services: what Lambda
 * and the local runtime both call. `pass` builds what a pass needs from the
 * metadata (there are no flow files in AWS), runs one organize pass and
 * answers a small summary; `fail` records why a pass could not run.
 */
import {
  MAX_SUMMARY_ITEMS, ORGANIZE_TASKS, type OrganizeFailInput, type OrganizeFailure, type OrganizePassInput, type OrganizeSummary, type OrganizeSummaryItem, type OrganizeTask,
} from '../../../shared/orchestration/organize-contracts.ts';
import { recordPassFailure, requireRunId } from '../../../shared/orchestration/pass-tasks.ts';
import { atBoundary, type Handler, type Services } from '../../../shared/runtime/services.ts';
import { ORGANIZE_SLICE } from '../../../shared/slice.ts';
import { versionResolver } from '../../../shared/views/applied.ts';
import { organize, type OrganizeOutcome } from './organizer.ts';
import { organizeSetupFromMetadata, type OrganizeSettings } from './setup.ts';

/** Failures first (they are what a reader of the execution history looks for), then in the order they ran. */
export function summarize(runId: string, outcomes: OrganizeOutcome[]): OrganizeSummary {
  const item = (o: OrganizeOutcome): OrganizeSummaryItem => ({
    kind: o.kind, dataset: o.dataset, timelabel: o.timelabel, status: o.status, rows: o.rows, ...(o.error ? { error: o.error } : {}),
  });
  const failed = outcomes.filter((o) => o.status === 'failed');
  const loaded = outcomes.filter((o) => o.status === 'loaded').length;
  const refreshed = outcomes.filter((o) => o.status === 'refreshed').length;
  return {
    runId,
    loaded,
    refreshed,
    failed: failed.length,
    progressed: loaded + refreshed > 0,
    items: [...failed, ...outcomes.filter((o) => o.status !== 'failed')].slice(0, MAX_SUMMARY_ITEMS).map(item),
  };
}

export async function pass(services: Services, settings: OrganizeSettings, input: OrganizePassInput): Promise<OrganizeSummary> {
  const runId = requireRunId(input, ORGANIZE_TASKS.pass, 'organize');
  const setup = await organizeSetupFromMetadata(services.metadata, settings);
  const outcomes = await organize({ services, ...setup, runId, versionOf: versionResolver(services.metadata, ORGANIZE_SLICE) });
  const summary = summarize(runId, outcomes);
  services.log('organize pass done', { runId, loaded: summary.loaded, refreshed: summary.refreshed, failed: summary.failed, trigger: input.request?.trigger });
  return summary;
}

export function fail(services: Services, input: OrganizeFailInput): Promise<OrganizeFailure> {
  return recordPassFailure(services, input, {
    task: ORGANIZE_TASKS.fail, machine: 'organize', slice: ORGANIZE_SLICE, eventType: 'organize.failed', what: 'organize pass',
  });
}

/** The handlers by task; the slice definition keys them by Task state name. */
export function organizeHandlers(services: Services, settings: OrganizeSettings): Record<OrganizeTask, Handler> {
  return {
    pass: atBoundary((input) => pass(services, settings, input as OrganizePassInput)),
    fail: atBoundary((input) => fail(services, input as OrganizeFailInput)),
  };
}
