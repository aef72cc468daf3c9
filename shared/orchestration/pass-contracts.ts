/**
 * What the state machines that run a pass share (organize, and each harness
 * slice): the execution input, what RecordFailure takes and answers. One
 * shape for both, so the EventBridge rules and schedules that start them, and
 * the failure path, are built and read the same way.
 */
import type { CaughtError } from './caught-error.ts';

/**
 * Execution input: what started the execution. A pass always looks at
 * everything due, whatever started it; the trigger is kept for the execution
 * history and the logs.
 */
export interface PassRunRequest {
  trigger: 'event' | 'schedule' | 'manual';
  /** trigger event: the data event's slice, dataset and timelabel. */
  slice?: string;
  dataset?: string;
  timelabel?: string;
  /** trigger schedule: when the fallback schedule fired. */
  scheduledTime?: string;
}

/** Input of a pass Task. `runId` is the execution's name: the same for every retry and every pass of one execution. */
export interface PassInput {
  runId: string;
  request: PassRunRequest;
}

/** Enough to see what went wrong in the execution history; the full list is in the metadata. */
export const MAX_SUMMARY_ITEMS = 50;

/** Input of RecordFailure: the failed state's input plus what Catch put at `$.error`. */
export interface PassFailInput {
  runId: string;
  error: CaughtError;
}

/** Output of RecordFailure, read by the Fail state's ErrorPath and CausePath. */
export interface PassFailure {
  runId: string;
  error: string;
  cause: string;
}
