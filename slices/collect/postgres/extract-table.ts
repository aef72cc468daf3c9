/**
 * One batch of one table: COPY the rows (all of them, or a cursor window),
 * write them as Parquet parts under the batch's prefix as they fill, then the
 * manifest. A retry of the same batch writes the same keys: stale parts and
 * the old manifest are removed, so the prefix holds exactly what the manifest
 * lists.
 */
import type pg from 'pg';
import type { S3Client } from '@aws-sdk/client-s3';
import { TerminalError } from '../../../shared/errors.ts';
import { manifestKey } from '../../../shared/lake/layout.ts';
import { deleteManifest, writeManifest, type BatchManifest, type ManifestFile } from '../../../shared/lake/manifest.ts';
import { PartWriter, type FinishedPart } from '../../../shared/lake/parquet.ts';
import { removeOtherObjects, S3PartSink } from '../../../shared/lake/s3-sink.ts';
import type { SourceColumn, SourceTable } from './catalog.ts';
import { DEFAULT_ROW_GROUP_ROWS, DEFAULT_ROW_GROUPS_PER_PART } from './config.ts';
import { CopyReader, copySql, type CursorWindow } from './copy-reader.ts';
import { sourceError } from './source-errors.ts';
import { qualifiedName, quoteIdent } from './sql.ts';
import { datasetSchema, mapTable, pinTextForms } from './types.ts';

export interface ExtractTableInput {
  client: pg.ClientBase;
  table: SourceTable;
  s3: S3Client;
  bucket: string;
  slice: string;
  loadunit: string;
  dataset: string;
  timelabel: string;
  /** Incremental: rows with from < column <= to (from null: no lower bound; to null: up to the current maximum). */
  cursor?: { column: string; from: string | null; to: string | null };
  rowGroupRows?: number;
  rowGroupsPerPart?: number;
  /** Called after each part is uploaded, in part order; a throw fails the extraction. */
  onPart?: (n: number, part: ManifestFile) => void | Promise<void>;
}

/**
 * Extract one batch and return its manifest (also written to manifestKey).
 * Pins the session's text settings (types.TEXT_FORM_SETTINGS). If it fails
 * while the COPY is streaming, the connection is left mid-COPY: end it
 * rather than reuse it.
 */
export async function extractTable(input: ExtractTableInput): Promise<BatchManifest> {
  const { client, table, s3, bucket, slice, loadunit, timelabel } = input;
  const rowGroupRows = input.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS;
  const rowGroupsPerPart = input.rowGroupsPerPart ?? DEFAULT_ROW_GROUPS_PER_PART;
  const mappings = mapTable(table);
  const schema = datasetSchema(mappings);

  await pinText(client);
  let window: CursorWindow | undefined;
  if (input.cursor) {
    const column = cursorColumn(table, input.cursor.column);
    const to = input.cursor.to ?? (await upperBound(client, table, column));
    window = { column, from: input.cursor.from, to };
  }

  const mKey = manifestKey(slice, loadunit, timelabel);
  await deleteManifest(s3, bucket, mKey);

  const at = { s3, bucket, slice, table: loadunit, timelabel };
  const sink = new S3PartSink(at);
  const reported = new Map<number, ManifestFile>();
  let nextReport = 0;
  let reporting: Promise<void> = Promise.resolve();
  // Parts finish out of order (two uploads in flight); progress is reported in order.
  const put = async (part: FinishedPart): Promise<void> => {
    reported.set(part.n, await sink.upload(part));
    const report = async (): Promise<void> => {
      while (reported.has(nextReport)) {
        const n = nextReport++;
        await input.onPart?.(n, reported.get(n)!);
      }
    };
    reporting = reporting.then(report);
    await reporting;
  };
  const writer = new PartWriter({
    schema,
    rowGroupsPerPart,
    sink: put,
    metadata: { 'reef.schema': JSON.stringify(schema), 'reef.dataset': input.dataset },
  });
  const reader = new CopyReader({ mappings, rowGroupRows });

  // A window whose upper bound is null covers no row: the cursor column has no value yet.
  const empty = window !== undefined && window.to === null;
  try {
    if (!empty) {
      for await (const batch of reader.read(client, copySql(table, mappings, window))) await writer.writeRowGroup(batch);
    }
    await writer.close();
  } catch (e) {
    await writer.abort();
    throw e;
  }

  const files = sink.files();
  await removeOtherObjects(at, new Set(files.map((f) => f.key)));
  const manifest: BatchManifest = {
    slice,
    dataset: input.dataset,
    loadunit,
    timelabel,
    files,
    rows: files.reduce((n, f) => n + f.rows, 0),
    bytes: files.reduce((n, f) => n + f.bytes, 0),
    schema,
    cursor: { column: window ? window.column.name : null, from: window?.from ?? null, to: window?.to ?? null },
    checksum: { algorithm: 'sha256', value: empty ? EMPTY_SHA256 : reader.checksum() },
    createdAt: new Date().toISOString(),
  };
  if (manifest.rows !== reader.rows) {
    throw new TerminalError('internal', `the parts hold ${manifest.rows} rows but ${reader.rows} were read; expected every row read to be written`, { code: 'internal.row-count' });
  }
  await writeManifest(s3, bucket, mKey, manifest);
  return manifest;
}

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/**
 * The cursor column's current maximum as text (null when it holds no value),
 * to fix an incremental batch's upper bound on its first attempt so retries
 * read the same window.
 */
export async function cursorUpperBound(client: pg.ClientBase, table: SourceTable, column: string): Promise<string | null> {
  await pinText(client);
  return upperBound(client, table, cursorColumn(table, column));
}

async function upperBound(client: pg.ClientBase, table: SourceTable, column: SourceColumn): Promise<string | null> {
  try {
    const r = await client.query<{ v: string | null }>(`SELECT max(${quoteIdent(column.name)})::text AS v FROM ${qualifiedName(table.schema, table.table)}`);
    return r.rows[0]?.v ?? null;
  } catch (e) {
    throw sourceError(e, `reading the maximum of ${table.schema}.${table.table}.${column.name}`);
  }
}

async function pinText(client: pg.ClientBase): Promise<void> {
  try {
    await pinTextForms(client);
  } catch (e) {
    throw sourceError(e, 'setting the session text formats');
  }
}

/**
 * Types whose values can mark progress: they order totally, and a bound
 * written as text casts back to the same value. Floats are left out (NaN sorts
 * above everything and would stall the cursor).
 */
const CURSOR_TYPES = new Set(['int2', 'int4', 'int8', 'numeric', 'date', 'timestamp', 'timestamptz', 'text', 'varchar', 'bpchar', 'uuid', 'citext']);

function cursorColumn(table: SourceTable, name: string): SourceColumn {
  const column = table.columns.find((c) => c.name === name);
  if (!column) {
    throw new TerminalError('config', `the cursor ${JSON.stringify(name)} is not a column of ${table.schema}.${table.table}; expected one of ${table.columns.map((c) => c.name).join(', ')}`, {
      code: 'config.cursor',
    });
  }
  if (column.element || !CURSOR_TYPES.has(column.base.name) || (column.base.schema !== 'pg_catalog' && column.base.name !== 'citext')) {
    throw new TerminalError('config', `the cursor ${table.schema}.${table.table}.${name} is of type ${column.sourceType}; expected a column that grows: an integer, numeric, date, timestamp, text or uuid`, {
      code: 'config.cursor-type',
    });
  }
  return column;
}
