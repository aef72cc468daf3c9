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
 */
import { ORGANIZE_STATES, ORGANIZE_TASKS, type OrganizeTask } from './organize-contracts.ts';
import { checkFunctionArns, checkRetryInterval, DEFAULT_RETRY_INTERVAL_SECONDS, lambdaTask, retriers, type AslDefinition } from './asl.ts';

export interface OrganizeMachineOptions {
  /** Lambda ARN (or, locally, any placeholder name) per task. */
  functionArns: Record<OrganizeTask, string>;
  installation: string;
  /** First retry interval; default DEFAULT_RETRY_INTERVAL_SECONDS (see checkRetryInterval). */
  retryIntervalSeconds?: number;
}

export function buildOrganizeStateMachine(options: OrganizeMachineOptions): AslDefinition {
  const arn = options.functionArns;
  const retry = retriers(checkRetryInterval(options.retryIntervalSeconds ?? DEFAULT_RETRY_INTERVAL_SECONDS));
  checkFunctionArns(ORGANIZE_TASKS, arn);
  return {
    Comment: `Reef ${options.installation} organize slice: load what was collected, refresh the views whose inputs are complete`,
    StartAt: ORGANIZE_TASKS.pass,
    States: {
      [ORGANIZE_TASKS.pass]: lambdaTask(arn.pass, retry, {
        // The execution's name is the owner token of every record the pass
        // holds: a retried invocation (or the next pass) takes its own records back.
        Parameters: { FunctionName: arn.pass, Payload: { 'runId.$': '$$.Execution.Name', 'request.$': '$$.Execution.Input' } },
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: ORGANIZE_TASKS.fail }],
        Next: ORGANIZE_STATES.again,
      }),
      [ORGANIZE_STATES.again]: {
        Type: 'Choice',
        Choices: [{ Variable: '$.progressed', BooleanEquals: true, Next: ORGANIZE_TASKS.pass }],
        Default: ORGANIZE_STATES.done,
      },
      [ORGANIZE_STATES.done]: { Type: 'Succeed' },
      [ORGANIZE_TASKS.fail]: lambdaTask(arn.fail, retry, {
        Parameters: { FunctionName: arn.fail, Payload: { 'runId.$': '$$.Execution.Name', 'error.$': '$.error' } },
        Next: ORGANIZE_STATES.failed,
      }),
      // Failed, not succeeded: a pass that could not run must show in the console and in the ExecutionsFailed metric.
      [ORGANIZE_STATES.failed]: { Type: 'Fail', ErrorPath: '$.error', CausePath: '$.cause' },
    },
  };
}
