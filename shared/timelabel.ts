/**
 * Timelabels and schedules.
 *
 * A timelabel is `YYYYMMDDHHmm00` in UTC: the start of the schedule period a
 * batch stands for. Timelabels are the unit of orchestration, versioning and
 * backfill, so everything here is UTC only and every function is pure: no
 * clock is read, the caller passes `now`.
 *
 * A schedule is either a fixed interval (`every 15 minutes`, `every hour`,
 * `every day`) whose periods are aligned to the Unix epoch, or a 5-field UTC
 * cron expression whose periods run from one fire time to the next.
 */
import { TerminalError } from './errors.ts';

const MINUTE_MS = 60_000;
const HOUR_MINUTES = 60;
const DAY_MINUTES = 1440;

/**
 * Why 100000: a year of 5-minute periods is 105120 labels, so the cap admits
 * every realistic backfill of minute-level data yet stops a typo (a year 2062
 * instead of 2026) from planning millions of batches.
 */
export const MAX_TIMELABEL_RANGE = 100_000;

/**
 * The Gregorian calendar repeats exactly every 400 years (146097 days, a whole
 * number of weeks), so a cron expression that does not fire within 400 years
 * never fires at all. This bounds every cron search.
 */
const CRON_SEARCH_YEARS = 400;

/**
 * Why bounded: two schedules may never start a period together (cron
 * `0 1 * * *` and `0 2 * * *`); the leapfrog search in `alignedTimelabel`
 * needs a stopping point to say so instead of looping.
 */
const MAX_ALIGNMENT_STEPS = 100_000;

/** A fixed interval; its length divides a day, so every UTC midnight is a period start. */
export interface IntervalSchedule {
  readonly kind: 'interval';
  /** Normalised: `every 60 minutes`, `every 1 hour` and `every hour` all give 60. */
  readonly periodMinutes: number;
}

/** A 5-field standard cron expression evaluated in UTC. */
export interface CronSchedule {
  readonly kind: 'cron';
  /** The expression as written, whitespace collapsed. */
  readonly expression: string;
  /** Sorted, distinct values of each field. */
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly daysOfMonth: readonly number[];
  readonly months: readonly number[];
  /** 0 = Sunday .. 6 = Saturday (a written 7 is stored as 0). */
  readonly daysOfWeek: readonly number[];
  /**
   * Standard (Vixie) cron rule: when neither day field starts with `*`, a day
   * matches if EITHER field matches (`0 0 13 * 5` fires on the 13th and on
   * every Friday); otherwise both must match.
   */
  readonly dayMatchesEither: boolean;
}

/** Plain data (JSON-serialisable), so plans that hold schedules can be stored. */
export type Schedule = IntervalSchedule | CronSchedule;

// ---------------------------------------------------------------------------
// Errors

function intervalMinuteChoices(): number[] {
  const out: number[] = [];
  for (let n = 1; n <= DAY_MINUTES; n++) {
    if (HOUR_MINUTES % n === 0 || (n % HOUR_MINUTES === 0 && DAY_MINUTES % n === 0)) out.push(n);
  }
  return out;
}

const MINUTE_CHOICES = intervalMinuteChoices();
const HOUR_CHOICES = [1, 2, 3, 4, 6, 8, 12, 24];

const ACCEPTED_SCHEDULES =
  'expected one of: "every N minutes" with N in ' +
  MINUTE_CHOICES.join(', ') +
  '; "every N hours" with N in ' +
  HOUR_CHOICES.join(', ') +
  '; "every minute", "every hour", "every day" ("every" may be left out: "15 minutes"); ' +
  'or a 5-field UTC cron expression "minute hour day-of-month month day-of-week" ' +
  'using numbers, *, lists (1,2), ranges (1-5) and steps (*/15, 0-30/10), e.g. "*/15 * * * *" or "0 2 * * 1-5"';

function scheduleError(text: string, where: string | undefined, problem: string): TerminalError {
  const prefix = where === undefined ? 'schedule' : where;
  return new TerminalError('config', `${prefix}: found ${JSON.stringify(text)}: ${problem}; ${ACCEPTED_SCHEDULES}`, {
    code: 'config.schedule',
  });
}

const TIMELABEL_FORM = 'a timelabel YYYYMMDDHHmm00 in UTC (14 digits, seconds 00, a real calendar date), e.g. 20260305080000';

