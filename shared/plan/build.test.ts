/**
 * The plan builder on views compiled from real flow files (the real parser and
 * lineage), against "installed" versions made from an earlier flow, with
 * signatures written by hand as the warehouse would describe them. No AWS, no
 * database.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { TerminalError } from '../errors.ts';
import type { SliceConfigRecord, ViewColumn, ViewVersion } from '../metadata/types.ts';
import { compileViews } from '../views/compile.ts';
import { planIsAllowed } from './allowed.ts';
import { buildPlan } from './build.ts';
import { definitionOf } from './definition.ts';
import { formatPlan } from './format.ts';
import type { DesiredView, Plan, PlanStage } from './types.ts';

const DATASETS = new Set(['shop.orders']);
const MIDDAY = '20260305130000';
const NEXT_MIDNIGHT = '20260306000000';

const tempDirs: string[] = [];
after(() => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

function header(...tags: string[]): string {
  return `/**\n${tags.map((t) => ` * ${t}\n`).join('')} */\n`;
}

const HOURLY_REVENUE = `${header('@refresh 1 hour', '@mode merge', '@keys hour')}SELECT date_trunc('hour', o.created_at) AS hour, sum(o.amount) AS revenue, count(*) AS orders
FROM shop.orders o
GROUP BY 1
`;
const DAILY_REVENUE = `${header('@refresh 1 day', '@mode merge', '@keys day')}SELECT date_trunc('day', h.hour) AS day, sum(h.revenue) AS revenue
FROM analytics.hourly_revenue h
GROUP BY 1
`;
const DAILY_ORDERS = `${header('@refresh 1 day', '@mode merge', '@keys day')}SELECT date_trunc('day', h.hour) AS day, sum(h.orders) AS orders
FROM analytics.hourly_revenue h
GROUP BY 1
`;
const BEST_DAYS = `${header('@refresh 1 day', '@mode replace')}SELECT d.day, d.revenue FROM analytics.daily_revenue d ORDER BY d.revenue DESC LIMIT 10
`;

const SIGNATURES: Record<string, ViewColumn[]> = {
  'analytics.hourly_revenue': [
    { name: 'hour', type: 'timestamp' },
    { name: 'revenue', type: 'numeric' },
    { name: 'orders', type: 'bigint' },
  ],
  'analytics.daily_revenue': [
    { name: 'day', type: 'timestamp' },
    { name: 'revenue', type: 'numeric' },
  ],
  'analytics.daily_orders': [
    { name: 'day', type: 'timestamp' },
    { name: 'orders', type: 'numeric' },
  ],
  'analytics.best_days': [
    { name: 'day', type: 'timestamp' },
    { name: 'revenue', type: 'numeric' },
  ],
};

/** The views of a flow made of `views`, compiled for real, with the signatures given (default: SIGNATURES). */
async function flow(views: Record<string, string>, signatures: Record<string, ViewColumn[]> = {}): Promise<DesiredView[]> {
  const dir = mkdtempSync(join(tmpdir(), 'reef-plan-test-'));
  tempDirs.push(dir);
  for (const [name, text] of Object.entries(views)) {
    const path = join(dir, 'views', ...name.split('.')) + '.sql';
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  const graph = await compileViews(dir, DATASETS, new Set());
  return graph.views.map((spec) => {
    const signature = signatures[spec.name] ?? SIGNATURES[spec.name];
    assert.ok(signature, `test bug: no signature for ${spec.name}`);
    return { spec, signature };
  });
}

/** What the installation runs after applying `views` as version 1 from an earlier timelabel. */
function installed(views: DesiredView[]): ViewVersion[] {
  return views.map((v) => ({
    ...definitionOf(v),
    view: v.spec.name,
    version: 1,
    effectiveFrom: '20260301000000',
    updateSet: 'us-initial',
    removed: false,
    createdAt: '2026-03-01T00:00:00.000Z',
  }));
}

function plan(desired: DesiredView[], current: ViewVersion[], afterTimelabel = MIDDAY): Plan {
  return buildPlan({ desired: { views: desired, sliceConfigs: [] }, current: { views: current, sliceConfigs: [] }, after: afterTimelabel });
}

function kinds(p: Plan): string[] {
  return p.stages.map((s) => `${s.kind} ${'view' in s ? s.view : 'slice' in s ? s.slice : s.updateSet}`);
}

function stage<K extends PlanStage['kind']>(p: Plan, kind: K, view: string): Extract<PlanStage, { kind: K }> {
  const found = p.stages.find((s) => s.kind === kind && 'view' in s && s.view === view);
  assert.ok(found, `no ${kind} stage for ${view} in ${kinds(p).join(', ')}`);
  return found as Extract<PlanStage, { kind: K }>;
}

test('a new view on an installed one: created, switched in at its next period, backfilled from there', async () => {
  const before = await flow({ 'analytics.hourly_revenue': HOURLY_REVENUE });
  const now = await flow({ 'analytics.hourly_revenue': HOURLY_REVENUE, 'analytics.daily_revenue': DAILY_REVENUE });
  const p = plan(now, installed(before));

  assert.deepEqual(kinds(p), ['create-view analytics.daily_revenue', `switch ${p.updateSet?.id}`, 'backfill analytics.daily_revenue']);
  const created = stage(p, 'create-view', 'analytics.daily_revenue');
  assert.equal(created.refresh, 'every day');
  assert.equal(created.mode, 'merge');
  assert.equal(created.file, 'views/analytics/daily_revenue.sql');
  assert.deepEqual(created.definition.signature, SIGNATURES['analytics.daily_revenue']);
  assert.deepEqual(created.definition.reads, [{ relation: 'analytics.hourly_revenue', columns: ['hour', 'revenue'], ambiguous: [] }]);
  // Only the new daily view switches, so it aligns on its own period: the next midnight.
  assert.deepEqual(p.updateSet?.views, ['analytics.daily_revenue']);
  assert.equal(p.updateSet?.effectiveFrom, NEXT_MIDNIGHT);
  assert.deepEqual(stage(p, 'backfill', 'analytics.daily_revenue'), { kind: 'backfill', view: 'analytics.daily_revenue', from: NEXT_MIDNIGHT, reason: 'created' });
  assert.equal(p.summary.viewsCreated, 1);
  assert.equal(p.summary.viewsAffected, 0);
  assert.deepEqual(p.breaking, []);
  // A plan is data: it survives JSON unchanged.
  assert.deepEqual(JSON.parse(JSON.stringify(p)), p);
});

test('an unchanged flow gives an empty plan, even with the header tags moved and described', async () => {
  const views = { 'analytics.hourly_revenue': HOURLY_REVENUE, 'analytics.daily_revenue': DAILY_REVENUE };
  const current = installed(await flow(views));
  const moved = {
    ...views,
    // A description shifts every tag line down; the body stays byte for byte.
    'analytics.hourly_revenue': HOURLY_REVENUE.replace('/**\n', '/**\n * Revenue per hour.\n *\n'),
  };
  for (const desired of [await flow(views), await flow(moved)]) {
    const p = plan(desired, current);
    assert.deepEqual(p.stages, []);
    assert.equal(p.updateSet, null);
    assert.deepEqual(p.breaking, []);
    assert.equal(formatPlan(p), 'No changes: the installation already runs this flow.\n');
    assert.deepEqual(planIsAllowed(p, { allowBreaking: false }), { allowed: true, messages: [] });
  }
});

test('a changed hourly view and the daily views above it switch together at the next midnight', async () => {
  const views = {
    'analytics.hourly_revenue': HOURLY_REVENUE,
    'analytics.daily_revenue': DAILY_REVENUE,
    'analytics.best_days': BEST_DAYS,
  };
  const current = installed(await flow(views));
  const changed = await flow({ ...views, 'analytics.hourly_revenue': HOURLY_REVENUE.replace('FROM shop.orders o', "FROM shop.orders o WHERE o.status <> 'test'") });
  const p = plan(changed, current);

  const id = p.updateSet?.id;
  assert.deepEqual(kinds(p), ['change-view analytics.hourly_revenue', `switch ${id}`, 'backfill analytics.hourly_revenue']);
  const change = stage(p, 'change-view', 'analytics.hourly_revenue');
  assert.equal(change.sqlChanged, true);
  assert.deepEqual(change.headerChanged, []);
  assert.deepEqual(change.columns, { added: [], removed: [], retyped: [] });
  assert.equal(change.fromVersion, 1);
  // Transitively: best_days reads daily_revenue, not the changed view, and is still listed.
  assert.deepEqual(change.affected, [
    { view: 'analytics.daily_revenue', breaking: false, columns: [] },
    { view: 'analytics.best_days', breaking: false, columns: [] },
  ]);
  assert.deepEqual(p.stages[1], {
    kind: 'switch',
    updateSet: id,
    effectiveFrom: NEXT_MIDNIGHT,
    views: ['analytics.best_days', 'analytics.daily_revenue', 'analytics.hourly_revenue'],
  });
  assert.deepEqual(p.updateSet, { id, effectiveFrom: NEXT_MIDNIGHT, views: ['analytics.best_days', 'analytics.daily_revenue', 'analytics.hourly_revenue'] });
  assert.match(id ?? '', /^us-20260306000000-[0-9a-f]{12}$/);
  assert.equal(stage(p, 'backfill', 'analytics.hourly_revenue').from, NEXT_MIDNIGHT);
  assert.equal(p.summary.viewsChanged, 1);
  assert.equal(p.summary.viewsAffected, 2);
  // Deterministic: the same change from the same timelabel is the same update set.
  assert.deepEqual(plan(changed, current), p);

  const text = formatPlan(p);
  assert.match(text, /^Plan: 1 view changed, 2 views affected\n/);
  assert.match(text, /\n {2}~ change view analytics\.hourly_revenue from v1: sql\n {6}affects analytics\.daily_revenue: non-breaking\n {6}affects analytics\.best_days: non-breaking\n/);
  assert.match(text, new RegExp(`\\n {2}= switch update set ${id} at 20260306000000: analytics\\.best_days, analytics\\.daily_revenue, analytics\\.hourly_revenue\\n`));
  assert.match(text, /takes effect at timelabel 20260306000000\.\n$/);
});

test('with only hourly views the update set switches at the next hour', async () => {
  const HOURLY_TOP = `${header('@refresh 1 hour', '@mode replace')}SELECT h.hour, h.revenue FROM analytics.hourly_revenue h WHERE h.revenue > 100\n`;
  const views = { 'analytics.hourly_revenue': HOURLY_REVENUE, 'analytics.hourly_top': HOURLY_TOP };
  const signatures = { 'analytics.hourly_top': SIGNATURES['analytics.daily_revenue'] };
  const current = installed(await flow(views, signatures));
  const changed = await flow({ ...views, 'analytics.hourly_revenue': HOURLY_REVENUE.replace('sum(o.amount)', 'sum(o.amount - o.discount)') }, signatures);
  const p = plan(changed, current, '20260305133000');
  assert.deepEqual(p.updateSet?.views, ['analytics.hourly_revenue', 'analytics.hourly_top']);
  assert.equal(p.updateSet?.effectiveFrom, '20260305140000');
});

test('a refresh schedule change aligns on the old schedule as well as the new one', async () => {
  const views = { 'analytics.hourly_revenue': HOURLY_REVENUE, 'analytics.daily_revenue': DAILY_REVENUE };
  const current = installed(await flow(views));
  const nowHourly = await flow({ ...views, 'analytics.daily_revenue': DAILY_REVENUE.replace('@refresh 1 day', '@refresh 1 hour') });
  const p = plan(nowHourly, current);
  const change = stage(p, 'change-view', 'analytics.daily_revenue');
  assert.deepEqual([change.sqlChanged, change.headerChanged], [false, ['refresh']]);
  assert.deepEqual(p.updateSet?.views, ['analytics.daily_revenue']);
  // Hourly alone would switch at 14:00, in the middle of the old daily period.
  assert.equal(p.updateSet?.effectiveFrom, NEXT_MIDNIGHT);
});

const WITHOUT_ORDERS = HOURLY_REVENUE.replace(', count(*) AS orders', '');
const SIGNATURE_WITHOUT_ORDERS = { 'analytics.hourly_revenue': SIGNATURES['analytics.hourly_revenue'].filter((c) => c.name !== 'orders') };

test('a view that reads a column its changed upstream removed is breaking; one that does not read it is not', async () => {
  const views = { 'analytics.hourly_revenue': HOURLY_REVENUE, 'analytics.daily_revenue': DAILY_REVENUE, 'analytics.daily_orders': DAILY_ORDERS };
  const current = installed(await flow(views));
  const p = plan(await flow({ ...views, 'analytics.hourly_revenue': WITHOUT_ORDERS }, SIGNATURE_WITHOUT_ORDERS), current);

  const change = stage(p, 'change-view', 'analytics.hourly_revenue');
  assert.deepEqual(change.columns, { added: [], removed: [{ name: 'orders', type: 'bigint' }], retyped: [] });
  assert.deepEqual(change.affected, [
    { view: 'analytics.daily_orders', breaking: true, columns: [{ column: 'orders', change: 'removed', via: 'column', resolved: false }] },
    { view: 'analytics.daily_revenue', breaking: false, columns: [] },
  ]);
  assert.deepEqual(p.breaking, [
    { view: 'analytics.daily_orders', upstream: 'analytics.hourly_revenue', column: 'orders', change: 'removed', via: 'column', resolved: false },
  ]);
  assert.equal(p.summary.unresolvedBreaking, 1);
  assert.match(formatPlan(p), /\n {6}affects analytics\.daily_orders: BREAKING, reads orders \(removed\)\n {6}affects analytics\.daily_revenue: non-breaking\n/);

  const refused = planIsAllowed(p, { allowBreaking: false });
  assert.equal(refused.allowed, false);
  assert.deepEqual(refused.messages, [
    'view analytics.daily_orders reads column orders of analytics.hourly_revenue, which this plan removes; ' +
      'expected analytics.daily_orders to change in the same plan so it no longer reads it, or apply with --allow-breaking',
  ]);
  // Allowed on request, and the message stays for apply to warn with.
  assert.deepEqual(planIsAllowed(p, { allowBreaking: true }), { allowed: true, messages: refused.messages });
});

test('a view reading * from the changed upstream breaks on a removed or retyped column', async () => {
  const COPY = `${header('@refresh 1 hour', '@mode replace')}SELECT * FROM analytics.hourly_revenue\n`;
  const views = { 'analytics.hourly_revenue': HOURLY_REVENUE, 'analytics.hourly_copy': COPY };
  const current = installed(await flow(views, { 'analytics.hourly_copy': SIGNATURES['analytics.hourly_revenue'] }));
  const retyped = SIGNATURES['analytics.hourly_revenue'].map((c) => (c.name === 'revenue' ? { name: 'revenue', type: 'double precision' } : c));
  const signatures = { 'analytics.hourly_revenue': retyped, 'analytics.hourly_copy': retyped };
  const p = plan(await flow({ ...views, 'analytics.hourly_revenue': HOURLY_REVENUE.replace('sum(o.amount)', 'sum(o.amount)::float8') }, signatures), current);

  assert.deepEqual(stage(p, 'change-view', 'analytics.hourly_revenue').columns.retyped, [{ name: 'revenue', from: 'numeric', to: 'double precision' }]);
  // The copy's own signature follows, so it changes too, yet it still reads the retyped column: unresolved.
  assert.deepEqual(stage(p, 'change-view', 'analytics.hourly_copy').columns.retyped, [{ name: 'revenue', from: 'numeric', to: 'double precision' }]);
  assert.deepEqual(p.breaking, [
    {
      view: 'analytics.hourly_copy',
      upstream: 'analytics.hourly_revenue',
      column: 'revenue',
      change: 'retyped',
      fromType: 'numeric',
      toType: 'double precision',
      via: '*',
      resolved: false,
    },
  ]);
  assert.match(planIsAllowed(p, { allowBreaking: false }).messages[0], /^view analytics\.hourly_copy reads column revenue of analytics\.hourly_revenue through \*, which this plan retypes from numeric to double precision; /);
});

test('the breaking change is resolved when the downstream view changes in the same plan to stop reading the column', async () => {
  const views = { 'analytics.hourly_revenue': HOURLY_REVENUE, 'analytics.daily_orders': DAILY_ORDERS };
  const current = installed(await flow(views));
  const fixed = DAILY_ORDERS.replace('sum(h.orders) AS orders', 'count(*) AS orders');
  const p = plan(await flow({ 'analytics.hourly_revenue': WITHOUT_ORDERS, 'analytics.daily_orders': fixed }, SIGNATURE_WITHOUT_ORDERS), current);

  assert.deepEqual(kinds(p).slice(0, 2), ['change-view analytics.hourly_revenue', 'change-view analytics.daily_orders']);
  assert.deepEqual(p.breaking, [
    { view: 'analytics.daily_orders', upstream: 'analytics.hourly_revenue', column: 'orders', change: 'removed', via: 'column', resolved: true },
  ]);
  assert.equal(p.summary.unresolvedBreaking, 0);
  assert.deepEqual(planIsAllowed(p, { allowBreaking: false }), { allowed: true, messages: [] });
  assert.match(formatPlan(p), /affects analytics\.daily_orders: BREAKING \(resolved\), reads orders \(removed, resolved: it no longer reads it\)/);
  // Both change, so both backfill from the one switch.
  assert.deepEqual(
    p.stages.filter((s) => s.kind === 'backfill').map((s) => s.view),
    ['analytics.hourly_revenue', 'analytics.daily_orders'],
  );

  // Changing the downstream view in a way that still reads the column resolves nothing.
  const stillReads = DAILY_ORDERS.replace('sum(h.orders) AS orders', 'max(h.orders) AS orders');
  const q = plan(await flow({ 'analytics.hourly_revenue': WITHOUT_ORDERS, 'analytics.daily_orders': stillReads }, SIGNATURE_WITHOUT_ORDERS), current);
  assert.deepEqual(
    q.breaking.map((b) => b.resolved),
    [false],
  );
  assert.equal(planIsAllowed(q, { allowBreaking: false }).allowed, false);
});

test('a removed view is a stage of its own and switches out with the update set', async () => {
  const views = { 'analytics.hourly_revenue': HOURLY_REVENUE, 'analytics.daily_orders': DAILY_ORDERS };
  const current = installed(await flow(views));
  const p = plan(await flow({ 'analytics.hourly_revenue': HOURLY_REVENUE }), current);
  assert.deepEqual(kinds(p), ['remove-view analytics.daily_orders', `switch ${p.updateSet?.id}`]);
  assert.deepEqual(p.updateSet?.views, ['analytics.daily_orders']);
  // Its old daily schedule still aligns the switch.
  assert.equal(p.updateSet?.effectiveFrom, NEXT_MIDNIGHT);
  assert.equal(p.summary.viewsRemoved, 1);
});

test('slice configs: added, changed (naming the fields), removed, and unchanged ones left out', () => {
  const record = (slice: string, type: string, config: unknown, version: number): SliceConfigRecord => ({ slice, type, config, version, updatedAt: '2026-03-01T00:00:00.000Z' });
  const shop = { schedule: '15 minutes', connection: { secret: 'shop-db' }, loadunits: [{ name: 'orders' }] };
  const p = buildPlan({
    desired: {
      views: [],
      sliceConfigs: [
        { slice: 'shop', type: 'collect/postgres', config: { ...shop, schedule: '5 minutes', note: undefined } },
        { slice: 'warehouse', type: 'organize/redshift', config: { secret: 'wh' } },
        { slice: 'crm', type: 'collect/postgres', config: { schedule: '1 hour' } },
      ],
    },
    current: {
      views: [],
      sliceConfigs: [record('shop', 'collect/postgres', shop, 3), record('legacy', 'collect/postgres', {}, 1), record('crm', 'collect/postgres', { schedule: '1 hour' }, 2)],
    },
    after: MIDDAY,
  });
  assert.deepEqual(p.stages, [
    { kind: 'remove-slice', slice: 'legacy', type: 'collect/postgres', fromVersion: 1 },
    { kind: 'change-slice', slice: 'shop', type: 'collect/postgres', config: { ...shop, schedule: '5 minutes' }, fromVersion: 3, changedFields: ['schedule'] },
    { kind: 'add-slice', slice: 'warehouse', type: 'organize/redshift', config: { secret: 'wh' } },
  ]);
  assert.equal(p.updateSet, null);
  assert.deepEqual([p.summary.slicesAdded, p.summary.slicesChanged, p.summary.slicesRemoved], [1, 1, 1]);
  assert.equal(formatPlan(p), 'Plan: 1 slice added, 1 slice changed, 1 slice removed\n  - remove slice legacy (collect/postgres)\n  ~ change slice shop (collect/postgres) from config v3: schedule\n  + add slice warehouse (organize/redshift)\n');
});

test('bad input: a view twice in the flow, and an after that is not a timelabel, are refused by name', async () => {
  const views = await flow({ 'analytics.hourly_revenue': HOURLY_REVENUE });
  assert.throws(
    () => plan([...views, ...views], []),
    (e: unknown) => e instanceof TerminalError && e.category === 'config' && /found analytics\.hourly_revenue twice/.test(e.message),
  );
  assert.throws(
    () => plan(views, [], '2026-03-05'),
    (e: unknown) => e instanceof TerminalError && e.category === 'config' && /^plan: after: found "2026-03-05"/.test(e.message),
  );
});
