/**
 * npm run bench:collect [-- --rows N]
 *
 * Extracts an N-row table (8 mixed columns, ~100 bytes a row) from PostgreSQL
 * to Parquet in the S3 stand-in, and measures it against the ceiling on the
 * same machine in the same run: the raw `COPY ... TO STDOUT` of the same
 * SELECT, drained and discarded (before and after the extraction; the faster
 * counts). The last line printed is one JSON object.
 *
 * Processes, so each figure is what it says:
 * - this one: starts the stand-ins and generates the table (once; it is kept);
 * - s3rver in a child, with its files in a temp dir (on AWS, S3 is elsewhere
 *   too; its CPU still competes on this machine);
 * - the raw COPY in a child, drained with stock pg-copy-streams;
 * - the extraction in a child that loads only what a Lambda handler would
 *   (extractTable, pg, the S3 SDK). It first extracts the table's first
 *   200,000 rows, not measured: JIT compilation, the compression worker's
 *   start and the SDK's lazily loaded modules happen once per container, not
 *   per batch. peak_rss_mb is this child's peak resident set (ru_maxrss).
 *
 * PostgreSQL: REEF_BENCH_DATABASE_URL, or an embedded server kept in
 * bench/.data/pg so the table is generated once.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';

const here = dirname(fileURLToPath(import.meta.url));
const self = fileURLToPath(import.meta.url);
const WARMUP_ROWS = 200_000;
const TIMELABEL = '20260101000000';

interface Extracted {
  seconds: number;
  rows: number;
  parts: number;
  bytes: number;
  peakRss: number;
  writer: string;
}

switch (process.argv[2]) {
  case '--s3rver-child': {
    const { startS3 } = await import('../shared/local/standins.ts');
    const s3 = await startS3(process.argv[3], ['lake']);
    process.send?.({ endpoint: s3.endpoint });
    process.on('message', async () => {
      await s3.stop();
      process.exit(0);
    });
    break;
  }
  case '--raw-copy-child': {
    const client = new pg.Client(process.argv[3]);
    await client.connect();
    const result = await rawCopy(client, process.argv[4]);
    await client.end();
    process.send?.(result, () => process.disconnect());
    break;
  }
  case '--extract-child': {
    const result = await extractChild(process.argv[3], process.argv[4], process.argv[5]);
    process.send?.(result, () => process.disconnect());
    break;
  }
  default:
    await main();
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' } } });
  const rows = Number(values.rows);
  if (!Number.isInteger(rows) || rows < 1) throw new Error(`--rows ${values.rows}: expected a positive integer`);
  const { startPostgres } = await import('../shared/local/standins.ts');
  const { describeTable } = await import('../slices/collect/postgres/catalog.ts');
  const { copySql } = await import('../slices/collect/postgres/copy-reader.ts');
  const { mapTable, pinTextForms } = await import('../slices/collect/postgres/types.ts');

  let server: Awaited<ReturnType<typeof startPostgres>> | undefined;
  let url = process.env.REEF_BENCH_DATABASE_URL;
  if (!url) {
    server = await startPostgres({ dir: join(here, '.data', 'pg') });
    url = server.url();
  }
  const s3dir = mkdtempSync(join(tmpdir(), 'reef-bench-s3-'));
  const s3rver = fork(self, ['--s3rver-child', s3dir], { stdio: 'inherit' });
  try {
    const endpoint = await new Promise<string>((resolve, reject) => {
      s3rver.once('message', (m) => resolve((m as { endpoint: string }).endpoint));
      s3rver.once('error', reject);
    });
    const table = `bench_collect_${rows}`;
    const client = new pg.Client(url);
    await client.connect();
    let sql: string;
    try {
      await ensureTable(client, table, rows);
      await pinTextForms(client);
      const source = await describeTable(client, { schema: 'public', table });
      sql = copySql(source, mapTable(source));
    } finally {
      await client.end();
    }

    const copy1 = await child<{ seconds: number; bytes: number }>(['--raw-copy-child', url, sql]);
    console.log(`raw COPY (binary) drained: ${fmt(rows / copy1.seconds)} rows/s, ${(copy1.bytes / 1e6 / copy1.seconds).toFixed(1)} MB/s`);
    const x = await child<Extracted>(['--extract-child', url, endpoint, table]);
    console.log(`warm-up: extracted the first ${fmt(WARMUP_ROWS)} rows (not measured)`);
    const copy2 = await child<{ seconds: number; bytes: number }>(['--raw-copy-child', url, sql]);
    console.log(`raw COPY again:            ${fmt(rows / copy2.seconds)} rows/s`);

    const copySeconds = Math.min(copy1.seconds, copy2.seconds);
    const result = {
      rows: x.rows,
      rows_per_s: Math.round(x.rows / x.seconds),
      // MB of the table's binary COPY stream (what the extraction reads) per second.
      mb_per_s: Number((copy1.bytes / 1e6 / x.seconds).toFixed(1)),
      peak_rss_mb: Math.round(x.peakRss / 1e6),
      copy_rows_per_s: Math.round(rows / copySeconds),
      ratio: Number((copySeconds / x.seconds).toFixed(3)),
      writer: x.writer,
      parts: x.parts,
    };
    console.log(`extract to Parquet in s3rver: ${fmt(result.rows_per_s)} rows/s, ${result.mb_per_s} MB/s of COPY stream, ${x.seconds.toFixed(2)} s`);
    console.log(`  ${x.parts} parts, ${(x.bytes / 1e6).toFixed(1)} MB of Parquet; peak RSS of the extracting process ${result.peak_rss_mb} MB`);
    console.log(`  ratio to raw COPY: ${result.ratio}`);
    console.log(JSON.stringify(result));
  } finally {
    await stop(s3rver);
    rmSync(s3dir, { recursive: true, force: true });
    await server?.stop();
  }
}

/** The measured extraction, in a process holding only what a collect Lambda would. */
async function extractChild(url: string, endpoint: string, table: string): Promise<Extracted> {
  const { S3Client } = await import('@aws-sdk/client-s3');
  const { describeTable } = await import('../slices/collect/postgres/catalog.ts');
  const { extractTable } = await import('../slices/collect/postgres/extract-table.ts');
  const { CREATED_BY } = await import('../shared/lake/parquet.ts');
  const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  const client = new pg.Client(url);
  await client.connect();
  try {
    const source = await describeTable(client, { schema: 'public', table });
    const common = { client, table: source, s3, bucket: 'lake', slice: 'bench', dataset: `public.${table}`, timelabel: TIMELABEL };
    await extractTable({ ...common, loadunit: `${table}_warmup`, cursor: { column: 'id', from: null, to: String(WARMUP_ROWS) } });
    const t0 = performance.now();
    const manifest = await extractTable({ ...common, loadunit: table });
    const seconds = (performance.now() - t0) / 1000;
    return {
      seconds,
      rows: manifest.rows,
      parts: manifest.files.length,
      bytes: manifest.bytes,
      peakRss: process.resourceUsage().maxRSS * 1024,
      writer: CREATED_BY,
    };
  } finally {
    await client.end();
    s3.destroy();
  }
}