function timelabelError(label: string, found: unknown, problem: string): TerminalError {
  const shown = typeof found === 'string' ? JSON.stringify(found) : `${String(found)} (a ${typeof found})`;
  return new TerminalError('config', `${label}: found ${shown}: ${problem}; expected ${TIMELABEL_FORM}`, {
    code: 'config.timelabel',
  });
}

/** A Date that cannot be a timelabel is a bug in the caller, not bad user input. */
function internalDateError(what: string, d: Date, problem: string): TerminalError {
  const shown = Number.isNaN(d.getTime()) ? 'Invalid Date' : d.toISOString();
  return new TerminalError('internal', `${what}: found ${shown}: ${problem}`, { code: 'internal.timelabel' });
}

// ---------------------------------------------------------------------------
// Parsing schedules

const UNIT_MINUTES: Readonly<Record<string, number>> = {
  minute: 1,
  minutes: 1,
  hour: HOUR_MINUTES,
  hours: HOUR_MINUTES,
  day: DAY_MINUTES,
  days: DAY_MINUTES,
};

/**
 * Parse a schedule as written in a flow file. `where` names the file and field
 * (`sources/shop.yaml: schedule`) so the error points the user at it.
 */
export function parseSchedule(text: string, where?: string): Schedule {
  if (typeof text !== 'string') {
    throw scheduleError(String(text), where, `a schedule must be text, found a ${typeof text}`);
  }
  const normalised = text.trim().replace(/\s+/g, ' ');
  if (normalised === '') throw scheduleError(text, where, 'the schedule is empty');
  const tokens = normalised.split(' ');
  const first = tokens[0].toLowerCase();
  if (first === 'every' || (tokens.length === 2 && /^\d+$/.test(tokens[0]) && /^[a-z]+$/i.test(tokens[1]))) {
    return parseInterval(text, where, first === 'every' ? tokens.slice(1) : tokens);
  }
  if (tokens.length === 5) return parseCron(text, where, normalised, tokens);
  throw scheduleError(
    text,
    where,
    `this is neither an interval starting with "every" nor a cron expression (a cron expression has 5 fields, found ${tokens.length})`,
  );
}

function parseInterval(text: string, where: string | undefined, tokens: string[]): IntervalSchedule {
  const fail = (problem: string): TerminalError => scheduleError(text, where, problem);
  if (tokens.length === 0) throw fail('"every" needs a unit: minute(s), hour(s) or day(s)');
  if (tokens.length > 2) throw fail('an interval is "every", an optional whole number and a unit');
  const unitText = tokens[tokens.length - 1].toLowerCase();
  const unit = UNIT_MINUTES[unitText];
  if (unit === undefined) throw fail(`unknown unit "${tokens[tokens.length - 1]}", the units are minute(s), hour(s) and day(s)`);
  let n = 1;
  if (tokens.length === 2) {
    if (!/^\d+$/.test(tokens[0]) || Number(tokens[0]) < 1) throw fail(`"${tokens[0]}" is not a whole number of at least 1`);
    n = Number(tokens[0]);
  }
  // Periods must tile each UTC day exactly; otherwise a period would straddle
  // midnight and hourly/daily results could not be aligned for update sets.
  if (unit === 1) {
    if (HOUR_MINUTES % n !== 0 && !(n % HOUR_MINUTES === 0 && DAY_MINUTES % n === 0)) {
      throw fail(
        n < HOUR_MINUTES
          ? `${n} minutes does not divide an hour, so periods would not line up with the hour or with UTC midnight`
          : `${n} minutes is not a whole number of hours that divides a day, so periods would drift across UTC midnight`,
      );
    }
  } else if (unit === HOUR_MINUTES) {
    if (DAY_MINUTES % (n * HOUR_MINUTES) !== 0) {
      throw fail(`${n} hours does not divide 24, so periods would drift across UTC midnight`);
    }
  } else if (n !== 1) {
    throw fail(
      `${n} days is not allowed: periods longer than a day, counted from 1970-01-01, would not line up with ` +
        'calendar weeks or months; use a cron expression instead, e.g. "0 0 * * 1" (weekly, Mondays) or "0 0 1 * *" (monthly)',
    );
  }
  return { kind: 'interval', periodMinutes: n * unit };
}

interface CronField {
  readonly name: string;
  readonly min: number;
  readonly max: number;
}

const CRON_FIELDS: readonly CronField[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day-of-week', min: 0, max: 7 },
];

