/**
 * npm run bench:collect [-- --rows N]
 *
 * Extracts an N-row table (8 mixed columns, ~100 bytes a row) from PostgreSQL
 * to Parquet in the S3 stand-in, and measures it against the ceiling on the
 * same machine in the same run: the raw `COPY ... TO STDOUT` of the same
 * SELECT, drained and discarded (before and after; the faster counts). The
 * last line printed is one JSON object.
 *
 * PostgreSQL: REEF_BENCH_DATABASE_URL, or an embedded server kept in
 * bench/.data/pg so the table is generated once. S3: s3rver in a child
 * process with its files in a temp dir, so its memory is not counted as ours
 * (on AWS, S3 is elsewhere too; its CPU still competes on this machine).
 * peak_rss_mb is this process's peak resident set (the kernel's ru_maxrss).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { localS3Client, startPostgres, startS3, type PostgresServer } from '../shared/local/standins.ts';
import { describeTable } from '../slices/collect/postgres/catalog.ts';
import { copySql } from '../slices/collect/postgres/copy-reader.ts';
import { extractTable } from '../slices/collect/postgres/extract-table.ts';
import { mapTable, pinTextForms } from '../slices/collect/postgres/types.ts';
import { CREATED_BY } from '../shared/lake/parquet.ts';

const here = dirname(fileURLToPath(import.meta.url));
const WARMUP_ROWS = 200_000;

// Child modes: serve s3rver until told to stop; or drain one raw COPY and report.
if (process.argv[2] === '--s3rver-child') {
  const s3 = await startS3(process.argv[3], ['lake']);
  process.send?.({ endpoint: s3.endpoint });
  process.on('message', async () => {
    await s3.stop();
    process.exit(0);
  });
} else if (process.argv[2] === '--raw-copy-child') {
  const client = new pg.Client(process.argv[3]);
  await client.connect();
  const result = await rawCopy(client, process.argv[4]);
  await client.end();
  process.send?.(result, () => process.disconnect());
} else {
  await main();
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' } } });
  const rows = Number(values.rows);
  if (!Number.isInteger(rows) || rows < 1) throw new Error(`--rows ${values.rows}: expected a positive integer`);

  let server: PostgresServer | undefined;
  let url = process.env.REEF_BENCH_DATABASE_URL;
  if (!url) {
    server = await startPostgres({ dir: join(here, '.data', 'pg') });
    url = server.url();
  }
  const s3dir = mkdtempSync(join(tmpdir(), 'reef-bench-s3-'));
  const child = fork(fileURLToPath(import.meta.url), ['--s3rver-child', s3dir], { stdio: 'inherit' });
  const endpoint = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { endpoint: string }).endpoint));
    child.once('error', reject);
  });
  const s3 = localS3Client(endpoint);
  const client = new pg.Client(url);
  await client.connect();
  try {
    const table = `bench_collect_${rows}`;
    await ensureTable(client, table, rows);
    await pinTextForms(client);
    const source = await describeTable(client, { schema: 'public', table });
    const sql = copySql(source, mapTable(source));

    // Once per process (per Lambda container), not per batch: JIT compilation, the compression
    // worker's start, the SDK's lazily loaded modules. A small extraction pays for them first.
    await extractTable({
      client, table: source, s3, bucket: 'lake', slice: 'bench', loadunit: `${table}_warmup`, dataset: `public.${table}`, timelabel: '20260101000000',
      cursor: { column: 'id', from: null, to: String(WARMUP_ROWS) },
    });
    console.log(`warm-up: extracted the first ${fmt(WARMUP_ROWS)} rows (not measured)`);

    const copy1 = await rawCopyElsewhere(url, sql);
    console.log(`raw COPY (binary) drained: ${fmt(rows / copy1.seconds)} rows/s, ${(copy1.bytes / 1e6 / copy1.seconds).toFixed(1)} MB/s`);

    const sampler = sampleRss();
    const t0 = performance.now();
    const manifest = await extractTable({
      client, table: source, s3, bucket: 'lake', slice: 'bench', loadunit: table, dataset: `public.${table}`, timelabel: '20260101000000',
    });
    const seconds = (performance.now() - t0) / 1000;
    const peak = sampler.stop();

    const copy2 = await rawCopyElsewhere(url, sql);
    console.log(`raw COPY again:            ${fmt(rows / copy2.seconds)} rows/s`);
    // The faster of the two ceilings, so load from elsewhere on the machine does not flatter the ratio.
    const copySeconds = Math.min(copy1.seconds, copy2.seconds);
    const result = {
      rows: manifest.rows,
      rows_per_s: Math.round(manifest.rows / seconds),
      mb_per_s: Number((copy1.bytes / 1e6 / seconds).toFixed(1)),
      peak_rss_mb: Math.round(peak / 1e6),
      copy_rows_per_s: Math.round(rows / copySeconds),
      ratio: Number((copySeconds / seconds).toFixed(3)),
      writer: CREATED_BY,
      parts: manifest.files.length,
    };
    console.log(`extract to Parquet in s3rver: ${fmt(result.rows_per_s)} rows/s, ${result.mb_per_s} MB/s of COPY stream, ${seconds.toFixed(2)} s`);
    console.log(`  ${manifest.files.length} parts, ${(manifest.bytes / 1e6).toFixed(1)} MB of Parquet; peak RSS ${result.peak_rss_mb} MB`);
    console.log(`  ratio to raw COPY: ${result.ratio}`);
    console.log(JSON.stringify(result));
  } finally {
    await client.end();
    s3.destroy();
    await stopChild(child);
    rmSync(s3dir, { recursive: true, force: true });
    await server?.stop();
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

/**
 * The ceiling, measured in its own process: draining with stock pg-copy-streams
 * allocates per row, and the heap that grows there would count as ours.
 */
async function rawCopyElsewhere(url: string, sql: string): Promise<{ seconds: number; bytes: number }> {
  const child = fork(fileURLToPath(import.meta.url), ['--raw-copy-child', url, sql], { stdio: 'inherit' });
  const result = await new Promise<{ seconds: number; bytes: number }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { seconds: number; bytes: number }));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the raw COPY child exited with ${code}`)));
  });
  await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(undefined)));
  return result;
}

async function rawCopy(client: pg.Client, sql: string): Promise<{ seconds: number; bytes: number }> {
  const t0 = performance.now();
  let bytes = 0;
  for await (const chunk of client.query(copyTo(sql)) as AsyncIterable<Buffer>) bytes += chunk.length;
  return { seconds: (performance.now() - t0) / 1000, bytes };
}

/** The kernel's peak RSS (ru_maxrss) over the extraction, and a sampled peak for comparison. */
function sampleRss(): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.resourceUsage().maxRSS * 1024);
    },
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.send('stop');
  });
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
