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

/**
 * How a column's type changed at the source. `widening`: every value of the
 * old type is a value of the new one, with the same meaning (smallint →
 * integer → bigint, real → double precision, a longer varchar, more numeric
 * digits on either side of the point), so the warehouse column can follow;
 * `incompatible`: anything else (text → integer, timestamp → timestamptz,
 * fewer digits), where the old column keeps its type.
 */
export type RetypeChange = 'widening' | 'incompatible';

/** Column-by-column difference between two schemas, in registry order. */
export interface SchemaDiff {
  added: ColumnSchema[];
  dropped: ColumnSchema[];
  retyped: { before: ColumnSchema; after: ColumnSchema; change: RetypeChange }[];
  /** Columns whose NULLability changed, only when one did: the warehouse holds every column NULLable, so this is news, not work. */
  nullability?: { before: ColumnSchema; after: ColumnSchema }[];
}

export function diffSchemas(before: DatasetSchema | undefined, after: DatasetSchema): SchemaDiff {
  const old = new Map((before?.columns ?? []).map((c) => [c.name, c]));
  const now = new Map(after.columns.map((c) => [c.name, c]));
  const added = after.columns.filter((c) => !old.has(c.name));
  const dropped = (before?.columns ?? []).filter((c) => !now.has(c.name));
  const retyped = after.columns
    .filter((c) => old.has(c.name) && old.get(c.name)!.sourceType !== c.sourceType)
    .map((c) => ({ before: old.get(c.name)!, after: c, change: classifyRetype(old.get(c.name)!.sourceType, c.sourceType) }));
  const nullability = after.columns
    .filter((c) => old.has(c.name) && old.get(c.name)!.nullable !== c.nullable)
    .map((c) => ({ before: old.get(c.name)!, after: c }));
  return nullability.length > 0 ? { added, dropped, retyped, nullability } : { added, dropped, retyped };
}

/** Integer types in widening order, as format_type spells them. */
const INTEGER_RANK: Record<string, number> = { smallint: 1, integer: 2, bigint: 3 };

/** A source type's family and bounds, where a widening can be told; undefined for every other type. */
function typeShape(sourceType: string): { family: 'integer'; rank: number } | { family: 'numeric'; digits?: number; scale?: number } | { family: 'varchar'; length?: number } | { family: 'float'; rank: number } | undefined {
  const t = sourceType.trim().toLowerCase();
  if (t in INTEGER_RANK) return { family: 'integer', rank: INTEGER_RANK[t] };
  if (t === 'real') return { family: 'float', rank: 1 };
  if (t === 'double precision') return { family: 'float', rank: 2 };
  if (t === 'numeric') return { family: 'numeric' };
  const n = /^numeric\((\d+),(\d+)\)$/.exec(t);
  if (n) return { family: 'numeric', digits: Number(n[1]) - Number(n[2]), scale: Number(n[2]) };
  if (t === 'text' || t === 'character varying') return { family: 'varchar' };
  const v = /^character varying\((\d+)\)$/.exec(t);
  if (v) return { family: 'varchar', length: Number(v[1]) };
  return undefined;
}

/** Whether `to` holds every value of `from` with the same meaning (see RetypeChange). Unbounded (`numeric`, `text`) holds every bounded one. */
export function classifyRetype(from: string, to: string): RetypeChange {
  const a = typeShape(from);
  const b = typeShape(to);
  if (a === undefined || b === undefined || a.family !== b.family) return 'incompatible';
  const covers = (x: number | undefined, y: number | undefined): boolean => y === undefined || (x !== undefined && x <= y);
  switch (a.family) {
    case 'integer':
    case 'float':
      return a.rank <= (b as { rank: number }).rank ? 'widening' : 'incompatible';
    case 'numeric': {
      const nb = b as { digits?: number; scale?: number };
      // Unconstrained numeric holds any numeric(p,s); a bounded one holds another only with at least as many digits on each side.
      if (nb.digits === undefined) return 'widening';
      return a.digits !== undefined && covers(a.digits, nb.digits) && covers(a.scale, nb.scale) ? 'widening' : 'incompatible';
    }
    case 'varchar':
      return covers(a.length, (b as { length?: number }).length) ? 'widening' : 'incompatible';
  }
}
