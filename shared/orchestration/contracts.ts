/**
 * The JSON that flows between the states of a collect state machine. The ASL
 * built by collect-machine.ts and the handlers agree on these shapes; each is
 * small (pointers and figures, never rows) to stay far below the 256 KiB
 * Step Functions state limit.
 */

/** Execution input: from the schedule, or from `reef run`. */
export interface CollectRunRequest {
  slice: string;
  /** One timelabel to run; or a range with from/to; absent: the last complete period at `scheduledTime` (or now). */
  timelabel?: string;
  from?: string;
  to?: string;
  /** ISO time the schedule fired (EventBridge Scheduler's `<aws.scheduler.scheduled-time>`). */
  scheduledTime?: string;
}

export interface PlannedUnit {
  slice: string;
  loadunit: string;
  dataset: string;
  /** Oldest first; processed one after the other so incremental cursors stay in order. */
  timelabels: string[];
}

/** Output of the Plan task. */
export interface CollectPlan {
  /** Owner token for every batch this run starts; stable across Step Functions retries. */
  runId: string;
  slice: string;
  units: PlannedUnit[];
}

/** Input of the Extract task: one batch. */
export interface BatchRef {
  runId: string;
  slice: string;
  loadunit: string;
  dataset: string;
  timelabel: string;
}

/** Output of Extract, input of Commit. `skipped` when the batch was already committed; `paused` by `schemaPolicy: freeze` (see `error`). */
export interface ExtractResult extends BatchRef {
  status: 'extracted' | 'skipped' | 'paused';
  manifestKey?: string;
  rows: number;
  files: number;
  bytes: number;
  /** paused: why, as the batch record holds it. */
  pausedBy?: BatchOutcome['error'];
}

/** Output of Commit and Announce, and of FailBatch: one line of `reef run --json`. */
export interface BatchOutcome {
  slice: string;
  loadunit: string;
  dataset: string;
  timelabel: string;
  status: 'committed' | 'skipped' | 'failed' | 'paused';
  rows: number;
  files: number;
  bytes: number;
  manifestKey?: string;
  schemaVersion?: number;
  error?: { name: string; category: string; code: string; message: string };
}

/** Input of FailBatch: the failed state's input plus what Catch put at `$.error`. */
export interface FailInput extends Partial<ExtractResult> {
  runId: string;
  slice: string;
  loadunit: string;
  dataset: string;
  timelabel: string;
  error: { Error: string; Cause?: string };
}

/** Names of the Task states; the local runtime binds handlers to them by these names. */
export const COLLECT_TASKS = {
  plan: 'Plan',
  extract: 'Extract',
  commit: 'Commit',
  announce: 'Announce',
  fail: 'FailBatch',
} as const;

export type CollectTask = keyof typeof COLLECT_TASKS;
