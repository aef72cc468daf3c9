/**
 * Proves the collect ASL: its structure (names, concurrency, which errors are
 * retried and which are caught) and its flow when executed by
 * aws-local-stepfunctions, the interpreter the local runtime uses.
 *
 * The Task handlers here are stubs on purpose: this file tests the state
 * machine's routing of data and errors, which no real handler can force on
 * demand. The real handlers are tested against the stand-ins in their slice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { TerminalError, TransientError, TRANSIENT_ERROR_NAME, TERMINAL_ERROR_NAME } from '../errors.ts';
import {
  COLLECT_TASKS,
  type BatchOutcome,
  type BatchRef,
  type CollectPlan,
  type CollectTask,
  type ExtractResult,
  type FailInput,
} from './contracts.ts';
import {
  buildCollectStateMachine,
  COLLECT_MAPS,
  DEFAULT_RETRY_INTERVAL_SECONDS,
  LAMBDA_INVOKE_RESOURCE,
  LAMBDA_TRANSIENT_ERRORS,
  type AslDefinition,
  type AslMapState,
  type AslState,
  type AslTaskState,
  type CollectMachineOptions,
} from './collect-machine.ts';

const ARNS: Record<CollectTask, string> = {
  plan: 'arn:aws:lambda:eu-west-1:123456789012:function:reef-shop-plan',
  extract: 'arn:aws:lambda:eu-west-1:123456789012:function:reef-shop-extract',
  commit: 'arn:aws:lambda:eu-west-1:123456789012:function:reef-shop-commit',
  announce: 'arn:aws:lambda:eu-west-1:123456789012:function:reef-shop-announce',
  fail: 'arn:aws:lambda:eu-west-1:123456789012:function:reef-shop-fail',
};

function build(overrides: Partial<CollectMachineOptions> = {}): AslDefinition {
  // A 1 ms first interval: the interpreter really sleeps IntervalSeconds * BackoffRate^n.
  return buildCollectStateMachine({ functionArns: ARNS, maxConcurrency: 2, sliceName: 'shop', retryIntervalSeconds: 0.001, ...overrides });
}

/** Every state of the definition, nested Maps included, by name. */
function allStates(def: { States: Record<string, AslState> }): Map<string, AslState> {
  const out = new Map<string, AslState>();
  for (const [name, state] of Object.entries(def.States)) {
    out.set(name, state);
    if (state.Type === 'Map') for (const [n, s] of allStates(state.ItemProcessor)) out.set(n, s);
  }
  return out;
}

const PLAN: CollectPlan = {
  runId: 'run-1',
  slice: 'shop',
  units: [
    { slice: 'shop', loadunit: 'customers', dataset: 'shop.customers', timelabels: ['20260305080000', '20260305090000'] },
    { slice: 'shop', loadunit: 'orders', dataset: 'shop.orders', timelabels: ['20260305080000', '20260305090000'] },
  ],
};

type Calls = Array<{ state: string; payload: unknown }>;
type Json = Parameters<StateMachine['run']>[0];
type StubHandler = (payload: unknown) => Promise<unknown>;

const stubs: Record<CollectTask, StubHandler> = {
  plan: async () => PLAN,
  extract: async (p) => ({ ...(p as BatchRef), status: 'extracted', manifestKey: `m/${(p as BatchRef).loadunit}`, rows: 10, files: 1, bytes: 100 }) satisfies ExtractResult,
  commit: async (p) => {
    const e = p as ExtractResult;
    return { slice: e.slice, loadunit: e.loadunit, dataset: e.dataset, timelabel: e.timelabel, status: 'committed', rows: e.rows, files: e.files, bytes: e.bytes, manifestKey: e.manifestKey } satisfies BatchOutcome;
  },
  announce: async (p) => p,
  fail: async (p) => {
    const f = p as FailInput;
    return {
      slice: f.slice, loadunit: f.loadunit, dataset: f.dataset, timelabel: f.timelabel, status: 'failed', rows: 0, files: 0, bytes: 0,
      error: { name: f.error.Error, category: 'source', code: 'x', message: f.error.Cause ?? '' },
    } satisfies BatchOutcome;
  },
};

