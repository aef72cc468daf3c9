/**
 * A harness slice's state machine as AWS runs it, on the embedded default:
 * the ASL from buildHarnessStateMachine executed by aws-local-stepfunctions,
 * with the real harness handlers bound through the slice type's definition
 * from the environment a Lambda function would have (the publication's
 * config as the harness stack deploys it), on a LocalRuntime's services.
 * Nothing comes from flow files: keys come from the applied view versions or
 * the collect slice's stored config, as in AWS.
 *
 * The shop demo is collected and organized first with a flow that has no
 * publications, so nothing is published until the machine runs. Every
 * metadata request the handlers make is recorded and judged against the role
 * the harness stack synthesizes for that publication, so the runtime cannot
 * need more than IAM lets it have (nor the role grant less than it needs).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { App } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { loadFlow } from '../shared/flow/load.ts';
import type { Flow, SliceSpec } from '../shared/flow/types.ts';
import { runFlow } from '../shared/local/run.ts';
import { LocalRuntime } from '../shared/local/runtime.ts';
import { freePort } from '../shared/local/standins.ts';
import { runLocalStateMachine } from '../shared/local/step-functions.ts';
import { HARNESS_FAILED_EVENT, HARNESS_TASKS, type HarnessSummary } from '../shared/orchestration/harness-contracts.ts';
import { buildHarnessStateMachine } from '../shared/orchestration/harness-machine.ts';
import { SLICE_ENV } from '../shared/runtime/env.ts';
import type { Handler, Services } from '../shared/runtime/services.ts';
import { ORGANIZE_SLICE } from '../shared/slice.ts';
import { findSliceType } from '../slices/registry.ts';
import type { HarnessSliceStack } from '../infra/harness-slice-stack.ts';
import { buildInstallation } from '../infra/installation.ts';
import { canOnPartition, logicalId, roleStatements, synth } from '../infra/template-support.ts';
import { copyExample } from './support/flow.ts';
import { recordingMetadata, type MetadataAccess } from './support/metadata-access.ts';
import { customerScores, viewAsPublished } from './support/publications.ts';

const DAY = '20260313';
const HOURS = [`${DAY}080000`, `${DAY}090000`];

/** Placeholder ARNs: locally each Task is bound to its handler by state name. */
const ARNS = {
  publish: 'arn:aws:lambda:eu-west-1:000000000000:function:shop-harness-publish',
  fail: 'arn:aws:lambda:eu-west-1:000000000000:function:shop-harness-fail',
};

const READER = { role: 'ltv_reader', secret: 'ltv-reader', password: 'reader-password' };

/** Publications beside the example's, written as a user would write their files. */
function publication(slice: string, config: Record<string, unknown>): SliceSpec {
  return { slice, type: 'harness/postgres', file: `publications/${slice}.yaml`, config: { type: 'harness/postgres', connection: { secret: 'shop-app' }, ...config } };
}
/** A collected table, merged by the keys its collect slice declares (none given here). */
const CUSTOMERS_COPY = publication('customers-copy', { dataset: 'shop.customers', target: { table: 'customers_copy' }, mode: 'merge' });
/** The view again, read as a warehouse user that may read nothing else. */
const LTV_AS_READER = publication('ltv-reader-copy', { dataset: 'analytics.customer_ltv', target: { table: 'ltv_reader_copy' }, mode: 'replace', warehouse: { secret: READER.secret } });
/** A collected table that user was not granted. */
const CUSTOMERS_AS_READER = publication('customers-reader-copy', { dataset: 'shop.customers', target: { table: 'customers_reader_copy' }, mode: 'replace', warehouse: { secret: READER.secret } });

interface Execution {
  calls: Array<{ state: string; result?: unknown; error?: string }>;
  accesses: MetadataAccess[];
  output?: unknown;
  error?: Error & { code?: string; category?: string };
}

/**
 * Runs the harness machine for one publication with its real handlers, bound
 * from the environment the harness stack sets (REEF_SECRET_NAME: the secret
 * it may read), on the runtime's services but a metadata client that records
 * every request.
 */
