/**
 * The header comment of a view file:
 *
 *   /**
 *    * @refresh 1 hour
 *    * @mode merge
 *    * @keys customer_id
 *    * @check not_null(customer_id)
 *    *\/
 *   SELECT ...
 *
 * The header lives in a comment so the body stays plain SQL that can be pasted
 * into a console as is; the parser never sees it (libpg-query reads only
 * PostgreSQL, and the header is Reef's, not the warehouse's).
 */
import { parseSchedule } from '../timelabel.ts';
import type { FlowProblem } from '../flow/problems.ts';
import { closest } from '../flow/spelling.ts';
import type { ViewCheck, ViewHeader, ViewMode } from './types.ts';

export const VIEW_TAGS = ['refresh', 'mode', 'keys', 'check', 'freshness'] as const;
/** Every tag but @check, which may repeat. */
type SingleTag = Exclude<(typeof VIEW_TAGS)[number], 'check'>;

export const VIEW_MODES: readonly ViewMode[] = ['replace', 'append', 'merge'];
export const CHECK_KINDS = ['not_null', 'unique', 'accepted_values', 'row_count', 'sql'] as const;

/**
 * Unquoted names only: the warehouse folds them to lowercase, and so do we,
 * so `@keys Customer_ID` names the column the SQL calls customer_id.
 */
const COLUMN_NAME = /^[A-Za-z_][A-Za-z0-9_$]*$/;

const HEADER_FORM = 'a header comment /** ... */ at the top of the file, holding at least "@refresh <interval>" and "@mode replace|append|merge"';

export interface ViewFile {
  /** Undefined when the header has problems (they are in `problems`). */
  header: ViewHeader | undefined;
  /** Everything after the header, byte for byte. */
  body: string;
  bodyStartLine: number;
  problems: FlowProblem[];
}

/** One tag with its value; a value spans the lines up to the next tag (only `@check sql` may use more than one). */
interface Tag {
  name: string;
  value: string;
  line: number;
  /** Lines after the tag's own that carry text. */
  extraLines: number;
}

/** Split a view file into header and body and read the header's tags. */
export function parseViewFile(file: string, text: string): ViewFile {
  const problems: FlowProblem[] = [];
  const lead = /^\uFEFF?\s*/.exec(text)![0];
  if (!text.startsWith('/**', lead.length)) {
    const found = text.startsWith('/*', lead.length) ? 'a comment opened with /* (one star)' : lead.length === text.length ? 'an empty file' : 'no header';
    problems.push({ file, line: lineAt(text, lead.length), message: `header: found ${found}, expected ${HEADER_FORM}` });
    return { header: undefined, body: text, bodyStartLine: 1, problems };
  }
  const open = lead.length;
  const close = text.indexOf('*/', open + 3);
  if (close < 0) {
    problems.push({ file, line: lineAt(text, open), message: 'header: the comment opened here is never closed with */, expected the header to end before the SQL' });
    return { header: undefined, body: '', bodyStartLine: lineAt(text, text.length), problems };
  }
  // The body starts on the line after `*/` unless SQL follows it on the same line.
  let bodyStart = close + 2;
  const restOfLine = /^[ \t]*\r?\n/.exec(text.slice(bodyStart));
  if (restOfLine !== null) bodyStart += restOfLine[0].length;
  const body = text.slice(bodyStart);
  const bodyStartLine = lineAt(text, bodyStart);

  const firstLine = lineAt(text, open);
  const inner = text.slice(open + 3, close).split(/\r?\n/);
  const { description, tags } = readTags(inner, firstLine);
  const header = headerFromTags(file, tags, firstLine, problems);
  if (description !== '' && header !== undefined) header.description = description;
  return { header: problems.length === 0 ? header : undefined, body, bodyStartLine, problems };
}

