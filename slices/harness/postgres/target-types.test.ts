/**
 * Types across the publish: what a target column is created as for each
 * warehouse type (Redshift's mapped, PostgreSQL's kept unless the type is not
 * built in), and which existing target types are accepted instead: exactly
 * those that hold every value of the expected type. The PostgreSQL side also
 * runs for real in publish.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { holdsEvery, parseType, redshiftTargetType, targetType } from './target-types.ts';

test('Redshift types become the PostgreSQL types that read their text back exactly', () => {
  const cases: [string, string][] = [
    ['smallint', 'smallint'],
    ['integer', 'integer'],
    ['bigint', 'bigint'],
    ['numeric(12,2)', 'numeric(12,2)'],
    ['real', 'real'],
    ['double precision', 'double precision'],
    ['boolean', 'boolean'],
    ['date', 'date'],
    ['character(6)', 'character(6)'],
    ['character varying(40)', 'character varying(40)'],
    // The organize slice's text columns: any length, so PostgreSQL text.
    ['character varying(65535)', 'text'],
    ['time without time zone', 'time without time zone'],
    ['time with time zone', 'time with time zone'],
    ['timestamp without time zone', 'timestamp without time zone'],
    ['timestamp with time zone', 'timestamp with time zone'],
    ['super', 'jsonb'],
    ['varbyte(64000)', 'bytea'],
    ['interval year to month', 'interval'],
    ['interval day to second', 'interval'],
    ['geometry', 'text'],
    ['geography', 'text'],
    ['hllsketch', 'text'],
  ];
  for (const [redshift, postgres] of cases) assert.equal(redshiftTargetType(redshift), postgres, redshift);
  assert.equal(targetType('redshift', { name: 'x', type: 'SUPER' }), 'jsonb');
});

test('PostgreSQL types are kept; enums, composites and other types the application database may lack become text', () => {
  assert.equal(targetType('postgres', { name: 'x', type: 'numeric(20,2)[]', portable: true }), 'numeric(20,2)[]');
  assert.equal(targetType('postgres', { name: 'x', type: 'analytics.tier', portable: false }), 'text');
  assert.equal(targetType('postgres', { name: 'x', type: 'analytics.tier[]', portable: false }), 'text[]');
});

test('type names are read into base, modifier and array', () => {
  assert.deepEqual(parseType('timestamp(3) without time zone'), { base: 'timestamp without time zone', modifier: [3], array: false });
  assert.deepEqual(parseType('numeric(12,2)[]'), { base: 'numeric', modifier: [12, 2], array: true });
  assert.deepEqual(parseType('text'), { base: 'text', modifier: [], array: false });
});

test('an existing column is accepted when its type holds every value of the expected one, and only then', () => {
  const accepted: [string, string][] = [
    ['integer', 'integer'],
    ['bigint', 'integer'],
    ['numeric', 'smallint'],
    ['numeric', 'numeric(12,2)'],
    ['numeric(14,3)', 'numeric(12,2)'],
    ['text', 'character varying(40)'],
    ['character varying(80)', 'character varying(40)'],
    ['character varying', 'text'],
    ['timestamp without time zone', 'timestamp(3) without time zone'],
    ['timestamp(6) with time zone', 'timestamp with time zone'],
    ['json', 'jsonb'],
    ['bigint[]', 'integer[]'],
    ['character(4)', 'character(4)'],
  ];
  const refused: [string, string][] = [
    ['integer', 'bigint'],
    ['integer', 'numeric(12,2)'],
    ['numeric(12,2)', 'numeric'],
    ['numeric(12,3)', 'numeric(12,2)'],
    ['numeric(11,2)', 'numeric(12,2)'],
    ['character varying(10)', 'character varying(40)'],
    ['character varying(40)', 'text'],
    ['text', 'character(4)'],
    ['timestamp with time zone', 'timestamp without time zone'],
    ['timestamp(3) without time zone', 'timestamp without time zone'],
    ['jsonb', 'json'],
    ['double precision', 'real'],
    ['text', 'integer[]'],
    ['integer[]', 'integer'],
    ['text', 'uuid'],
  ];
  for (const [found, expected] of accepted) assert.equal(holdsEvery(found, expected), true, `${found} should hold ${expected}`);
  for (const [found, expected] of refused) assert.equal(holdsEvery(found, expected), false, `${found} should not hold ${expected}`);
});
