/**
 * An update set that changes an hourly view and the daily view built on it,
 * applied in the middle of a day, on a copy of the shop demo with the embedded
 * default. Both switch at the next midnight: every hour of that day and the
 * day's own daily refresh still use version 1, so the daily result is computed
 * by version 1 of the daily view from hours that were all version 1; the next
 * day's hours use version 2. The run report, the warehouse's refresh markers
 * and the view contents are each checked against that.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadFlow } from '../shared/flow/load.ts';
import { applyPlan, planFlow, type ApplyResult } from '../shared/local/apply.ts';
import { runFlow, type RunReport } from '../shared/local/run.ts';
import { LocalRuntime } from '../shared/local/runtime.ts';
import type { Plan } from '../shared/plan/types.ts';
import { ORGANIZE_SLICE } from '../slices/organize/redshift/organizer.ts';
import { copyExample } from './support/flow.ts';

const D = '20260310';
const D1 = '20260311';
const D2 = '20260312';
const HOURLY = 'analytics.customer_ltv';
const DAILY = 'analytics.daily_ltv';

const DAILY_V1 = `/**
 * Customers, orders and lifetime revenue over all customers, once a day.
 * @refresh 1 day
 * @mode replace
 */
SELECT count(*) AS customers, sum(l.orders) AS orders, sum(l.revenue) AS revenue
FROM analytics.customer_ltv l
`;

// Each change keeps the view's columns and types, so the plan is not breaking,
// but changes its values, so the rows tell which version computed them.
const HOURLY_V1_REVENUE = 'coalesce(sum(o.total), 0) AS revenue';
const HOURLY_V2_REVENUE = `coalesce(sum(o.total) FILTER (WHERE o.status <> 'cancelled'), 0) AS revenue`;
const DAILY_V1_CUSTOMERS = 'count(*) AS customers';
const DAILY_V2_CUSTOMERS = 'count(*) FILTER (WHERE l.orders > 0) AS customers';

const hoursOf = (day: string) => Array.from({ length: 24 }, (_, h) => `${day}${String(h).padStart(2, '0')}0000`);

function viewPath(dir: string, view: string): string {
  return join(dir, 'views', ...view.split('.')) + '.sql';
}

function edit(dir: string, view: string, from: string, to: string): void {
  const path = viewPath(dir, view);
  const text = readFileSync(path, 'utf8');
  assert.ok(text.includes(from), `${path} holds ${from}`);
  writeFileSync(path, text.replaceAll(from, to));
}

function assertNoFailure(report: RunReport): void {
  assert.equal(report.failed, 0, JSON.stringify([...report.batches, ...report.organized].filter((x) => x.status === 'failed')));
}

/** [view, timelabel, version] of every refresh of the two views, sorted. */
function refreshesIn(reports: RunReport[]): [string, string, number | undefined][] {
  return reports
    .flatMap((r) => r.organized)
    .filter((o) => o.kind === 'refresh' && (o.dataset === HOURLY || o.dataset === DAILY))
    .map((o): [string, string, number | undefined] => {
      assert.equal(o.status, 'refreshed', `${o.dataset} ${o.timelabel}`);
      return [o.dataset, o.timelabel, o.version];
    })
    .sort((a, b) => (a[0] + a[1]).localeCompare(b[0] + b[1]));
}

/** Sorted JSON rows of `sql` in the warehouse; numbers as text, so the comparison is exact. */
async function rows(runtime: LocalRuntime, sql: string): Promise<string[]> {
  return runtime.withDatabase('warehouse', async (c) => (await c.query(sql)).rows.map((r) => JSON.stringify(r)).sort());
}

/** What a view's definition computes over what the warehouse holds now, in the view's column order. */
function definitionSql(body: string, columns: string): string {
  return `SELECT ${columns} FROM (${body}) AS d`;
}

const LTV_COLUMNS = 'customer_id, name, country, orders, revenue::text AS revenue';
const DAILY_COLUMNS = 'customers, orders::text AS orders, revenue::text AS revenue';

describe('update set: an hourly view and the daily view above it, changed mid-day', () => {
  let dir: string;
  let runtime: LocalRuntime | undefined;
  const reports: RunReport[] = [];
  let plan: Plan;
  let applied: ApplyResult;
  let hourlyV1Body: string;
  let hourlyV2Body: string;
  /** Contents right after D+1's daily refresh, before any hour of D+2 ran. */
  let endOfD1: { ltv: string[]; ltvByV1: string[]; ltvByV2: string[]; daily: string[]; dailyByV1: string[] };
  /** Contents after the first hour of D+2. */
  let inD2: { ltv: string[]; ltvByV2: string[]; daily: string[] };

  before(async () => {
    dir = copyExample('shop');
    writeFileSync(viewPath(dir, DAILY), DAILY_V1);
    hourlyV1Body = (await loadFlow(dir)).views.find((v) => v.name === HOURLY)!.body;

    runtime = await LocalRuntime.start(await loadFlow(dir), { full: true });
    reports.push(await runFlow(runtime, { from: `${D}000000`, to: `${D}234500` }));
    reports.push(await runFlow(runtime, { from: `${D1}000000`, to: `${D1}114500` }));
    await runtime.stop();
    runtime = undefined;

    edit(dir, HOURLY, HOURLY_V1_REVENUE, HOURLY_V2_REVENUE);
    edit(dir, DAILY, DAILY_V1_CUSTOMERS, DAILY_V2_CUSTOMERS);
    const changed = await loadFlow(dir);
    hourlyV2Body = changed.views.find((v) => v.name === HOURLY)!.body;
    runtime = await LocalRuntime.start(changed, { full: true });
    plan = await planFlow(runtime, changed);
    applied = await applyPlan(runtime, plan, { allowBreaking: false });

    reports.push(await runFlow(runtime, { from: `${D1}120000`, to: `${D1}234500` }));
    endOfD1 = {
      ltv: await rows(runtime, `SELECT ${LTV_COLUMNS} FROM ${HOURLY}`),
      ltvByV1: await rows(runtime, definitionSql(hourlyV1Body, LTV_COLUMNS)),
      ltvByV2: await rows(runtime, definitionSql(hourlyV2Body, LTV_COLUMNS)),
      daily: await rows(runtime, `SELECT ${DAILY_COLUMNS} FROM ${DAILY}`),
      dailyByV1: await rows(runtime, `SELECT ${DAILY_COLUMNS} FROM (${DAILY_V1}) AS d`),
    };
    reports.push(await runFlow(runtime, { from: `${D2}000000`, to: `${D2}004500` }));
    inD2 = {
      ltv: await rows(runtime, `SELECT ${LTV_COLUMNS} FROM ${HOURLY}`),
      ltvByV2: await rows(runtime, definitionSql(hourlyV2Body, LTV_COLUMNS)),
      daily: await rows(runtime, `SELECT ${DAILY_COLUMNS} FROM ${DAILY}`),
    };
  });
  after(async () => runtime?.stop());

  test('every run succeeded', () => {
    for (const report of reports) assertNoFailure(report);
  });

  test('the plan changes both views without breaking anything, and its update set takes effect at the next midnight', async () => {
    const changed = plan.stages.filter((s) => s.kind === 'change-view').map((s) => s.view);
    assert.ok(changed.includes(HOURLY) && changed.includes(DAILY), JSON.stringify(changed));
    assert.equal(plan.summary.breaking, 0);
    assert.equal(applied.applied, true, applied.messages.join('\n'));
    // The newest refreshed period is the 11:00 hour of D+1; a daily view aligns only at midnight.
    assert.equal(applied.updateSet?.effectiveFrom, `${D2}000000`);
    const views = applied.updateSet!.views;
    assert.ok(views.includes(HOURLY) && views.includes(DAILY), JSON.stringify(views));

    const { metadata } = runtime!.services;
    const sets = await metadata.listUpdateSets(ORGANIZE_SLICE);
    assert.equal(sets.length, 2, 'the fresh flow, then this change');
    assert.ok(sets.some((s) => s.id === applied.updateSet!.id && s.effectiveFrom === `${D2}000000`));
    for (const view of [HOURLY, DAILY]) {
      const versions = await metadata.listViewVersions(ORGANIZE_SLICE, view);
      assert.deepEqual(versions.map((v) => v.version), [1, 2], view);
      assert.equal(versions.at(-1)!.effectiveFrom, `${D2}000000`, view);
      assert.equal((await metadata.versionInEffect(ORGANIZE_SLICE, view, `${D1}230000`))?.version, 1, view);
      assert.equal((await metadata.versionInEffect(ORGANIZE_SLICE, view, `${D2}000000`))?.version, 2, view);
    }
  });

  test('the report: every hour of D and D+1 and both daily refreshes used version 1, the hour of D+2 version 2', () => {
    const expected: [string, string, number][] = [
      [DAILY, `${D}000000`, 1],
      [DAILY, `${D1}000000`, 1],
      ...hoursOf(D).map((t): [string, string, number] => [HOURLY, t, 1]),
      ...hoursOf(D1).map((t): [string, string, number] => [HOURLY, t, 1]),
      [HOURLY, `${D2}000000`, 2],
    ];
    expected.sort((a, b) => (a[0] + a[1]).localeCompare(b[0] + b[1]));
    assert.deepEqual(refreshesIn(reports), expected);
  });

  test('the D+1 daily refresh ran after the last hour of D+1 and before the first hour of D+2', () => {
    const order = reports.flatMap((r) => r.organized).filter((o) => o.kind === 'refresh').map((o) => `${o.dataset} ${o.timelabel}`);
    const at = (s: string) => {
      const i = order.indexOf(s);
      assert.ok(i >= 0, s);
      return i;
    };
    assert.ok(at(`${DAILY} ${D1}000000`) > at(`${HOURLY} ${D1}230000`));
    assert.ok(at(`${DAILY} ${D1}000000`) < at(`${HOURLY} ${D2}000000`));
  });

  test('the warehouse markers agree with the report, one version per view and period', async () => {
    const markers = await rows(
      runtime!,
      `SELECT "view", timelabel, version FROM reef.refresh_markers WHERE "view" IN ('${HOURLY}', '${DAILY}')`,
    );
    const fromReport = refreshesIn(reports).map(([view, timelabel, version]) => JSON.stringify({ view, timelabel, version })).sort();
    assert.deepEqual(markers, fromReport);
    // No D+1 hour has a version 2 marker, and no D+2 hour a version 1 marker.
    const mixed = await rows(
      runtime!,
      `SELECT "view", timelabel, version FROM reef.refresh_markers
       WHERE (timelabel < '${D2}000000' AND version <> 1) OR (timelabel >= '${D2}000000' AND version <> 2)`,
    );
    assert.deepEqual(mixed.filter((m) => m.includes(HOURLY) || m.includes(DAILY)), []);
  });

  test("the contents: D+1's daily result is version 1 over version-1 hours; D+2's hour is version 2", () => {
    // Without this the checks below could not tell the versions apart.
    assert.notDeepEqual(endOfD1.ltvByV1, endOfD1.ltvByV2, 'some customer has a cancelled order');
    assert.deepEqual(endOfD1.ltv, endOfD1.ltvByV1, 'the last hour of D+1 wrote version 1 rows');
    assert.deepEqual(endOfD1.daily, endOfD1.dailyByV1, 'the daily view of D+1 is version 1 over those rows');
    assert.deepEqual(inD2.ltv, inD2.ltvByV2, 'the first hour of D+2 wrote version 2 rows');
    assert.deepEqual(inD2.daily, endOfD1.daily, 'the daily result of D+1 stays until D+2 is complete');
  });
});
