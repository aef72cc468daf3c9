/**
 * The EventBridge pattern built from a filter selects exactly the events the
 * local matcher selects, for every filter of a vocabulary of kinds, globs and
 * schema patterns and every event of the catalog (property-based), and a
 * superset when include and exclude are both given (the exclude is then the
 * target's to apply, and says so).
 *
 * EventBridge cannot run here, so the patterns are judged by a small model
 * of its documented matching (fields AND-ed, array values OR-ed, `$or`,
 * `prefix`, `wildcard`, `anything-but` with wildcards, `exists`: a field
 * named by a pattern must be present unless it says `exists: false`),
 * written apart from filter.ts, glob matcher included, so the two cannot share a mistake.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { EventKind, ReefEvent } from '../metadata/types.ts';
import { EVENT_TYPES, matchesFilter, type NotificationFilter } from './filter.ts';
import { eventBridgePattern } from './event-pattern.ts';

/** EventBridge's wildcard: `*` any run of characters; by dynamic programming, not by regular expression. */
function wildcard(pattern: string, value: string): boolean {
  const can: boolean[][] = Array.from({ length: pattern.length + 1 }, () => new Array<boolean>(value.length + 1).fill(false));
  can[0]![0] = true;
  for (let i = 1; i <= pattern.length; i++) {
    for (let j = 0; j <= value.length; j++) {
      if (pattern[i - 1] === '*') can[i]![j] = can[i - 1]![j]! || (j > 0 && can[i]![j - 1]!);
      else can[i]![j] = j > 0 && can[i - 1]![j - 1]! && pattern[i - 1] === value[j - 1];
    }
  }
  return can[pattern.length]![value.length]!;
}

type Json = Record<string, unknown>;

function leafMatches(matchers: unknown[], present: boolean, value: unknown): boolean {
  return matchers.some((m) => {
    if (typeof m === 'string') return present && value === m;
    const o = m as Json;
    if ('exists' in o) return o.exists === present;
    if (!present || typeof value !== 'string') return false;
    if (typeof o.prefix === 'string') return value.startsWith(o.prefix);
    if (typeof o.wildcard === 'string') return wildcard(o.wildcard, value);
    const but = o['anything-but'] as Json | undefined;
    if (but !== undefined && Array.isArray(but.wildcard)) return !(but.wildcard as string[]).some((w) => wildcard(w, value));
    throw new Error(`the model does not know the matcher ${JSON.stringify(m)}`);
  });
}

function patternMatches(pattern: Json, event: Json): boolean {
  return Object.entries(pattern).every(([key, p]) => {
    if (key === '$or') return (p as Json[]).some((branch) => patternMatches(branch, event));
    if (Array.isArray(p)) return leafMatches(p, key in event && event[key] !== undefined, event[key]);
    return patternMatches(p as Json, (event[key] as Json | undefined) ?? {});
  });
}

/** The event as PutEvents puts it on the bus (shared/runtime/aws.ts): Detail is the event's JSON, so absent fields are absent. */
function onTheBus(installation: string, event: ReefEvent): Json {
  return { source: `reef.${installation}`, 'detail-type': `${event.kind}:${event.type}`, detail: JSON.parse(JSON.stringify(event)) as Json };
}

const TYPES = Object.keys(EVENT_TYPES);
const DATASETS = ['analytics.customer_ltv', 'analytics.tmp_x', 'analytics2.x', 'shop.orders', 'shop-eu.orders', 'shop.analytics', undefined] as const;
const ENTRIES = ['*', 'data', 'metadata', '*.failed', 'batch.*', 'check.failed', 'column.*', '*.*ed', 'view.refreshed'];
const SCHEMA_PATTERNS = ['analytics', 'shop*', 'analytics.tmp_*', 'shop.orders', '*.orders', '*', 'analytics2'];

function event(type: string, dataset: string | undefined, kind: EventKind = EVENT_TYPES[type]?.kind ?? 'data'): ReefEvent {
  return { id: 'e1', kind, type, slice: 'warehouse', ...(dataset !== undefined ? { dataset } : {}), detail: {}, time: '2026-03-12T10:00:00.000Z' };
}

const filters = fc.record({
  events: fc.uniqueArray(fc.constantFrom(...ENTRIES), { minLength: 1, maxLength: 3 }),
  include: fc.option(fc.uniqueArray(fc.constantFrom(...SCHEMA_PATTERNS), { minLength: 1, maxLength: 2 }), { nil: undefined }),
  exclude: fc.option(fc.uniqueArray(fc.constantFrom(...SCHEMA_PATTERNS), { minLength: 1, maxLength: 2 }), { nil: undefined }),
}).map(({ events, include, exclude }): NotificationFilter => ({ events, schemas: { ...(include ? { include } : {}), ...(exclude ? { exclude } : {}) } }));

