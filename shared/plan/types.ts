/**
 * A plan: the difference between a flow and what the installation runs, as
 * typed stages. Plain JSON throughout, because a plan is printed (`reef plan`),
 * emitted as is (`--json`), and then executed by `reef apply` without being
 * recomputed from anything else.
 */
import type { SliceConfigRecord, ViewColumn, ViewDefinition, ViewVersion } from '../metadata/types.ts';
import type { ViewMode, ViewSpec } from '../views/types.ts';

export interface DesiredView {
  spec: ViewSpec;
  /** Output columns and types, as the warehouse describes the view's query. */
  signature: ViewColumn[];
}

export interface DesiredSliceConfig {
  slice: string;
  type: string;
  config: unknown;
}

export interface PlanInput {
  desired: { views: DesiredView[]; sliceConfigs: DesiredSliceConfig[] };
  /** `views`: the latest applied version of each view (MetadataStore.latestViewVersions). */
  current: { views: ViewVersion[]; sliceConfigs: SliceConfigRecord[] };
  /**
   * The newest timelabel already refreshed (or now's last complete one): the
   * update set takes effect strictly after it, so nothing already refreshed
   * is re-decided.
   */
  after: string;
  /**
   * Views with paused periods (a source dropped or retyped a column they
   * read), each with its first paused timelabel. A paused view in the update
   * set takes its new version from there instead, so the periods it missed
   * are refreshed with the fix.
   */
  paused?: Readonly<Record<string, string>>;
}

export interface ColumnChanges {
  added: ViewColumn[];
  removed: ViewColumn[];
  retyped: { name: string; from: string; to: string }[];
}

/** How a downstream view reads a changed column: by name, through `*`, or by an unqualified name that may be this relation's. */
export type ReadVia = 'column' | '*' | 'unqualified';

export interface BreakingChange {
  /** The downstream view that reads the column. */
  view: string;
  /** The changed view whose column it reads. */
  upstream: string;
  column: string;
  change: 'removed' | 'retyped';
  /** For a retyped column: the type before and after, as the warehouse spells them. */
  fromType?: string;
  toType?: string;
  via: ReadVia;
  /** The downstream view changes in the same plan and its new definition no longer reads the column. */
  resolved: boolean;
}

/** A view downstream (transitively) of a changed one. */
export interface AffectedView {
  view: string;
  /** Reads a removed or retyped column of the changed view (resolved or not). */
  breaking: boolean;
  /** The columns behind `breaking`; empty when it is false. */
  columns: { column: string; change: 'removed' | 'retyped'; via: ReadVia; resolved: boolean }[];
}

/** Header fields compared by a plan; line numbers and the description do not change what a view does. */
export type HeaderField = 'refresh' | 'mode' | 'keys' | 'checks' | 'freshness';

export type PlanStage =
  | { kind: 'add-slice'; slice: string; type: string; config: unknown }
  | {
      kind: 'change-slice';
      slice: string;
      type: string;
      /** Set when the slice's type changes. */
      fromType?: string;
      config: unknown;
      fromVersion: number;
      /** Top-level config fields whose value differs, sorted. */
      changedFields: string[];
    }
  | { kind: 'remove-slice'; slice: string; type: string; fromVersion: number }
  | {
      kind: 'create-view';
      view: string;
      file: string;
      refresh: string;
      mode: ViewMode;
      /** What apply stores as version 1. */
      definition: ViewDefinition;
      affected: AffectedView[];
    }
  | {
      kind: 'change-view';
      view: string;
      file: string;
      fromVersion: number;
      sqlChanged: boolean;
      headerChanged: HeaderField[];
      columns: ColumnChanges;
      /** What apply stores as the next version. */
      definition: ViewDefinition;
      affected: AffectedView[];
    }
  | { kind: 'remove-view'; view: string; fromVersion: number; affected: AffectedView[] }
  /** The view refreshes with its new definition from `from` (its update set's timelabel) until it has caught up. */
  | { kind: 'backfill'; view: string; from: string; reason: 'created' | 'changed' | 'paused' }
  /** The update set: every listed view switches together at `effectiveFrom`. */
  | { kind: 'switch'; updateSet: string; effectiveFrom: string; views: string[] };

export interface PlanUpdateSet {
  /** Deterministic: the same changes from the same timelabel give the same id, so a retried apply lands on the same records. */
  id: string;
  effectiveFrom: string;
  /** Created, changed and removed views and everything downstream of them. Sorted. */
  views: string[];
  /** Paused views of the set that changed: each takes its new version from its first paused timelabel, before `effectiveFrom`, and catches up. */
  catchUp?: { view: string; from: string }[];
}

export interface PlanSummary {
  slicesAdded: number;
  slicesChanged: number;
  slicesRemoved: number;
  viewsCreated: number;
  viewsChanged: number;
  viewsRemoved: number;
  /** Downstream views that switch with the update set without changing themselves. */
  viewsAffected: number;
  breaking: number;
  unresolvedBreaking: number;
}

export interface Plan {
  /**
   * In execution order: slices, then views in DAG order (created, changed,
   * removed), then the switch, then backfills. The switch (recording the update
   * set) comes before the backfills because a version counts only once its
   * update set is recorded.
   */
  stages: PlanStage[];
  updateSet: PlanUpdateSet | null;
  breaking: BreakingChange[];
  summary: PlanSummary;
}