/** Runs the ASL with handlers bound by state name, as the local runtime does; records every call. */
async function run(def: AslDefinition, input: unknown, replace: Partial<Record<CollectTask, StubHandler>> = {}) {
  const calls: Calls = [];
  const handlers = { ...stubs, ...replace };
  const local = Object.fromEntries(
    (Object.keys(COLLECT_TASKS) as CollectTask[]).map((task) => [
      COLLECT_TASKS[task],
      async (params: unknown) => {
        const { FunctionName, Payload } = params as { FunctionName: string; Payload: unknown };
        // The resolved Parameters: the function of this very task, and the state's input as Payload.
        assert.equal(FunctionName, ARNS[task]);
        calls.push({ state: COLLECT_TASKS[task], payload: Payload });
        return { Payload: (await handlers[task](Payload)) as Json };
      },
    ]),
  );
  const machine = new StateMachine(def as unknown as StateMachineDefinition);
  const execution = machine.run(input as Json, { overrides: { taskResourceLocalHandlers: local } });
  const output = (await execution.result) as unknown as BatchOutcome[][];
  return { output, calls };
}

test('structure: Task names are the contract names, concurrency and error handling as designed', () => {
  const def = buildCollectStateMachine({ functionArns: ARNS, maxConcurrency: 3, sliceName: 'shop' });
  const states = allStates(def);
  const tasks = [...states].filter(([, s]) => s.Type === 'Task') as Array<[string, AslTaskState]>;
  assert.deepEqual(tasks.map(([n]) => n).sort(), Object.values(COLLECT_TASKS).sort());
  assert.equal(def.StartAt, COLLECT_TASKS.plan);

  for (const [name, task] of tasks) {
    const key = (Object.keys(COLLECT_TASKS) as CollectTask[]).find((k) => COLLECT_TASKS[k] === name)!;
    assert.equal(task.Resource, LAMBDA_INVOKE_RESOURCE);
    assert.deepEqual(task.Parameters, { FunctionName: ARNS[key], 'Payload.$': '$' });
    assert.equal(task.OutputPath, '$.Payload');
    // Retry names only transient errors: never States.ALL, never a terminal name.
    const retried = (task.Retry ?? []).flatMap((r) => r.ErrorEquals);
    assert.deepEqual(retried.sort(), [TRANSIENT_ERROR_NAME, ...LAMBDA_TRANSIENT_ERRORS].sort(), name);
    for (const r of task.Retry ?? []) {
      assert.deepEqual(
        { i: r.IntervalSeconds, b: r.BackoffRate, m: r.MaxAttempts, j: r.JitterStrategy },
        { i: DEFAULT_RETRY_INTERVAL_SECONDS, b: 2, m: 3, j: 'FULL' },
      );
    }
  }

  const outer = def.States[COLLECT_MAPS.loadunits] as AslMapState;
  assert.equal(outer.Type, 'Map');
  assert.equal(outer.MaxConcurrency, 3);
  assert.equal(outer.ItemsPath, '$.units');
  const inner = states.get(COLLECT_MAPS.timelabels) as AslMapState;
  assert.equal(inner.Type, 'Map');
  assert.equal(inner.MaxConcurrency, 1);
  assert.equal(inner.ItemSelector['timelabel.$'], '$$.Map.Item.Value');

  for (const name of [COLLECT_TASKS.extract, COLLECT_TASKS.commit]) {
    assert.deepEqual((states.get(name) as AslTaskState).Catch, [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: COLLECT_TASKS.fail }]);
  }
  for (const name of [COLLECT_TASKS.plan, COLLECT_TASKS.announce, COLLECT_TASKS.fail]) {
    assert.equal((states.get(name) as AslTaskState).Catch, undefined, name);
  }
  // FailBatch ends the batch's iteration, so the Map goes on with the next item.
  assert.equal((states.get(COLLECT_TASKS.fail) as AslTaskState).End, true);
  // JSONPath only: a JSONata definition would be silently ignored by the local interpreter.
  assert.doesNotMatch(JSON.stringify(def), /QueryLanguage|JSONata|\{%/);
});

test('the builder refuses a concurrency Step Functions would read as unlimited', () => {
  assert.throws(() => build({ maxConcurrency: 0 }), /maxConcurrency/);
  assert.throws(() => build({ maxConcurrency: 1.5 }), /maxConcurrency/);
  assert.throws(() => build({ functionArns: { ...ARNS, fail: '' } }), /functionArns\.fail/);
});

