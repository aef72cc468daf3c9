/**
 * The Lambda bundle really runs the extraction's Parquet writer, including its
 * compression worker, which is started from function source text inside the
 * bundle: built here with the exact options the slice stack uses.
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
import { HANDLER_BUNDLE_OPTIONS } from './constructs/collect-slice.ts';

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
