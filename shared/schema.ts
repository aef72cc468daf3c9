/**
 * The shape of a dataset as Reef records it in the schema registry and in each
 * batch manifest. Independent of any Parquet library: `parquet` describes the
 * physical and logical type written, so readers and the warehouse loader can
 * map it without opening a file.
 */
export type ParquetPhysical =
  | 'BOOLEAN'
  | 'INT32'
  | 'INT64'
  | 'FLOAT'
  | 'DOUBLE'
  | 'BYTE_ARRAY'
  | 'FIXED_LEN_BYTE_ARRAY';

export type ParquetLogical =
  | { type: 'INTEGER'; bitWidth: 8 | 16 | 32 | 64; signed: boolean }
  | { type: 'DECIMAL'; precision: number; scale: number }
  | { type: 'STRING' }
  | { type: 'ENUM' }
  | { type: 'JSON' }
  | { type: 'UUID' }
  | { type: 'DATE' }
  | { type: 'TIME'; unit: 'MICROS'; isAdjustedToUTC: boolean }
  | { type: 'TIMESTAMP'; unit: 'MICROS'; isAdjustedToUTC: boolean };

export interface ParquetColumnType {
  physical: ParquetPhysical;
  /** Only for FIXED_LEN_BYTE_ARRAY. */
  length?: number;
  logical?: ParquetLogical;
  /** A LIST of this element type (PostgreSQL one-dimensional arrays). */
  list?: boolean;
}

export interface ColumnSchema {
  name: string;
  /** The source's own type name, as the source reports it (e.g. `numeric(12,2)`, `timestamp with time zone`). */
  sourceType: string;
  nullable: boolean;
  parquet: ParquetColumnType;
  /** Why a value is carried as text instead of its own type, when it is. */
  carriedAsText?: string;
}

export interface DatasetSchema {
  columns: ColumnSchema[];
}

/** Column-by-column difference between two schemas, in registry order. */
export interface SchemaDiff {
  added: ColumnSchema[];
  dropped: ColumnSchema[];
  retyped: { before: ColumnSchema; after: ColumnSchema }[];
}

export function diffSchemas(before: DatasetSchema | undefined, after: DatasetSchema): SchemaDiff {
  const old = new Map((before?.columns ?? []).map((c) => [c.name, c]));
  const now = new Map(after.columns.map((c) => [c.name, c]));
  const added = after.columns.filter((c) => !old.has(c.name));
  const dropped = (before?.columns ?? []).filter((c) => !now.has(c.name));
  const retyped = after.columns
    .filter((c) => old.has(c.name) && old.get(c.name)!.sourceType !== c.sourceType)
    .map((c) => ({ before: old.get(c.name)!, after: c }));
  return { added, dropped, retyped };
}
