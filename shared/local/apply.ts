/**
 * `reef plan` and `reef apply` on the embedded default: the flow against what
 * the installation runs (slice configs and applied view versions), and the
 * storing of a plan. Apply writes slice configs, then view versions, then the
 * update set last: a version counts only once its update set is recorded, so
 * an apply cut short leaves nothing half-applied.
 */
import { TerminalError, isReefError } from '../errors.ts';
import { validateSliceConfig } from '../flow/load.ts';
import type { Flow } from '../flow/types.ts';
import type { ViewColumn, ViewVersion } from '../metadata/types.ts';
import { sqlHash } from '../plan/definition.ts';
import { planIsAllowed } from '../plan/allowed.ts';
import { buildPlan } from '../plan/build.ts';
import type { Plan, PlanStage, PlanUpdateSet } from '../plan/types.ts';
import { connectWithSecret } from '../postgres-connection.ts';
import { ORGANIZE_SLICE } from '../slice.ts';
import { describeFlowViews } from '../../slices/organize/redshift/signatures.ts';
import { warehouseError } from '../../slices/organize/redshift/warehouse-errors.ts';
import type { LocalRuntime } from './runtime.ts';
import { sameDefinition, versionResolver as resolveVersions, type VersionOf } from '../views/applied.ts';

/**
 * Before every real timelabel: an update set planned from here takes effect
 * from the first period of each view, so the history already collected is
 * refreshed too.
 */
export const BEFORE_EVERYTHING = '19700101000000';

export interface PlanFlowOptions {
  /** Overrides the timelabel the update set must follow (see planAfter). */
  after?: string;
}

export interface ApplyResult {
  /** False when the plan was refused (see messages). */
  applied: boolean;
  /** What was recorded; null when refused or when the plan changes no view. */
  updateSet: PlanUpdateSet | null;
  /** Per view with an unresolved breaking change; warnings when allowed, reasons when refused. */
  messages: string[];
}

/**
 * The newest timelabel a view has refreshed, else before everything. The
 * update set takes effect strictly after it, so no refreshed period is
 * re-decided.
 */
async function planAfter(runtime: LocalRuntime, views: readonly string[]): Promise<string> {
  const { metadata } = runtime.services;
  const names = new Set(views);
  const refreshed = (await metadata.listBatches(ORGANIZE_SLICE)).filter((b) => b.status === 'committed' && names.has(b.loadunit)).map((b) => b.timelabel).sort();
  // No view has refreshed yet: the views start with the first collected period, history included.
  return refreshed.at(-1) ?? BEFORE_EVERYTHING;
}

async function signaturesOf(runtime: LocalRuntime, flow: Flow, applied: readonly ViewVersion[]): Promise<Map<string, ViewColumn[]>> {
  if (flow.views.length === 0) return new Map();
  const warehouse = flow.installation.warehouse;
  if (!warehouse) {
    throw new TerminalError('config', `flow ${flow.dir}: found ${flow.views.length} view(s) but no warehouse in reef.yaml; expected a warehouse to describe them in`, {
      code: 'config.no-warehouse',
    });
  }
  const secret = await runtime.services.secrets.get(warehouse.connection.secret);
  const client = await connectWithSecret(secret, { applicationName: 'reef-plan', toError: warehouseError });
  try {
    const unchanged = new Map(applied.map((v) => [v.view, v]));
    return await describeFlowViews(client, flow, runtime.services.metadata, {
      fallback: (view) => {
        const v = unchanged.get(view.name);
        return v !== undefined && v.sqlHash === sqlHash(view.body) ? v.signature : undefined;
      },
    });
  } finally {
    await client.end().catch(() => {});
  }
}

/** Each view with paused periods, with the first of them. */
async function firstPaused(runtime: LocalRuntime): Promise<Record<string, string>> {
  const first: Record<string, string> = {};
  for (const b of await runtime.services.metadata.listBatches(ORGANIZE_SLICE)) {
    if (b.status === 'paused' && (first[b.loadunit] === undefined || b.timelabel < first[b.loadunit])) first[b.loadunit] = b.timelabel;
  }
  return first;
}

/** The plan that takes the installation from what it runs to `flow`. Changes nothing (the warehouse work is rolled back). */
export async function planFlow(runtime: LocalRuntime, flow: Flow, options: PlanFlowOptions = {}): Promise<Plan> {
  const { metadata } = runtime.services;
  const current = { views: await metadata.latestViewVersions(ORGANIZE_SLICE), sliceConfigs: await metadata.listSliceConfigs() };
  const signatures = await signaturesOf(runtime, flow, current.views);
  const viewNames = [...flow.views.map((v) => v.name), ...current.views.map((v) => v.view)];
  return buildPlan({
    paused: await firstPaused(runtime),
    desired: {
      views: flow.views.map((spec) => ({ spec, signature: signatures.get(spec.name)! })),
      sliceConfigs: flow.sources.map((s) => ({ slice: s.slice, type: s.type, config: s.config })),
    },
    current,
    after: options.after ?? (await planAfter(runtime, viewNames)),
  });
}

