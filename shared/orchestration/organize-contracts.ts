/**
 * The JSON that flows between the states of the organize state machine and
 * its handlers. Like the collect contracts, each is small (counts and a
 * bounded list of outcomes, never rows) to stay far below the 256 KiB Step
 * Functions state limit.
 */
import type { PassFailInput, PassFailure, PassInput, PassRunRequest } from './pass-contracts.ts';

/** Names of the Task states; the local runtime binds handlers to them by these names. */
export const ORGANIZE_TASKS = {
  pass: 'OrganizePass',
  fail: 'RecordFailure',
} as const;

export type OrganizeTask = keyof typeof ORGANIZE_TASKS;

/** Names of the other states. */
export const ORGANIZE_STATES = {
  again: 'AnotherPass',
  done: 'Done',
  failed: 'Failed',
} as const;

/** Execution input (the shape every pass-running machine shares); `slice`, `dataset`, `timelabel`: the collect batch whose commit started it. */
export type OrganizeRunRequest = PassRunRequest;

/** Input of OrganizePass. */
export type OrganizePassInput = PassInput;

/** One load or refresh of a pass, as reported in its summary. */
export interface OrganizeSummaryItem {
  kind: 'load' | 'refresh';
  dataset: string;
  timelabel: string;
  status: 'loaded' | 'refreshed' | 'failed' | 'paused';
  rows: number;
  error?: { code: string; message: string };
}

/** Output of OrganizePass. */
export interface OrganizeSummary {
  runId: string;
  loaded: number;
  refreshed: number;
  failed: number;
  /**
   * Whether the pass loaded or refreshed anything. Another pass follows when
   * it did: what it finished may have completed a view's inputs that another
   * execution, still loading, had to leave. A pass that only failed does not
   * ask for another, so a broken batch cannot loop the execution.
   */
  progressed: boolean;
  /** Failures first, then the rest, cut at MAX_SUMMARY_ITEMS; the metadata has every record. */
  items: OrganizeSummaryItem[];
}

export { MAX_SUMMARY_ITEMS } from './pass-contracts.ts';

/** Input of RecordFailure: the failed state's input plus what Catch put at `$.error`. */
export type OrganizeFailInput = PassFailInput;

/** Output of RecordFailure, read by the Fail state's ErrorPath and CausePath. */
export type OrganizeFailure = PassFailure;

/**
 * The data event types of a load and a refresh, as they settle (step-record.ts):
 * a committed one is what a harness slice publishes, and its event starts the
 * harness slice's state machine in AWS.
 */
export const ORGANIZE_EVENTS = {
  loaded: 'batch.loaded',
  loadFailed: 'load.failed',
  refreshed: 'view.refreshed',
  refreshFailed: 'refresh.failed',
} as const;
