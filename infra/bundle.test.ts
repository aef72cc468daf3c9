/**
 * The Lambda bundle really runs: the extraction's Parquet writer, including
 * its compression worker, which is started from function source text inside
 * the bundle; and every slice type's real handlers module, with the
 * WebAssembly SQL parser its view code loads from beside the bundle, and for
 * a harness type the publisher its definition imports lazily. Built here
 * exactly as the slice stacks build them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildSync } from 'esbuild';
import { queryParquet } from '../test/support/duckdb.ts';
import { REPO } from '../test/support/flow.ts';
import { COLLECT_TASKS } from '../shared/orchestration/contracts.ts';
import { HARNESS_TASKS } from '../shared/orchestration/harness-contracts.ts';
import { ORGANIZE_TASKS } from '../shared/orchestration/organize-contracts.ts';
import type { SliceDefinition, SliceKind } from '../shared/slice.ts';
import { sliceTypes } from '../slices/registry.ts';
import { bundleHandlersInto, handlersEntryOf, HANDLER_BUNDLE_OPTIONS } from './constructs/slice-functions.ts';

test('a bundled PartWriter compresses in its worker and writes Parquet that DuckDB reads', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'reef-bundle-run-'));
  const entry = join(dir, 'entry.ts');
  writeFileSync(
    entry,
    `import { PartWriter, columnFromValues } from ${JSON.stringify(join(REPO, 'shared/lake/parquet.ts'))};
export async function write(): Promise<Uint8Array[]> {
  const column = { name: 'note', sourceType: 'text', nullable: true, parquet: { physical: 'BYTE_ARRAY', logical: { type: 'STRING' } } } as const;
  const parts: Uint8Array[] = [];
  const writer = new PartWriter({
    schema: { columns: [column] }, rowGroupsPerPart: 2, compression: 'SNAPPY', offload: true,
    sink: async (p) => { parts.push(p.bytes.slice()); },
  });
  for (let g = 0; g < 3; g++) {
    const values = Array.from({ length: 5000 }, (_, i) => i % 7 === 0 ? null : 'row ' + (g * 5000 + i) + ' of a compressible text');
    await writer.writeRowGroup({ rows: values.length, columns: [columnFromValues(column, values)] });
  }
  await writer.close();
  return parts;
}
`,
  );
  const outfile = join(dir, 'bundle.mjs');
  buildSync({ ...HANDLER_BUNDLE_OPTIONS, entryPoints: [entry], outfile });
  const { write } = (await import(pathToFileURL(outfile).href)) as { write(): Promise<Uint8Array[]> };
  const parts = await write();
  assert.equal(parts.length, 2, 'three row groups of two per part make two parts');
  const [r] = await queryParquet(parts, `SELECT count(*)::INTEGER AS n, count(note)::INTEGER AS notes FROM batch`);
  assert.equal(r.n, 15000);
  assert.equal(r.notes, 15000 - 3 * Math.ceil(5000 / 7));
  const [c] = await queryParquet(parts, `SELECT DISTINCT compression FROM parquet_metadata(files)`);
  assert.equal(c.compression, 'SNAPPY', 'the worker compressed the pages');
});

/** The Lambda handler exports each slice kind's stack points its functions at. */
const TASKS_OF: Partial<Record<SliceKind, Record<string, string>>> = { collect: COLLECT_TASKS, organize: ORGANIZE_TASKS, harness: HARNESS_TASKS };

/** Exported from the same bundle besides the handlers: the parser entry point and the registry, to reach a type's lazily imported parts. */
const PROBES = ['singleStatement', 'findSliceType'];

test('every slice type\'s handlers bundle loads, exports one handler per Task, parses SQL with the WebAssembly parser shipped beside it, and holds a harness type\'s publisher', async () => {
  for (const d of sliceTypes) {
    const dir = mkdtempSync(join(tmpdir(), 'reef-bundle-slice-'));
    const entry = join(dir, 'entry.ts');
    // The slice's own module, plus the parser entry point its view code uses, from inside the same bundle.
    writeFileSync(
      entry,
      `export * from ${JSON.stringify(handlersEntryOf(d.type))};\nexport { singleStatement } from ${JSON.stringify(join(REPO, 'slices/organize/redshift/view-sql.ts'))};\n` +
        `export { findSliceType } from ${JSON.stringify(join(REPO, 'slices/registry.ts'))};\n`,
    );
    const out = join(dir, 'out');
    bundleHandlersInto(entry, out);
    const mod = (await import(pathToFileURL(join(out, 'index.mjs')).href)) as Record<string, unknown> & {
      singleStatement(sql: string): Promise<string>;
      findSliceType(type: string): SliceDefinition<unknown> | undefined;
    };
    const tasks = TASKS_OF[d.kind];
    assert.ok(tasks, `${d.type}: found no Task list for slice kind ${d.kind}; expected one in TASKS_OF, naming the handlers its stack points functions at`);
    assert.deepEqual(Object.keys(mod).filter((k) => !PROBES.includes(k)).sort(), Object.keys(tasks).sort(), d.type);
    for (const task of Object.keys(tasks)) assert.equal(typeof mod[task], 'function', `${d.type}: ${task}`);
    assert.equal(await mod.singleStatement('SELECT 1; -- the rest is cut'), 'SELECT 1', d.type);
    const bundled = mod.findSliceType(d.type);
    if (d.kind === 'harness') {
      // The publisher is imported lazily (the CDK app never loads drivers): it must be inside the bundle, not left as an import of a .ts file.
      const publisher = await bundled!.harness!.publisher();
      assert.equal(typeof publisher.publish, 'function', d.type);
      // Without the environment the harness stack sets, the handler fails in the one-line form the state machine reads, naming the variable.
      await assert.rejects((mod as unknown as Record<string, (i: unknown) => Promise<unknown>>)['publish']!({ runId: 'bundle-test' }), (e: Error) => {
        assert.equal(e.name, 'Reef.Terminal', d.type);
        assert.match(e.message, /^config error \(config\.env\): environment variable REEF_\w+ is not set/, d.type);
        return true;
      });
    }
  }
});
