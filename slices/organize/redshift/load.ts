/**
 * Load one committed collect batch into a warehouse table, all or nothing:
 * the data and its load marker commit together, and a batch whose marker
 * exists is not loaded again. Locally (PostgreSQL) the client streams the
 * batch's Parquet parts into the staging table with COPY FROM STDIN; on
 * Redshift the cluster fills it itself, with COPY from the batch's Redshift
 * manifest (written first), so no row passes through the function. Both run
 * the same plan (load-plan.ts); on Redshift it is `redshiftLoadStatements`
 * with the table's columns read inside the transaction.
 */
import type pg from 'pg';
import type { S3Client } from '@aws-sdk/client-s3';
import { from as copyFrom } from 'pg-copy-streams';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TerminalError } from '../../../shared/errors.ts';
import { readManifest, type BatchManifest } from '../../../shared/lake/manifest.ts';
import { existingColumnsSql, redshiftCopySql, type ApplyMode, type DialectName, type MergeStrategy, type TableOptions, type TableRef } from './dialect.ts';
import { columnText, copyRows } from './copy-text.ts';
import { loadBody, loadPrelude, markerDataset, postgresFill, type LoadPlanInput, type LoadStep } from './load-plan.ts';
import { readBatchRows } from './parquet-parts.ts';
import { writeRedshiftManifest } from './redshift-manifest.ts';
import { warehouseError } from './warehouse-errors.ts';
import { rollbackQuietly } from '../../../shared/postgres-connection.ts';
import type { Faults } from '../../../shared/runtime/services.ts';

export { redshiftLoadStatements, type LoadStep, type RedshiftLoadInput } from './load-plan.ts';

export interface LoadBatchInput {
  client: pg.ClientBase;
  dialect: DialectName;
  /** Redshift: the role the cluster assumes to read the lake (and the bucket's region when it is not the cluster's). */
  copy?: { iamRole: string; region?: string };
  s3: S3Client;
  bucket: string;
  /** Key of the batch's `_manifest.json`. */
  manifestKey: string;
  target: TableRef;
  mode: ApplyMode;
  /** Incremental: merge by these columns (without keys the batch is appended). Snapshot: only Redshift's DISTKEY/SORTKEY use them. */
  keys?: string[];
  strategy?: MergeStrategy;
  table?: TableOptions;
  /** Where the source's schema changes put the batch's columns (LoadPlanInput). */
  landing?: ReadonlyMap<string, string>;
  widened?: ReadonlySet<string>;
  /** Local fault tests: `load.step` is hit before each statement, numbered from 1 in the order they run. */
  faults?: Faults;
}

export interface LoadResult {
  status: 'loaded' | 'already-loaded';
  /** The batch's rows (for already-loaded: as the marker recorded them). */
  rows: number;
  dataset: string;
  timelabel: string;
}

/**
 * Session settings under which the staged text is read: ISO dates whatever
 * the server's DateStyle. SET LOCAL, so they end with the transaction.
 */
const INPUT_SETTINGS = ["SET LOCAL DateStyle = 'ISO, YMD'", "SET LOCAL IntervalStyle = 'iso_8601'", "SET LOCAL TimeZone = 'UTC'"];

