/**
 * Bad view input through the real CLI, on an installation that runs: a syntax
 * error, an unknown table, a cycle, merge without keys and a check on an
 * unknown column each make `reef plan` and `reef apply` fail with one line
 * naming the file and line, and leave the applied versions, the update sets
 * and the warehouse exactly as they were.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadFlow } from '../shared/flow/load.ts';
import { LocalRuntime } from '../shared/local/runtime.ts';
import { ORGANIZE_SLICE } from '../shared/slice.ts';
import { copyExample, reef } from './support/flow.ts';

const LTV = 'views/analytics/customer_ltv.sql';
const TOP = 'views/analytics/top_customers.sql';

interface BadInput {
  name: string;
  file: string;
  /** Replaces `from` with `to` in `file`; `to` may hold several lines. */
  from: string;
  to: string;
  /** Where the error must point: the line holding this text after the edit. */
  lineOf: string;
  /** What the message must say. */
  says: RegExp;
}

const CASES: BadInput[] = [
  { name: 'a syntax error', file: TOP, from: 'ORDER BY', to: 'ORDR BY', lineOf: 'ORDR BY', says: /SQL syntax: syntax error at or near "ORDR"/ },
  { name: 'an unknown table', file: LTV, from: 'shop.orders o', to: 'shop.ordrs o', lineOf: 'shop.ordrs', says: /unknown input "shop\.ordrs".*close matches: shop\.orders/ },
  {
    name: 'a cycle',
    file: LTV,
    from: 'LEFT JOIN shop.orders o',
    to: 'LEFT JOIN analytics.top_customers t ON t.customer_id = c.id\nLEFT JOIN shop.orders o',
    lineOf: 'analytics.top_customers',
    says: /found a cycle analytics\.customer_ltv → analytics\.top_customers → analytics\.customer_ltv/,
  },
  { name: 'merge without keys', file: LTV, from: ' * @keys customer_id\n', to: '', lineOf: '@mode merge', says: /@keys: missing, expected "@keys <column>/ },
  { name: 'a check on an unknown column', file: LTV, from: 'not_null(customer_id)', to: 'not_null(customer)', lineOf: 'not_null(customer)', says: /found column "customer", which the view does not output/ },
];

async function installationState(dir: string): Promise<unknown> {
  const runtime = await LocalRuntime.start(await loadFlow(dir), { full: true });
  try {
    const { metadata } = runtime.services;
    const versions = (await metadata.latestViewVersions(ORGANIZE_SLICE)).map((v) => `${v.view} v${v.version} from ${v.effectiveFrom}`).sort();
    const updateSets = (await metadata.listUpdateSets(ORGANIZE_SLICE)).map((u) => u.id).sort();
    const tables = await runtime.withDatabase('warehouse', async (c) =>
      (await c.query<{ t: string }>(`SELECT table_schema || '.' || table_name AS t FROM information_schema.tables WHERE table_schema = 'analytics' ORDER BY 1`)).rows.map((r) => r.t),
    );
    return { versions, updateSets, tables };
  } finally {
    await runtime.stop();
  }
}

describe('bad view input through reef plan and reef apply', () => {
  const dir = copyExample('shop');
  let before_: unknown;

  before(async () => {
    const run = await reef(['run', dir, '--timelabel', '20260310000000']);
    assert.equal(run.code, 0, run.stderr);
    before_ = await installationState(dir);
  });

  for (const c of CASES) {
    test(`${c.name}: one line with file and line from plan and from apply; nothing applied`, async () => {
      const path = join(dir, c.file);
      const original = readFileSync(path, 'utf8');
      assert.ok(original.includes(c.from), `${c.file} holds ${JSON.stringify(c.from)}`);
      const edited = original.replace(c.from, c.to);
      writeFileSync(path, edited);
      try {
        const line = edited.split('\n').findIndex((l) => l.includes(c.lineOf)) + 1;
        for (const command of ['plan', 'apply']) {
          const result = await reef([command, dir]);
          assert.equal(result.code, 2, `${command} exits 2 (an error, not a refused plan)`);
          const where = result.stderr.split('\n').find((l) => l.includes(`${c.file}:${line}:`));
          assert.ok(where, `${command} names ${c.file}:${line}; it said:\n${result.stderr}`);
          assert.match(where, c.says);
          assert.equal(result.stdout, '', `${command} prints no plan`);
        }
      } finally {
        writeFileSync(path, original);
      }
      assert.deepEqual(await installationState(dir), before_, 'versions, update sets and warehouse tables are unchanged');
    });
  }

  test('with the files restored, plan finds nothing to change', async () => {
    const plan = await reef(['plan', dir, '--json']);
    assert.equal(plan.code, 0, plan.stderr);
    assert.deepEqual((JSON.parse(plan.stdout) as { stages: unknown[] }).stages, [], 'no change is planned');
  });
});
