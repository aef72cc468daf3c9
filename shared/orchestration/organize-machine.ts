/**
 * The organize state machine as Amazon States Language (JSONPath, no JSONata).
 * One definition, two runtimes, as for collect: CDK deploys this JSON with
 * the real Lambda ARNs, the local runtime runs it with the handlers bound by
 * Task state name.
 *
 *   OrganizePass ─► AnotherPass? ─(progressed)─► OrganizePass
 *        │                └─(otherwise)─► Done
 *        └─(any error after retries)─► RecordFailure ─► Failed
 *
 * A pass loads every committed batch not yet loaded and refreshes every view
 * period whose inputs are complete; each load and refresh settles itself (a
 * failed one is a failed record and a data event, and the pass goes on), so
 * what reaches the Catch is a pass that could not run at all: the warehouse
 * unreachable after the retries, its secret missing, the metadata refusing.
 * The shape is the one every pass-running slice shares (pass-machine.ts).
 */
import { ORGANIZE_STATES, ORGANIZE_TASKS, type OrganizeTask } from './organize-contracts.ts';
import { checkFunctionArns, type AslDefinition } from './asl.ts';
import { buildPassMachine } from './pass-machine.ts';

export interface OrganizeMachineOptions {
  /** Lambda ARN (or, locally, any placeholder name) per task. */
  functionArns: Record<OrganizeTask, string>;
  installation: string;
  /** First retry interval; default DEFAULT_RETRY_INTERVAL_SECONDS (see checkRetryInterval). */
  retryIntervalSeconds?: number;
}

export function buildOrganizeStateMachine(options: OrganizeMachineOptions): AslDefinition {
  checkFunctionArns(ORGANIZE_TASKS, options.functionArns);
  return buildPassMachine({
    Comment: `Reef ${options.installation} organize slice: load what was collected, refresh the views whose inputs are complete`,
    states: { ...ORGANIZE_TASKS, ...ORGANIZE_STATES },
    functionArns: options.functionArns,
    retryIntervalSeconds: options.retryIntervalSeconds,
  });
}