/** 1-based line of a character offset. */
function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** Strip the comment's decoration: leading spaces and one `*` and the space after it. */
function commentText(line: string): string {
  return line.replace(/^\s*\*(?!\/) ?/, '').replace(/\s+$/, '');
}

function readTags(lines: string[], firstLine: number): { description: string; tags: Tag[] } {
  const description: string[] = [];
  const tags: Tag[] = [];
  lines.forEach((raw, i) => {
    // The first line's text follows `/**` directly: `/** @refresh 1 hour`.
    const text = i === 0 ? raw.trim() : commentText(raw);
    const tag = /^@([A-Za-z_][\w-]*)(.*)$/s.exec(text);
    if (tag !== null) {
      tags.push({ name: tag[1], value: tag[2].trim(), line: firstLine + i, extraLines: 0 });
    } else if (tags.length === 0) {
      if (text.trim() !== '' || description.length > 0) description.push(text);
    } else {
      const last = tags[tags.length - 1];
      last.value += `\n${text}`;
      if (text.trim() !== '') last.extraLines++;
    }
  });
  return { description: description.join('\n').trim(), tags };
}

function headerFromTags(file: string, tags: Tag[], headerLine: number, problems: FlowProblem[]): ViewHeader | undefined {
  const fail = (line: number, message: string): undefined => {
    problems.push({ file, line, message });
    return undefined;
  };
  const single = new Map<SingleTag, Tag>();
  const checks: ViewCheck[] = [];
  const seenChecks = new Map<string, number>();
  for (const tag of tags) {
    // Blank lines after a tag belong to it; they are not part of its value.
    tag.value = tag.value.trim();
    const name = tag.name;
    if (!(VIEW_TAGS as readonly string[]).includes(name)) {
      const guess = closest(name, VIEW_TAGS);
      fail(tag.line, `@${name}: found an unknown tag${guess === undefined ? '' : ` (did you mean @${guess}?)`}, expected one of ${VIEW_TAGS.map((t) => `@${t}`).join(', ')}`);
      continue;
    }
    if (name !== 'check' && tag.extraLines > 0) {
      fail(tag.line + 1, `@${name}: found more text on the lines after the tag, expected its value on the tag's own line (only "@check sql" may span lines)`);
      // Read the tag's own line anyway, so the tag does not also count as missing.
      tag.value = tag.value.split('\n')[0].trim();
    }
    if (name === 'check') {
      const check = parseCheck(file, tag, problems);
      if (check === undefined) continue;
      const key = JSON.stringify({ ...check, line: 0 });
      const first = seenChecks.get(key);
      if (first !== undefined) fail(tag.line, `@check: found the same check again (first on line ${first}), expected each check once`);
      else seenChecks.set(key, tag.line);
      checks.push(check);
      continue;
    }
    const first = single.get(name as SingleTag);
    if (first !== undefined) {
      fail(tag.line, `@${name}: found a second @${name} (first on line ${first.line}), expected it once`);
      continue;
    }
    single.set(name as SingleTag, tag);
  }

  const tagLines: ViewHeader['tagLines'] = {};
  for (const [name, tag] of single) tagLines[name] = tag.line;

  const refreshTag = single.get('refresh');
  let refresh: ViewHeader['refresh'] | undefined;
  if (refreshTag === undefined) {
    fail(headerLine, '@refresh: missing, expected "@refresh <interval>" such as "@refresh 1 hour" (required: how often the view is refreshed)');
  } else {
    try {
      refresh = parseSchedule(refreshTag.value, '@refresh');
    } catch (e) {
      fail(refreshTag.line, (e as Error).message);
    }
  }

  const modeTag = single.get('mode');
  let mode: ViewMode | undefined;
  if (modeTag === undefined) {
    fail(headerLine, `@mode: missing, expected "@mode ${VIEW_MODES.join('|')}" (required: how a refresh writes the view)`);
  } else if (!(VIEW_MODES as readonly string[]).includes(modeTag.value)) {
    fail(modeTag.line, `@mode: found ${JSON.stringify(modeTag.value)}, expected one of ${VIEW_MODES.join(', ')}`);
  } else {
    mode = modeTag.value as ViewMode;
  }

  const keysTag = single.get('keys');
  let keys: string[] = [];
  if (keysTag !== undefined) {
    keys = columnList(file, '@keys', keysTag.value, keysTag.line, problems) ?? [];
    if (mode !== undefined && mode !== 'merge') {
      fail(keysTag.line, `@keys: found keys with @mode ${mode}, expected @keys only with @mode merge (to assert uniqueness, use @check unique(...))`);
    }
  } else if (mode === 'merge') {
    fail(modeTag!.line, '@keys: missing, expected "@keys <column>[, <column>]" with @mode merge (a merge upserts and deletes rows by their keys)');
  }

  const freshnessTag = single.get('freshness');
  let freshnessMinutes: number | undefined;
  if (freshnessTag !== undefined) {
    freshnessMinutes = parseDuration(freshnessTag.value);
    if (freshnessMinutes === undefined) {
      fail(freshnessTag.line, `@freshness: found ${JSON.stringify(freshnessTag.value)}, expected a duration "N minutes", "N hours" or "N days", e.g. "@freshness 3 hours"`);
    } else if (refresh?.kind === 'interval' && freshnessMinutes < refresh.periodMinutes) {
      fail(
        freshnessTag.line,
        `@freshness: found ${JSON.stringify(freshnessTag.value)}, shorter than the @refresh period ${JSON.stringify(refreshTag!.value)}, ` +
          'expected at least the refresh period (the view cannot be fresher than it is refreshed)',
      );
    }
  }

  if (refresh === undefined || mode === undefined) return undefined;
  const header: ViewHeader = { refresh, refreshText: refreshTag!.value, mode, keys, checks, tagLines };
  if (freshnessMinutes !== undefined) header.freshnessMinutes = freshnessMinutes;
  return header;
}

