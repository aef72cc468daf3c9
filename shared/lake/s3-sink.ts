/**
 * Parts in S3, and how S3 failures become ReefErrors. Keys come from
 * layout.ts only, so IAM prefixes, writers and readers agree by construction.
 * The manifest's own reads and writes are in manifest.ts.
 */
import { DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { TerminalError, TransientError, type ReefError } from '../errors.ts';
import { batchPrefix, partKey } from './layout.ts';
import type { ManifestFile } from './manifest.ts';
import type { FinishedPart, PartSink } from './parquet.ts';

export const PARQUET_CONTENT_TYPE = 'application/vnd.apache.parquet';

export interface PartLocation {
  s3: S3Client;
  bucket: string;
  slice: string;
  /** The lake folder: the loadunit's name. */
  table: string;
  timelabel: string;
}

/** Uploads each finished part to partKey(slice, table, timelabel, n) and remembers what it wrote. */
export class S3PartSink {
  private readonly at: PartLocation;
  private readonly written = new Map<number, ManifestFile>();

  constructor(at: PartLocation) {
    this.at = at;
  }

  /** The PartSink to hand to a PartWriter. */
  readonly put: PartSink = async (part: FinishedPart): Promise<void> => {
    await this.upload(part);
  };

  async upload(part: FinishedPart): Promise<ManifestFile> {
    const key = partKey(this.at.slice, this.at.table, this.at.timelabel, part.n);
    try {
      await this.at.s3.send(
        new PutObjectCommand({ Bucket: this.at.bucket, Key: key, Body: part.bytes, ContentLength: part.bytes.length, ContentType: PARQUET_CONTENT_TYPE }),
      );
    } catch (e) {
      throw s3Error(e, `uploading s3://${this.at.bucket}/${key}`);
    }
    const file = { key, rows: part.rows, bytes: part.bytes.length };
    this.written.set(part.n, file);
    return file;
  }

  /** The parts uploaded so far, in part order. */
  files(): ManifestFile[] {
    return [...this.written.entries()].sort((a, b) => a[0] - b[0]).map(([, f]) => f);
  }
}

/**
 * Delete the objects under a batch's prefix that are not in `keep`: parts an
 * earlier attempt wrote beyond this attempt's count, and a manifest that no
 * longer describes the parts. Returns the deleted keys.
 */
export async function removeOtherObjects(at: PartLocation, keep: ReadonlySet<string>): Promise<string[]> {
  const prefix = batchPrefix(at.slice, at.table, at.timelabel);
  const stale: string[] = [];
  let token: string | undefined;
  try {
    do {
      const page = await at.s3.send(new ListObjectsV2Command({ Bucket: at.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key && !keep.has(o.Key)) stale.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    for (let i = 0; i < stale.length; i += 1000) {
      const r = await at.s3.send(
        new DeleteObjectsCommand({ Bucket: at.bucket, Delete: { Objects: stale.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true } }),
      );
      if (r.Errors?.length) {
        const first = r.Errors[0];
        throw new TransientError('target', `deleting ${r.Errors.length} stale objects under s3://${at.bucket}/${prefix} failed, first ${first.Key}: ${first.Code}; expected them deleted`, {
          code: 'target.s3-delete',
        });
      }
    }
  } catch (e) {
    throw s3Error(e, `clearing stale objects under s3://${at.bucket}/${prefix}`);
  }
  return stale;
}

export function errorName(e: unknown): string {
  return typeof e === 'object' && e !== null && typeof (e as { name?: unknown }).name === 'string' ? (e as { name: string }).name : '';
}

export function httpStatus(e: unknown): number | undefined {
  const m = (e as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata;
  return m?.httpStatusCode;
}

const TRANSIENT_NAMES = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestTimeout', 'RequestTimeTooSkewed', 'InternalError', 'ServiceUnavailable', 'TimeoutError']);

/** An S3 failure as a ReefError: throttling, 5xx and network trouble are transient; the rest (access, missing bucket) are terminal. */
export function s3Error(e: unknown, doing: string): ReefError {
  if (e instanceof TransientError || e instanceof TerminalError) return e;
  const name = errorName(e);
  const status = httpStatus(e);
  const message = e instanceof Error ? e.message : String(e);
  const what = `${doing}: ${name || 'error'}${status ? ` (HTTP ${status})` : ''}: ${message}`;
  if (status === undefined || status >= 500 || status === 429 || TRANSIENT_NAMES.has(name)) {
    return new TransientError('target', `${what}; expected S3 to accept the request`, { code: 'target.s3-unavailable', cause: e });
  }
  return new TerminalError('target', `${what}; expected the slice's role to be allowed to write its prefix in an existing bucket`, { code: 'target.s3-rejected', cause: e });
}
