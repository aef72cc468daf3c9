/**
 * Reef's Parquet writer. Producers fill one `ColumnBuilder` per column with
 * values already in Parquet's PLAIN encoding (the PostgreSQL COPY decoder
 * writes straight into them, no JS value per cell); `PartWriter` turns each
 * batch into one row group, closes a part file after `rowGroupsPerPart` row
 * groups and hands it to an async sink while the next part fills.
 *
 * The Parquet format layer (Thrift page headers, footer, logical types,
 * statistics encoding) is hyparquet-writer's; the page encoding around it is
 * ours, because hyparquet-writer's generic path (one JS value per cell, a
 * dictionary attempt and statistics per value) wrote the benchmark table at a
 * fifth of this speed, below what extraction needs. bench/README.md has the
 * figures.
 *
 * Files use DATA_PAGE (v1) pages, PLAIN values and RLE levels: the most widely
 * read combination (Athena, Redshift Spectrum, Spark, DuckDB, Arrow). Pages are
 * snappy-compressed in a worker thread (snappy.ts) while the next batch is
 * decoded.
 *
 * This module is the public entry; the writer lives in:
 * - parquet-schema.ts: dataset schema → Parquet schema elements and leaf columns
 * - column-builder.ts: the column buffers producers fill (`ColumnBuilder`)
 * - column-values.ts: JS values into a builder; decimal conversions
 * - page-encoding.ts: a row group as uncompressed page bodies, with statistics
 * - page-compression.ts: snappy over those pages, in a worker or inline
 * - part-writer.ts: `PartWriter`, row groups into part files and uploads
 */
export { parquetSchema, valueWidth } from './parquet-schema.ts';
export { ColumnBuilder, type ColumnData, type RowGroupBatch } from './column-builder.ts';
export { columnFromValues, twosComplement, unscaled } from './column-values.ts';
export { PAGE_BYTES, type Compression } from './page-encoding.ts';
export { CREATED_BY, DEFAULT_MAX_UPLOADS, PartWriter, type FinishedPart, type PartSink, type PartWriterOptions, type PartWriterSummary } from './part-writer.ts';