function parseCron(text: string, where: string | undefined, normalised: string, tokens: string[]): CronSchedule {
  const values = tokens.map((token, i) => parseCronField(text, where, token, CRON_FIELDS[i]));
  const schedule: CronSchedule = {
    kind: 'cron',
    expression: normalised,
    minutes: values[0],
    hours: values[1],
    daysOfMonth: values[2],
    months: values[3],
    daysOfWeek: values[4],
    dayMatchesEither: !tokens[2].startsWith('*') && !tokens[4].startsWith('*'),
  };
  // `0 0 30 2 *` is syntactically fine but names a day that never exists;
  // catching it here beats a search failing at run time.
  if (cronFireAtOrAfter(schedule, 0) === undefined) {
    throw scheduleError(text, where, 'this cron expression never fires (no month in the month field has such a day)');
  }
  return schedule;
}

function parseCronField(text: string, where: string | undefined, token: string, field: CronField): number[] {
  const fail = (problem: string): TerminalError => scheduleError(text, where, `${field.name} field "${token}": ${problem}`);
  const range = `${field.min}-${field.max}`;
  const seen = new Set<number>();
  for (const part of token.split(',')) {
    if (part === '') throw fail('a list has an empty item');
    const pieces = part.split('/');
    if (pieces.length > 2) throw fail(`"${part}" has more than one "/"`);
    const [base, stepText] = pieces;
    let lo: number;
    let hi: number;
    let m: RegExpExecArray | null;
    if (base === '*') {
      lo = field.min;
      hi = field.max;
    } else if (/^\d+$/.test(base)) {
      if (stepText !== undefined) throw fail(`a step needs a range before "/": "*/${stepText}" or "a-b/${stepText}"`);
      lo = hi = Number(base);
    } else if ((m = /^(\d+)-(\d+)$/.exec(base)) !== null) {
      lo = Number(m[1]);
      hi = Number(m[2]);
      if (lo > hi) throw fail(`range ${base} runs backwards; write the smaller number first`);
    } else {
      throw fail(`"${part}" is not a number, *, a list, a range or a step`);
    }
    for (const v of [lo, hi]) {
      if (v < field.min || v > field.max) throw fail(`${v} is out of range ${range}`);
    }
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) < 1) throw fail(`step "${stepText}" is not a whole number of at least 1`);
      step = Number(stepText);
    }
    for (let v = lo; v <= hi; v += step) seen.add(field.name === 'day-of-week' && v === 7 ? 0 : v);
  }
  return [...seen].sort((a, b) => a - b);
}

/** The canonical text of a schedule; `parseSchedule(formatSchedule(s))` gives `s` back. */
export function formatSchedule(s: Schedule): string {
  if (s.kind === 'cron') return s.expression;
  const m = s.periodMinutes;
  if (m === DAY_MINUTES) return 'every day';
  if (m % HOUR_MINUTES === 0) return m === HOUR_MINUTES ? 'every hour' : `every ${m / HOUR_MINUTES} hours`;
  return m === 1 ? 'every minute' : `every ${m} minutes`;
}

// ---------------------------------------------------------------------------
// Timelabels

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function daysInMonth(year: number, month: number): number {
  // Day 0 of the next month is the last day of this one; setUTCFullYear keeps
  // years below 100 literal (Date.UTC would map 0024 to 1924).
  const d = new Date(0);
  d.setUTCFullYear(year, month, 0);
  return d.getUTCDate();
}

const MONTH_NAMES = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/** The timelabel of a Date that falls on a whole UTC minute. */
export function toTimelabel(d: Date): string {
  const ms = d instanceof Date ? d.getTime() : Number.NaN;
  if (Number.isNaN(ms)) throw internalDateError('toTimelabel', new Date(Number.NaN), 'not a valid Date');
  // Truncating silently would hide a caller that forgot periodStart().
  if (ms % MINUTE_MS !== 0) {
    throw internalDateError('toTimelabel', d, 'a timelabel is a whole UTC minute; use periodStart(schedule, date) first');
  }
  const year = d.getUTCFullYear();
  if (year < 0 || year > 9999) throw internalDateError('toTimelabel', d, 'a timelabel year has 4 digits (0000-9999)');
  return (
    pad(year, 4) +
    pad(d.getUTCMonth() + 1, 2) +
    pad(d.getUTCDate(), 2) +
    pad(d.getUTCHours(), 2) +
    pad(d.getUTCMinutes(), 2) +
    '00'
  );
}

