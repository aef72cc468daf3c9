/**
 * The subset of Amazon States Language (JSONPath, no JSONata) that Reef's
 * state machine builders emit, and the pieces every slice's machine shares:
 * the Lambda Task shape and its Retry policy. Typed narrowly so that a typo
 * in a field name is a compile error, not a deploy-time validation failure.
 */
import { TRANSIENT_ERROR_NAME } from '../errors.ts';

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

export interface AslChoiceRule {
  Variable: string;
  BooleanEquals: boolean;
  Next: string;
}

export interface AslChoiceState {
  Type: 'Choice';
  Comment?: string;
  Choices: AslChoiceRule[];
  Default: string;
}

export interface AslSucceedState {
  Type: 'Succeed';
  Comment?: string;
}

/** Ends the execution as failed, with the error name and cause read from the state's input. */
export interface AslFailState {
  Type: 'Fail';
  Comment?: string;
  ErrorPath: string;
  CausePath: string;
}

export type AslState = AslTaskState | AslMapState | AslChoiceState | AslSucceedState | AslFailState;

export interface AslDefinition {
  Comment?: string;
  StartAt: string;
  States: Record<string, AslState>;
}

// ---------------------------------------------------------------------------

/** The optimized Lambda integration: the state's result is `{ Payload, StatusCode, ... }`. */
export const LAMBDA_INVOKE_RESOURCE = 'arn:aws:states:::lambda:invoke';

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

/**
 * The first retry interval of a builder's options. AWS accepts only whole
 * seconds >= 1; fractions are for local tests, where aws-local-stepfunctions
 * really sleeps for the interval.
 */
export function checkRetryInterval(interval: number): number {
  if (!(interval > 0) || !Number.isFinite(interval)) {
    throw new RangeError(`retryIntervalSeconds: found ${interval}, expected a number > 0`);
  }
  return interval;
}

/** Every task of `tasks` must have a non-empty ARN in `arns`. */
export function checkFunctionArns<T extends string>(tasks: Record<T, string>, arns: Record<T, string>): void {
  for (const task of Object.keys(tasks) as T[]) {
    if (typeof arns[task] !== 'string' || arns[task].length === 0) {
      throw new TypeError(`functionArns.${task}: missing, expected the ARN of the ${tasks[task]} function`);
    }
  }
}

/** Retry only what a retry can fix: Reef's transient errors and the Lambda service's own hiccups. */
export function retriers(intervalSeconds: number): AslRetrier[] {
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

/** A Task that invokes one Lambda function with the state's input (or `rest.Parameters`) as its payload. */
export function lambdaTask(functionArn: string, retry: AslRetrier[], rest: Partial<AslTaskState>): AslTaskState {
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
