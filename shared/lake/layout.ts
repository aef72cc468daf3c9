/**
 * Where things live in the lake. Every S3 key Reef writes is built here, so the
 * slice roles' IAM prefixes (infra) and the readers agree by construction.
 */
import { ORGANIZE_SLICE } from '../slice.ts';

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
 * A batch's file list in the format Redshift's `COPY ... MANIFEST` reads
 * (Reef's manifest is not that format). The organize slice writes it under
 * its own prefix, mirroring the batch's key: its role may only read the
 * collect slices' prefixes, and the collect slices need know nothing of the
 * warehouse.
 */
export const REDSHIFT_MANIFEST_FILE = '_redshift.manifest';

/** Where the organize slice keeps the Redshift manifests: the COPY role reads here and the collect prefixes. */
export const REDSHIFT_MANIFEST_PREFIX = `${slicePrefix(ORGANIZE_SLICE)}redshift/`;

export function redshiftManifestKey(slice: string, table: string, timelabel: string): string {
  return REDSHIFT_MANIFEST_PREFIX + batchPrefix(slice, table, timelabel) + REDSHIFT_MANIFEST_FILE;
}
