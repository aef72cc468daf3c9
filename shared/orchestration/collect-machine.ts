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
import { TRANSIENT_ERROR_NAME } from '../errors.ts';
import { COLLECT_TASKS, type CollectTask } from './contracts.ts';

// ---------------------------------------------------------------------------
// The subset of ASL this module emits. Typed narrowly so that a typo in a
// field name is a compile error, not a deploy-time validation failure.

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface AslRetrier {
  ErrorEquals: string[];
  IntervalSeconds: number;
  BackoffRate: number;
  MaxAttempts: number;
  JitterStrategy?: 'FULL' | 'NONE';
}

export interface AslCatcher {
  ErrorEquals: string[];
  ResultPath: string;
  Next: string;
}

interface AslStateBase {
  Comment?: string;
  Next?: string;
  End?: true;
}

export interface AslTaskState extends AslStateBase {
  Type: 'Task';
  Resource: string;
  Parameters: JsonObject;
  OutputPath?: string;
  TimeoutSeconds?: number;
  Retry?: AslRetrier[];
  Catch?: AslCatcher[];
}

export interface AslItemProcessor {
  ProcessorConfig: { Mode: 'INLINE' };
  StartAt: string;
  States: Record<string, AslState>;
}

export interface AslMapState extends AslStateBase {
  Type: 'Map';
  ItemsPath: string;
  ItemSelector: JsonObject;
  MaxConcurrency: number;
  ItemProcessor: AslItemProcessor;
}

export type AslState = AslTaskState | AslMapState;

export interface AslDefinition {
  Comment?: string;
  StartAt: string;
  States: Record<string, AslState>;
}

// ---------------------------------------------------------------------------

/** The optimized Lambda integration: the state's result is `{ Payload, StatusCode, ... }`. */
export const LAMBDA_INVOKE_RESOURCE = 'arn:aws:states:::lambda:invoke';

/** Names of the two Map states (Task names are COLLECT_TASKS). */
export const COLLECT_MAPS = {
  loadunits: 'Loadunits',
  timelabels: 'Timelabels',
} as const;

/**
 * Errors the Lambda service itself raises around an invocation that are worth
 * retrying (AWS's recommended set for the lambda:invoke integration).
 */
export const LAMBDA_TRANSIENT_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
] as const;

/** 2 s, 4 s, 8 s: long enough for a dropped connection or a throttle to clear, short enough to stay well inside a 15-minute schedule. */
export const DEFAULT_RETRY_INTERVAL_SECONDS = 2;
export const RETRY_BACKOFF_RATE = 2;
export const RETRY_MAX_ATTEMPTS = 3;

/**
 * A Lambda invocation cannot outlive 900 s; a minute beyond that only fires
 * when the invocation itself is lost. Set explicitly because the local
 * interpreter otherwise times every Task out after 60 s, which would kill a
 * long local extract that AWS would let finish.
 */
export const TASK_TIMEOUT_SECONDS = 960;

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

function retriers(intervalSeconds: number): AslRetrier[] {
  const backoff = {
    IntervalSeconds: intervalSeconds,
    BackoffRate: RETRY_BACKOFF_RATE,
    MaxAttempts: RETRY_MAX_ATTEMPTS,
    // Many units failing on the same outage must not retry in lockstep.
    JitterStrategy: 'FULL' as const,
  };
  // Two retriers so that a burst of Lambda throttles does not use up the
  // attempts meant for the source's own transient failures, and vice versa.
  return [
    { ErrorEquals: [TRANSIENT_ERROR_NAME], ...backoff },
    { ErrorEquals: [...LAMBDA_TRANSIENT_ERRORS], ...backoff },
  ];
}

function lambdaTask(functionArn: string, retry: AslRetrier[], rest: Partial<AslTaskState>): AslTaskState {
  return {
    Type: 'Task',
    Resource: LAMBDA_INVOKE_RESOURCE,
    Parameters: { FunctionName: functionArn, 'Payload.$': '$' },
    // Handlers return small JSON; the contract is the Payload, not the invoke envelope.
    OutputPath: '$.Payload',
    TimeoutSeconds: TASK_TIMEOUT_SECONDS,
    Retry: retry,
    ...rest,
  };
}

export function buildCollectStateMachine(options: CollectMachineOptions): AslDefinition {
  const { functionArns: arn, maxConcurrency, sliceName } = options;
  const interval = options.retryIntervalSeconds ?? DEFAULT_RETRY_INTERVAL_SECONDS;
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) {
    // 0 means "unlimited" to Step Functions: never what a connection limit wants.
    throw new RangeError(`maxConcurrency: found ${maxConcurrency}, expected an integer >= 1`);
  }
  if (!(interval > 0) || !Number.isFinite(interval)) {
    throw new RangeError(`retryIntervalSeconds: found ${interval}, expected a number > 0`);
  }
  for (const task of Object.keys(COLLECT_TASKS) as CollectTask[]) {
    if (typeof arn[task] !== 'string' || arn[task].length === 0) {
      throw new TypeError(`functionArns.${task}: missing, expected the ARN of the ${COLLECT_TASKS[task]} function`);
    }
  }

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