test('two units × two timelabels: each batch is extracted, committed and announced; output is outcomes per unit', async () => {
  const request = { slice: 'shop', scheduledTime: '2026-03-05T09:10:00Z' };
  const { output, calls } = await run(build(), request);

  assert.deepEqual(calls.filter((c) => c.state === COLLECT_TASKS.plan).map((c) => c.payload), [request]);
  const extracts = calls.filter((c) => c.state === COLLECT_TASKS.extract).map((c) => c.payload as BatchRef);
  assert.equal(extracts.length, 4);
  // Extract gets exactly a BatchRef, nothing more.
  assert.deepEqual(
    extracts.find((b) => b.loadunit === 'orders' && b.timelabel === '20260305090000'),
    { runId: 'run-1', slice: 'shop', loadunit: 'orders', dataset: 'shop.orders', timelabel: '20260305090000' },
  );
  assert.equal(calls.filter((c) => c.state === COLLECT_TASKS.commit).length, 4);
  assert.equal(calls.filter((c) => c.state === COLLECT_TASKS.announce).length, 4);
  assert.equal(calls.filter((c) => c.state === COLLECT_TASKS.fail).length, 0);

  assert.equal(output.length, 2);
  assert.deepEqual(output.map((unit) => unit.map((o) => `${o.loadunit}@${o.timelabel}:${o.status}`)), [
    ['customers@20260305080000:committed', 'customers@20260305090000:committed'],
    ['orders@20260305080000:committed', 'orders@20260305090000:committed'],
  ]);
  assert.equal(output[0]![0]!.manifestKey, 'm/customers');
});

test('a transient error twice, then success: Extract is retried and the batch commits', async () => {
  let attempts = 0;
  const { output, calls } = await run(build(), { slice: 'shop' }, {
    extract: async (p) => {
      const b = p as BatchRef;
      if (b.loadunit === 'customers' && b.timelabel === '20260305080000' && ++attempts <= 2) {
        throw new TransientError('source', 'connection reset by peer', { code: 'source.unreachable' });
      }
      return stubs.extract(p);
    },
  });
  const tries = calls.filter((c) => c.state === COLLECT_TASKS.extract && (c.payload as BatchRef).loadunit === 'customers' && (c.payload as BatchRef).timelabel === '20260305080000');
  assert.equal(tries.length, 3);
  // Each retry gets the same input: the handler's idempotency rests on it.
  assert.deepEqual(tries[0]!.payload, tries[2]!.payload);
  assert.equal(output[0]![0]!.status, 'committed');
  assert.equal(calls.filter((c) => c.state === COLLECT_TASKS.fail).length, 0);
});

test('a transient error on every attempt gives up after 3 retries and fails the batch', async () => {
  const { output, calls } = await run(build(), { slice: 'shop' }, {
    commit: async (p) => {
      if ((p as ExtractResult).loadunit === 'orders') throw new TransientError('target', 'lease held by another run', { code: 'lease.held' });
      return stubs.commit(p);
    },
  });
  const orderCommits = calls.filter((c) => c.state === COLLECT_TASKS.commit && (c.payload as ExtractResult).loadunit === 'orders');
  assert.equal(orderCommits.length, 2 * (1 + 3));
  assert.deepEqual(output[1]!.map((o) => o.status), ['failed', 'failed']);
  assert.equal(output[1]![0]!.error?.name, TRANSIENT_ERROR_NAME);
  assert.deepEqual(output[0]!.map((o) => o.status), ['committed', 'committed']);
});

