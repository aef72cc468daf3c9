/**
 * The notification filter, exhaustively: the default (every failure and
 * every metadata event, nothing else), kinds and type globs, schema include
 * and exclude (schema names against the part before the dot, dataset
 * patterns against the whole name, exclude winning), and events without a
 * dataset, which no schema pattern holds back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventKind } from '../metadata/types.ts';
import {
  DEFAULT_EVENTS, EVENT_TYPES, datasetGlob, datasetSelected, eventSelected, globMatches, knownTypesSelected, matchesFilter, type NotificationFilter,
} from './filter.ts';

const ALL_TYPES = Object.keys(EVENT_TYPES).sort();
const kindOf = (type: string): EventKind => EVENT_TYPES[type]!.kind;
const selected = (events: readonly string[]) => ALL_TYPES.filter((type) => eventSelected(events, { kind: kindOf(type), type }));

test('globs: * matches any run of characters, none and dots included; everything else is literal and anchored', () => {
  assert.ok(globMatches('*', ''));
  assert.ok(globMatches('*', 'a.b.c'));
  assert.ok(globMatches('*.failed', 'batch.failed'));
  assert.ok(globMatches('*.failed', '.failed'), 'the star may match nothing');
  assert.ok(!globMatches('*.failed', 'batch.failed.later'), 'anchored at the end');
  assert.ok(!globMatches('batch.*', 'xbatch.committed'), 'anchored at the start');
  assert.ok(!globMatches('a.b', 'aXb'), 'the dot is a dot, not a regular-expression wildcard');
  assert.ok(!globMatches('a+', 'aa'), '+ is literal');
  assert.ok(globMatches('a+', 'a+'));
  assert.ok(globMatches('an*ly*s', 'analytics'));
  assert.ok(globMatches('shop$x', 'shop$x'), '$ is literal');
});

test('default filter: every failure type and every metadata event, and no other', () => {
  const expected = ALL_TYPES.filter((t) => t.endsWith('.failed') || kindOf(t) === 'metadata');
  assert.deepEqual(selected(DEFAULT_EVENTS), expected);
  // The ones that matter most, by name: a check failing is both.
  for (const t of ['batch.failed', 'load.failed', 'refresh.failed', 'publish.failed', 'organize.failed', 'check.failed', 'column.added', 'dataset.created']) assert.ok(expected.includes(t), t);
  for (const t of ['batch.committed', 'batch.loaded', 'view.refreshed', 'batch.published']) assert.ok(!expected.includes(t), t);
});

test('kinds select every type of their kind; type globs select by type whatever the kind', () => {
  assert.deepEqual(selected(['data']), ALL_TYPES.filter((t) => kindOf(t) === 'data'));
  assert.deepEqual(selected(['metadata']), ALL_TYPES.filter((t) => kindOf(t) === 'metadata'));
  assert.deepEqual(selected(['*']), ALL_TYPES);
  assert.deepEqual(selected(['batch.*']), ['batch.committed', 'batch.failed', 'batch.loaded', 'batch.published']);
  assert.deepEqual(selected(['column.*', 'view.refreshed']), ['column.added', 'column.dropped', 'column.nullability', 'column.retyped', 'view.refreshed']);
  assert.deepEqual(selected(['check.failed']), ['check.failed']);
  assert.deepEqual(selected([]), []);
  // A kind is only a kind by its exact name: `dat*` is a type glob, and no type starts with `dat` but dataset.created.
  assert.deepEqual(selected(['dat*']), ['dataset.created']);
  // An event of an unknown type is still matched by globs and kinds.
  assert.ok(eventSelected(['*.failed'], { kind: 'data', type: 'harness.failed' }));
  assert.ok(eventSelected(['data'], { kind: 'data', type: 'something.new' }));
  assert.ok(!eventSelected(['metadata'], { kind: 'data', type: 'something.new' }));
});

test('knownTypesSelected: what validation calls a typo', () => {
  assert.deepEqual(knownTypesSelected('check.fialed'), []);
  assert.deepEqual(knownTypesSelected('refresh.*'), ['refresh.failed']);
  assert.deepEqual(knownTypesSelected('metadata'), ALL_TYPES.filter((t) => kindOf(t) === 'metadata'));
});

test('schema patterns: without a dot a pattern names schemas, with a dot whole datasets', () => {
  assert.equal(datasetGlob('analytics'), 'analytics.*');
  assert.equal(datasetGlob('analytics.tmp_*'), 'analytics.tmp_*');
  const include = (patterns: string[], dataset: string) => datasetSelected({ include: patterns }, dataset);
  assert.ok(include(['analytics'], 'analytics.customer_ltv'));
  assert.ok(!include(['analytics'], 'analytics2.customer_ltv'), 'a schema name is not a prefix of another schema');
  assert.ok(!include(['analytics'], 'shop.analytics'), 'the schema is the part before the dot');
  assert.ok(include(['shop*'], 'shop.orders'));
  assert.ok(include(['shop*'], 'shop-eu.orders'));
  assert.ok(!include(['shop*'], 'analytics.shop_sales'));
  assert.ok(include(['analytics.customer_*'], 'analytics.customer_ltv'));
  assert.ok(!include(['analytics.customer_*'], 'analytics.top_customers'));
  assert.ok(include(['*.orders'], 'shop-eu.orders'));
  assert.ok(include(['analytics', 'shop.orders'], 'shop.orders'), 'any include pattern is enough');
  assert.ok(!include(['analytics', 'shop.orders'], 'shop.customers'));
});

test('include and exclude: exclude wins, even over an include naming the very dataset; either alone does what it says', () => {
  const both = { include: ['analytics', 'shop.orders'], exclude: ['analytics.tmp_*', 'shop.orders'] };
  assert.ok(datasetSelected(both, 'analytics.customer_ltv'));
  assert.ok(!datasetSelected(both, 'analytics.tmp_scratch'), 'excluded inside an included schema');
  assert.ok(!datasetSelected(both, 'shop.orders'), 'excluded although included by name');
  assert.ok(!datasetSelected(both, 'shop.customers'), 'never included');
  assert.ok(datasetSelected({ exclude: ['analytics'] }, 'shop.orders'), 'exclude alone lets the rest through');
  assert.ok(!datasetSelected({ exclude: ['analytics'] }, 'analytics.customer_ltv'));
  assert.ok(datasetSelected({}, 'anything.at_all'), 'no patterns: every dataset');
  assert.ok(datasetSelected({ include: [] }, 'anything.at_all'), 'an empty include is no include');
  assert.ok(!datasetSelected({ exclude: ['*'] }, 'anything.at_all'));
});

test('events without a dataset pass every schema pattern: they concern every dataset', () => {
  for (const schemas of [{}, { include: ['analytics'] }, { exclude: ['*'] }, { include: ['shop'], exclude: ['shop.orders'] }]) {
    assert.ok(datasetSelected(schemas, undefined), JSON.stringify(schemas));
  }
  const filter: NotificationFilter = { events: [...DEFAULT_EVENTS], schemas: { include: ['analytics'] } };
  assert.ok(matchesFilter(filter, { kind: 'data', type: 'organize.failed' }), 'a pass that could not run reaches a target that includes only analytics');
  assert.ok(!matchesFilter(filter, { kind: 'data', type: 'organize.failed', dataset: 'shop.orders' }));
});

test('matchesFilter needs both parts: the event selected and its dataset let through', () => {
  const filter: NotificationFilter = { events: [...DEFAULT_EVENTS], schemas: { exclude: ['analytics.customer_ltv'] } };
  const event = (kind: EventKind, type: string, dataset?: string) => ({ kind, type, ...(dataset ? { dataset } : {}) });
  assert.ok(matchesFilter(filter, event('data', 'refresh.failed', 'analytics.top_customers')));
  assert.ok(!matchesFilter(filter, event('data', 'refresh.failed', 'analytics.customer_ltv')), 'excluded dataset');
  assert.ok(!matchesFilter(filter, event('metadata', 'check.failed', 'analytics.customer_ltv')), 'excluded dataset, metadata too');
  assert.ok(!matchesFilter(filter, event('data', 'view.refreshed', 'analytics.top_customers')), 'not a selected event');
  assert.ok(matchesFilter(filter, event('metadata', 'column.added', 'shop.customers')));
});
