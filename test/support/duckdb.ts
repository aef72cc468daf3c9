/**
 * Parquet read back by DuckDB, a reader independent of the one Reef writes
 * with. The parts are written to a temporary directory and exposed as the view
 * `batch` (all parts) and `parts` (the first part's Parquet schema); `(files)`
 * in a query stands for the list of part paths, for DuckDB's parquet_metadata()
 * and parquet_schema().
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Rows = Record<string, unknown>[];

export interface ParquetSession {
  /** `js`: DuckDB's JS values (bigint, Date...); `json`: JSON-safe values (decimals as text). */
  query(sql: string, as?: 'js' | 'json'): Promise<Rows>;
  close(): void;
}

export async function openParquet(parts: Uint8Array[]): Promise<ParquetSession> {
  if (parts.length === 0) throw new Error('openParquet: no parts to open');
  const dir = mkdtempSync(join(tmpdir(), 'reef-duckdb-'));
  const paths = parts.map((bytes, i) => {
    const path = join(dir, `part-${i}.parquet`);
    writeFileSync(path, bytes);
    return path;
  });
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const files = `[${paths.map((p) => `'${p}'`).join(', ')}]`;
  await c.run(`CREATE VIEW batch AS SELECT * FROM read_parquet(${files})`);
  await c.run(`CREATE VIEW parts AS SELECT * FROM parquet_schema('${paths[0]}')`);
  return {
    async query(sql, as = 'js') {
      const reader = await c.runAndReadAll(sql.replaceAll('(files)', `(${files})`));
      return (as === 'js' ? reader.getRowObjectsJS() : reader.getRowObjectsJson()) as Rows;
    },
    close() {
      c.closeSync();
      db.closeSync();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One query over the parts; no parts read as no rows. */
export async function queryParquet(parts: Uint8Array[], sql: string, as: 'js' | 'json' = 'js'): Promise<Rows> {
  if (parts.length === 0) return [];
  const session = await openParquet(parts);
  try {
    return await session.query(sql, as);
  } finally {
    session.close();
  }
}

export async function downloadParts(s3: S3Client, bucket: string, keys: string[]): Promise<Uint8Array[]> {
  const parts: Uint8Array[] = [];
  for (const key of keys) parts.push(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());
  return parts;
}
