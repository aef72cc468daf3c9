/**
 * Runs a slice's state machine JSON (the same ASL that CDK deploys) in-process
 * with aws-local-stepfunctions, binding each Lambda Task to a local handler by
 * its state name.
 */
import { randomUUID } from 'node:crypto';
import { StateMachine } from 'aws-local-stepfunctions';
import { TerminalError, parseErrorLine } from '../errors.ts';
import type { Handler } from '../runtime/services.ts';

export interface LocalRunOptions {
  /** Task state name → handler; the handler gets the Lambda Payload, as in AWS. */
  handlers: Record<string, Handler>;
  /** Milliseconds between retries instead of the ASL's backoff (tests only). */
  retryIntervalMs?: number;
  /** `$$.Execution.Name`, as Step Functions names every execution; default a fresh UUID. */
  executionName?: string;
}

type Json = Parameters<StateMachine['run']>[0];

/**
 * Validating a definition compiles the ASL JSON Schema with ajv; a slice runs
 * the same definition every period, so each distinct definition is validated
 * once per process.
 */
const machines = new Map<string, StateMachine>();
/** Distinct definitions a process keeps: one per slice is typical; tests build a few more. */
const MAX_CACHED_MACHINES = 64;

function machineFor(definition: object): StateMachine {
  const key = JSON.stringify(definition);
  let machine = machines.get(key);
  if (machine === undefined) {
    machine = new StateMachine(definition as ConstructorParameters<typeof StateMachine>[0], {
      // The ARNs are placeholders locally: nothing is called through them.
      validationOptions: { checkArn: false },
    });
    if (machines.size >= MAX_CACHED_MACHINES) machines.delete(machines.keys().next().value!);
    machines.set(key, machine);
  }
  return machine;
}

export async function runLocalStateMachine(definition: object, input: object, options: LocalRunOptions): Promise<unknown> {
  const machine = machineFor(definition);
  const taskResourceLocalHandlers = Object.fromEntries(
    Object.entries(options.handlers).map(([state, handler]) => [
      state,
      async (params: Json) => ({ Payload: (await handler((params as { Payload: unknown }).Payload)) as Json }),
    ]),
  );
  const retryIntervalOverrides =
    options.retryIntervalMs === undefined ? undefined : Object.fromEntries(Object.keys(options.handlers).map((s) => [s, options.retryIntervalMs!]));
  const name = options.executionName ?? randomUUID();
  const execution = machine.run(input as Json, {
    overrides: { taskResourceLocalHandlers, retryIntervalOverrides },
    context: { Execution: { Id: `arn:aws:states:local:000000000000:execution:reef:${name}`, Name: name } },
  });
  try {
    return await execution.result;
  } catch (e) {
    // An execution fails only when a state without a Catch fails (Plan): surface its own message.
    const err = e as Error & { cause?: { message?: string } };
    const inner = (err.cause instanceof Error ? err.cause.message : err.message).replace(/^Execution has failed with the following error: /, '');
    const line = parseErrorLine(inner);
    if (line) throw new TerminalError(line.category, line.message, { code: line.code, cause: e });
    throw new TerminalError('internal', inner, { code: 'run.failed', cause: e });
  }
}