async function execute(runtime: LocalRuntime, spec: SliceSpec, env: { secret: string; config?: unknown }, input: object, options: { retryIntervalMs?: number; executionName?: string } = {}): Promise<Execution> {
  const recorded = recordingMetadata(runtime);
  const services: Services = { ...runtime.services, metadata: recorded.metadata };
  const saved = { ...process.env };
  let handlers: Record<string, Handler>;
  try {
    Object.assign(process.env, {
      [SLICE_ENV.slice]: spec.slice,
      [SLICE_ENV.sliceType]: spec.type,
      [SLICE_ENV.sliceConfig]: JSON.stringify(env.config ?? spec.config),
      [SLICE_ENV.secretName]: env.secret,
    });
    handlers = (await findSliceType(spec.type)!.runtime()).handlers(services);
  } finally {
    process.env = saved;
  }
  const execution: Execution = { calls: [], accesses: recorded.accesses };
  const recording = Object.fromEntries(
    Object.entries(handlers).map(([state, handler]) => [
      state,
      async (i: unknown) => {
        try {
          const result = await handler(i);
          execution.calls.push({ state, result });
          return result;
        } catch (e) {
          execution.calls.push({ state, error: (e as Error).message });
          throw e;
        }
      },
    ]),
  );
  const dataset = findSliceType(spec.type)!.harness!.dataset(spec.config);
  const machine = buildHarnessStateMachine({ functionArns: ARNS, installation: 'shop', publication: spec.slice, dataset });
  try {
    execution.output = await runLocalStateMachine(machine, input, { handlers: recording, ...options });
  } catch (e) {
    execution.error = e as Execution['error'];
  } finally {
    recorded.close();
  }
  return execution;
}

const summaries = (e: Execution) => e.calls.filter((c) => c.state === HARNESS_TASKS.publish && c.result !== undefined).map((c) => c.result as HarnessSummary);

function withoutPublications(flow: Flow): Flow {
  return { ...flow, publications: [] };
}

