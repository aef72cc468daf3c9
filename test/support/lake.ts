/**
 * Reading batches back from the lake the way an outsider would: the manifest
 * through the real S3 client, the parts opened with DuckDB (./duckdb.ts).
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { downloadParts, queryParquet, type Rows } from './duckdb.ts';

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

/** Runs `select` over the batch's parts (the view `batch`), values as JSON-safe JS. */
export async function queryBatch(s3: S3Client, bucket: string, manifestKey: string, select: string): Promise<Rows> {
  const manifest = await readManifest(s3, bucket, manifestKey);
  return queryParquet(await downloadParts(s3, bucket, manifest.files.map((f) => f.key)), select, 'json');
}
