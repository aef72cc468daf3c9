/**
 * Order and cycles of the view DAG. Deterministic by construction: the same
 * views always give the same order and the same cycle text, so plans built on
 * them diff cleanly.
 */

/** `upstream`: node → the nodes it reads. Every node must be a key. */
export type Edges = ReadonlyMap<string, readonly string[]>;

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Every node after all it reads; among nodes ready at once, the smallest name
 * first. Nodes on a cycle (and what depends on them) are left out: `cycles`
 * reports those.
 */
export function topologicalOrder(upstream: Edges): string[] {
  const waiting = new Map<string, number>();
  const readers = new Map<string, string[]>();
  for (const [node, inputs] of upstream) {
    const distinct = [...new Set(inputs)];
    waiting.set(node, distinct.length);
    for (const input of distinct) readers.set(input, [...(readers.get(input) ?? []), node]);
  }
  const ready = [...waiting].filter(([, n]) => n === 0).map(([node]) => node);
  const order: string[] = [];
  while (ready.length > 0) {
    ready.sort(byName);
    const node = ready.shift()!;
    order.push(node);
    for (const reader of readers.get(node) ?? []) {
      const left = waiting.get(reader)! - 1;
      waiting.set(reader, left);
      if (left === 0) ready.push(reader);
    }
  }
  return order;
}

/**
 * One cycle per strongly connected component that has one, as the path of
 * nodes from its smallest name back to it: `[a.x, a.y, a.x]`. Sorted by
 * first node.
 */
export function cycles(upstream: Edges): string[][] {
  const out: string[][] = [];
  for (const component of stronglyConnected(upstream)) {
    const start = [...component].sort(byName)[0];
    const selfLoop = (upstream.get(start) ?? []).includes(start);
    if (component.size === 1 && !selfLoop) continue;
    out.push(shortestCycle(upstream, start, component));
  }
  return out.sort((a, b) => byName(a[0], b[0]));
}

/** Breadth-first from `start` along edges inside the component, back to `start`; ties by name. */
function shortestCycle(upstream: Edges, start: string, component: ReadonlySet<string>): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const next of [...new Set(upstream.get(node) ?? [])].sort(byName)) {
      if (!component.has(next)) continue;
      if (next === start) {
        const back: string[] = [];
        for (let n: string | undefined = node; n !== undefined && n !== start; n = previous.get(n)) back.push(n);
        return [start, ...back.reverse(), start];
      }
      if (!previous.has(next)) {
        previous.set(next, node);
        queue.push(next);
      }
    }
  }
  return [start, start];
}

/** Tarjan's algorithm, iterative so a long chain of views cannot overflow the stack. */
function stronglyConnected(upstream: Edges): Set<string>[] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: Set<string>[] = [];
  let counter = 0;
  for (const root of [...upstream.keys()].sort(byName)) {
    if (index.has(root)) continue;
    const work: { node: string; next: number }[] = [{ node: root, next: 0 }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const edges = (upstream.get(frame.node) ?? []).filter((e) => upstream.has(e));
      if (frame.next < edges.length) {
        const to = edges[frame.next++];
        if (!index.has(to)) {
          index.set(to, counter);
          low.set(to, counter++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, next: 0 });
        } else if (onStack.has(to)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(to)!));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].node;
        low.set(parent, Math.min(low.get(parent)!, low.get(frame.node)!));
      }
      if (low.get(frame.node) === index.get(frame.node)) {
        const component = new Set<string>();
        let n: string;
        do {
          n = stack.pop()!;
          onStack.delete(n);
          component.add(n);
        } while (n !== frame.node);
        components.push(component);
      }
    }
  }
  return components;
}
