/**
 * The collect state machine as Amazon States Language (JSONPath, no JSONata).
 *
 * One definition, two runtimes: CDK deploys this JSON with the real Lambda
 * ARNs substituted, and the local runtime runs the same JSON in-process with
 * aws-local-stepfunctions, binding handlers by Task state name. Keep this a
 * pure function of its options so both get byte-identical logic.
 *
 *   Plan ─► Loadunits (Map over plan.units, MaxConcurrency = connection limit)
 *             └─► Timelabels (Map over the unit's timelabels, one at a time)
 *                   └─► Extract ─► Commit ─► Announce
 *                          └──────────┴─(any error after retries)─► FailBatch
 *
 * Execution output: BatchOutcome[][] (one array per planned unit, in plan
 * order, of one outcome per timelabel, oldest first).
 */
import { COLLECT_TASKS, type CollectTask } from './contracts.ts';
import { checkFunctionArns, checkRetryInterval, DEFAULT_RETRY_INTERVAL_SECONDS, lambdaTask, retriers, type AslCatcher, type AslDefinition, type AslState } from './asl.ts';

export {
  DEFAULT_RETRY_INTERVAL_SECONDS, LAMBDA_INVOKE_RESOURCE, LAMBDA_TRANSIENT_ERRORS, RETRY_BACKOFF_RATE, RETRY_MAX_ATTEMPTS, TASK_TIMEOUT_SECONDS,
  type AslCatcher, type AslDefinition, type AslItemProcessor, type AslMapState, type AslRetrier, type AslState, type AslTaskState, type JsonObject, type JsonValue,
} from './asl.ts';

/** Names of the two Map states (Task names are COLLECT_TASKS). */
export const COLLECT_MAPS = {
  loadunits: 'Loadunits',
  timelabels: 'Timelabels',
} as const;

export interface CollectMachineOptions {
  /** Lambda ARN (or, locally, any placeholder name) per task. */
  functionArns: Record<CollectTask, string>;
  /** The source's connection limit: how many loadunits extract at once. */
  maxConcurrency: number;
  sliceName: string;
  /**
   * First retry interval. Default DEFAULT_RETRY_INTERVAL_SECONDS. AWS accepts
   * only whole seconds >= 1 here; fractions are for local tests, where
   * aws-local-stepfunctions really sleeps for the interval.
   */
  retryIntervalSeconds?: number;
}

export function buildCollectStateMachine(options: CollectMachineOptions): AslDefinition {
  const { functionArns: arn, maxConcurrency, sliceName } = options;
  const interval = options.retryIntervalSeconds ?? DEFAULT_RETRY_INTERVAL_SECONDS;
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) {
    // 0 means "unlimited" to Step Functions: never what a connection limit wants.
    throw new RangeError(`maxConcurrency: found ${maxConcurrency}, expected an integer >= 1`);
  }
  checkRetryInterval(interval);
  checkFunctionArns(COLLECT_TASKS, arn);

  const retry = retriers(interval);
  // Whatever is left after the retries fails only this batch: the other
  // loadunits and the later timelabels of other units go on.
  const toFailBatch: AslCatcher[] = [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: COLLECT_TASKS.fail }];

  const batchStates: Record<string, AslState> = {
    [COLLECT_TASKS.extract]: lambdaTask(arn.extract, retry, { Catch: toFailBatch, Next: COLLECT_TASKS.commit }),
    [COLLECT_TASKS.commit]: lambdaTask(arn.commit, retry, { Catch: toFailBatch, Next: COLLECT_TASKS.announce }),
    // No Catch: the batch is committed by now, so marking it failed would be
    // a lie; a lost data event must fail the run loudly instead, and a re-run
    // of the timelabel is idempotent (extract skips, announce sends again).
    [COLLECT_TASKS.announce]: lambdaTask(arn.announce, retry, { End: true }),
    [COLLECT_TASKS.fail]: lambdaTask(arn.fail, retry, { End: true }),
  };

  return {
    Comment: `Reef collect slice ${sliceName}: plan, then extract, commit and announce each batch`,
    StartAt: COLLECT_TASKS.plan,
    States: {
      [COLLECT_TASKS.plan]: lambdaTask(arn.plan, retry, { Next: COLLECT_MAPS.loadunits }),
      [COLLECT_MAPS.loadunits]: {
        Type: 'Map',
        ItemsPath: '$.units',
        MaxConcurrency: maxConcurrency,
        ItemSelector: {
          'runId.$': '$.runId',
          'slice.$': '$$.Map.Item.Value.slice',
          'loadunit.$': '$$.Map.Item.Value.loadunit',
          'dataset.$': '$$.Map.Item.Value.dataset',
          'timelabels.$': '$$.Map.Item.Value.timelabels',
        },
        ItemProcessor: {
          ProcessorConfig: { Mode: 'INLINE' },
          StartAt: COLLECT_MAPS.timelabels,
          States: {
            [COLLECT_MAPS.timelabels]: {
              Type: 'Map',
              ItemsPath: '$.timelabels',
              // An incremental batch starts from the previous one's committed cursor.
              MaxConcurrency: 1,
              ItemSelector: {
                'runId.$': '$.runId',
                'slice.$': '$.slice',
                'loadunit.$': '$.loadunit',
                'dataset.$': '$.dataset',
                'timelabel.$': '$$.Map.Item.Value',
              },
              ItemProcessor: {
                ProcessorConfig: { Mode: 'INLINE' },
                StartAt: COLLECT_TASKS.extract,
                States: batchStates,
              },
              End: true,
            },
          },
        },
        End: true,
      },
    },
  };
}
