/**
 * Proves a harness slice's ASL: its structure (which errors are retried, what
 * is caught, where the run id comes from), and that it is the organize
 * machine's shape under its own state names, so the routing proven there
 * with stubs (organize-machine.test.ts) holds here. The real handlers run it
 * in test/harness.machine.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TRANSIENT_ERROR_NAME } from '../errors.ts';
import { DEFAULT_RETRY_INTERVAL_SECONDS, LAMBDA_INVOKE_RESOURCE, LAMBDA_TRANSIENT_ERRORS, type AslTaskState } from './asl.ts';
import { HARNESS_STATES, HARNESS_TASKS } from './harness-contracts.ts';
import { buildHarnessStateMachine } from './harness-machine.ts';
import { buildOrganizeStateMachine } from './organize-machine.ts';
import { ORGANIZE_STATES, ORGANIZE_TASKS } from './organize-contracts.ts';

const ARNS = {
  publish: 'arn:aws:lambda:eu-west-1:123456789012:function:reef-acme-scores-publish',
  fail: 'arn:aws:lambda:eu-west-1:123456789012:function:reef-acme-scores-fail',
};
const OPTIONS = { functionArns: ARNS, installation: 'acme', publication: 'scores', dataset: 'analytics.customer_ltv' };

test('structure: a Publish Task with the execution name as run id, retried only on transient and Lambda service errors, caught into RecordFailure', () => {
  const def = buildHarnessStateMachine(OPTIONS);
  assert.equal(def.StartAt, HARNESS_TASKS.publish);
  assert.match(def.Comment!, /harness slice scores: publish each timelabel analytics\.customer_ltv finished/);
  assert.deepEqual(Object.keys(def.States).sort(), [...Object.values(HARNESS_TASKS), ...Object.values(HARNESS_STATES)].sort());
  const publish = def.States[HARNESS_TASKS.publish] as AslTaskState;
  const fail = def.States[HARNESS_TASKS.fail] as AslTaskState;
  for (const [task, arn] of [[publish, ARNS.publish], [fail, ARNS.fail]] as const) {
    assert.equal(task.Resource, LAMBDA_INVOKE_RESOURCE);
    assert.equal(task.Parameters.FunctionName, arn);
    assert.deepEqual(task.Retry!.map((r) => r.ErrorEquals), [[TRANSIENT_ERROR_NAME], [...LAMBDA_TRANSIENT_ERRORS]]);
    assert.ok(task.Retry!.every((r) => r.IntervalSeconds === DEFAULT_RETRY_INTERVAL_SECONDS && r.JitterStrategy === 'FULL'));
  }
  assert.deepEqual(publish.Parameters.Payload, { 'runId.$': '$$.Execution.Name', 'request.$': '$$.Execution.Input' });
  assert.deepEqual(publish.Catch, [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: HARNESS_TASKS.fail }]);
  assert.deepEqual(def.States[HARNESS_STATES.again], { Type: 'Choice', Choices: [{ Variable: '$.progressed', BooleanEquals: true, Next: HARNESS_TASKS.publish }], Default: HARNESS_STATES.done });
  assert.equal(fail.Catch, undefined, 'a failure to record the failure fails the execution as it is');
  assert.deepEqual(def.States[HARNESS_STATES.failed], { Type: 'Fail', ErrorPath: '$.error', CausePath: '$.cause' });
  assert.ok(!JSON.stringify(def).includes('JSONata'));
});

test('the organize machine\'s shape under the harness state names: one builder, so the routing proven for organize holds', () => {
  const organize = buildOrganizeStateMachine({ functionArns: { pass: ARNS.publish, fail: ARNS.fail }, installation: 'acme' });
  const renamed = JSON.parse(JSON.stringify(organize.States).replaceAll(`"${ORGANIZE_TASKS.pass}"`, `"${HARNESS_TASKS.publish}"`)) as unknown;
  assert.deepEqual(buildHarnessStateMachine(OPTIONS).States, renamed);
  assert.deepEqual([ORGANIZE_TASKS.fail, ORGANIZE_STATES], [HARNESS_TASKS.fail, HARNESS_STATES]);
});

test('options are checked: every function ARN, a positive retry interval', () => {
  assert.throws(() => buildHarnessStateMachine({ ...OPTIONS, functionArns: { ...ARNS, publish: '' } }), /functionArns\.publish: missing, expected the ARN of the Publish function/);
  assert.throws(() => buildHarnessStateMachine({ ...OPTIONS, retryIntervalSeconds: -1 }), /retryIntervalSeconds: found -1/);
});
