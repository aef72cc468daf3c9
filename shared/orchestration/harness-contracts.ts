/**
 * The JSON that flows between the states of a harness slice's state machine
 * and its handlers. Small by contract (counts and a bounded list of
 * outcomes, never rows), far below the 256 KiB Step Functions state limit.
 */
import { ORGANIZE_EVENTS } from './organize-contracts.ts';
import type { PassFailInput, PassFailure, PassInput, PassRunRequest } from './pass-contracts.ts';

/** Names of the Task states; the local runtime binds handlers to them by these names, and each function runs export `index.<task>`. */
export const HARNESS_TASKS = {
  publish: 'Publish',
  fail: 'RecordFailure',
} as const;

export type HarnessTask = keyof typeof HARNESS_TASKS;

/** Names of the other states. */
export const HARNESS_STATES = {
  again: 'AnotherPass',
  done: 'Done',
  failed: 'Failed',
} as const;

/**
 * The organize slice's data events that start a harness execution, when their
 * dataset is the publication's: a committed load (a collected table) or
 * refresh (a view) is a timelabel the dataset finished.
 */
export const HARNESS_START_EVENTS = [ORGANIZE_EVENTS.loaded, ORGANIZE_EVENTS.refreshed] as const;

/** The data event RecordFailure records when a publish pass could not run at all. */
export const HARNESS_FAILED_EVENT = 'harness.failed';

/** Execution input; `slice`, `dataset`, `timelabel`: the load or refresh whose commit started it. */
export type HarnessRunRequest = PassRunRequest;

/** Input of Publish. */
export type HarnessPublishInput = PassInput;

/** One timelabel a pass published or failed to. */
export interface HarnessSummaryItem {
  timelabel: string;
  status: 'published' | 'failed' | 'paused';
  rows: number;
  error?: { code: string; message: string };
}

/** Output of Publish. */
export interface HarnessSummary {
  runId: string;
  publication: string;
  dataset: string;
  published: number;
  failed: number;
  /**
   * Whether the pass published anything. Another pass follows when it did:
   * a timelabel may have finished while it ran, or been held by another
   * execution that has since let go. A pass that only failed asks for none.
   */
  progressed: boolean;
  /** Failures first, then the rest, cut at MAX_SUMMARY_ITEMS; the metadata has every record. */
  items: HarnessSummaryItem[];
}

export type HarnessFailInput = PassFailInput;
export type HarnessFailure = PassFailure;
