/**
 * The Parquet schema of a dataset, mapped to hyparquet-writer's schema
 * elements, and the leaf columns a row group is written in: where each
 * column's values sit in the schema and which levels it carries.
 */
import type { ConvertedType, LogicalType, SchemaElement } from 'hyparquet';
import type { ColumnSchema, DatasetSchema, ParquetColumnType, ParquetLogical } from '../schema.ts';
import { TerminalError } from '../errors.ts';

/** The Parquet schema elements for a dataset: one leaf per column, LIST columns as the standard 3-level group. */
export function parquetSchema(schema: DatasetSchema): SchemaElement[] {
  const out: SchemaElement[] = [{ name: 'schema', num_children: schema.columns.length }];
  for (const c of schema.columns) {
    const repetition = c.nullable ? 'OPTIONAL' : 'REQUIRED';
    if (c.parquet.list) {
      out.push({ name: c.name, repetition_type: repetition, num_children: 1, converted_type: 'LIST', logical_type: { type: 'LIST' } });
      out.push({ name: 'list', repetition_type: 'REPEATED', num_children: 1 });
      // PostgreSQL arrays may hold NULL elements whatever the column's NOT NULL says.
      out.push({ ...leafElement(c.parquet), name: 'element', repetition_type: 'OPTIONAL' });
    } else {
      out.push({ ...leafElement(c.parquet), name: c.name, repetition_type: repetition });
    }
  }
  return out;
}

function leafElement(t: ParquetColumnType): Omit<SchemaElement, 'name'> {
  const e: Omit<SchemaElement, 'name'> = { type: t.physical };
  if (t.physical === 'FIXED_LEN_BYTE_ARRAY') {
    if (!t.length) throw new TerminalError('internal', 'a FIXED_LEN_BYTE_ARRAY column was described without its length; expected parquet.length', { code: 'internal.schema' });
    e.type_length = t.length;
  }
  if (t.logical) {
    // hyparquet-writer serializes IntType.bitWidth as a Thrift i32 where the format says i8,
    // which strict readers (DuckDB) reject; the legacy INT_16-style annotation means the same.
    if (t.logical.type !== 'INTEGER') e.logical_type = logicalType(t.logical);
    const converted = convertedType(t.logical);
    if (converted) e.converted_type = converted;
    if (t.logical.type === 'DECIMAL') {
      e.precision = t.logical.precision;
      e.scale = t.logical.scale;
    }
  }
  return e;
}

function logicalType(l: Exclude<ParquetLogical, { type: 'INTEGER' }>): LogicalType {
  return l;
}

/**
 * The legacy annotation too, for readers that predate logical types. Only
 * where it means the same thing: the legacy TIME/TIMESTAMP annotations imply
 * UTC-adjusted values, so local times carry the logical type alone.
 */
function convertedType(l: ParquetLogical): ConvertedType | undefined {
  switch (l.type) {
    case 'STRING': return 'UTF8';
    case 'ENUM': return 'ENUM';
    case 'JSON': return 'JSON';
    case 'DECIMAL': return 'DECIMAL';
    case 'DATE': return 'DATE';
    case 'TIME': return l.isAdjustedToUTC ? 'TIME_MICROS' : undefined;
    case 'TIMESTAMP': return l.isAdjustedToUTC ? 'TIMESTAMP_MICROS' : undefined;
    case 'INTEGER': return `${l.signed ? 'INT' : 'UINT'}_${l.bitWidth}` as ConvertedType;
    default: return undefined;
  }
}

/** Bytes of one value of a fixed-width physical type; 0 for BYTE_ARRAY. BOOLEAN is held as one byte until a page packs it. */
export function valueWidth(t: ParquetColumnType): number {
  switch (t.physical) {
    case 'BOOLEAN': return 1;
    case 'INT32': case 'FLOAT': return 4;
    case 'INT64': case 'DOUBLE': return 8;
    case 'FIXED_LEN_BYTE_ARRAY': return t.length ?? 0;
    case 'BYTE_ARRAY': return 0;
  }
}

/**
 * The definition level of a present value: OPTIONAL adds one, a LIST two (the
 * list and its OPTIONAL element). The column buffers and the page encoder must
 * agree on it, hence one place.
 */
export function maxDefinitionLevel(column: ColumnSchema): number {
  return (column.nullable ? 1 : 0) + (column.parquet.list ? 2 : 0);
}

/** A leaf column as the page encoder and the footer need it. */
export interface Leaf {
  column: ColumnSchema;
  element: SchemaElement;
  path: string[];
  width: number;
  maxDef: number;
  maxRep: number;
}

export function leaves(schema: DatasetSchema, elements: SchemaElement[]): Leaf[] {
  const byName = new Map<string, SchemaElement>();
  let i = 1;
  for (const c of schema.columns) {
    if (c.parquet.list) {
      byName.set(c.name, elements[i + 2]);
      i += 3;
    } else {
      byName.set(c.name, elements[i]);
      i += 1;
    }
  }
  return schema.columns.map((c) => ({
    column: c,
    element: byName.get(c.name)!,
    path: c.parquet.list ? [c.name, 'list', 'element'] : [c.name],
    width: valueWidth(c.parquet),
    maxDef: maxDefinitionLevel(c),
    maxRep: c.parquet.list ? 1 : 0,
  }));
}