type ViewStage = Extract<PlanStage, { kind: 'create-view' | 'change-view' | 'remove-view' }>;

/**
 * Stores `plan`, or refuses it when it breaks a view that does not change
 * with it and `allowBreaking` is not given. A retried apply of the same plan
 * lands on the same records (the update set id is a hash of its content).
 */
export async function applyPlan(runtime: LocalRuntime, plan: Plan, options: { allowBreaking: boolean }): Promise<ApplyResult> {
  const verdict = planIsAllowed(plan, options);
  if (!verdict.allowed) return { applied: false, updateSet: null, messages: verdict.messages };
  const { metadata } = runtime.services;
  const flowFile = (slice: string) => `sources/${slice}.yaml`;
  for (const stage of plan.stages) {
    if (stage.kind === 'add-slice' || stage.kind === 'change-slice') {
      await metadata.putSliceConfig({ slice: stage.slice, type: stage.type, config: stage.config }, (type, config) => validateSliceConfig(type, config, flowFile(stage.slice)));
    }
  }
  const updateSet = plan.updateSet;
  if (updateSet === null) return { applied: true, updateSet: null, messages: verdict.messages };
  const latest = new Map<string, ViewVersion>((await metadata.latestViewVersions(ORGANIZE_SLICE)).map((v) => [v.view, v]));
  for (const stage of plan.stages.filter((s): s is ViewStage => s.kind === 'create-view' || s.kind === 'change-view' || s.kind === 'remove-view')) {
    const stored = await metadata.listViewVersions(ORGANIZE_SLICE, stage.view);
    const last = stored.at(-1);
    // The same update set already wrote this view's version: this is a retry of an apply cut short.
    const version = last === undefined ? 1 : last.updateSet === updateSet.id ? last.version : last.version + 1;
    let definition;
    if (stage.kind === 'remove-view') {
      const retired = latest.get(stage.view);
      if (retired === undefined) {
        throw new TerminalError('config', `view ${stage.view}: the plan removes version ${stage.fromVersion}, found no applied version; expected the installation as planned: run reef plan again`, {
          code: 'metadata.conflict',
        });
      }
      definition = { sqlHash: retired.sqlHash, body: retired.body, header: retired.header, signature: retired.signature, reads: retired.reads };
    } else {
      definition = stage.definition;
    }
    await metadata.putViewVersion({
      organizeSlice: ORGANIZE_SLICE,
      view: stage.view,
      version,
      ...definition,
      // A paused view's fix takes over at its first paused period, so the periods it missed refresh with it.
      effectiveFrom: updateSet.catchUp?.find((c) => c.view === stage.view)?.from ?? updateSet.effectiveFrom,
      updateSet: updateSet.id,
      removed: stage.kind === 'remove-view',
    });
  }
  await metadata.recordUpdateSet({
    organizeSlice: ORGANIZE_SLICE,
    id: updateSet.id,
    effectiveFrom: updateSet.effectiveFrom,
    views: updateSet.views,
    breaking: plan.summary.unresolvedBreaking > 0,
    allowBreaking: options.allowBreaking,
  });
  return { applied: true, updateSet, messages: verdict.messages };
}

/**
 * The version of `view` in effect for `timelabel`, with the definition to
 * refresh it with: the flow's own when they agree, otherwise the stored one
 * (an older version still in effect until its successor's update set starts).
 */
export function versionResolver(runtime: LocalRuntime): VersionOf {
  return resolveVersions(runtime.services.metadata, ORGANIZE_SLICE);
}

/**
 * Refuses a flow whose views are not the applied ones: a changed view takes
 * effect only through `reef apply`, at the timelabel its update set names.
 */
export async function checkViewsApplied(runtime: LocalRuntime, flow: Flow): Promise<void> {
  const latest = new Map((await runtime.services.metadata.latestViewVersions(ORGANIZE_SLICE)).map((v) => [v.view, v]));
  for (const view of flow.views) {
    const applied = latest.get(view.name);
    if (applied !== undefined && sameDefinition(applied, view)) continue;
    const found = applied === undefined ? 'found no applied version of it' : `found it different from applied version ${applied.version}`;
    throw new TerminalError(
      'config',
      `view ${view.name} (${view.file}): ${found}; expected the flow's views to be the applied ones: run \`reef plan ${flow.dir}\` to see the change, then \`reef apply ${flow.dir}\``,
      { code: 'config.view-not-applied' },
    );
  }
}

/**
 * A fresh installation (no update set ever recorded) applies its flow's plan
 * itself, so the first `reef run` works without a `reef apply`. Undefined
 * while an input has not been collected yet: the views cannot be described,
 * and their refreshes wait (no version is in effect) until a later pass.
 */
export async function applyFreshFlow(runtime: LocalRuntime, flow: Flow): Promise<string | undefined> {
  try {
    const plan = await planFlow(runtime, flow, { after: BEFORE_EVERYTHING });
    const result = await applyPlan(runtime, plan, { allowBreaking: false });
    return result.updateSet?.id;
  } catch (e) {
    if (isReefError(e) && e.code === 'config.not-collected') return undefined;
    throw e;
  }
}
