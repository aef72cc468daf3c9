/**
 * The manifest Redshift's `COPY ... MANIFEST` reads: a list of S3 URLs, each
 * mandatory (a missing part fails the COPY instead of loading less), each
 * with its byte length, which Redshift requires for Parquet. Built from
 * Reef's batch manifest and written under the organize slice's own prefix
 * (layout.ts), so the COPY loads exactly the parts the batch committed, never
 * a listing of the prefix.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { BatchManifest } from '../../../shared/lake/manifest.ts';
import { redshiftManifestKey } from '../../../shared/lake/layout.ts';
import { s3Error } from '../../../shared/lake/s3-sink.ts';

export interface RedshiftManifest {
  entries: { url: string; mandatory: true; meta: { content_length: number } }[];
}

export function redshiftManifest(manifest: BatchManifest, bucket: string): RedshiftManifest {
  return { entries: manifest.files.map((f) => ({ url: `s3://${bucket}/${f.key}`, mandatory: true, meta: { content_length: f.bytes } })) };
}

/** Where the batch's Redshift manifest lives: under the organize prefix, by the batch's own key. */
export function redshiftManifestKeyFor(manifest: BatchManifest): string {
  return redshiftManifestKey(manifest.slice, manifest.loadunit, manifest.timelabel);
}

/** Writes (or rewrites: the content depends only on the batch) the Redshift manifest; returns its s3:// URL. */
export async function writeRedshiftManifest(s3: S3Client, bucket: string, manifest: BatchManifest): Promise<string> {
  const key = redshiftManifestKeyFor(manifest);
  try {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(redshiftManifest(manifest, bucket)), ContentType: 'application/json' }));
  } catch (e) {
    throw s3Error(e, `writing the Redshift manifest s3://${bucket}/${key}`);
  }
  return `s3://${bucket}/${key}`;
}