/** Why the text is not a timelabel, or undefined when it is one. */
function timelabelProblem(tl: unknown): string | undefined {
  if (typeof tl !== 'string') return 'a timelabel is a string';
  if (!/^\d{14}$/.test(tl)) return `a timelabel is exactly 14 digits, this has ${tl.length} characters${/^\d*$/.test(tl) ? '' : ' (not all digits)'}`;
  const year = Number(tl.slice(0, 4));
  const month = Number(tl.slice(4, 6));
  const day = Number(tl.slice(6, 8));
  const hour = Number(tl.slice(8, 10));
  const minute = Number(tl.slice(10, 12));
  const second = tl.slice(12, 14);
  if (month < 1 || month > 12) return `month ${tl.slice(4, 6)} is out of range 01-12`;
  const days = daysInMonth(year, month);
  if (day < 1 || day > days) return `day ${tl.slice(6, 8)} does not exist: ${MONTH_NAMES[month - 1]} ${tl.slice(0, 4)} has ${days} days`;
  if (hour > 23) return `hour ${tl.slice(8, 10)} is out of range 00-23`;
  if (minute > 59) return `minute ${tl.slice(10, 12)} is out of range 00-59`;
  if (second !== '00') return `seconds are ${second}, a timelabel always ends in 00`;
  return undefined;
}

export function isTimelabel(s: unknown): s is string {
  return timelabelProblem(s) === undefined;
}

/**
 * The start instant of a timelabel. `where` names the input for the error
 * (`reef run --from`); defaults to `timelabel`.
 */
export function fromTimelabel(tl: string, where?: string): Date {
  const problem = timelabelProblem(tl);
  if (problem !== undefined) throw timelabelError(where ?? 'timelabel', tl, problem);
  const d = new Date(0);
  d.setUTCFullYear(Number(tl.slice(0, 4)), Number(tl.slice(4, 6)) - 1, Number(tl.slice(6, 8)));
  d.setUTCHours(Number(tl.slice(8, 10)), Number(tl.slice(10, 12)), 0, 0);
  return d;
}

// ---------------------------------------------------------------------------
// Cron search. Times are whole epoch minutes (integers) internally.

interface CivilDay {
  readonly year: number;
  readonly month: number; // 1-12
  readonly date: number; // 1-31
  readonly weekday: number; // 0 = Sunday
}

function civilDay(day: number): CivilDay {
  const d = new Date(day * DAY_MINUTES * MINUTE_MS);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, date: d.getUTCDate(), weekday: d.getUTCDay() };
}

function dayMatches(c: CronSchedule, cd: CivilDay): boolean {
  const dom = c.daysOfMonth.includes(cd.date);
  const dow = c.daysOfWeek.includes(cd.weekday);
  return c.dayMatchesEither ? dom || dow : dom && dow;
}

/** First minute-of-day >= from that the hour and minute fields allow. */
function firstTimeOfDay(c: CronSchedule, from: number): number | undefined {
  for (const h of c.hours) {
    if ((h + 1) * HOUR_MINUTES <= from) continue;
    for (const m of c.minutes) {
      const t = h * HOUR_MINUTES + m;
      if (t >= from) return t;
    }
  }
  return undefined;
}

/** Last minute-of-day <= to that the hour and minute fields allow. */
function lastTimeOfDay(c: CronSchedule, to: number): number | undefined {
  for (let i = c.hours.length - 1; i >= 0; i--) {
    const h = c.hours[i];
    if (h * HOUR_MINUTES > to) continue;
    for (let j = c.minutes.length - 1; j >= 0; j--) {
      const t = h * HOUR_MINUTES + c.minutes[j];
      if (t <= to) return t;
    }
  }
  return undefined;
}

const CRON_SEARCH_DAYS = CRON_SEARCH_YEARS * 366;

/** The first fire time >= `minute`, or undefined if none within 400 years. */
function cronFireAtOrAfter(c: CronSchedule, minute: number): number | undefined {
  let day = Math.floor(minute / DAY_MINUTES);
  let from = minute - day * DAY_MINUTES;
  const limit = day + CRON_SEARCH_DAYS;
  while (day <= limit) {
    const cd = civilDay(day);
    if (!c.months.includes(cd.month)) {
      // Skipping whole months keeps sparse schedules (`0 0 29 2 *`) cheap.
      day += daysInMonth(cd.year, cd.month) - cd.date + 1;
      from = 0;
      continue;
    }
    if (dayMatches(c, cd)) {
      const t = firstTimeOfDay(c, from);
      if (t !== undefined) return day * DAY_MINUTES + t;
    }
    day += 1;
    from = 0;
  }
  return undefined;
}

