/**
 * Where things live in the lake. Every S3 key Reef writes is built here, so the
 * slice roles' IAM prefixes (infra) and the readers agree by construction.
 */
export const MANIFEST_FILE = '_manifest.json';

/** The prefix a slice owns: its role may write only under it. */
export function slicePrefix(slice: string): string {
  return `${slice}/`;
}

export function batchPrefix(slice: string, table: string, timelabel: string): string {
  return `${slice}/${table}/timelabel=${timelabel}/`;
}

/** Zero-padded so that a lexical listing is the write order. */
export function partKey(slice: string, table: string, timelabel: string, n: number): string {
  return `${batchPrefix(slice, table, timelabel)}part-${String(n).padStart(5, '0')}.parquet`;
}

export function manifestKey(slice: string, table: string, timelabel: string): string {
  return batchPrefix(slice, table, timelabel) + MANIFEST_FILE;
}

/**
 * Beside a batch's `_manifest.json`: the same file list in the format
 * Redshift's `COPY ... MANIFEST` reads (Reef's manifest is not that format).
 */
export const REDSHIFT_MANIFEST_FILE = '_redshift.manifest';

export function redshiftManifestKey(slice: string, table: string, timelabel: string): string {
  return batchPrefix(slice, table, timelabel) + REDSHIFT_MANIFEST_FILE;
}
