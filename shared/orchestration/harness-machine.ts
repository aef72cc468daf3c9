/**
 * A harness slice's state machine as Amazon States Language (JSONPath, no
 * JSONata): the shape every pass-running slice shares (pass-machine.ts).
 *
 *   Publish ─► AnotherPass? ─(progressed)─► Publish
 *      │             └─(otherwise)─► Done
 *      └─(any error after retries)─► RecordFailure ─► Failed
 *
 * Publish publishes, in timelabel order, every timelabel its dataset finished
 * that the publication has not published; each settles itself (a failed one
 * is a failed record and a `publish.failed` event, and holds back the later
 * ones), so what reaches the Catch is a pass that could not run at all: the
 * warehouse unreachable after the retries, a secret missing, a deployed
 * config its type refuses.
 */
import { checkFunctionArns, type AslDefinition } from './asl.ts';
import { HARNESS_STATES, HARNESS_TASKS, type HarnessTask } from './harness-contracts.ts';
import { buildPassMachine } from './pass-machine.ts';

export interface HarnessMachineOptions {
  /** Lambda ARN (or, locally, any placeholder name) per task. */
  functionArns: Record<HarnessTask, string>;
  installation: string;
  /** The harness slice (publication) and the dataset it publishes, for the machine's comment. */
  publication: string;
  dataset: string;
  /** First retry interval; default DEFAULT_RETRY_INTERVAL_SECONDS (see checkRetryInterval). */
  retryIntervalSeconds?: number;
}

export function buildHarnessStateMachine(options: HarnessMachineOptions): AslDefinition {
  checkFunctionArns(HARNESS_TASKS, options.functionArns);
  return buildPassMachine({
    Comment: `Reef ${options.installation} harness slice ${options.publication}: publish each timelabel ${options.dataset} finished`,
    states: { pass: HARNESS_TASKS.publish, fail: HARNESS_TASKS.fail, ...HARNESS_STATES },
    functionArns: { pass: options.functionArns.publish, fail: options.functionArns.fail },
    retryIntervalSeconds: options.retryIntervalSeconds,
  });
}
