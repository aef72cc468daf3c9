/**
 * The user's SQL (a view's body, a `@check sql` query) as the refresh sends
 * it, and the warehouse's complaints about it as config errors at the file's
 * line: the user fixes their SQL, a retry would not help.
 */
import { parse } from 'libpg-query';
import { TerminalError, type ReefError } from '../../../shared/errors.ts';
import { lineOfCodePoint } from '../../../shared/views/positions.ts';
import type { WrappedSql } from './dialect.ts';
import { warehouseError } from './warehouse-errors.ts';

/**
 * The one statement in `sql`, without a trailing `;` and what follows it, so
 * it fits inside a derived table. The head is kept byte for byte: offsets
 * into the result are offsets into the file's text. The compiler already
 * proved there is exactly one SELECT; the parser finds where it ends (a `;`
 * inside a string or a comment is not an end).
 */
export async function singleStatement(sql: string): Promise<string> {
  const tree = (await parse(sql)) as { stmts?: { stmt_location?: number; stmt_len?: number }[] };
  const first = tree.stmts?.[0];
  // No length means the statement runs to the end of the text.
  if (!first?.stmt_len) return sql;
  const end = (first.stmt_location ?? 0) + first.stmt_len;
  return Buffer.from(sql, 'utf8').subarray(0, end).toString('utf8');
}

/** Where a piece of user SQL comes from, for messages. */
export interface UserSqlPlace {
  /** `views/<schema>/<name>.sql` */
  file: string;
  /** File line on which `text` begins. */
  startLine: number;
  /** The text as placed in the statement (see `singleStatement`). */
  text: string;
  /** What it is, for the message: `view analytics.x`, `@check sql of view analytics.x`. */
  what: string;
}

/**
 * A failed statement that carried user SQL. Transient failures (a lost
 * connection, a serialization conflict) stay transient warehouse errors;
 * anything else is the SQL's fault: a config error at `file:line`, the line
 * taken from the position the warehouse reports (1-based characters into
 * the statement sent) when it falls inside the user's text.
 */
export function userSqlError(e: unknown, place: UserSqlPlace, sent: WrappedSql, doing: string): ReefError {
  const classified = warehouseError(e, doing);
  // A Reef error (a fault injected before the statement, say) was never the SQL's: it passes as it is.
  if (classified === e || classified.transient || (e instanceof Error && (e as { code?: unknown }).code === undefined)) return classified;
  const err = e as { message?: string; code?: string; position?: string; hint?: string };
  const line = lineOf(err.position, place, sent);
  const hint = err.hint ? ` (hint: ${err.hint})` : '';
  return new TerminalError(
    'config',
    `${place.file}:${line}: ${place.what}: the warehouse said ${JSON.stringify(err.message ?? String(e))}${hint} (SQLSTATE ${err.code}) while ${doing}; expected SQL that runs against the warehouse's tables`,
    { code: 'config.view-sql', cause: e },
  );
}

function lineOf(position: string | undefined, place: UserSqlPlace, sent: WrappedSql): number {
  const at = Number(position);
  if (!Number.isInteger(at) || at < 1 || sent.userOffset < 0) return place.startLine;
  const offset = at - 1 - sent.userOffset;
  // A position in Reef's wrapper (the derived table's parentheses) has no line of its own: the text's first line stands for it.
  const length = [...place.text].length;
  if (offset < 0 || offset > length) return place.startLine;
  return lineOfCodePoint({ text: place.text, startLine: place.startLine }, offset);
}