async function ensureTable(client: pg.Client, table: string, rows: number): Promise<void> {
  const exists = await client.query(`SELECT 1 FROM pg_class WHERE relname = $1 AND relkind = 'r'`, [table]);
  if (exists.rows.length > 0) return;
  const t0 = performance.now();
  console.log(`generating ${table} (${fmt(rows)} rows)...`);
  await client.query(`CREATE TABLE ${table} (
    id bigint PRIMARY KEY, qty integer NOT NULL, amount numeric(12,2), note text,
    created_at timestamptz NOT NULL, active boolean, ref uuid, score double precision)`);
  // ~100 bytes a row in binary COPY: 8+4+12+~30+8+1+16+8 of values and 4 bytes of length per field.
  await client.query(`INSERT INTO ${table}
    SELECT i, ((i * 7919) % 100000)::int, ((i * 104729) % 10000000) / 100.0,
           CASE WHEN i % 50 = 0 THEN NULL ELSE substr(md5(i::text) || md5((i + 1)::text), 1, (20 + i % 21)::int) END,
           timestamptz '2024-01-01' + i * interval '1 second', CASE WHEN i % 97 = 0 THEN NULL ELSE i % 3 = 0 END,
           md5(i::text)::uuid, (i % 100000) * 1.5 / 7
      FROM generate_series(1::bigint, ${rows}::bigint) AS i`);
  await client.query(`VACUUM ANALYZE ${table}`);
  console.log(`  generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

async function rawCopy(client: pg.Client, sql: string): Promise<{ seconds: number; bytes: number }> {
  const { to: copyTo } = await import('pg-copy-streams');
  const t0 = performance.now();
  let bytes = 0;
  for await (const chunk of client.query(copyTo(sql)) as AsyncIterable<Buffer>) bytes += chunk.length;
  return { seconds: (performance.now() - t0) / 1000, bytes };
}

/** Run this file in a child mode and return the one message it sends. */
async function child<T>(args: string[]): Promise<T> {
  const c = fork(self, args, { stdio: 'inherit' });
  const result = await new Promise<T>((resolve, reject) => {
    c.once('message', (m) => resolve(m as T));
    c.once('error', reject);
    c.once('exit', (code) => reject(new Error(`bench child ${args[0]} exited with ${code} before reporting`)));
  });
  if (c.exitCode === null) await new Promise((resolve) => c.once('exit', resolve));
  return result;
}

async function stop(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || !c.connected) return;
  await new Promise<void>((resolve) => {
    c.once('exit', () => resolve());
    c.send('stop');
  });
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
