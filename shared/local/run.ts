/**
 * `reef run` on the embedded default: stores each slice's validated config,
 * then executes each slice's state machine (the same ASL as in AWS) for every
 * timelabel asked for, oldest first, letting demo generators change their
 * sources for each period before it is collected. After each timelabel, when
 * the flow names a warehouse, an organize pass loads what was committed and
 * refreshes the views whose inputs became complete (with the view version in
 * effect; a fresh flow applies its views first).
 */
import { TerminalError } from '../errors.ts';
import { validateSliceConfig } from '../flow/load.ts';
import type { SliceSpec } from '../flow/types.ts';
import { applyFreshFlow, checkViewsApplied, versionResolver } from './apply.ts';
import { buildCollectStateMachine } from '../orchestration/collect-machine.ts';
import { COLLECT_TASKS, type BatchOutcome, type CollectRunRequest } from '../orchestration/contracts.ts';
import { lastCompleteTimelabel, parseSchedule, timelabelRange, isAligned } from '../timelabel.ts';
import { findSliceType } from '../../slices/registry.ts';
import type { SliceDefinition } from '../slice.ts';
import type { LocalRuntime } from './runtime.ts';
import { randomUUID } from 'node:crypto';
import { organize, ORGANIZE_SLICE, type OrganizeOutcome } from '../../slices/organize/redshift/organizer.ts';
import { runLocalStateMachine } from './step-functions.ts';
import { publishAll, type PublishOutcome } from '../harness/pass.ts';
import { collectedTableKeys } from '../harness/keys.ts';
import { connectPublicationWarehouse } from '../harness/warehouse.ts';
import type { Flow } from '../flow/types.ts';
import { organizeSetupOfFlow } from '../../slices/organize/redshift/setup.ts';

export interface RunRequest {
  slice?: string;
  timelabel?: string;
  from?: string;
  to?: string;
  /** Milliseconds between retries instead of the ASL backoff; tests set it (or REEF_RETRY_INTERVAL_MS) to keep retries quick. */
  retryIntervalMs?: number;
  onBatch?: (outcome: BatchOutcome) => void;
  onOrganize?: (outcome: OrganizeOutcome) => void;
  onPublish?: (outcome: PublishOutcome) => void;
}

export interface RunReport {
  installation: string;
  bucket: string;
  timelabels: string[];
  batches: BatchOutcome[];
  /** Loads into the warehouse and view refreshes, in the order they ran. */
  organized: OrganizeOutcome[];
  /** Publications of finished timelabels, in the order they ran. */
  published: PublishOutcome[];
  failed: number;
  /** The update set this run applied itself: the installation had never applied one (a fresh flow). */
  applied?: string;
}

/** Placeholder ARNs: locally each Task is bound to its handler by state name, nothing is called through them. */
function localArns(installation: string, slice: string): Record<keyof typeof COLLECT_TASKS, string> {
  const arn = (task: string) => `arn:aws:lambda:us-east-1:000000000000:function:${installation}-${slice}-${task}`;
  return { plan: arn('plan'), extract: arn('extract'), commit: arn('commit'), announce: arn('announce'), fail: arn('fail') };
}

function selectSlices(specs: SliceSpec[], only: string | undefined): SliceSpec[] {
  if (!only) return specs;
  const found = specs.filter((s) => s.slice === only);
  if (found.length === 0) {
    throw new TerminalError('config', `--slice ${only}: no such slice; expected one of ${specs.map((s) => s.slice).join(', ') || '(none)'}`, {
      code: 'config.unknown-slice',
    });
  }
  return found;
}

function timelabelsFor(spec: SliceSpec, definition: SliceDefinition<unknown>, request: RunRequest, now: Date): string[] {
  const schedule = parseSchedule(definition.schedule(spec.config), `${spec.file}: schedule`);
  if (request.timelabel) {
    if (!isAligned(schedule, request.timelabel)) {
      throw new TerminalError('config', `--timelabel ${request.timelabel} is not the start of a period of slice ${spec.slice} (${definition.schedule(spec.config)})`, {
        code: 'config.timelabel',
      });
    }
    return [request.timelabel];
  }
  if (request.from || request.to) {
    if (!request.from || !request.to) {
      throw new TerminalError('config', '--from and --to go together; expected both', { code: 'config.range' });
    }
    return timelabelRange(schedule, request.from, request.to);
  }
  return [lastCompleteTimelabel(schedule, now)];
}