export async function loadBatch(input: LoadBatchInput): Promise<LoadResult> {
  const { client, s3, bucket, target, faults } = input;
  const manifest = await readManifest(s3, bucket, input.manifestKey);
  const plan: LoadPlanInput = {
    manifest,
    manifestUrl: `s3://${bucket}/${input.manifestKey}`,
    target,
    mode: input.mode,
    keys: input.keys,
    strategy: input.strategy,
    table: input.table,
    landing: input.landing,
    widened: input.widened,
  };
  const result = { dataset: markerDataset(target), timelabel: manifest.timelabel };
  const dialect = input.dialect;
  const fill = await fillStep(input, plan);
  let open = false;
  let doing = `loading ${result.dataset} for timelabel ${manifest.timelabel}`;
  let n = 0;
  try {
    for (const step of loadPrelude(dialect, plan)) {
      doing = describe(step, result.dataset);
      faults?.hit('load.step', ++n);
      const r = await client.query<{ row_count: string }>(step.sql);
      if (step.sql === 'BEGIN') {
        open = true;
        // Redshift reads Parquet, not text: the settings only shape how the stand-in parses COPY text.
        if (dialect === 'redshift') continue;
        faults?.hit('load.step', ++n);
        await client.query(INPUT_SETTINGS.join('; '));
      }
      if (step.kind === 'marker-check' && r.rows.length > 0) {
        faults?.hit('load.step', ++n);
        await client.query('ROLLBACK');
        open = false;
        return { status: 'already-loaded', rows: Number(r.rows[0].row_count), ...result };
      }
    }
    doing = `reading the columns of ${result.dataset}`;
    faults?.hit('load.step', ++n);
    const existing = await client.query<{ column_name: string; column_type?: string }>(existingColumnsSql(dialect), [target.schema, target.table]);
    const types = new Map(existing.rows.filter((r) => r.column_type !== undefined).map((r) => [r.column_name, r.column_type!]));
    for (const step of loadBody(dialect, plan, existing.rows.map((r) => r.column_name), fill, types)) {
      doing = describe(step, result.dataset);
      faults?.hit('load.step', ++n);
      if (step.kind === 'stream-staging') {
        await streamStaging(client, step.sql, s3, bucket, manifest);
        continue;
      }
      const r = await client.query(step.sql);
      if (step.kind === 'check' && r.rows.length > 0) throw keyProblem(step.problem, result.dataset, input.keys ?? [], r.rows[0]);
      if (step.sql === 'COMMIT') open = false;
    }
    return { status: 'loaded', rows: manifest.rows, ...result };
  } catch (e) {
    if (open) await rollbackQuietly(client);
    throw warehouseError(e, doing);
  }
}

/**
 * How the staging table is filled: streamed by the client locally; on
 * Redshift by the cluster's COPY from the Redshift manifest, written here
 * (again, on a retry: its content depends only on the batch) before the
 * transaction starts. An empty batch has nothing to fill.
 */
async function fillStep(input: LoadBatchInput, plan: LoadPlanInput): Promise<LoadStep | undefined> {
  const { manifest } = plan;
  if (input.dialect === 'postgres') return postgresFill(plan);
  if (input.copy === undefined) {
    throw new TerminalError('config', `loading ${manifest.dataset} into Redshift: found no IAM role for COPY; expected the role the cluster assumes to read the lake`, {
      code: 'config.copy-role',
    });
  }
  if (manifest.files.length === 0) return undefined;
  const manifestUrl = await writeRedshiftManifest(input.s3, input.bucket, manifest);
  return { kind: 'exec', sql: redshiftCopySql({ manifestUrl, iamRole: input.copy.iamRole, region: input.copy.region }) };
}

/** The batch's rows into the staging table, one row group of COPY text at a time; the socket's backpressure paces the reads. */
async function streamStaging(client: pg.ClientBase, sql: string, s3: S3Client, bucket: string, manifest: BatchManifest): Promise<void> {
  const encoders = manifest.schema.columns.map(columnText);
  async function* text(): AsyncGenerator<Buffer> {
    for await (const group of readBatchRows(s3, bucket, manifest)) yield Buffer.from(copyRows(group.rows, encoders), 'utf8');
  }
  await pipeline(Readable.from(text()), client.query(copyFrom(sql)));
}

function describe(step: LoadStep, dataset: string): string {
  const head = step.sql.split('\n')[0].slice(0, 120);
  return `loading ${dataset}, at ${JSON.stringify(head)}`;
}

function keyProblem(problem: 'null-keys' | 'duplicate-keys', dataset: string, keys: string[], row: Record<string, unknown>): TerminalError {
  const k = keys.join(', ');
  if (problem === 'null-keys') {
    return new TerminalError('target', `the batch for ${dataset} has a row whose key (${k}) holds NULL; expected every key column to have a value, so the row can be merged`, {
      code: 'target.null-key',
    });
  }
  return new TerminalError('target', `the batch for ${dataset} holds the key (${k}) = (${String(row.key)}) on ${String(row.n)} rows; expected each key once, so a merge has one row to keep`, {
    code: 'target.duplicate-key',
  });
}
