/**
 * What the handlers of every pass-running state machine (organize, each
 * harness slice) do alike: read the run id the machine passes, and record a
 * pass that could not run at all (RecordFailure) as a data event, answering
 * the Fail state's error and its one-line cause.
 */
import { describeError, TerminalError, type ErrorCategory } from '../errors.ts';
import { emit, type Services } from '../runtime/services.ts';
import { parseCaught } from './caught-error.ts';
import type { PassFailInput, PassFailure } from './pass-contracts.ts';

/** The execution name the machine passes as `runId`; `task` and `machine` name where the input should have come from. */
export function requireRunId(input: unknown, task: string, machine: string): string {
  const runId = (input as { runId?: unknown } | null)?.runId;
  if (typeof runId !== 'string' || runId === '') {
    throw new TerminalError('internal', `${task}: found input ${JSON.stringify(input)?.slice(0, 200)}; expected { runId, ... } from the ${machine} state machine`, {
      code: 'internal.input',
    });
  }
  return runId;
}

export interface PassFailureRecord {
  /** The Task state recording it, and the machine, for an input error. */
  task: string;
  machine: string;
  /** The slice whose events partition gets the event, and the event's type (`organize.failed`, `harness.failed`). */
  slice: string;
  eventType: string;
  /** The dataset the slice works on, when it has one. */
  dataset?: string;
  /** For the log line: `organize pass`, `publication customer-scores`. */
  what: string;
}

export async function recordPassFailure(services: Services, input: PassFailInput, record: PassFailureRecord): Promise<PassFailure> {
  const runId = requireRunId(input, record.task, record.machine);
  const caught = parseCaught(input.error ?? { Error: 'States.Unknown' });
  await emit(services, { kind: 'data', type: record.eventType, slice: record.slice, ...(record.dataset !== undefined ? { dataset: record.dataset } : {}), detail: { runId, error: caught } });
  services.log(`${record.what} ${runId} failed: ${caught.message}`, { runId, code: caught.code });
  // The Fail state's cause in the one-line form (only category, code and message go into it), which the local runner parses back.
  const cause = describeError(new TerminalError(caught.category as ErrorCategory, caught.message, { code: caught.code }));
  return { runId, error: caught.name, cause };
}
