/**
 * A warehouse row as the JSON a receiver gets, with exact values. Rows are
 * read as the warehouse's own text (every type parser of the driver is
 * bypassed, see RAW_TEXT) under pinned session settings, and each value is
 * written by its column's type:
 *
 *   smallint, integer, oid            JSON number
 *   bigint, numeric/decimal           JSON string of the digits (a JSON number past 2^53 loses digits in most parsers)
 *   real, double precision            JSON number; NaN, Infinity, -Infinity as strings
 *   boolean                           true / false
 *   timestamptz                       ISO 8601 with offset: "2026-03-05T08:15:00.123456+00:00"
 *   timestamp                         ISO 8601 without offset ("2026-03-05T08:15:00"): it has none to give
 *   date, time, timetz, interval      the warehouse's ISO text ("2026-03-05", "P1DT2H")
 *   json, jsonb, SUPER                the JSON itself, byte for byte as the warehouse gives it
 *   bytea, VARBYTE                    base64 string
 *   arrays (PostgreSQL)               JSON arrays of the element type's form
 *   everything else                   the text as a JSON string (uuid, text, enums, inet…)
 *
 * ±infinity and BC dates and timestamps, which ISO 8601 cannot write, are
 * sent as the warehouse's text ("infinity", "0044-03-15 BC").
 */
import type pg from 'pg';
import { TerminalError } from '../../../shared/errors.ts';
import type { WarehouseDialectName } from '../../../shared/harness/publication.ts';

/** Type OIDs of the PostgreSQL wire protocol, which Redshift speaks too (SUPER and VARBYTE are its own). */
export const OID = {
  bool: 16,
  bytea: 17,
  int8: 20,
  int2: 21,
  int4: 23,
  oid: 26,
  json: 114,
  float4: 700,
  float8: 701,
  timestamp: 1114,
  timestamptz: 1184,
  numeric: 1700,
  jsonb: 3802,
  redshiftSuper: 4000,
  redshiftVarbyte: 6551,
} as const;

/** The driver hands every value over as the text the warehouse sent; nothing is parsed into a JS Date or float. */
export const RAW_TEXT = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

export interface WireColumn {
  name: string;
  oid: number;
  /** PostgreSQL arrays: the element's type and the delimiter its array text uses. */
  element?: { oid: number; delimiter: string };
}

/**
 * The columns of a result, with what arrays hold. Redshift has no array
 * types (its nested data is SUPER), so only PostgreSQL's catalog is asked.
 */
export async function wireColumns(client: pg.ClientBase, dialect: WarehouseDialectName, fields: pg.FieldDef[]): Promise<WireColumn[]> {
  const columns: WireColumn[] = fields.map((f) => ({ name: f.name, oid: f.dataTypeID }));
  if (dialect !== 'postgres' || columns.length === 0) return columns;
  const oids = [...new Set(columns.map((c) => c.oid))];
  const r = await client.query<{ oid: number; elem: number; delimiter: string }>(
    `SELECT t.oid::int AS oid, t.typelem::int AS elem, e.typdelim::text AS delimiter
     FROM pg_catalog.pg_type t JOIN pg_catalog.pg_type e ON e.oid = t.typelem
     WHERE t.oid = ANY($1::oid[]) AND t.typcategory = 'A'`,
    [oids],
  );
  const arrays = new Map(r.rows.map((row) => [Number(row.oid), { oid: Number(row.elem), delimiter: row.delimiter }]));
  return columns.map((c) => (arrays.has(c.oid) ? { ...c, element: arrays.get(c.oid) } : c));
}

const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;
const TIMESTAMPTZ = /^(\d{4,}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)([+-]\d{2})(?::(\d{2}))?(?::(\d{2}))?$/;
const TIMESTAMP = /^(\d{4,}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)$/;

function str(text: string): string {
  return JSON.stringify(text);
}

function timestamptz(text: string): string {
  const m = TIMESTAMPTZ.exec(text);
  // An offset with seconds (a historical local mean time) has no ISO 8601 form; the session is pinned to UTC, so it does not occur.
  if (!m || m[5] !== undefined) return str(text);
  return str(`${m[1]}T${m[2]}${m[3]}:${m[4] ?? '00'}`);
}

