import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatProblem } from '../flow/problems.ts';
import { parseViewFile } from './header.ts';

const FILE = 'views/analytics/customer_ltv.sql';

const DESIGN_EXAMPLE = `/**
 * @refresh 1 hour
 * @mode merge
 * @keys customer_id
 * @check not_null(customer_id)
 * @check unique(customer_id)
 * @freshness 3 hours
 */
SELECT c.id AS customer_id, count(*) AS orders, sum(o.amount) AS revenue
FROM shop.orders o JOIN shop.customers c ON c.id = o.customer_id
GROUP BY 1
`;

/** The problem lines of a view file whose header must be refused. */
function problems(text: string): string[] {
  const parsed = parseViewFile(FILE, text);
  assert.equal(parsed.header, undefined, 'a header with problems must not be returned');
  assert.ok(parsed.problems.length > 0, 'expected problems');
  return parsed.problems.map(formatProblem);
}

/** A header from the given tag lines, then a one-line body. */
function view(...tags: string[]): string {
  return `/**\n${tags.map((t) => ` * ${t}\n`).join('')} */\nSELECT 1 AS one\n`;
}

test('the DESIGN.md header: every field, and the body kept byte for byte with its first line', () => {
  const parsed = parseViewFile(FILE, DESIGN_EXAMPLE);
  assert.deepEqual(parsed.problems, []);
  assert.deepEqual(parsed.header, {
    refresh: { kind: 'interval', periodMinutes: 60 },
    refreshText: '1 hour',
    mode: 'merge',
    keys: ['customer_id'],
    checks: [
      { kind: 'not_null', column: 'customer_id', line: 5 },
      { kind: 'unique', columns: ['customer_id'], line: 6 },
    ],
    freshnessMinutes: 180,
    tagLines: { refresh: 2, mode: 3, keys: 4, freshness: 7 },
  });
  assert.equal(parsed.bodyStartLine, 9);
  assert.equal(parsed.body, DESIGN_EXAMPLE.split('\n').slice(8).join('\n'));
});

test('every check form; a description before the tags; a cron refresh; keys folded to lowercase; CRLF line ends', () => {
  const text = [
    '/** Lifetime value per customer.',
    ' *   Used by the CRM.',
    ' * @refresh every 15 minutes',
    ' * @mode merge',
    ' * @keys Customer_ID, day',
    " * @check accepted_values(status, 'paid', 'it''s open', 3)",
    ' * @check row_count(1, 1000000)',
    ' * @check unique(customer_id, day)',
    ' * @check sql SELECT * FROM analytics.customer_ltv',
    ' *   WHERE revenue < 0',
    ' */',
    'SELECT 1',
  ].join('\r\n');
  const parsed = parseViewFile(FILE, text);
  assert.deepEqual(parsed.problems, []);
  const h = parsed.header!;
  assert.equal(h.description, 'Lifetime value per customer.\n  Used by the CRM.');
  assert.deepEqual(h.refresh, { kind: 'interval', periodMinutes: 15 });
  assert.deepEqual(h.keys, ['customer_id', 'day']);
  assert.deepEqual(h.checks, [
    { kind: 'accepted_values', column: 'status', values: ['paid', "it's open", 3], line: 6 },
    { kind: 'row_count', min: 1, max: 1000000, line: 7 },
    { kind: 'unique', columns: ['customer_id', 'day'], line: 8 },
    { kind: 'sql', sql: 'SELECT * FROM analytics.customer_ltv\n  WHERE revenue < 0', line: 9 },
  ]);
  assert.equal(parsed.bodyStartLine, 12);
  assert.equal(parsed.body, 'SELECT 1');

  const cron = parseViewFile(FILE, view('@refresh 0 2 * * *', '@mode replace'));
  assert.equal(cron.header?.refresh.kind, 'cron');
  assert.deepEqual(cron.header?.keys, []);
});

test('SQL on the same line as the closing */ starts the body on that line', () => {
  const parsed = parseViewFile(FILE, '/** @refresh 1 day\n * @mode replace */ SELECT 1');
  assert.deepEqual(parsed.problems, []);
  assert.equal(parsed.body, ' SELECT 1');
  assert.equal(parsed.bodyStartLine, 2);
});

