/**
 * Reading batches back from the lake the way an outsider would: the manifest
 * through the real S3 client, the parts downloaded and opened with DuckDB, a
 * Parquet reader independent of the one Reef writes with.
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Manifest {
  files: { key: string; rows: number; bytes: number }[];
  rows: number;
  bytes: number;
  schema: { columns: { name: string; sourceType: string }[] };
  cursor: { column: string | null; from: string | null; to: string | null };
  checksum: { algorithm: string; value: string };
}

async function getBytes(s3: S3Client, bucket: string, key: string): Promise<Uint8Array> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return out.Body!.transformToByteArray();
}

export async function readManifest(s3: S3Client, bucket: string, key: string): Promise<Manifest> {
  return JSON.parse(Buffer.from(await getBytes(s3, bucket, key)).toString('utf8')) as Manifest;
}

export async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<{ key: string; etag: string; size: number }[]> {
  const keys: { key: string; etag: string; size: number }[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) keys.push({ key: o.Key!, etag: o.ETag!, size: o.Size! });
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

/**
 * Runs `select` over the batch's parts, exposed to DuckDB as the view `batch`.
 * Values come back as JSON-safe JS (DuckDB's own conversion).
 */
export async function queryBatch(s3: S3Client, bucket: string, manifestKey: string, select: string): Promise<Record<string, unknown>[]> {
  const manifest = await readManifest(s3, bucket, manifestKey);
  const dir = mkdtempSync(join(tmpdir(), 'reef-batch-'));
  const paths: string[] = [];
  for (const [i, f] of manifest.files.entries()) {
    const path = join(dir, `part-${i}.parquet`);
    writeFileSync(path, await getBytes(s3, bucket, f.key));
    paths.push(path);
  }
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const files = paths.length === 0 ? '[]' : `[${paths.map((p) => `'${p}'`).join(', ')}]`;
    if (paths.length === 0) return [];
    await connection.run(`CREATE VIEW batch AS SELECT * FROM read_parquet(${files})`);
    const reader = await connection.runAndReadAll(select);
    return reader.getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