/** The last fire time <= `minute`, or undefined if none within 400 years. */
function cronFireAtOrBefore(c: CronSchedule, minute: number): number | undefined {
  let day = Math.floor(minute / DAY_MINUTES);
  let to = minute - day * DAY_MINUTES;
  const limit = day - CRON_SEARCH_DAYS;
  while (day >= limit) {
    const cd = civilDay(day);
    if (!c.months.includes(cd.month)) {
      day -= cd.date;
      to = DAY_MINUTES - 1;
      continue;
    }
    if (dayMatches(c, cd)) {
      const t = lastTimeOfDay(c, to);
      if (t !== undefined) return day * DAY_MINUTES + t;
    }
    day -= 1;
    to = DAY_MINUTES - 1;
  }
  return undefined;
}

function cronSearchFailed(c: CronSchedule, ms: number): TerminalError {
  return new TerminalError(
    'internal',
    `cron "${c.expression}" has no fire time within ${CRON_SEARCH_YEARS} years of ${new Date(ms).toISOString()}; parseSchedule should have refused it`,
    { code: 'internal.schedule' },
  );
}

// ---------------------------------------------------------------------------
// Periods. Internally instants are epoch milliseconds.

function periodMs(s: IntervalSchedule): number {
  return s.periodMinutes * MINUTE_MS;
}

/** Latest period start <= ms. */
function startAtOrBefore(s: Schedule, ms: number): number {
  if (s.kind === 'interval') return Math.floor(ms / periodMs(s)) * periodMs(s);
  const fire = cronFireAtOrBefore(s, Math.floor(ms / MINUTE_MS));
  if (fire === undefined) throw cronSearchFailed(s, ms);
  return fire * MINUTE_MS;
}

/** Earliest period start > ms. */
function startAfter(s: Schedule, ms: number): number {
  if (s.kind === 'interval') return (Math.floor(ms / periodMs(s)) + 1) * periodMs(s);
  const fire = cronFireAtOrAfter(s, Math.floor(ms / MINUTE_MS) + 1);
  if (fire === undefined) throw cronSearchFailed(s, ms);
  return fire * MINUTE_MS;
}

function isStart(s: Schedule, ms: number): boolean {
  if (ms % MINUTE_MS !== 0) return false;
  if (s.kind === 'interval') return ms % periodMs(s) === 0;
  return startAtOrBefore(s, ms) === ms;
}

function requireDate(what: string, d: Date): number {
  const ms = d instanceof Date ? d.getTime() : Number.NaN;
  if (Number.isNaN(ms)) throw internalDateError(what, new Date(Number.NaN), 'not a valid Date');
  return ms;
}

/** Parse `tl` and insist it starts a period of `s`, naming the nearest that do. */
function alignedMs(s: Schedule, tl: string, label: string): number {
  const ms = fromTimelabel(tl, label).getTime();
  if (!isStart(s, ms)) {
    const before = toTimelabel(new Date(startAtOrBefore(s, ms)));
    const after = toTimelabel(new Date(startAfter(s, ms)));
    throw new TerminalError(
      'config',
      `${label}: found ${tl}, which does not start a period of "${formatSchedule(s)}"; ` +
        `expected an aligned timelabel, the nearest are ${before} and ${after}`,
      { code: 'config.timelabel' },
    );
  }
  return ms;
}

/** Start of the period containing `d`. */
export function periodStart(s: Schedule, d: Date): Date {
  return new Date(startAtOrBefore(s, requireDate('periodStart', d)));
}

/** Whether `tl` starts a period of `s`. Throws if `tl` is not a timelabel at all. */
export function isAligned(s: Schedule, tl: string): boolean {
  return isStart(s, fromTimelabel(tl).getTime());
}

/** The timelabel of the period after the one `tl` starts. */
export function nextPeriodStart(s: Schedule, tl: string): string {
  return toTimelabel(new Date(startAfter(s, alignedMs(s, tl, 'timelabel'))));
}

