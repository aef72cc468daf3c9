/**
 * SQL text built from names and values that come from configs or the source's
 * catalog. Nothing reaches PostgreSQL unquoted: identifiers through
 * `quoteIdent`, values through `quoteLiteral` (COPY takes no bind parameters).
 */
import { TerminalError } from '../../../shared/errors.ts';

export interface TableRef {
  schema: string;
  table: string;
}

/** PostgreSQL's limit on identifier length (NAMEDATALEN - 1), in bytes. */
const MAX_IDENTIFIER_BYTES = 63;

/** A double-quoted identifier: `a"b` becomes `"a""b"`. Rejects what no identifier can hold. */
export function quoteIdent(name: string): string {
  if (name.length === 0) {
    throw new TerminalError('config', 'an identifier is empty; expected a table, schema or column name', { code: 'config.identifier' });
  }
  if (name.includes('\0')) {
    throw new TerminalError('config', `the identifier ${JSON.stringify(name)} contains a NUL character; expected a name PostgreSQL can hold`, { code: 'config.identifier' });
  }
  return `"${name.replaceAll('"', '""')}"`;
}

export function qualifiedName(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

/**
 * A string literal that means the same under any `standard_conforming_strings`:
 * with a backslash it is written in the E'' form with backslashes doubled.
 */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) {
    throw new TerminalError('config', `the value ${JSON.stringify(value)} contains a NUL character; expected text PostgreSQL can hold`, { code: 'config.literal' });
  }
  const body = value.replaceAll("'", "''");
  return value.includes('\\') ? `E'${body.replaceAll('\\', '\\\\')}'` : `'${body}'`;
}

// Unquoted identifiers as PostgreSQL's lexer accepts them; non-ASCII letters included.
const UNQUOTED = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/;

/**
 * `table` (schema `public`), `schema.table`, either part double-quoted to keep
 * case or special characters (`"Sales"."Order ""Lines"""`). Unquoted parts
 * fold to lower case, as in SQL. Anything else is rejected, naming `where`.
 */
export function parseTableRef(text: string, where: string): TableRef {
  const parts: string[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new TerminalError(
      'config',
      `${where}: the table name ${JSON.stringify(text)} ${why}; expected table or schema.table, each part a plain identifier or a double-quoted name`,
      { code: 'config.identifier' },
    );
  };
  while (true) {
    if (text[i] === '"') {
      let name = '';
      i++;
      while (true) {
        if (i >= text.length) fail('has an unterminated double quote');
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            name += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        name += text[i++];
      }
      if (name.length === 0) fail('has an empty quoted part');
      parts.push(name);
    } else {
      const m = UNQUOTED.exec(text.slice(i));
      if (!m) fail(i >= text.length ? 'ends where a name was expected' : `has ${JSON.stringify(text[i])} where a name was expected`);
      parts.push(m![0].toLowerCase());
      i += m![0].length;
    }
    if (i === text.length) break;
    if (text[i] !== '.') fail(`has ${JSON.stringify(text[i])} after a name`);
    i++;
  }
  if (parts.length > 2) fail('has more than two parts');
  for (const p of parts) {
    if (p.includes('\0')) fail('contains a NUL character');
    if (Buffer.byteLength(p) > MAX_IDENTIFIER_BYTES) fail(`has a part longer than ${MAX_IDENTIFIER_BYTES} bytes`);
  }
  return parts.length === 2 ? { schema: parts[0], table: parts[1] } : { schema: 'public', table: parts[0] };
}