const DURATION_UNITS: Readonly<Record<string, number>> = { minute: 1, minutes: 1, hour: 60, hours: 60, day: 1440, days: 1440 };

function parseDuration(text: string): number | undefined {
  const m = /^(\d+)\s+([a-z]+)$/i.exec(text.trim());
  const unit = m === null ? undefined : DURATION_UNITS[m[2].toLowerCase()];
  if (m === null || unit === undefined || Number(m[1]) < 1) return undefined;
  return Number(m[1]) * unit;
}

function columnList(file: string, field: string, text: string, line: number, problems: FlowProblem[]): string[] | undefined {
  const names = text.split(',').map((s) => s.trim());
  const bad = names.filter((n) => !COLUMN_NAME.test(n));
  if (text.trim() === '' || bad.length > 0) {
    const found = text.trim() === '' ? 'nothing' : `${bad.map((b) => JSON.stringify(b)).join(', ')}`;
    problems.push({ file, line, message: `${field}: found ${found}, expected column names separated by commas (letters, digits, _; unquoted)` });
    return undefined;
  }
  const lower = names.map((n) => n.toLowerCase());
  const dup = lower.find((n, i) => lower.indexOf(n) !== i);
  if (dup !== undefined) {
    problems.push({ file, line, message: `${field}: found column "${dup}" twice, expected each column once` });
    return undefined;
  }
  return lower;
}

const CHECK_FORMS: Readonly<Record<(typeof CHECK_KINDS)[number], string>> = {
  not_null: 'not_null(<column>)',
  unique: 'unique(<column>[, <column>])',
  accepted_values: "accepted_values(<column>, 'a', 'b', ...)",
  row_count: 'row_count(<min>, <max>)',
  sql: 'sql <SELECT returning the failing rows>',
};

const ALL_CHECK_FORMS = CHECK_KINDS.map((k) => CHECK_FORMS[k]).join('; ');