test('a terminal error in Extract is not retried: FailBatch gets the batch and the error, the other unit completes', async () => {
  const { output, calls } = await run(build(), { slice: 'shop' }, {
    extract: async (p) => {
      const b = p as BatchRef;
      if (b.loadunit === 'customers' && b.timelabel === '20260305080000') {
        throw new TerminalError('source', 'relation "public.customers" does not exist', { code: 'source.missing' });
      }
      return stubs.extract(p);
    },
  });
  const failedExtracts = calls.filter((c) => c.state === COLLECT_TASKS.extract && (c.payload as BatchRef).loadunit === 'customers' && (c.payload as BatchRef).timelabel === '20260305080000');
  assert.equal(failedExtracts.length, 1);

  const fails = calls.filter((c) => c.state === COLLECT_TASKS.fail).map((c) => c.payload as FailInput);
  assert.equal(fails.length, 1);
  const f = fails[0]!;
  assert.deepEqual(
    { runId: f.runId, slice: f.slice, loadunit: f.loadunit, dataset: f.dataset, timelabel: f.timelabel },
    { runId: 'run-1', slice: 'shop', loadunit: 'customers', dataset: 'shop.customers', timelabel: '20260305080000' },
  );
  assert.equal(f.error.Error, TERMINAL_ERROR_NAME);
  assert.match(f.error.Cause ?? '', /relation "public\.customers" does not exist/);

  assert.equal(output[0]![0]!.status, 'failed');
  assert.equal(output[0]![0]!.error?.name, TERMINAL_ERROR_NAME);
  // The ASL carries on; whether a later incremental timelabel may run after a failed one is the handlers' call.
  assert.equal(output[0]![1]!.status, 'committed');
  assert.deepEqual(output[1]!.map((o) => o.status), ['committed', 'committed']);
});

test('a terminal error in Commit reaches FailBatch with the extract result, so it can clean up the parts', async () => {
  const { output, calls } = await run(build(), { slice: 'shop' }, {
    commit: async (p) => {
      if ((p as ExtractResult).timelabel === '20260305090000' && (p as ExtractResult).loadunit === 'orders') {
        throw new TerminalError('internal', 'manifest lists 2 parts, found 1', { code: 'commit.parts' });
      }
      return stubs.commit(p);
    },
  });
  const f = calls.find((c) => c.state === COLLECT_TASKS.fail)!.payload as FailInput;
  assert.equal(f.manifestKey, 'm/orders');
  assert.equal(f.status, 'extracted');
  assert.equal(f.error.Error, TERMINAL_ERROR_NAME);
  assert.equal(output[1]![1]!.status, 'failed');
  assert.equal(calls.filter((c) => c.state === COLLECT_TASKS.announce).length, 3);
});

test('a failing Plan fails the execution: there is nothing to report batches against', async () => {
  await assert.rejects(
    run(build(), { slice: 'shop' }, { plan: async () => { throw new TerminalError('config', 'slice shop has no config', { code: 'config.missing' }); } }),
    (e: Error & { cause?: Error }) => e.cause?.name === TERMINAL_ERROR_NAME && /slice shop has no config/.test(e.message),
  );
});

test('timelabels of one unit run strictly one after the other; units run side by side up to MaxConcurrency', async () => {
  const units = ['a', 'b', 'c'].map((u) => ({ slice: 'shop', loadunit: u, dataset: `shop.${u}`, timelabels: ['20260305070000', '20260305080000', '20260305090000'] }));
  const log: string[] = [];
  let inFlightUnits = new Set<string>();
  let maxInFlight = 0;
  const slow = (task: CollectTask) => async (p: unknown) => {
    const b = p as BatchRef;
    log.push(`${task}:start:${b.loadunit}:${b.timelabel}`);
    if (task === 'extract') {
      inFlightUnits.add(b.loadunit);
      maxInFlight = Math.max(maxInFlight, inFlightUnits.size);
    }
    // Later timelabels finish faster: with any overlap they would overtake.
    await sleep(b.timelabel.endsWith('070000') ? 15 : 2);
    const out = await stubs[task](p);
    if (task === 'announce') inFlightUnits = new Set([...inFlightUnits].filter((u) => u !== b.loadunit));
    log.push(`${task}:end:${b.loadunit}:${b.timelabel}`);
    return out;
  };
  const { output } = await run(build({ maxConcurrency: 2 }), { slice: 'shop' }, {
    plan: async () => ({ runId: 'run-2', slice: 'shop', units }),
    extract: slow('extract'),
    commit: slow('commit'),
    announce: slow('announce'),
  });

  for (const u of ['a', 'b', 'c']) {
    const mine = log.filter((l) => l.split(':')[2] === u);
    const expected = ['20260305070000', '20260305080000', '20260305090000'].flatMap((t) =>
      ['extract', 'commit', 'announce'].flatMap((task) => [`${task}:start:${u}:${t}`, `${task}:end:${u}:${t}`]),
    );
    assert.deepEqual(mine, expected, `unit ${u}`);
  }
  assert.equal(maxInFlight, 2);
  assert.deepEqual(output.map((unit) => unit.map((o) => o.timelabel)), units.map((u) => u.timelabels));
});