/** The timelabel of the period before the one `tl` starts. */
export function previousTimelabel(s: Schedule, tl: string): string {
  return toTimelabel(new Date(startAtOrBefore(s, alignedMs(s, tl, 'timelabel') - 1)));
}

/** Exclusive end of the period `tl` starts (the next period's start). */
export function periodEnd(s: Schedule, tl: string): Date {
  return new Date(startAfter(s, alignedMs(s, tl, 'timelabel')));
}

/**
 * The timelabel of the last period that is complete at `now`: the period that
 * ends at the latest period start <= now. An hourly job at 09:10 gets 08:00;
 * at exactly 09:00:00.000 the 08:00 period has just completed, so also 08:00.
 */
export function lastCompleteTimelabel(s: Schedule, now: Date): string {
  const currentStart = startAtOrBefore(s, requireDate('lastCompleteTimelabel', now));
  return toTimelabel(new Date(startAtOrBefore(s, currentStart - 1)));
}

export interface TimelabelRangeOptions {
  /** Refuse ranges with more labels than this; default MAX_TIMELABEL_RANGE. */
  readonly max?: number;
}

/** Every timelabel from `from` to `to`, both inclusive and both aligned to `s`. */
export function timelabelRange(s: Schedule, from: string, to: string, options: TimelabelRangeOptions = {}): string[] {
  const max = options.max ?? MAX_TIMELABEL_RANGE;
  const fromMs = alignedMs(s, from, 'from');
  const toMs = alignedMs(s, to, 'to');
  if (fromMs > toMs) {
    throw new TerminalError('config', `range: found from ${from} after to ${to}; expected from <= to`, {
      code: 'config.timelabel_range',
    });
  }
  const tooLong = (count: string): TerminalError =>
    new TerminalError(
      'config',
      `range: found ${from} to ${to}, which is ${count} periods of "${formatSchedule(s)}"; ` +
        `expected at most ${max}; split the range into smaller ones`,
      { code: 'config.timelabel_range' },
    );
  if (s.kind === 'interval') {
    const count = (toMs - fromMs) / periodMs(s) + 1;
    if (count > max) throw tooLong(String(count));
  }
  const out: string[] = [];
  for (let ms = fromMs; ms <= toMs; ms = startAfter(s, ms)) {
    if (out.length === max) throw tooLong(`more than ${max}`);
    out.push(toTimelabel(new Date(ms)));
  }
  return out;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * The first timelabel strictly after `after` on which every schedule starts a
 * period (hourly + daily: the next UTC midnight). An update set switches there
 * so no period of any schedule mixes two versions of the logic.
 */
export function alignedTimelabel(schedules: readonly Schedule[], after: string): string {
  if (schedules.length === 0) {
    throw new TerminalError('internal', 'alignedTimelabel: found no schedules; expected at least one', {
      code: 'internal.schedule',
    });
  }
  const afterMs = fromTimelabel(after, 'after').getTime();
  const crons = schedules.filter((s): s is CronSchedule => s.kind === 'cron');
  let lcmMinutes = 1;
  for (const s of schedules) {
    if (s.kind === 'interval') lcmMinutes = (lcmMinutes / gcd(lcmMinutes, s.periodMinutes)) * s.periodMinutes;
  }
  // Every interval divides a day, so their least common multiple does too and
  // is itself an epoch-aligned interval.
  const combined: IntervalSchedule = { kind: 'interval', periodMinutes: lcmMinutes };
  let candidate = startAfter(combined, afterMs);
  if (crons.length === 0) return toTimelabel(new Date(candidate));
  // Leapfrog: move the candidate to the latest "next start" among all
  // schedules until they agree.
  for (let step = 0; step < MAX_ALIGNMENT_STEPS; step++) {
    let latest = candidate;
    for (const s of [combined, ...crons]) {
      const start = isStart(s, candidate) ? candidate : startAfter(s, candidate);
      if (start > latest) latest = start;
    }
    if (latest === candidate) return toTimelabel(new Date(candidate));
    candidate = latest;
  }
  throw new TerminalError(
    'config',
    `schedules ${schedules.map((s) => JSON.stringify(formatSchedule(s))).join(', ')}: found no time after ${after} ` +
      `at which all of them start a period (searched up to ${new Date(candidate).toISOString()}); ` +
      'expected schedules that share period starts, e.g. "every hour" with "every day" or "0 0 * * *"',
    { code: 'config.schedule_alignment' },
  );
}
