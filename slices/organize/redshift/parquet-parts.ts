/**
 * A batch's Parquet parts read back row group by row group, with every value
 * exact: hyparquet's own conversions would turn DECIMALs into floats and
 * timestamps into millisecond Dates, so DECIMAL annotations are hidden from it
 * (the unscaled integers come through) and its parsers hand back raw day and
 * microsecond counts. copy-text.ts gives them their text form.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { parquetMetadata, parquetRead, type FileMetaData, type ParquetParsers } from 'hyparquet';
import { TerminalError } from '../../../shared/errors.ts';
import type { BatchManifest, ManifestFile } from '../../../shared/lake/manifest.ts';
import { s3Error } from '../../../shared/lake/s3-sink.ts';

const text = new TextDecoder();

const EXACT_PARSERS: Partial<ParquetParsers> = {
  timestampFromMicroseconds: (micros: bigint) => micros,
  dateFromDays: (days: number) => days,
  // The JSON text as written (json keeps its whitespace), never parsed and re-serialized.
  jsonFromBytes: (bytes: Uint8Array) => bytes && text.decode(bytes),
};

/** Rows of one row group, each an array in the batch schema's column order. */
export interface RowGroupRows {
  file: ManifestFile;
  rows: unknown[][];
}

/**
 * Reads one part at a time (a part is bounded by the collect slice's
 * row-group and part limits) and yields one row group at a time. The rows of
 * each part must add up to what the manifest says.
 */
export async function* readBatchRows(s3: S3Client, bucket: string, manifest: BatchManifest): AsyncGenerator<RowGroupRows> {
  const columns = manifest.schema.columns.map((c) => c.name);
  for (const file of manifest.files) {
    const buffer = await download(s3, bucket, file.key);
    let metadata: FileMetaData;
    try {
      metadata = exactMetadata(parquetMetadata(buffer));
    } catch (e) {
      throw new TerminalError('target', `s3://${bucket}/${file.key} is not a readable Parquet file (${(e as Error).message}); expected a part written by the collect slice`, {
        code: 'target.bad-part',
        cause: e,
      });
    }
    const present = new Set(metadata.schema.slice(1).map((e) => e.name));
    const missing = columns.filter((c) => !present.has(c));
    if (missing.length > 0) {
      throw new TerminalError('target', `s3://${bucket}/${file.key} has no column ${missing.join(', ')}; expected every column of the batch manifest's schema`, { code: 'target.bad-part' });
    }
    let start = 0;
    let total = 0;
    for (const group of metadata.row_groups) {
      const end = start + Number(group.num_rows);
      let rows: unknown[][] = [];
      await parquetRead({
        file: buffer,
        metadata,
        columns,
        rowStart: start,
        rowEnd: end,
        parsers: EXACT_PARSERS,
        utf8: false,
        rowFormat: 'array',
        onComplete: (r: unknown[][]) => {
          rows = r;
        },
      });
      total += rows.length;
      start = end;
      yield { file, rows };
    }
    if (total !== file.rows) {
      throw new TerminalError('target', `s3://${bucket}/${file.key} holds ${total} rows; expected ${file.rows} as the batch manifest says`, { code: 'target.bad-part' });
    }
  }
}

/** The file's metadata with DECIMAL annotations removed, so hyparquet hands over the unscaled integers untouched. */
function exactMetadata(m: FileMetaData): FileMetaData {
  return {
    ...m,
    schema: m.schema.map((e) => (e.converted_type === 'DECIMAL' || e.logical_type?.type === 'DECIMAL' ? { ...e, converted_type: undefined, logical_type: undefined } : e)),
  };
}

async function download(s3: S3Client, bucket: string, key: string): Promise<ArrayBuffer> {
  try {
    const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const bytes = await r.Body!.transformToByteArray();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  } catch (e) {
    throw s3Error(e, `reading the batch part s3://${bucket}/${key}`);
  }
}
