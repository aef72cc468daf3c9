import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cycles, topologicalOrder } from './graph.ts';

const edges = (o: Record<string, string[]>): Map<string, string[]> => new Map(Object.entries(o));

test('topological order: each node after what it reads; nodes ready together come by name, whatever the input order', () => {
  const graph = {
    'm.report': ['m.daily', 'm.ltv'],
    'm.daily': ['m.hourly'],
    'm.ltv': [],
    'm.hourly': [],
    'a.first': [],
  };
  const expected = ['a.first', 'm.hourly', 'm.daily', 'm.ltv', 'm.report'];
  assert.deepEqual(topologicalOrder(edges(graph)), expected);
  assert.deepEqual(topologicalOrder(edges(Object.fromEntries(Object.entries(graph).reverse()))), expected);
});

test('a node reading another twice waits for it once', () => {
  assert.deepEqual(topologicalOrder(edges({ 'a.y': ['a.x', 'a.x'], 'a.x': [] })), ['a.x', 'a.y']);
});

test('cycles: one per loop, starting at its smallest name, shortest way round; self-reads count; nodes on a loop are not ordered', () => {
  const graph = edges({
    'a.x': ['a.y'],
    'a.y': ['a.z', 'b.ok'],
    'a.z': ['a.x'],
    'b.ok': [],
    'c.self': ['c.self'],
    'd.after': ['a.x'],
  });
  assert.deepEqual(cycles(graph), [
    ['a.x', 'a.y', 'a.z', 'a.x'],
    ['c.self', 'c.self'],
  ]);
  assert.deepEqual(topologicalOrder(graph), ['b.ok']);
  assert.deepEqual(cycles(edges({ 'a.x': [], 'a.y': ['a.x'] })), []);
});

test('a chain far longer than the call stack allows recursion for is handled', () => {
  const n = 20_000;
  const chain = new Map<string, string[]>();
  for (let i = 0; i < n; i++) chain.set(`v.n${String(i).padStart(5, '0')}`, i === 0 ? [`v.n${String(n - 1).padStart(5, '0')}`] : [`v.n${String(i - 1).padStart(5, '0')}`]);
  const found = cycles(chain);
  assert.equal(found.length, 1);
  assert.equal(found[0].length, n + 1);
});
