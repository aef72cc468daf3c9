/**
 * A batch's manifest: `_manifest.json` beside its parts. It is written last,
 * after every part is uploaded, so its presence means the batch's files are
 * complete; readers and the commit step take the file list from it rather
 * than from a listing.
 */
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DatasetSchema } from '../schema.ts';
import { TerminalError } from '../errors.ts';
import { errorName, httpStatus, s3Error } from './s3-sink.ts';

export interface ManifestFile {
  /** The full S3 key (built with layout.partKey). */
  key: string;
  rows: number;
  bytes: number;
}

export interface BatchManifest {
  slice: string;
  dataset: string;
  loadunit: string;
  timelabel: string;
  /** In part order. */
  files: ManifestFile[];
  rows: number;
  bytes: number;
  schema: DatasetSchema;
  /** The cursor window the batch covers: rows with from < column <= to. All null for a snapshot. */
  cursor: { column: string | null; from: string | null; to: string | null };
  /** Of the rows as read from the source (for PostgreSQL: the binary COPY byte stream). */
  checksum: { algorithm: 'sha256'; value: string };
  /** ISO 8601. */
  createdAt: string;
}

/** Checks the shape of a parsed manifest; `where` names its origin in the error. */
export function validateManifest(value: unknown, where: string): BatchManifest {
  const fail = (why: string): never => {
    throw new TerminalError('target', `${where}: the manifest ${why}; expected a Reef batch manifest`, { code: 'target.bad-manifest' });
  };
  if (typeof value !== 'object' || value === null) fail('is not a JSON object');
  const m = value as Record<string, unknown>;
  for (const k of ['slice', 'dataset', 'loadunit', 'timelabel', 'createdAt'] as const) {
    if (typeof m[k] !== 'string') fail(`has no string ${k}`);
  }
  for (const k of ['rows', 'bytes'] as const) {
    if (typeof m[k] !== 'number' || !Number.isInteger(m[k]) || (m[k] as number) < 0) fail(`has no non-negative integer ${k}`);
  }
  if (!Array.isArray(m.files)) fail('has no files list');
  let rows = 0;
  let bytes = 0;
  for (const f of m.files as unknown[]) {
    const file = f as Record<string, unknown>;
    if (typeof f !== 'object' || f === null || typeof file.key !== 'string' || typeof file.rows !== 'number' || typeof file.bytes !== 'number') {
      fail('has a file entry without key, rows and bytes');
    }
    rows += file.rows as number;
    bytes += file.bytes as number;
  }
  if (rows !== m.rows) fail(`says ${String(m.rows)} rows but its files add up to ${rows}`);
  if (bytes !== m.bytes) fail(`says ${String(m.bytes)} bytes but its files add up to ${bytes}`);
  const schema = m.schema as Record<string, unknown> | undefined;
  if (typeof schema !== 'object' || schema === null || !Array.isArray(schema.columns)) fail('has no schema with columns');
  const cursor = m.cursor as Record<string, unknown> | undefined;
  if (typeof cursor !== 'object' || cursor === null || !['column', 'from', 'to'].every((k) => cursor[k] === null || typeof cursor[k] === 'string')) {
    fail('has no cursor { column, from, to }');
  }
  const checksum = m.checksum as Record<string, unknown> | undefined;
  if (typeof checksum !== 'object' || checksum === null || checksum.algorithm !== 'sha256' || typeof checksum.value !== 'string') {
    fail('has no sha256 checksum');
  }
  return value as BatchManifest;
}

export async function writeManifest(s3: S3Client, bucket: string, key: string, manifest: BatchManifest): Promise<void> {
  try {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(manifest, null, 2), ContentType: 'application/json' }));
  } catch (e) {
    throw s3Error(e, `writing the manifest s3://${bucket}/${key}`);
  }
}

/** The manifest at `key`, checked for shape. A missing manifest is terminal: the batch was never completely extracted. */
export async function readManifest(s3: S3Client, bucket: string, key: string): Promise<BatchManifest> {
  const m = await findManifest(s3, bucket, key);
  if (!m) {
    throw new TerminalError('target', `there is no manifest at s3://${bucket}/${key}; expected one written by a completed extraction`, { code: 'target.missing-manifest' });
  }
  return m;
}

/** The manifest at `key`, or undefined when there is none. */
export async function findManifest(s3: S3Client, bucket: string, key: string): Promise<BatchManifest | undefined> {
  let text: string;
  try {
    const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    text = (await r.Body?.transformToString('utf-8')) ?? '';
  } catch (e) {
    if (errorName(e) === 'NoSuchKey' || httpStatus(e) === 404) return undefined;
    throw s3Error(e, `reading the manifest s3://${bucket}/${key}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new TerminalError('target', `s3://${bucket}/${key} is not valid JSON; expected a batch manifest`, { code: 'target.bad-manifest', cause: e });
  }
  return validateManifest(parsed, `s3://${bucket}/${key}`);
}

/** Remove a manifest (absent is fine): done before a batch's parts are rewritten, so a manifest never describes parts in flux. */
export async function deleteManifest(s3: S3Client, bucket: string, key: string): Promise<void> {
  try {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  } catch (e) {
    if (errorName(e) === 'NoSuchKey' || httpStatus(e) === 404) return;
    throw s3Error(e, `removing the old manifest s3://${bucket}/${key}`);
  }
}
