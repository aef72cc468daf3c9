/**
 * The JSON that flows between the states of the organize state machine and
 * its handlers. Like the collect contracts, each is small (counts and a
 * bounded list of outcomes, never rows) to stay far below the 256 KiB Step
 * Functions state limit.
 */
import type { CaughtError } from './caught-error.ts';

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

/**
 * Execution input: what started the execution. A pass always looks at
 * everything committed, whatever started it; the trigger is kept for the
 * execution history and the logs.
 */
export interface OrganizeRunRequest {
  trigger: 'event' | 'schedule' | 'manual';
  /** trigger event: the collect batch whose commit started the execution. */
  slice?: string;
  dataset?: string;
  timelabel?: string;
  /** trigger schedule: when the fallback schedule fired. */
  scheduledTime?: string;
}

/** Input of OrganizePass. `runId` is the execution's name: the same for every retry and every pass of one execution. */
export interface OrganizePassInput {
  runId: string;
  request: OrganizeRunRequest;
}

/** One load or refresh of a pass, as reported in its summary. */
export interface OrganizeSummaryItem {
  kind: 'load' | 'refresh';
  dataset: string;
  timelabel: string;
  status: 'loaded' | 'refreshed' | 'failed';
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

/** Enough to see what went wrong in the execution history; the full list is in the metadata. */
export const MAX_SUMMARY_ITEMS = 50;

/** Input of RecordFailure: the failed state's input plus what Catch put at `$.error`. */
export interface OrganizeFailInput {
  runId: string;
  error: CaughtError;
}

/** Output of RecordFailure, read by the Fail state's ErrorPath and CausePath. */
export interface OrganizeFailure {
  runId: string;
  error: string;
  cause: string;
}