export async function runFlow(runtime: LocalRuntime, request: RunRequest): Promise<RunReport> {
  const envInterval = process.env.REEF_RETRY_INTERVAL_MS;
  const retryIntervalMs = request.retryIntervalMs ?? (envInterval ? Number(envInterval) : undefined);
  const { services, flow } = runtime;
  const specs = selectSlices(flow.sources, request.slice);
  const plans = specs.map((spec) => {
    const definition = findSliceType(spec.type);
    if (!definition) throw new TerminalError('config', `${spec.file}: unknown slice type ${spec.type}`, { code: 'config.slice-type' });
    return { spec, definition, timelabels: timelabelsFor(spec, definition, request, services.now()) };
  });
  for (const { spec } of plans) {
    await services.metadata.putSliceConfig({ slice: spec.slice, type: spec.type, config: spec.config }, (type, config) =>
      validateSliceConfig(type, config, spec.file),
    );
  }
  const machines = new Map<string, { definition: object; handlers: Record<string, (i: unknown) => Promise<unknown>> }>();
  for (const { spec, definition } of plans) {
    const sliceRuntime = await definition.runtime();
    machines.set(spec.slice, {
      definition: buildCollectStateMachine({
        functionArns: localArns(flow.installation.name, spec.slice),
        maxConcurrency: definition.maxConcurrency(spec.config),
        sliceName: spec.slice,
      }),
      handlers: sliceRuntime.handlers(services),
    });
  }
  const organizes = flow.installation.warehouse !== undefined && flow.views.length > 0;
  let fresh = organizes && (await services.metadata.listUpdateSets(ORGANIZE_SLICE)).length === 0;
  if (organizes && !fresh) await checkViewsApplied(runtime, flow);
  let applied: string | undefined;
  const all = [...new Set(plans.flatMap((p) => p.timelabels))].sort();
  const batches: BatchOutcome[] = [];
  const organized: OrganizeOutcome[] = [];
  const published: PublishOutcome[] = [];
  for (const timelabel of all) {
    await runtime.tickGenerators(timelabel);
    for (const { spec, timelabels } of plans) {
      if (!timelabels.includes(timelabel)) continue;
      const machine = machines.get(spec.slice)!;
      const input: CollectRunRequest = { slice: spec.slice, timelabel };
      const output = await runLocalStateMachine(machine.definition, input, { handlers: machine.handlers, retryIntervalMs });
      for (const outcome of flattenOutcomes(output)) {
        batches.push(outcome);
        request.onBatch?.(outcome);
      }
    }
    if (fresh) {
      applied = await applyFreshFlow(runtime, flow);
      fresh = applied === undefined;
    }
    // What became complete with this timelabel is loaded and refreshed before the next one is collected.
    organized.push(...(await organizePass(runtime, request.onOrganize)));
    published.push(...(await publishPass(runtime, request.onPublish)));
  }
  const failed = [...batches, ...organized, ...published].filter((x) => x.status === 'failed').length;
  const report: RunReport = { installation: flow.installation.name, bucket: services.bucket, timelabels: all, batches, organized, published, failed };
  if (applied !== undefined) report.applied = applied;
  return report;
}

/** One organize pass over the flow's warehouse (none without one): loads what was committed, refreshes what became ready. */
export async function organizePass(runtime: LocalRuntime, onOutcome?: (o: OrganizeOutcome) => void): Promise<OrganizeOutcome[]> {
  const setup = organizeSetupOfFlow(runtime.flow);
  if (setup === undefined) return [];
  return organize({ services: runtime.services, ...setup, runId: randomUUID(), versionOf: versionResolver(runtime), onOutcome, flowDir: runtime.flow.dir });
}

/** One harness pass: every publication publishes the timelabels its dataset finished since its last. */
export async function publishPass(runtime: LocalRuntime, onOutcome?: (o: PublishOutcome) => void): Promise<PublishOutcome[]> {
  const { flow, services } = runtime;
  const setup = organizeSetupOfFlow(flow);
  if (setup === undefined || flow.publications.length === 0) return [];
  return publishAll({
    services,
    publications: flow.publications,
    keysOf: (dataset) => datasetKeys(flow, dataset),
    findType: findSliceType,
    connect: (publication) => connectPublicationWarehouse(services, setup.warehouse, publication, findSliceType),
    runId: randomUUID(),
    onOutcome,
  });
}

/** A view's `@keys`, or the keys a collected table is merged by. */
function datasetKeys(flow: Flow, dataset: string): string[] | undefined {
  const view = flow.views.find((v) => v.name === dataset);
  if (view) return view.header.keys.length > 0 ? view.header.keys : undefined;
  const spec = flow.sources.find((s) => s.slice === dataset.slice(0, dataset.indexOf('.')));
  return spec ? collectedTableKeys(spec, dataset, findSliceType) : undefined;
}

/** The execution output nests outcomes per loadunit and per timelabel; anything that is an outcome is kept. */
export function flattenOutcomes(output: unknown): BatchOutcome[] {
  if (Array.isArray(output)) return output.flatMap(flattenOutcomes);
  if (output && typeof output === 'object') {
    const o = output as Record<string, unknown>;
    if (typeof o.status === 'string' && typeof o.dataset === 'string' && typeof o.timelabel === 'string') return [o as unknown as BatchOutcome];
    return Object.values(o).flatMap(flattenOutcomes);
  }
  return [];
}