test('the model of EventBridge matching agrees with the documented examples', () => {
  assert.ok(wildcard('*:*.failed', 'data:batch.failed'));
  assert.ok(!wildcard('*:*.failed', 'data:batch.failedx'));
  assert.ok(wildcard('analytics.*', 'analytics.x') && !wildcard('analytics.*', 'analytics2.x'));
  assert.ok(patternMatches({ detail: { dataset: [{ exists: false }] } }, { detail: {} }));
  assert.ok(!patternMatches({ detail: { dataset: [{ 'anything-but': { wildcard: ['a.*'] } }] } }, { detail: {} }), 'anything-but needs the field present');
  assert.ok(patternMatches({ detail: { dataset: [{ 'anything-but': { wildcard: ['a.*'] } }] } }, { detail: { dataset: 'b.x' } }));
  assert.ok(patternMatches({ detail: { $or: [{ a: ['1'] }, { b: ['2'] }] } }, { detail: { b: '2' } }));
  assert.ok(!patternMatches({ source: ['reef.acme'] }, { source: 'reef.other' }));
});

test('the default filter as a pattern: kinds and globs on detail-type, nothing on the dataset', () => {
  const { pattern, leftToTarget } = eventBridgePattern('acme', { events: ['*.failed', 'metadata'], schemas: {} });
  assert.deepEqual(pattern, { source: ['reef.acme'], 'detail-type': [{ wildcard: '*:*.failed' }, { prefix: 'metadata:' }] });
  assert.equal(leftToTarget, undefined);
});

test('include, exclude and both, as patterns', () => {
  const include = eventBridgePattern('acme', { events: ['*'], schemas: { include: ['analytics', 'shop.orders'] } });
  assert.deepEqual(include.pattern, {
    source: ['reef.acme'],
    detail: { $or: [{ dataset: [{ exists: false }] }, { dataset: [{ wildcard: 'analytics.*' }, { wildcard: 'shop.orders' }] }] },
  });
  const exclude = eventBridgePattern('acme', { events: ['data'], schemas: { exclude: ['analytics.tmp_*', 'scratch'] } });
  assert.deepEqual(exclude.pattern, {
    source: ['reef.acme'],
    'detail-type': [{ prefix: 'data:' }],
    detail: { $or: [{ dataset: [{ exists: false }] }, { dataset: [{ 'anything-but': { wildcard: ['analytics.tmp_*', 'scratch.*'] } }] }] },
  });
  const both = eventBridgePattern('acme', { events: ['data'], schemas: { include: ['analytics'], exclude: ['analytics.tmp_*'] } });
  assert.equal(both.leftToTarget, 'schemas.exclude');
  assert.deepEqual(both.pattern.detail, { $or: [{ dataset: [{ exists: false }] }, { dataset: [{ wildcard: 'analytics.*' }] }] });
});

test('property: the pattern selects exactly what the filter selects (a superset when the exclude is left to the target)', () => {
  fc.assert(
    fc.property(filters, fc.constantFrom(...TYPES, 'brand.new', 'other.failed'), fc.constantFrom(...DATASETS), fc.constantFrom<EventKind>('data', 'metadata'), (filter, type, dataset, kind) => {
      const e = event(type, dataset, EVENT_TYPES[type]?.kind ?? kind);
      const { pattern, leftToTarget } = eventBridgePattern('acme', filter);
      const onBus = patternMatches(pattern as unknown as Json, onTheBus('acme', e));
      const local = matchesFilter(filter, e);
      if (leftToTarget === undefined) assert.equal(onBus, local, JSON.stringify({ filter, e: { type, dataset }, pattern }));
      else {
        assert.ok(!local || onBus, 'the rule never holds back what the filter selects');
        // The part left to the target is exactly the exclude: the pattern equals the filter without it.
        assert.equal(onBus, matchesFilter({ ...filter, schemas: { include: filter.schemas.include } }, e));
      }
    }),
    { numRuns: 3000 },
  );
});

test('events from another installation never match', () => {
  const { pattern } = eventBridgePattern('acme', { events: ['*'], schemas: {} });
  assert.ok(!patternMatches(pattern as unknown as Json, onTheBus('acme-eu', event('check.failed', 'analytics.customer_ltv'))));
  assert.ok(patternMatches(pattern as unknown as Json, onTheBus('acme', event('check.failed', 'analytics.customer_ltv'))));
});
