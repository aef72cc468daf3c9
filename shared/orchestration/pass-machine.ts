/**
 * The state machine of a slice that runs passes (organize, each harness
 * slice), as Amazon States Language (JSONPath, no JSONata):
 *
 *   Pass ─► AnotherPass? ─(progressed)─► Pass
 *     │            └─(otherwise)─► Done
 *     └─(any error after retries)─► RecordFailure ─► Failed
 *
 * A pass does every unit that is due and settles each one itself (a failed
 * unit is a failed record and a data event, and the pass goes on), so what
 * reaches the Catch is a pass that could not run at all. Another pass follows
 * one that progressed: what it finished, or what another execution held
 * while it ran, may have made more units due, and whichever execution
 * finishes last then sees them. A pass that only failed asks for none, so a
 * broken unit cannot loop the execution.
 */
import { checkRetryInterval, DEFAULT_RETRY_INTERVAL_SECONDS, lambdaTask, retriers, type AslDefinition } from './asl.ts';

export interface PassMachineOptions {
  Comment: string;
  /** State names: the two Task states and the rest. */
  states: { pass: string; fail: string; again: string; done: string; failed: string };
  /** Lambda ARN (or, locally, any placeholder name) of each Task state's function. */
  functionArns: { pass: string; fail: string };
  /** First retry interval; default DEFAULT_RETRY_INTERVAL_SECONDS (see checkRetryInterval). */
  retryIntervalSeconds?: number;
}

export function buildPassMachine(options: PassMachineOptions): AslDefinition {
  const { states, functionArns: arn } = options;
  const retry = retriers(checkRetryInterval(options.retryIntervalSeconds ?? DEFAULT_RETRY_INTERVAL_SECONDS));
  return {
    Comment: options.Comment,
    StartAt: states.pass,
    States: {
      [states.pass]: lambdaTask(arn.pass, retry, {
        // The execution's name is the owner token of every record the pass
        // holds: a retried invocation (or the next pass) takes its own records back.
        Parameters: { FunctionName: arn.pass, Payload: { 'runId.$': '$$.Execution.Name', 'request.$': '$$.Execution.Input' } },
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: states.fail }],
        Next: states.again,
      }),
      [states.again]: {
        Type: 'Choice',
        Choices: [{ Variable: '$.progressed', BooleanEquals: true, Next: states.pass }],
        Default: states.done,
      },
      [states.done]: { Type: 'Succeed' },
      [states.fail]: lambdaTask(arn.fail, retry, {
        Parameters: { FunctionName: arn.fail, Payload: { 'runId.$': '$$.Execution.Name', 'error.$': '$.error' } },
        Next: states.failed,
      }),
      // Failed, not succeeded: a pass that could not run must show in the console and in the ExecutionsFailed metric.
      [states.failed]: { Type: 'Fail', ErrorPath: '$.error', CausePath: '$.cause' },
    },
  };
}