describe('harness state machine: publications of the shop demo', () => {
  let runtime: LocalRuntime;
  let flow: Flow;
  let templates: Map<string, Template>;
  let stacks: Map<string, HarnessSliceStack>;
  const executions = new Map<string, Execution>();

  /** Every metadata request of an execution is one the publication's synthesized role allows. */
  function assertAllowedByRole(slice: string, e: Execution): void {
    const stack = stacks.get(slice)!;
    const statements = roleStatements(templates.get(stack.stackName)!, logicalId(stack.harness.role));
    const refused = e.accesses.filter((a) => !canOnPartition(statements.filter((s) => [s.Action].flat().some((x) => x.startsWith('dynamodb:'))), a.action, a.pk));
    assert.deepEqual(refused, [], `${slice}: requests its role does not allow`);
  }

  before(async () => {
    flow = await loadFlow(copyExample('shop'));
    runtime = await LocalRuntime.start(withoutPublications(flow), { full: true });
    const report = await runFlow(runtime, { from: HOURS[0], to: `${DAY}094500` });
    assert.equal(report.failed, 0);
    assert.deepEqual(report.published, [], 'a flow without publications publishes nothing');
    const refreshed = report.organized.filter((o) => o.dataset === 'analytics.customer_ltv' && o.status === 'refreshed').map((o) => o.timelabel);
    assert.deepEqual(refreshed, HOURS);

    // The roles the harness stacks would deploy for these publications, synthesized from the same flow.
    const installed = synth((app: App) => {
      const inst = buildInstallation(app, { ...flow, publications: [...flow.publications, CUSTOMERS_COPY, LTV_AS_READER, CUSTOMERS_AS_READER] });
      return [inst.core, ...inst.slices.values()];
    });
    assert.equal(installed.synthError, undefined, String(installed.synthError));
    templates = installed.templates;
    stacks = new Map([...installed.stacks.values()].filter((s) => s.stackName.startsWith('shop-harness-')).map((s) => [s.stackName.replace('shop-harness-', ''), s as HarnessSliceStack]));

    const customerScoresSpec = flow.publications.find((p) => p.slice === 'customer-scores')!;
    executions.set(
      'first',
      await execute(runtime, customerScoresSpec, { secret: 'shop-warehouse' }, { trigger: 'event', slice: ORGANIZE_SLICE, dataset: 'analytics.customer_ltv', timelabel: HOURS[1] }, { executionName: 'exec-first' }),
    );
    executions.set('second', await execute(runtime, customerScoresSpec, { secret: 'shop-warehouse' }, { trigger: 'schedule', scheduledTime: '2026-03-13T10:15:00Z' }));
  });
  after(async () => runtime?.stop());

  test('the first execution publishes both finished hours in order, then a pass that finds nothing left; app.customer_scores equals the view as published', async () => {
    const first = executions.get('first')!;
    assert.equal(first.error, undefined, first.error?.message);
    const passes = summaries(first);
    assert.equal(passes.length, 2, JSON.stringify(first.calls));
    assert.deepEqual(passes[0]!.items.map((i) => [i.timelabel, i.status]), HOURS.map((h) => [h, 'published']));
    assert.deepEqual([passes[0]!.published, passes[0]!.failed, passes[0]!.progressed], [2, 0, true]);
    assert.deepEqual([passes[1]!.published, passes[1]!.failed, passes[1]!.progressed], [0, 0, false]);
    assert.ok(passes.every((p) => p.runId === 'exec-first' && p.publication === 'customer-scores' && p.dataset === 'analytics.customer_ltv'));
    assert.deepEqual(first.output, passes[1], 'the execution ends with the last pass\'s summary');
    assert.ok(!first.calls.some((c) => c.state === HARNESS_TASKS.fail));

    const rows = await customerScores(runtime);
    assert.ok(rows.length > 0);
    assert.deepEqual(rows, await viewAsPublished(runtime));
  });

  test('each published hour is a committed record under the publication with a batch.published event; the deployed config is stored', async () => {
    const records = await runtime.services.metadata.listBatches('customer-scores');
    assert.deepEqual(records.map((r) => [r.loadunit, r.timelabel, r.status, r.manifestKey]), HOURS.map((h) => ['analytics.customer_ltv', h, 'committed', 'publications/customer-scores.yaml']));
    const customers = (await customerScores(runtime)).length;
    // A publish reads the dataset as it is when it runs (both ran after the second hour's refresh): every row, each time.
    assert.deepEqual(records.map((r) => r.figures?.rows), [customers, customers]);
    const events = (await runtime.services.metadata.listEvents('customer-scores')).filter((e) => e.type === 'batch.published');
    assert.deepEqual(events.map((e) => e.timelabel), HOURS);
    const stored = await runtime.services.metadata.getSliceConfig('customer-scores');
    assert.deepEqual(stored?.config, flow.publications.find((p) => p.slice === 'customer-scores')!.config);
  });

  test('a second execution publishes nothing: one pass, nothing due', () => {
    const second = executions.get('second')!;
    assert.equal(second.error, undefined, second.error?.message);
    assert.deepEqual(summaries(second).map((p) => [p.published, p.failed, p.progressed, p.items.length]), [[0, 0, false, 0]]);
  });

  test('every metadata request of both executions is one the synthesized harness role allows, and they did read SLICE#warehouse and write their own partition', () => {
    for (const name of ['first', 'second']) assertAllowedByRole('customer-scores', executions.get(name)!);
    const first = executions.get('first')!.accesses;
    assert.ok(first.some((a) => a.action === 'dynamodb:Query' && a.pk === 'SLICE#warehouse'), 'listed the organize slice\'s records');
    assert.ok(first.some((a) => a.pk.startsWith('SLICE#warehouse#VIEW#analytics.customer_ltv')), 'read the view\'s versions for its keys');
    assert.ok(first.some((a) => a.action === 'dynamodb:UpdateItem' && a.pk === 'SLICE#customer-scores'), 'moved its own records');
    assert.ok(first.every((a) => !a.pk.startsWith('SLICE#shop')), 'a view\'s publication reads nothing of the collect slice');
  });

  test('a collected table: merged by the keys its collect slice stored, read with one GetItem on SLICE#shop that the role allows', async () => {
    const e = await execute(runtime, CUSTOMERS_COPY, { secret: 'shop-warehouse' }, { trigger: 'manual' });
    assert.equal(e.error, undefined, e.error?.message);
    assert.deepEqual(summaries(e)[0]!.items.map((i) => [i.timelabel, i.status]), [
      ...['080000', '081500', '083000', '084500', '090000', '091500', '093000', '094500'].map((t) => [`${DAY}${t}`, 'published']),
    ]);
    const warehouse = await runtime.withDatabase('warehouse', async (c) => (await c.query('SELECT * FROM shop.customers')).rows.map((r) => JSON.stringify(r)).sort());
    const app = await runtime.withDatabase('app', async (c) => (await c.query('SELECT * FROM public.customers_copy')).rows.map((r) => JSON.stringify(r)).sort());
    assert.deepEqual(app, warehouse);
    const pkey = await runtime.withDatabase('app', async (c) =>
      (await c.query<{ def: string }>("SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'public.customers_copy'::regclass AND contype = 'p'")).rows.map((r) => r.def),
    );
    assert.deepEqual(pkey, ['PRIMARY KEY (id)'], 'the created target is keyed by the loadunit\'s keys');
    assert.deepEqual(e.accesses.filter((a) => a.pk === 'SLICE#shop').map((a) => a.action), ['dynamodb:GetItem']);
    assertAllowedByRole('customers-copy', e);
  });

  test('a publication\'s own warehouse user: publishes the one dataset it was granted, and is refused the one it was not', async () => {
    const server = runtime.postgres!;
    await runtime.withDatabase('warehouse', async (c) => {
      await c.query(`CREATE ROLE ${READER.role} LOGIN PASSWORD '${READER.password}'`);
      // The GRANTs the harness README documents: the dataset's schema and the dataset itself, nothing else.
      await c.query(`GRANT USAGE ON SCHEMA analytics TO ${READER.role}`);
      await c.query(`GRANT SELECT ON analytics.customer_ltv TO ${READER.role}`);
    });
    runtime.secrets.put(READER.secret, { host: server.host, port: server.port, database: 'warehouse', user: READER.role, password: READER.password });

    const granted = await execute(runtime, LTV_AS_READER, { secret: READER.secret }, { trigger: 'manual' });
    assert.equal(granted.error, undefined, granted.error?.message);
    assert.deepEqual(summaries(granted)[0]!.items.map((i) => [i.timelabel, i.status]), HOURS.map((h) => [h, 'published']));
    const copy = await runtime.withDatabase('app', async (c) =>
      (await c.query('SELECT customer_id, name, orders AS order_count, revenue AS lifetime_revenue FROM public.ltv_reader_copy')).rows.map((r) => JSON.stringify(r)).sort(),
    );
    assert.deepEqual(copy, await viewAsPublished(runtime));
    assertAllowedByRole('ltv-reader-copy', granted);

    const refused = await execute(runtime, CUSTOMERS_AS_READER, { secret: READER.secret }, { trigger: 'manual' });
    assert.equal(refused.error, undefined, 'a publish that fails is recorded; the pass itself ran');
    const [pass] = summaries(refused);
    assert.deepEqual([pass!.published, pass!.failed, pass!.progressed], [0, 1, false], 'the first timelabel fails and holds back the rest');
    assert.equal(pass!.items[0]!.error?.code, 'target.statement-failed');
    assert.match(pass!.items[0]!.error!.message, /permission denied for schema shop/);
    const failed = (await runtime.services.metadata.listEvents('customers-reader-copy')).filter((ev) => ev.type === 'publish.failed');
    assert.equal(failed.length, 1);
  });
});

