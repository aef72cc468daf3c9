/**
 * From positions in SQL text to lines of the file it came from. The parser
 * counts node `location`s in UTF-8 bytes and error `cursorPosition`s in
 * characters (code points), both from 0; a user wants the file's line.
 */

export interface SqlText {
  text: string;
  /** File line on which `text` begins. */
  startLine: number;
}

/** File line of a UTF-8 byte offset into the text (a parse tree `location`). */
export function lineOfByte(sql: SqlText, byteOffset: number): number {
  const before = Buffer.from(sql.text, 'utf8').subarray(0, Math.max(0, byteOffset)).toString('utf8');
  return sql.startLine + countNewlines(before);
}

/** File line of a code point offset into the text (a SqlError's `cursorPosition`). */
export function lineOfCodePoint(sql: SqlText, codePointOffset: number): number {
  let newlines = 0;
  let i = 0;
  for (const ch of sql.text) {
    if (i++ >= codePointOffset) break;
    if (ch === '\n') newlines++;
  }
  return sql.startLine + newlines;
}

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}
