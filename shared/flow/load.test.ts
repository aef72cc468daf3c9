import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TerminalError } from '../errors.ts';
import { sliceTypes } from '../../slices/registry.ts';
import { FlowConfigError, loadFlow, validateSliceConfig } from './load.ts';

const here = dirname(fileURLToPath(import.meta.url));
const shopDir = resolve(here, '../../examples/shop');

const REEF_YAML = 'name: demo\n';
const COLLECT_TYPES = sliceTypes
  .filter((d) => d.kind === 'collect')
  .map((d) => d.type)
  .join(', ');

const SOURCE = `type: collect/postgres
description: test source
schedule: every 15 minutes
connection:
  secret: shop-source
  maxConnections: 2
loadunits:
  - table: public.customers
    mode: incremental
    cursor: updated_at
    keys: [id]
  - table: public.products
    mode: snapshot
`;

/** A flow in a fresh temp dir; `files` maps relative paths to contents, `undefined` leaves a file out. */
const tempDirs: string[] = [];
after(() => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

function writeFlow(files: Record<string, string | undefined>): string {
  const dir = mkdtempSync(join(tmpdir(), 'reef-load-test-'));
  tempDirs.push(dir);
  for (const [path, text] of Object.entries(files)) {
    if (text === undefined) continue;
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/** 1-based line of the first line of `text` containing `needle`. */
function lineOf(text: string, needle: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(needle));
  assert.ok(i >= 0, `test bug: ${JSON.stringify(needle)} not in the text`);
  return i + 1;
}

/** The problem lines of a flow that must fail to load. */
async function problems(dir: string): Promise<string[]> {
  try {
    await loadFlow(dir);
  } catch (e) {
    assert.ok(e instanceof FlowConfigError, `expected a FlowConfigError, got ${String(e)}`);
    assert.ok(e instanceof TerminalError);
    assert.equal(e.category, 'config');
    assert.equal(e.code, 'config.invalid');
    const lines = e.message.split('\n');
    assert.equal(lines.length, e.problems.length);
    return lines;
  }
  assert.fail('the flow loaded, but it should have been refused');
}

test('examples/shop loads into a Flow with its installation, its warehouse, its one source and its publication', async () => {
  const flow = await loadFlow(shopDir);
  assert.equal(flow.dir, shopDir);
  assert.deepEqual(flow.installation, {
    name: 'shop',
    // createServerless is off unless reef.yaml switches it on.
    warehouse: { type: 'redshift', connection: { secret: 'shop-warehouse' }, createServerless: false },
    local: {
      databases: [
        { secret: 'shop-source', database: 'shop', generator: 'generator.ts' },
        { secret: 'shop-warehouse', database: 'warehouse' },
        { secret: 'shop-app', database: 'app' },
      ],
    },
  });
  assert.deepEqual(flow.publications.map((p) => [p.slice, p.type]), [['customer-scores', 'harness/postgres']]);
  assert.equal(flow.sources.length, 1);
  const [shop] = flow.sources;
  assert.equal(shop.slice, 'shop');
  assert.equal(shop.type, 'collect/postgres');
  assert.equal(shop.file, 'sources/shop.yaml');
  const config = shop.config as Record<string, unknown>;
  assert.equal(config.schedule, 'every 15 minutes');
  assert.deepEqual(config.connection, { secret: 'shop-source', maxConnections: 2 });
  assert.deepEqual(config.loadunits, [
    { table: 'public.customers', mode: 'incremental', cursor: 'updated_at', keys: ['id'] },
    { table: 'public.products', mode: 'snapshot' },
    { table: 'public.orders', mode: 'incremental', cursor: 'updated_at', keys: ['id'] },
    { table: 'public.order_items', mode: 'incremental', cursor: 'updated_at', keys: ['order_id', 'line_no'] },
  ]);
  // Plain JSON: what is stored in DynamoDB and compared in plans.
  assert.deepEqual(JSON.parse(JSON.stringify(flow)), flow);
});

test('reef.yaml defaults: no local section means no local databases; sources come back sorted by slice name', async () => {
  const dir = writeFlow({
    'reef.yaml': 'name: acme-data\naccount: "012345678901"\nregion: eu-west-1\n',
    'sources/zeta.yaml': SOURCE,
    'sources/alpha.yml': SOURCE,
    'sources/notes.txt': 'not a slice: ignored',
  });
  const flow = await loadFlow(dir);
  assert.deepEqual(flow.installation, { name: 'acme-data', account: '012345678901', region: 'eu-west-1', local: { databases: [] } });
  assert.deepEqual(
    flow.sources.map((s) => [s.slice, s.file]),
    [
      ['alpha', 'sources/alpha.yml'],
      ['zeta', 'sources/zeta.yaml'],
    ],
  );
});

test('malformed YAML (bad indentation) gives one problem with file, line, column and the parser message', async () => {
  const text = SOURCE.replace('  maxConnections: 2', ' maxConnections: 2');
  const dir = writeFlow({ 'reef.yaml': REEF_YAML, 'sources/shop.yaml': text });
  const lines = await problems(dir);
  assert.equal(lines.length, 1, lines.join('\n'));
  assert.match(lines[0], new RegExp(`^sources/shop\\.yaml:${lineOf(text, ' maxConnections')}:\\d+: YAML syntax: \\S`));
});

test('an unknown slice type names the file, the line of type, what was found and the known types', async () => {
  const text = `# the type is on line 2\n${SOURCE.replace('type: collect/postgres\n', 'type: collect/mysql\n')}`;
  const dir = writeFlow({ 'reef.yaml': REEF_YAML, 'sources/shop.yaml': text });
  assert.deepEqual(await problems(dir), [
    `sources/shop.yaml:${lineOf(text, 'type:')}: type: found "collect/mysql", expected one of the collect slice types ${COLLECT_TYPES}`,
  ]);
});

test('the organize slice type is not a source: a sources/ file naming it is refused, and only collect types are offered', async () => {
  const text = SOURCE.replace('type: collect/postgres\n', 'type: organize/redshift\n');
  const dir = writeFlow({ 'reef.yaml': REEF_YAML, 'sources/shop.yaml': text });
  assert.deepEqual(await problems(dir), [
    `sources/shop.yaml:${lineOf(text, 'type:')}: type: found "organize/redshift" (an organize slice type, which does not belong in sources/), expected one of the collect slice types ${COLLECT_TYPES}`,
  ]);
  assert.ok(!COLLECT_TYPES.includes('organize/'));
});

test('a key written twice is a YAML error that names the key', async () => {
  const text = SOURCE.replace('schedule: every 15 minutes\n', 'schedule: every 15 minutes\nschedule: every hour\n');
  const dir = writeFlow({ 'reef.yaml': REEF_YAML, 'sources/shop.yaml': text });
  assert.deepEqual(await problems(dir), [
    `sources/shop.yaml:${lineOf(text, 'every hour')}:1: YAML syntax: Map keys must be unique ("schedule" appears more than once)`,
  ]);
});

test('a missing type is reported as such', async () => {
  const dir = writeFlow({ 'reef.yaml': REEF_YAML, 'sources/shop.yaml': SOURCE.replace('type: collect/postgres\n', '') });
  const lines = await problems(dir);
  assert.deepEqual(lines, [`sources/shop.yaml:1: type: found nothing, expected one of the collect slice types ${COLLECT_TYPES}`]);
});

test('a wrong enum value says what was found and lists the allowed values', async () => {
  const text = SOURCE.replace('mode: snapshot', 'mode: snapshots');
  const dir = writeFlow({ 'reef.yaml': REEF_YAML, 'sources/shop.yaml': text });
  assert.deepEqual(await problems(dir), [
    `sources/shop.yaml:${lineOf(text, 'snapshots')}: loadunits[1].mode: found "snapshots", expected one of snapshot, incremental`,
  ]);
});

test('a missing required field is blamed on the line of the mapping it belongs in', async () => {
  const text = SOURCE.replace('  secret: shop-source\n', '');
  const dir = writeFlow({ 'reef.yaml': REEF_YAML, 'sources/shop.yaml': text });
  const lines = await problems(dir);
  assert.equal(lines.length, 1, lines.join('\n'));
  assert.match(lines[0], new RegExp(`^sources/shop\\.yaml:${lineOf(text, 'connection:')}: connection\\.secret: missing, expected text.*\\(required\\)$`));
});

test('incremental without cursor reports the missing cursor, not the other loadunit form', async () => {
  const text = SOURCE.replace('    cursor: updated_at\n', '');
  const dir = writeFlow({ 'reef.yaml': REEF_YAML, 'sources/shop.yaml': text });
  assert.deepEqual(await problems(dir), [
    `sources/shop.yaml:${lineOf(text, 'public.customers')}: loadunits[0].cursor: missing, expected text, 1 to 63 characters (required when mode is "incremental")`,
  ]);
});

test('a pattern loadunit in incremental mode is told it must be snapshot', async () => {
  const text = `${SOURCE}  - pattern: audit.*\n    mode: incremental\n`;
  const lastLine = text.split('\n').length - 1;
  const dir = writeFlow({ 'reef.yaml': REEF_YAML, 'sources/shop.yaml': text });
  assert.deepEqual(await problems(dir), [`sources/shop.yaml:${lastLine}: loadunits[2].mode: found "incremental", expected "snapshot"`]);
});

test('an extra unknown field is named on its own line, with a suggestion for a near miss', async () => {
  const text = SOURCE.replace('  maxConnections: 2', '  maxConnection: 2');
  const dir = writeFlow({ 'reef.yaml': REEF_YAML, 'sources/shop.yaml': text });
  assert.deepEqual(await problems(dir), [
    `sources/shop.yaml:${lineOf(text, 'maxConnection:')}: connection.maxConnection: found unknown field "maxConnection" (did you mean "maxConnections"?), expected only the fields secret, maxConnections, ssl, vpc`,
  ]);
});

test('a slice file whose name is not a valid slice name is refused, naming the file', async () => {
  const dir = writeFlow({ 'reef.yaml': REEF_YAML, 'sources/Shop_DB.yaml': SOURCE });
  const lines = await problems(dir);
  assert.equal(lines.length, 1, lines.join('\n'));
  assert.match(lines[0], /^sources\/Shop_DB\.yaml: slice name: found "Shop_DB" \(the file's base name\), expected .*lowercase/);
});

test('two files for one slice name (.yaml and .yml) are refused', async () => {
  const dir = writeFlow({ 'reef.yaml': REEF_YAML, 'sources/shop.yaml': SOURCE, 'sources/shop.yml': SOURCE });
  assert.deepEqual(await problems(dir), [
    'sources/shop.yml: slice name: found "shop" again (also sources/shop.yaml), expected one file per slice',
  ]);
});

test('an invalid schedule is reported on its line with why and what is accepted', async () => {
  const text = SOURCE.replace('every 15 minutes', 'every 7 minutes');
  const dir = writeFlow({ 'reef.yaml': REEF_YAML, 'sources/shop.yaml': text });
  const lines = await problems(dir);
  assert.equal(lines.length, 1, lines.join('\n'));
  assert.match(lines[0], new RegExp(`^sources/shop\\.yaml:${lineOf(text, 'schedule:')}: schedule: found "every 7 minutes": 7 minutes does not divide an hour.*; expected`));
});

test('a missing reef.yaml names the path and says a flow needs one', async () => {
  const dir = writeFlow({ 'sources/shop.yaml': SOURCE });
  const lines = await problems(dir);
  assert.equal(lines.length, 1, lines.join('\n'));
  assert.ok(lines[0].startsWith(`reef.yaml: not found at ${join(dir, 'reef.yaml')}; a flow needs a reef.yaml`), lines[0]);
});

test('a directory that does not exist is refused before anything else', async () => {
  const dir = join(tmpdir(), `reef-no-such-flow-${process.pid}`);
  await assert.rejects(loadFlow(dir), (e: unknown) => {
    assert.ok(e instanceof TerminalError);
    assert.equal(e.code, 'config.invalid');
    assert.match(e.message, /not found, expected a flow directory holding reef\.yaml/);
    return true;
  });
});

test('two loadunits with one name (table base name or as) are refused on the second one', async () => {
  const text = `${SOURCE}  - table: archive.customers\n    mode: snapshot\n  - table: public.items\n    as: products\n    mode: snapshot\n`;
  const dir = writeFlow({ 'reef.yaml': REEF_YAML, 'sources/shop.yaml': text });
  assert.deepEqual(await problems(dir), [
    `sources/shop.yaml:${lineOf(text, 'archive.customers')}: loadunits[2].table: found loadunit name "customers" (from table archive.customers), already used by loadunits[0]; expected unique loadunit names within a slice: give one of them another name with "as"`,
    `sources/shop.yaml:${lineOf(text, 'as: products')}: loadunits[3].as: found loadunit name "products", already used by loadunits[1]; expected unique loadunit names within a slice: give one of them another name with "as"`,
  ]);
});

test('reef.yaml is checked too: bad name, unquoted account, unknown field, missing database, duplicate secret, missing generator', async () => {
  const reef = `name: My_Shop
account: 123456789012
local:
  databases:
    - secret: src
      database: shop
      generator: gen.ts
    - secret: src
      databse: other
`;
  const dir = writeFlow({ 'reef.yaml': reef, 'sources/shop.yaml': SOURCE });
  const lines = await problems(dir);
  assert.deepEqual(lines, [
    `reef.yaml:1: name: found "My_Shop", expected text matching ^[a-z][a-z0-9-]{1,30}[a-z0-9]$ (installation name: 3-32 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen; prefixes stack and resource names)`,
    `reef.yaml:2: account: found 123456789012, expected text, matching ^[0-9]{12}$ (put it in quotes: "123456789012", so YAML reads it as text)`,
    `reef.yaml:7: local.databases[0].generator: found "gen.ts", expected a file relative to the flow, but ${join(dir, 'gen.ts')} does not exist`,
    'reef.yaml:8: local.databases[1].database: missing, expected text, matching ^[a-z_][a-z0-9_]{0,62}$ (required)',
    'reef.yaml:8: local.databases[1].secret: found "src" again (first at local.databases[0]), expected each secret to stand for one local database',
    'reef.yaml:9: local.databases[1].databse: found unknown field "databse" (did you mean "database"?), expected only the fields secret, database, generator',
  ]);
});

test('reef.yaml warehouse: createServerless needs a VPC with three subnets in three zones; baseCapacity needs createServerless and steps of 8', async () => {
  const vpc = (subnets: number) =>
    `  vpc:\n    vpcId: vpc-0abc\n    subnetIds: [${Array.from({ length: subnets }, (_, i) => `subnet-0${i}`).join(', ')}]\n    availabilityZones: [${Array.from({ length: subnets }, (_, i) => `eu-west-1${'abc'[i]}`).join(', ')}]\n`;
  const warehouse = (rest: string) => `name: demo\nwarehouse:\n  connection:\n    secret: wh\n${rest}`;
  assert.deepEqual(await problems(writeFlow({ 'reef.yaml': warehouse('  createServerless: true\n'), 'sources/shop.yaml': SOURCE })), [
    'reef.yaml:2: warehouse.vpc: missing; expected the VPC and subnets (at least 3, in 3 Availability Zones) to create the Redshift Serverless workgroup in',
  ]);
  assert.deepEqual(await problems(writeFlow({ 'reef.yaml': warehouse(`  createServerless: true\n${vpc(2)}`), 'sources/shop.yaml': SOURCE })), [
    'reef.yaml:8: warehouse.vpc.subnetIds: found 2 subnet(s); expected at least 3 for a Redshift Serverless workgroup',
    'reef.yaml:9: warehouse.vpc.availabilityZones: found 2 distinct zone(s); expected at least 3 for a Redshift Serverless workgroup',
  ]);
  assert.deepEqual(await problems(writeFlow({ 'reef.yaml': warehouse('  baseCapacity: 16\n'), 'sources/shop.yaml': SOURCE })), [
    'reef.yaml:5: warehouse.baseCapacity: found 16 without createServerless: true; expected it only for a warehouse Reef creates',
  ]);
  const [odd] = await problems(writeFlow({ 'reef.yaml': warehouse(`  createServerless: true\n  baseCapacity: 12\n${vpc(3)}`), 'sources/shop.yaml': SOURCE }));
  assert.match(odd, /^reef\.yaml:6: warehouse\.baseCapacity: found 12, expected /);
  const flow = await loadFlow(writeFlow({ 'reef.yaml': warehouse(`  createServerless: true\n  baseCapacity: 16\n${vpc(3)}`), 'sources/shop.yaml': SOURCE }));
  assert.equal(flow.installation.warehouse?.createServerless, true);
  assert.equal(flow.installation.warehouse?.baseCapacity, 16);
  assert.deepEqual(flow.installation.warehouse?.vpc?.subnetIds, ['subnet-00', 'subnet-01', 'subnet-02']);
});

test('a source may not be named after the organize slice, whose metadata and lake prefix it would share', async () => {
  assert.deepEqual(await problems(writeFlow({ 'reef.yaml': REEF_YAML, 'sources/warehouse.yaml': SOURCE })), [
    'sources/warehouse.yaml: slice name: found "warehouse", which names the organize slice\'s metadata and lake prefix; expected another name (rename the file)',
  ]);
});

test('several problems in several files are all reported at once, sorted by file and line', async () => {
  const broken = SOURCE.replace('every 15 minutes', 'every 7 minutes').replace('mode: snapshot', 'mode: full');
  const dir = writeFlow({
    'reef.yaml': 'name: x\n',
    'sources/zz-last.yaml': broken,
    'sources/aa-first.yaml': 'type: collect/postgres\nschedule: every hour\nconnection:\n  secret: s\nloadunits: []\n',
    'sources/mm-syntax.yaml': 'type: collect/postgres\nschedule: [every hour\n',
    'sources/good.yaml': SOURCE,
  });
  const lines = await problems(dir);
  const places = lines.map((l) => l.split(': ')[0]);
  assert.deepEqual(places, [
    'reef.yaml:1',
    'sources/aa-first.yaml:5',
    places[2].startsWith('sources/mm-syntax.yaml:') ? places[2] : 'sources/mm-syntax.yaml:?',
    `sources/zz-last.yaml:${lineOf(broken, 'schedule:')}`,
    `sources/zz-last.yaml:${lineOf(broken, 'mode: full')}`,
  ]);
  assert.match(lines[0], /name: found "x"/);
  assert.match(lines[1], /loadunits: found 0 items, expected at least 1/);
  assert.match(lines[2], /YAML syntax/);
  assert.match(lines[3], /schedule: found "every 7 minutes"/);
  assert.match(lines[4], /loadunits\[1\]\.mode: found "full", expected one of snapshot, incremental/);
});

test('validateSliceConfig accepts every registered type\'s own example', () => {
  for (const d of sliceTypes) validateSliceConfig(d.type, d.example, `example of ${d.type}`);
});

test('validateSliceConfig reports every problem, prefixed by where the config came from', () => {
  assert.throws(
    () =>
      validateSliceConfig(
        'collect/postgres',
        { type: 'collect/postgres', schedule: 'every 7 minutes', connection: { secret: 's', ssl: 'maybe' }, loadunits: [{ table: 't', mode: 'incremental' }] },
        'slice shop',
      ),
    (e: unknown) => {
      assert.ok(e instanceof FlowConfigError);
      assert.equal(e.code, 'config.invalid');
      const lines = e.message.split('\n');
      assert.equal(lines.length, 3, e.message);
      assert.ok(lines.includes('slice shop: connection.ssl: found "maybe", expected one of disable, require, verify-full'), e.message);
      assert.ok(lines.some((l) => l.startsWith('slice shop: loadunits[0].cursor: missing')), e.message);
      assert.ok(lines.some((l) => l.startsWith('slice shop: schedule: found "every 7 minutes"')), e.message);
      return true;
    },
  );
});

test('validateSliceConfig refuses an unknown type and lists the known ones', () => {
  assert.throws(() => validateSliceConfig('collect/oracle', {}, 'slice x'), {
    code: 'config.invalid',
    message: `slice x: type: found "collect/oracle", expected one of the slice types ${sliceTypes.map((d) => d.type).join(', ')}`,
  });
});

test('publications: each is loaded with its type; a dataset no source or view produces, a collect type, or a name taken by a source is refused', async () => {
  const publication = (dataset: string) => `type: harness/postgres\ndataset: ${dataset}\nconnection:\n  secret: app\ntarget:\n  table: scores\nmode: replace\n`;
  const flow = await loadFlow(writeFlow({ 'reef.yaml': REEF_YAML, 'sources/shop.yaml': SOURCE, 'publications/scores.yaml': publication('shop.products') }));
  assert.deepEqual(flow.publications.map((p) => [p.slice, p.type, p.file]), [['scores', 'harness/postgres', 'publications/scores.yaml']]);

  assert.deepEqual(
    await problems(writeFlow({ 'reef.yaml': REEF_YAML, 'sources/shop.yaml': SOURCE, 'publications/copy.yaml': SOURCE, 'publications/shop.yaml': publication('shop.products') })),
    [
      `publications/copy.yaml:${lineOf(SOURCE, 'type:')}: type: found "collect/postgres" (a collect slice type, which does not belong in publications/), expected one of the harness slice types harness/postgres, harness/webhook`,
      'publications/shop.yaml: slice name: found "shop" again (also sources/shop.yaml), expected one file per slice',
    ],
  );
  // Datasets are checked once every file is valid, against what the sources and views produce.
  const bad = publication('shop.prodcts');
  assert.deepEqual(await problems(writeFlow({ 'reef.yaml': REEF_YAML, 'sources/shop.yaml': SOURCE, 'publications/scores.yaml': bad })), [
    `publications/scores.yaml:${lineOf(bad, 'dataset:')}: dataset: found "shop.prodcts", which no source collects and no view defines; expected one of shop.customers, shop.products (did you mean "shop.products"?)`,
  ]);
});