function parseCheck(file: string, tag: Tag, problems: FlowProblem[]): ViewCheck | undefined {
  const fail = (message: string): undefined => {
    problems.push({ file, line: tag.line, message: `@check: ${message}` });
    return undefined;
  };
  const line = tag.line;
  const sql = /^sql(?:\s+([\s\S]*))?$/.exec(tag.value);
  if (sql !== null) {
    const text = (sql[1] ?? '').replace(/\s+$/, '');
    if (text === '') return fail('found "sql" with no query, expected "sql <SELECT returning the failing rows>"');
    return { kind: 'sql', sql: text, line };
  }
  if (tag.extraLines > 0) return fail(`found a ${tag.value.split('(')[0].trim()} check over several lines, expected it on one line (only "@check sql" may span lines)`);
  const call = /^([A-Za-z_]+)\s*\((.*)\)$/.exec(tag.value.trim());
  if (call === null) return fail(`found ${JSON.stringify(tag.value.trim())}, expected one of ${ALL_CHECK_FORMS}`);
  const kind = call[1];
  if (!(CHECK_KINDS as readonly string[]).includes(kind)) {
    const guess = closest(kind, CHECK_KINDS);
    return fail(`found unknown check "${kind}"${guess === undefined ? '' : ` (did you mean ${guess}?)`}, expected one of ${ALL_CHECK_FORMS}`);
  }
  const form = CHECK_FORMS[kind as (typeof CHECK_KINDS)[number]];
  const args = splitArguments(call[2]);
  if (args === undefined) return fail(`${kind}: found an unclosed quote in ${JSON.stringify(call[2])}, expected ${form}`);
  const column = (text: string): string | undefined => (COLUMN_NAME.test(text) ? text.toLowerCase() : undefined);
  switch (kind) {
    case 'not_null': {
      const c = args.length === 1 ? column(args[0]) : undefined;
      return c === undefined ? fail(`not_null: found (${call[2]}), expected ${form} with one column name`) : { kind, column: c, line };
    }
    case 'unique': {
      const cols = columnList(file, '@check: unique', call[2], line, problems);
      return cols === undefined ? undefined : { kind, columns: cols, line };
    }
    case 'accepted_values': {
      const c = args.length > 0 ? column(args[0]) : undefined;
      const values = args.slice(1).map(literal);
      if (c === undefined || values.length === 0 || values.some((v) => v === undefined)) {
        return fail(`accepted_values: found (${call[2]}), expected ${form}: a column name, then one or more 'quoted' texts or numbers`);
      }
      return { kind, column: c, values: values as (string | number)[], line };
    }
    default: {
      const [min, max] = args.map((a) => (/^\d+$/.test(a) ? Number(a) : undefined));
      if (args.length !== 2 || min === undefined || max === undefined) {
        return fail(`row_count: found (${call[2]}), expected ${form} with two whole numbers, e.g. row_count(1, 1000000)`);
      }
      if (min > max) return fail(`row_count: found min ${min} above max ${max}, expected min <= max`);
      return { kind: 'row_count', min, max, line };
    }
  }
}

/** Split on commas outside single quotes; undefined when a quote is left open. */
function splitArguments(text: string): string[] | undefined {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of text) {
    if (ch === "'") quoted = !quoted;
    if (ch === ',' && !quoted) {
      out.push(cur.trim());
      cur = '';
    } else {
      cur += ch;
    }
  }
  if (quoted) return undefined;
  if (cur.trim() !== '' || out.length > 0) out.push(cur.trim());
  return out;
}

/** A SQL literal: 'text' (with '' for a quote) or a number. */
function literal(text: string): string | number | undefined {
  if (/^'(?:[^']|'')*'$/.test(text)) return text.slice(1, -1).replace(/''/g, "'");
  if (/^-?\d+(?:\.\d+)?$/.test(text)) return Number(text);
  return undefined;
}