test('a file without a header, or with an unclosed one, says what a header looks like', () => {
  assert.match(problems('SELECT 1\n')[0], /^views\/analytics\/customer_ltv\.sql:1: header: found no header, expected a header comment \/\*\* \.\.\. \*\/ at the top/);
  assert.match(problems('\n\n/* @refresh 1 hour */\nSELECT 1')[0], /^views\/analytics\/customer_ltv\.sql:3: header: found a comment opened with \/\* \(one star\)/);
  assert.match(problems('')[0], /:1: header: found an empty file/);
  assert.match(problems('/**\n * @refresh 1 hour\nSELECT 1')[0], /:1: header: the comment opened here is never closed with \*\//);
});

test('missing @refresh and @mode are reported at the header, each with what is expected', () => {
  assert.deepEqual(problems('/**\n * Nothing here.\n */\nSELECT 1'), [
    `${FILE}:1: @refresh: missing, expected "@refresh <interval>" such as "@refresh 1 hour" (required: how often the view is refreshed)`,
    `${FILE}:1: @mode: missing, expected "@mode replace|append|merge" (required: how a refresh writes the view)`,
  ]);
});

test('each bad tag is reported on its own line with what was found and what was expected', () => {
  const cases: [string[], number, RegExp][] = [
    [['@refresh 1 hour', '@mode upsert'], 3, /@mode: found "upsert", expected one of replace, append, merge$/],
    [['@refresh 7 minutes', '@mode replace'], 2, /@refresh: found "7 minutes": 7 minutes does not divide an hour/],
    [['@refresh 1 hour', '@mode merge'], 3, /@keys: missing, expected "@keys <column>\[, <column>\]" with @mode merge/],
    [['@refresh 1 hour', '@mode append', '@keys id'], 4, /@keys: found keys with @mode append, expected @keys only with @mode merge/],
    [['@refresh 1 hour', '@mode merge', '@keys id, "Name"'], 4, /@keys: found "\\"Name\\"", expected column names separated by commas/],
    [['@refresh 1 hour', '@mode merge', '@keys id, ID'], 4, /@keys: found column "id" twice/],
    [['@refresh 1 hour', '@mode replace', '@mode append'], 4, /@mode: found a second @mode \(first on line 3\), expected it once/],
    [['@refresh 1 hour', '@mode replace', '@refersh 1 day'], 4, /@refersh: found an unknown tag \(did you mean @refresh\?\), expected one of @refresh, @mode, @keys, @check, @freshness/],
    [['@refresh 1 hour', '@mode replace', '@freshness soon'], 4, /@freshness: found "soon", expected a duration "N minutes", "N hours" or "N days"/],
    [['@refresh 1 day', '@mode replace', '@freshness 3 hours'], 4, /@freshness: found "3 hours", shorter than the @refresh period "1 day"/],
    [['@refresh 1 hour', '@mode replace', '@check notnull(id)'], 4, /@check: found unknown check "notnull" \(did you mean not_null\?\)/],
    [['@refresh 1 hour', '@mode replace', '@check not_null(a, b)'], 4, /@check: not_null: found \(a, b\), expected not_null\(<column>\) with one column name/],
    [['@refresh 1 hour', '@mode replace', '@check not_null'], 4, /@check: found "not_null", expected one of not_null\(<column>\); unique/],
    [['@refresh 1 hour', '@mode replace', '@check unique()'], 4, /@check: unique: found nothing, expected column names/],
    [['@refresh 1 hour', '@mode replace', '@check accepted_values(status)'], 4, /@check: accepted_values: found \(status\), expected accepted_values\(<column>, 'a', 'b', \.\.\.\)/],
    [['@refresh 1 hour', '@mode replace', "@check accepted_values(status, paid)"], 4, /@check: accepted_values: found \(status, paid\)/],
    [['@refresh 1 hour', '@mode replace', "@check accepted_values(status, 'paid)"], 4, /@check: accepted_values: found an unclosed quote in "status, 'paid"/],
    [['@refresh 1 hour', '@mode replace', '@check row_count(10, 1)'], 4, /@check: row_count: found min 10 above max 1, expected min <= max/],
    [['@refresh 1 hour', '@mode replace', '@check row_count(1)'], 4, /@check: row_count: found \(1\), expected row_count\(<min>, <max>\) with two whole numbers/],
    [['@refresh 1 hour', '@mode replace', '@check sql'], 4, /@check: found "sql" with no query/],
    [['@refresh 1 hour', '@mode replace', '@check unique(id)', '@check unique(id)'], 5, /@check: found the same check again \(first on line 4\)/],
    [['@refresh 1 hour', '@mode replace', 'replace it daily'], 4, /@mode: found more text on the lines after the tag, expected its value on the tag's own line/],
  ];
  for (const [tags, line, expected] of cases) {
    const found = problems(view(...tags));
    assert.equal(found.length, 1, `${tags.join(' | ')}:\n${found.join('\n')}`);
    assert.ok(found[0].startsWith(`${FILE}:${line}: `), `${tags.join(' | ')}: expected line ${line}, got ${found[0]}`);
    assert.match(found[0], expected, tags.join(' | '));
  }
});

test('several problems in one header are all reported, each on its own line', () => {
  const found = problems(view('@refresh 1 fortnight', '@mode merge', '@check not_null()', '@colour blue'));
  const lines = found.map((p) => Number(p.split(':')[1])).sort((a, b) => a - b);
  // refresh (2), keys missing for merge (3), the check (4), the unknown tag (5).
  assert.deepEqual(lines, [2, 3, 4, 5], found.join('\n'));
});