function bytes(text: string): string {
  const hex = text.startsWith('\\x') ? text.slice(2) : text;
  return str(Buffer.from(hex, 'hex').toString('base64'));
}

/** The JSON of one non-NULL scalar of type `oid`, given the warehouse's text of it. */
function scalar(oid: number, text: string, where: () => string): string {
  switch (oid) {
    case OID.int2:
    case OID.int4:
    case OID.oid:
      return JSON_NUMBER.test(text) ? text : str(text);
    case OID.float4:
    case OID.float8:
      return JSON_NUMBER.test(text) ? text : str(text);
    case OID.int8:
    case OID.numeric:
      return str(text);
    case OID.bool:
      return text === 't' || text === 'true' ? 'true' : text === 'f' || text === 'false' ? 'false' : str(text);
    case OID.timestamptz:
      return timestamptz(text);
    case OID.timestamp: {
      const m = TIMESTAMP.exec(text);
      return str(m ? `${m[1]}T${m[2]}` : text);
    }
    case OID.json:
    case OID.jsonb:
    case OID.redshiftSuper:
      try {
        JSON.parse(text);
      } catch {
        throw new TerminalError('target', `${where()} holds text the warehouse calls JSON but that does not parse as JSON; expected valid JSON to send as it is`, {
          code: 'webhook.invalid-json',
        });
      }
      return text;
    case OID.bytea:
    case OID.redshiftVarbyte:
      return bytes(text);
    default:
      return str(text);
  }
}

type ArrayValue = (string | null | ArrayValue)[];

/** PostgreSQL's array text (`{1,NULL,"a b",{2,3}}`, maybe after `[0:1]=`) as nested lists of element texts. */
export function parseArrayText(text: string, delimiter = ','): ArrayValue {
  let i = 0;
  if (text[0] === '[') {
    i = text.indexOf('=') + 1;
    if (i === 0) throw new Error(`array text ${JSON.stringify(text.slice(0, 40))} has bounds but no '='`);
  }
  const fail = (): never => {
    throw new Error(`array text ${JSON.stringify(text.slice(0, 40))} is malformed at offset ${i}`);
  };
  const list = (): ArrayValue => {
    if (text[i] !== '{') fail();
    i++;
    const out: ArrayValue = [];
    if (text[i] === '}') {
      i++;
      return out;
    }
    for (;;) {
      if (text[i] === '{') {
        out.push(list());
      } else if (text[i] === '"') {
        i++;
        let s = '';
        while (i < text.length && text[i] !== '"') {
          if (text[i] === '\\') i++;
          s += text[i++];
        }
        if (text[i] !== '"') fail();
        i++;
        out.push(s);
      } else {
        const start = i;
        while (i < text.length && text[i] !== delimiter && text[i] !== '}') i++;
        const s = text.slice(start, i);
        out.push(s === 'NULL' ? null : s);
      }
      if (text[i] === delimiter) {
        i++;
        continue;
      }
      if (text[i] === '}') {
        i++;
        return out;
      }
      fail();
    }
  };
  const out = list();
  if (i !== text.length) fail();
  return out;
}

function arrayJson(value: ArrayValue, oid: number, where: () => string): string {
  return `[${value.map((v) => (v === null ? 'null' : Array.isArray(v) ? arrayJson(v, oid, where) : scalar(oid, v, where))).join(',')}]`;
}

/** The JSON of one value of `column`; `where` names it (and the row) in an error. */
export function valueJson(column: WireColumn, text: string | null, where: () => string): string {
  if (text === null) return 'null';
  if (column.element === undefined) return scalar(column.oid, text, where);
  let parsed: ArrayValue;
  try {
    parsed = parseArrayText(text, column.element.delimiter);
  } catch (e) {
    throw new TerminalError('internal', `${where()}: ${(e as Error).message}; expected PostgreSQL's array output`, { code: 'webhook.array-text' });
  }
  return arrayJson(parsed, column.element.oid, where);
}

/** `{"a":1,"b":"x"}`, in column order. `values` line up with `columns`. */
export function rowJson(columns: readonly WireColumn[], values: readonly (string | null)[], where: (column: string) => string): string {
  const parts = columns.map((c, i) => `${JSON.stringify(c.name)}:${valueJson(c, values[i], () => where(c.name))}`);
  return `{${parts.join(',')}}`;
}
