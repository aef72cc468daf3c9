/**
 * Views for tests, compiled by the real view compiler from files in a
 * throwaway flow, so they carry the header, body and lines a flow would.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { compileViews } from '../../shared/views/compile.ts';
import type { ViewSpec } from '../../shared/views/types.ts';

/** `/**\n * @tag\n ...\n *\/\n`: a view header with one tag per line (line 1 is the opener, tags start on line 2). */
export function viewHeader(...tags: string[]): string {
  return `/**\n${tags.map((t) => ` * ${t}\n`).join('')} */\n`;
}

/**
 * Compiles `files` (path → text, e.g. `views/analytics/x.sql`) as a flow
 * whose sources collect `datasets`, and returns its views by name.
 */
export async function compileTestViews(files: Record<string, string>, datasets: string[]): Promise<Map<string, ViewSpec>> {
  const dir = mkdtempSync(join(tmpdir(), 'reef-test-views-'));
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const graph = await compileViews(dir, new Set(datasets), new Set());
    return new Map(graph.views.map((v) => [v.name, v]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One view, `views/<schema>/<name>.sql` holding `text`. */
export async function compileTestView(name: string, text: string, datasets: string[]): Promise<ViewSpec> {
  const [schema, base] = name.split('.');
  const views = await compileTestViews({ [`views/${schema}/${base}.sql`]: text }, datasets);
  return views.get(name)!;
}