describe('harness state machine: a pass that cannot run', () => {
  let runtime: LocalRuntime;
  let spec: SliceSpec;

  before(async () => {
    const flow = await loadFlow(copyExample('shop'));
    spec = flow.publications.find((p) => p.slice === 'customer-scores')!;
    runtime = await LocalRuntime.start(withoutPublications(flow), { full: true });
    assert.equal((await runFlow(runtime, { from: HOURS[0], to: `${DAY}084500` })).failed, 0);
  });
  after(async () => runtime?.stop());

  test('an unreachable warehouse is retried as transient, then recorded as harness.failed, and the execution fails with the cause', async () => {
    // A port nothing listens on: every connection is refused.
    runtime.secrets.put('dead-warehouse', { host: '127.0.0.1', port: await freePort(), database: 'warehouse', user: 'reef', password: 'unused' });
    const e = await execute(runtime, spec, { secret: 'dead-warehouse' }, { trigger: 'manual' }, { retryIntervalMs: 1, executionName: 'run-unreachable' });
    assert.equal(e.error?.code, 'target.unreachable');
    assert.match(e.error!.message, /cannot reach the warehouse/);
    // The first attempt and the three retries of the Retry on Reef.Transient, then the Catch.
    assert.deepEqual(e.calls.map((c) => c.state), [...Array(4).fill(HARNESS_TASKS.publish), HARNESS_TASKS.fail]);
    const failed = (await runtime.services.metadata.listEvents('customer-scores')).filter((ev) => ev.type === HARNESS_FAILED_EVENT);
    assert.deepEqual(failed.map((ev) => [ev.dataset, ev.detail.runId, (ev.detail.error as { code: string }).code]), [['analytics.customer_ltv', 'run-unreachable', 'target.unreachable']]);
    // Nothing was claimed: the connection is made before any timelabel is.
    assert.deepEqual(await runtime.services.metadata.listBatches('customer-scores'), []);
  });

  test('a deployed config its type refuses is terminal: not retried, recorded, the stored config left as it was, nothing published, the execution names the field', async () => {
    const { target: _target, ...broken } = spec.config as Record<string, unknown>;
    const e = await execute(runtime, spec, { secret: 'shop-warehouse', config: broken }, { trigger: 'manual' }, { retryIntervalMs: 1 });
    assert.equal(e.error?.category, 'config');
    assert.match(e.error!.message, /slice customer-scores \(deployed config\).*target/s);
    assert.deepEqual(e.calls.map((c) => c.state), [HARNESS_TASKS.publish, HARNESS_TASKS.fail]);
    assert.deepEqual((await runtime.services.metadata.getSliceConfig('customer-scores'))?.config, spec.config, 'a refused config leaves the one stored before it');
    assert.deepEqual(await runtime.services.metadata.listBatches('customer-scores'), []);
  });
});
