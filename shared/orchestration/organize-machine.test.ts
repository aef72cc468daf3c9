/**
 * Proves the organize ASL: its structure (which errors are retried, what is
 * caught, where the run id comes from) and its routing when executed by
 * aws-local-stepfunctions. The handlers here are stubs on purpose, as in
 * collect-machine.test.ts: they force the routing (a pass that progresses N
 * times, a failure) that no real pass can produce on demand. The real
 * handlers run the same machine in test/organize.machine.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TerminalError, TRANSIENT_ERROR_NAME } from '../errors.ts';
import { runLocalStateMachine } from '../local/step-functions.ts';
import { atBoundary } from '../runtime/services.ts';
import { DEFAULT_RETRY_INTERVAL_SECONDS, LAMBDA_INVOKE_RESOURCE, LAMBDA_TRANSIENT_ERRORS, type AslTaskState } from './asl.ts';
import { buildOrganizeStateMachine } from './organize-machine.ts';
import { ORGANIZE_STATES, ORGANIZE_TASKS, type OrganizeFailInput, type OrganizePassInput, type OrganizeSummary } from './organize-contracts.ts';

const ARNS = {
  pass: 'arn:aws:lambda:eu-west-1:123456789012:function:reef-acme-organize-pass',
  fail: 'arn:aws:lambda:eu-west-1:123456789012:function:reef-acme-organize-fail',
};

const summary = (runId: string, progressed: boolean): OrganizeSummary => ({ runId, loaded: progressed ? 1 : 0, refreshed: 0, failed: 0, progressed, items: [] });

test('structure: a pass Task with the execution name as run id, retried only on transient and Lambda service errors, caught into RecordFailure', () => {
  const def = buildOrganizeStateMachine({ functionArns: ARNS, installation: 'acme' });
  assert.equal(def.StartAt, ORGANIZE_TASKS.pass);
  assert.deepEqual(Object.keys(def.States).sort(), [...Object.values(ORGANIZE_TASKS), ...Object.values(ORGANIZE_STATES)].sort());
  const pass = def.States[ORGANIZE_TASKS.pass] as AslTaskState;
  const fail = def.States[ORGANIZE_TASKS.fail] as AslTaskState;
  for (const [task, arn] of [[pass, ARNS.pass], [fail, ARNS.fail]] as const) {
    assert.equal(task.Resource, LAMBDA_INVOKE_RESOURCE);
    assert.equal(task.Parameters.FunctionName, arn);
    assert.equal(task.OutputPath, '$.Payload');
    assert.deepEqual(task.Retry!.map((r) => r.ErrorEquals), [[TRANSIENT_ERROR_NAME], [...LAMBDA_TRANSIENT_ERRORS]]);
    assert.ok(task.Retry!.every((r) => r.IntervalSeconds === DEFAULT_RETRY_INTERVAL_SECONDS && r.JitterStrategy === 'FULL'));
  }
  assert.deepEqual(pass.Parameters.Payload, { 'runId.$': '$$.Execution.Name', 'request.$': '$$.Execution.Input' });
  assert.deepEqual(pass.Catch, [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: ORGANIZE_TASKS.fail }]);
  assert.equal(pass.Next, ORGANIZE_STATES.again);
  assert.deepEqual(def.States[ORGANIZE_STATES.again], {
    Type: 'Choice',
    Choices: [{ Variable: '$.progressed', BooleanEquals: true, Next: ORGANIZE_TASKS.pass }],
    Default: ORGANIZE_STATES.done,
  });
  assert.deepEqual(fail.Parameters.Payload, { 'runId.$': '$$.Execution.Name', 'error.$': '$.error' });
  assert.equal(fail.Catch, undefined, 'a failure to record the failure fails the execution as it is');
  assert.equal(fail.Next, ORGANIZE_STATES.failed);
  assert.deepEqual(def.States[ORGANIZE_STATES.failed], { Type: 'Fail', ErrorPath: '$.error', CausePath: '$.cause' });
  assert.ok(!JSON.stringify(def).includes('JSONata'));
});

test('options are checked: every function ARN, a positive retry interval', () => {
  assert.throws(() => buildOrganizeStateMachine({ functionArns: { ...ARNS, fail: '' }, installation: 'acme' }), /functionArns\.fail: missing, expected the ARN of the RecordFailure function/);
  assert.throws(() => buildOrganizeStateMachine({ functionArns: ARNS, installation: 'acme', retryIntervalSeconds: 0 }), /retryIntervalSeconds: found 0/);
});

test('routing: passes repeat while they progress, every one under the execution name, and the execution ends with the last summary', async () => {
  const inputs: OrganizePassInput[] = [];
  const progress = [true, true, false];
  const handlers = {
    [ORGANIZE_TASKS.pass]: async (input: unknown) => {
      inputs.push(input as OrganizePassInput);
      return summary((input as OrganizePassInput).runId, progress[inputs.length - 1]!);
    },
    [ORGANIZE_TASKS.fail]: async () => assert.fail('nothing failed'),
  };
  const out = await runLocalStateMachine(buildOrganizeStateMachine({ functionArns: ARNS, installation: 'acme' }), { trigger: 'schedule', scheduledTime: '2026-03-10T09:00:00Z' }, {
    handlers,
    executionName: 'exec-1',
  });
  assert.equal(inputs.length, 3);
  assert.deepEqual(inputs.map((i) => i.runId), ['exec-1', 'exec-1', 'exec-1']);
  assert.deepEqual(inputs[2]!.request, { trigger: 'schedule', scheduledTime: '2026-03-10T09:00:00Z' }, 'every pass sees the execution input, not the previous summary');
  assert.deepEqual(out, summary('exec-1', false));
});

test('routing: a terminal failure is recorded once with the caught error and the execution fails with its one-line cause', async () => {
  const failures: OrganizeFailInput[] = [];
  const handlers = {
    [ORGANIZE_TASKS.pass]: atBoundary(async () => {
      throw new TerminalError('config', 'secret wh is not readable', { code: 'config.secret' });
    }),
    [ORGANIZE_TASKS.fail]: async (input: unknown) => {
      failures.push(input as OrganizeFailInput);
      return { runId: (input as OrganizeFailInput).runId, error: 'Reef.Terminal', cause: 'config error (config.secret): secret wh is not readable' };
    },
  };
  await assert.rejects(runLocalStateMachine(buildOrganizeStateMachine({ functionArns: ARNS, installation: 'acme' }), { trigger: 'manual' }, { handlers, executionName: 'exec-2', retryIntervalMs: 1 }), {
    category: 'config',
    code: 'config.secret',
    message: 'secret wh is not readable',
  });
  assert.equal(failures.length, 1);
  assert.equal(failures[0]!.runId, 'exec-2');
  assert.equal(failures[0]!.error.Error, 'Reef.Terminal');
});
