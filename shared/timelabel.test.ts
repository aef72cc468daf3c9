import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TerminalError } from './errors.ts';
import {
  MAX_TIMELABEL_RANGE,
  alignedTimelabel,
  formatSchedule,
  fromTimelabel,
  isAligned,
  isTimelabel,
  lastCompleteTimelabel,
  nextPeriodStart,
  parseSchedule,
  periodEnd,
  periodStart,
  previousTimelabel,
  timelabelRange,
  toTimelabel,
  type Schedule,
} from './timelabel.ts';

const MINUTE = 60_000;
const at = (iso: string): Date => new Date(iso);
const hourly = parseSchedule('every hour');
const quarter = parseSchedule('every 15 minutes');
const daily = parseSchedule('every day');
const weekdays2am = parseSchedule('0 2 * * 1-5');

/** Asserts `fn` throws a TerminalError with this category and code, and returns its message. */
function errorOf(fn: () => unknown, category: string, code: string): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof TerminalError, `expected a TerminalError, got ${String(e)}`);
    assert.equal(e.category, category);
    assert.equal(e.code, code);
    return e.message;
  }
  assert.fail('expected an error, none was thrown');
}

// ---------------------------------------------------------------------------
// Examples

test('hourly at 09:10 processes the 08:00 period, which ends at 09:00', () => {
  assert.equal(lastCompleteTimelabel(hourly, at('2026-03-05T09:10:00Z')), '20260305080000');
  assert.deepEqual(periodEnd(hourly, '20260305080000'), at('2026-03-05T09:00:00Z'));
  assert.deepEqual(periodStart(hourly, at('2026-03-05T09:10:00Z')), at('2026-03-05T09:00:00Z'));
});

test('hourly: the 08:00 period completes exactly at 09:00:00.000, not a millisecond earlier', () => {
  assert.equal(lastCompleteTimelabel(hourly, at('2026-03-05T09:00:00.000Z')), '20260305080000');
  assert.equal(lastCompleteTimelabel(hourly, at('2026-03-05T08:59:59.999Z')), '20260305070000');
});

test('every 15 minutes: periods start at :00, :15, :30, :45', () => {
  assert.equal(lastCompleteTimelabel(quarter, at('2026-03-05T09:10:00Z')), '20260305084500');
  assert.deepEqual(periodStart(quarter, at('2026-03-05T09:44:59.999Z')), at('2026-03-05T09:30:00Z'));
  assert.deepEqual(timelabelRange(quarter, '20260305080000', '20260305090000'), [
    '20260305080000',
    '20260305081500',
    '20260305083000',
    '20260305084500',
    '20260305090000',
  ]);
});

test('daily: the whole UTC day up to 23:59:59.999 belongs to one period', () => {
  assert.deepEqual(periodStart(daily, at('2026-03-05T23:59:59.999Z')), at('2026-03-05T00:00:00Z'));
  assert.equal(lastCompleteTimelabel(daily, at('2026-03-05T23:59:59.999Z')), '20260304000000');
  assert.equal(lastCompleteTimelabel(daily, at('2026-03-06T00:00:00.000Z')), '20260305000000');
  assert.deepEqual(periodEnd(daily, '20260305000000'), at('2026-03-06T00:00:00Z'));
});

test('cron */15 fires exactly when "every 15 minutes" periods start', () => {
  const cron = parseSchedule('*/15 * * * *');
  assert.equal(cron.kind, 'cron');
  assert.deepEqual(
    timelabelRange(cron, '20260305000000', '20260306000000'),
    timelabelRange(quarter, '20260305000000', '20260306000000'),
  );
  assert.equal(lastCompleteTimelabel(cron, at('2026-03-05T09:10:00Z')), '20260305084500');
});

test('cron 0 2 * * 1-5: a period runs from one weekday 02:00 to the next, Friday to Monday', () => {
  // 2026-03-06 is a Friday, 2026-03-09 a Monday.
  assert.equal(lastCompleteTimelabel(weekdays2am, at('2026-03-09T03:00:00Z')), '20260306020000');
  assert.deepEqual(periodEnd(weekdays2am, '20260306020000'), at('2026-03-09T02:00:00Z'));
  assert.equal(nextPeriodStart(weekdays2am, '20260306020000'), '20260309020000');
  assert.equal(previousTimelabel(weekdays2am, '20260309020000'), '20260306020000');
  // On Saturday the latest fire is Friday 02:00, so the last complete period is Thursday's.
  assert.equal(lastCompleteTimelabel(weekdays2am, at('2026-03-07T12:00:00Z')), '20260305020000');
  assert.deepEqual(periodStart(weekdays2am, at('2026-03-08T23:59:00Z')), at('2026-03-06T02:00:00Z'));
});

test('cron day-of-week 7 and 0 both mean Sunday', () => {
  assert.deepEqual(parseSchedule('0 12 * * 7'), { ...parseSchedule('0 12 * * 0'), expression: '0 12 * * 7' });
  assert.equal(nextPeriodStart(parseSchedule('0 12 * * 7'), '20260301120000'), '20260308120000');
  assert.deepEqual(parseSchedule('0 0 * * 5-7'), { ...parseSchedule('0 0 * * 0,5,6'), expression: '0 0 * * 5-7' });
});

test('cron lists, ranges and steps expand to the expected values', () => {
  const s = parseSchedule('0-30/10 8-10,20 1,15 */4 *');
  assert.equal(s.kind, 'cron');
  if (s.kind !== 'cron') return;
  assert.deepEqual(s.minutes, [0, 10, 20, 30]);
  assert.deepEqual(s.hours, [8, 9, 10, 20]);
  assert.deepEqual(s.daysOfMonth, [1, 15]);
  assert.deepEqual(s.months, [1, 5, 9]);
  assert.deepEqual(s.daysOfWeek, [0, 1, 2, 3, 4, 5, 6]);
});

test('cron with both day fields restricted fires when either matches (standard cron)', () => {
  // April 2026: Fridays are the 3rd, 10th, 17th, 24th; the 13th is a Monday.
  const s = parseSchedule('0 0 13 * 5');
  assert.deepEqual(timelabelRange(s, '20260403000000', '20260424000000'), [
    '20260403000000',
    '20260410000000',
    '20260413000000',
    '20260417000000',
    '20260424000000',
  ]);
});

test('cron with a day field starting with * requires both day fields to match', () => {
  // Odd days that are Fridays: April 3rd and 17th, May 1st.
  const s = parseSchedule('0 0 */2 * 5');
  assert.deepEqual(timelabelRange(s, '20260403000000', '20260501000000'), [
    '20260403000000',
    '20260417000000',
    '20260501000000',
  ]);
});

test('formatSchedule gives canonical text that parses back to the same schedule', () => {
  const cases: [string, string][] = [
    ['every 60 minutes', 'every hour'],
    ['every 1 hour', 'every hour'],
    ['Every 2 Hours', 'every 2 hours'],
    ['15 minutes', 'every 15 minutes'],
    ['every minute', 'every minute'],
    ['every 1440 minutes', 'every day'],
    ['every 24 hours', 'every day'],
    ['every 1 day', 'every day'],
    ['every 120 minutes', 'every 2 hours'],
    ['  */15   *  * *  * ', '*/15 * * * *'],
  ];
  for (const [text, canonical] of cases) {
    const s = parseSchedule(text);
    assert.equal(formatSchedule(s), canonical, text);
    assert.deepEqual(parseSchedule(formatSchedule(s)), s, text);
  }
  assert.deepEqual(parseSchedule('every 60 minutes'), { kind: 'interval', periodMinutes: 60 });
});

test('isAligned says whether a timelabel starts a period', () => {
  assert.equal(isAligned(hourly, '20260305080000'), true);
  assert.equal(isAligned(hourly, '20260305081500'), false);
  assert.equal(isAligned(quarter, '20260305081500'), true);
  assert.equal(isAligned(weekdays2am, '20260306020000'), true);
  assert.equal(isAligned(weekdays2am, '20260307020000'), false); // Saturday
  assert.throws(() => isAligned(hourly, '2026030508'), { code: 'config.timelabel' });
});

test('alignedTimelabel: hourly + daily switch at the next midnight, strictly after', () => {
  assert.equal(alignedTimelabel([hourly, daily], '20260305081500'), '20260306000000');
  assert.equal(alignedTimelabel([hourly, daily], '20260306000000'), '20260307000000');
  assert.equal(alignedTimelabel([quarter, hourly], '20260305081500'), '20260305090000');
  assert.equal(alignedTimelabel([quarter], '20260305081500'), '20260305083000');
  // 2 h and 3 h periods share starts every 6 h.
  assert.equal(
    alignedTimelabel([parseSchedule('every 2 hours'), parseSchedule('every 3 hours')], '20260305010000'),
    '20260305060000',
  );
});

test('alignedTimelabel with a cron schedule finds its next fire that the intervals share', () => {
  // After Friday 02:15 the next weekday 02:00 is Monday.
  assert.equal(alignedTimelabel([hourly, weekdays2am], '20260306021500'), '20260309020000');
  assert.equal(alignedTimelabel([parseSchedule('every 6 hours'), parseSchedule('0 */4 * * *')], '20260305010000'), '20260305120000');
});

test('alignedTimelabel refuses schedules that never start a period together', () => {
  const message = errorOf(
    () => alignedTimelabel([parseSchedule('0 1 * * *'), parseSchedule('0 2 * * *')], '20260305000000'),
    'config',
    'config.schedule_alignment',
  );
  assert.match(message, /"0 1 \* \* \*", "0 2 \* \* \*"/);
  assert.match(message, /after 20260305000000/);
  errorOf(() => alignedTimelabel([], '20260305000000'), 'internal', 'internal.schedule');
});

// ---------------------------------------------------------------------------
// Boundaries

test('month end: Jan 31 is followed by Feb 1', () => {
  assert.equal(nextPeriodStart(daily, '20260131000000'), '20260201000000');
  assert.equal(nextPeriodStart(hourly, '20260131230000'), '20260201000000');
  assert.equal(previousTimelabel(daily, '20260201000000'), '20260131000000');
  const monthly = parseSchedule('0 0 1 * *');
  assert.deepEqual(timelabelRange(monthly, '20260101000000', '20260301000000'), [
    '20260101000000',
    '20260201000000',
    '20260301000000',
  ]);
  // The 31st exists only in some months: January's is followed by March's.
  assert.equal(nextPeriodStart(parseSchedule('0 0 31 * *'), '20260131000000'), '20260331000000');
});

test('leap days: 2024-02-29 and 2000-02-29 exist; 2023-02-29 and 2100-02-29 do not', () => {
  assert.deepEqual(fromTimelabel('20240229000000'), at('2024-02-29T00:00:00Z'));
  assert.deepEqual(fromTimelabel('20000229120000'), at('2000-02-29T12:00:00Z'));
  assert.equal(nextPeriodStart(daily, '20240228000000'), '20240229000000');
  assert.equal(nextPeriodStart(daily, '20240229000000'), '20240301000000');
  assert.equal(nextPeriodStart(daily, '20230228000000'), '20230301000000');
  assert.match(errorOf(() => fromTimelabel('20230229000000'), 'config', 'config.timelabel'), /February 2023 has 28 days/);
  assert.match(errorOf(() => fromTimelabel('21000229000000'), 'config', 'config.timelabel'), /February 2100 has 28 days/);
  assert.equal(isTimelabel('20240229000000'), true);
  assert.equal(isTimelabel('20230229000000'), false);
  assert.equal(isTimelabel('21000229000000'), false);
  // A Feb 29 cron skips 2100, which is not a leap year.
  const leap = parseSchedule('0 0 29 2 *');
  assert.equal(nextPeriodStart(leap, '20240229000000'), '20280229000000');
  assert.equal(nextPeriodStart(leap, '20960229000000'), '21040229000000');
});

test('year end: Dec 31 23:00 is followed by Jan 1 00:00', () => {
  assert.equal(nextPeriodStart(hourly, '20261231230000'), '20270101000000');
  assert.equal(previousTimelabel(daily, '20270101000000'), '20261231000000');
  assert.equal(lastCompleteTimelabel(daily, at('2027-01-01T00:00:00Z')), '20261231000000');
  assert.equal(lastCompleteTimelabel(hourly, at('2027-01-01T00:30:00Z')), '20261231230000');
});

test('interval periods are aligned to the Unix epoch', () => {
  assert.deepEqual(periodStart(parseSchedule('every 6 hours'), at('1970-01-01T05:59:59.999Z')), at('1970-01-01T00:00:00Z'));
  assert.deepEqual(periodStart(parseSchedule('every 8 hours'), at('2026-03-05T23:00:00Z')), at('2026-03-05T16:00:00Z'));
  assert.deepEqual(periodStart(daily, at('1969-12-31T12:00:00Z')), at('1969-12-31T00:00:00Z'));
});

test('toTimelabel formats UTC, never local time, and refuses partial minutes', () => {
  assert.equal(toTimelabel(at('2026-03-05T08:00:00Z')), '20260305080000');
  assert.equal(toTimelabel(at('2026-03-05T08:00:00+05:00')), '20260305030000');
  assert.equal(toTimelabel(at('0999-01-01T00:00:00Z')), '09990101000000');
  assert.match(errorOf(() => toTimelabel(at('2026-03-05T08:00:30Z')), 'internal', 'internal.timelabel'), /periodStart/);
  errorOf(() => toTimelabel(new Date(Number.NaN)), 'internal', 'internal.timelabel');
  errorOf(() => periodStart(hourly, new Date('nope')), 'internal', 'internal.timelabel');
});

// ---------------------------------------------------------------------------
// Bad input

test('parseSchedule names the input, the field and the accepted forms', () => {
  const where = 'sources/shop.yaml: schedule';
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['every 7 minutes', /7 minutes does not divide an hour/],
    ['every 45 minutes', /45 minutes does not divide an hour/],
    ['every 90 minutes', /90 minutes is not a whole number of hours that divides a day/],
    ['every 5 hours', /5 hours does not divide 24/],
    ['every 48 hours', /48 hours does not divide 24/],
    ['every 2 days', /2 days is not allowed: periods longer than a day.*"0 0 \* \* 1"/],
    ['every 0 minutes', /"0" is not a whole number of at least 1/],
    ['every 1.5 hours', /"1.5" is not a whole number/],
    ['every 2 weeks', /unknown unit "weeks"/],
    ['every', /needs a unit/],
    ['hourly', /neither an interval.*found 1/],
    ['0 * * *', /5 fields, found 4/],
    ['60 * * * *', /minute field "60": 60 is out of range 0-59/],
    ['0 24 * * *', /hour field "24": 24 is out of range 0-23/],
    ['0 0 0 * *', /day-of-month field "0": 0 is out of range 1-31/],
    ['0 0 * 13 *', /month field "13": 13 is out of range 1-12/],
    ['0 0 * * 8', /day-of-week field "8": 8 is out of range 0-7/],
    ['0 0 * * 5-1', /range 5-1 runs backwards/],
    ['5/15 * * * *', /a step needs a range/],
    ['*/0 * * * *', /step "0" is not a whole number of at least 1/],
    ['1,,2 * * * *', /empty item/],
    ['0 0 * * MON', /"MON" is not a number/],
    ['0 0 30 2 *', /never fires/],
  ];
  for (const [text, problem] of cases) {
    const message = errorOf(() => parseSchedule(text, where), 'config', 'config.schedule');
    assert.ok(message.startsWith(`${where}: found ${JSON.stringify(text)}`), message);
    assert.match(message, problem, text);
    assert.match(message, /expected one of: "every N minutes" with N in 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120/);
    assert.match(message, /5-field UTC cron expression/);
  }
  assert.match(errorOf(() => parseSchedule('nope'), 'config', 'config.schedule'), /^schedule: found "nope"/);
});

test('fromTimelabel names the input, the problem and the expected form', () => {
  const cases: [string, RegExp][] = [
    ['2026030508000', /exactly 14 digits, this has 13/],
    ['202603050800000', /exactly 14 digits, this has 15/],
    ['2026-03-05T08:', /not all digits/],
    ['20260305080030', /seconds are 30/],
    ['20261305080000', /month 13 is out of range 01-12/],
    ['20260005080000', /month 00 is out of range/],
    ['20260230000000', /day 30 does not exist: February 2026 has 28 days/],
    ['20260431000000', /April 2026 has 30 days/],
    ['20260300000000', /day 00 does not exist/],
    ['20260305240000', /hour 24 is out of range 00-23/],
    ['20260305086000', /minute 60 is out of range 00-59/],
  ];
  for (const [tl, problem] of cases) {
    const message = errorOf(() => fromTimelabel(tl, 'reef run --from'), 'config', 'config.timelabel');
    assert.ok(message.startsWith(`reef run --from: found "${tl}"`), message);
    assert.match(message, problem, tl);
    assert.match(message, /expected a timelabel YYYYMMDDHHmm00 in UTC/);
    assert.equal(isTimelabel(tl), false, tl);
  }
  assert.equal(isTimelabel(20260305080000), false);
  assert.match(errorOf(() => fromTimelabel(20260305080000 as unknown as string), 'config', 'config.timelabel'), /a number/);
});

test('timelabelRange names the misaligned end and the nearest aligned timelabels', () => {
  const fromMessage = errorOf(() => timelabelRange(hourly, '20260305081500', '20260305120000'), 'config', 'config.timelabel');
  assert.match(fromMessage, /^from: found 20260305081500, which does not start a period of "every hour"/);
  assert.match(fromMessage, /nearest are 20260305080000 and 20260305090000/);
  const toMessage = errorOf(() => timelabelRange(weekdays2am, '20260306020000', '20260307020000'), 'config', 'config.timelabel');
  assert.match(toMessage, /^to: found 20260307020000, which does not start a period of "0 2 \* \* 1-5"/);
  assert.match(toMessage, /nearest are 20260306020000 and 20260309020000/);
  assert.match(errorOf(() => nextPeriodStart(daily, '20260305010000'), 'config', 'config.timelabel'), /nearest are 20260305000000 and 20260306000000/);
});

test('timelabelRange refuses reversed and overlong ranges', () => {
  assert.match(
    errorOf(() => timelabelRange(hourly, '20260305100000', '20260305080000'), 'config', 'config.timelabel_range'),
    /found from 20260305100000 after to 20260305080000/,
  );
  // A year of minutes is 525600 labels.
  const minutes = parseSchedule('every minute');
  const message = errorOf(() => timelabelRange(minutes, '20260101000000', '20270101000000'), 'config', 'config.timelabel_range');
  assert.match(message, /525601 periods of "every minute"; expected at most 100000/);
  assert.equal(MAX_TIMELABEL_RANGE, 100_000);
  // Cron ranges are counted as they are generated.
  assert.match(
    errorOf(() => timelabelRange(weekdays2am, '20260302020000', '20260331020000', { max: 5 }), 'config', 'config.timelabel_range'),
    /more than 5 periods/,
  );
  assert.deepEqual(timelabelRange(hourly, '20260305080000', '20260305080000'), ['20260305080000']);
});

// ---------------------------------------------------------------------------
// Properties

/**
 * Independent oracles: each schedule paired with a plain predicate saying
 * whether a period starts at a given minute, so the cron search is checked
 * against something it does not share code with.
 */
interface Case {
  readonly text: string;
  readonly starts: (d: Date) => boolean;
  /** Longest gap between starts, in minutes; bounds the brute-force check. */
  readonly maxGap: number;
}

const m = (d: Date): number => d.getUTCMinutes();
const h = (d: Date): number => d.getUTCHours();
const CASES: Case[] = [
  { text: 'every minute', starts: () => true, maxGap: 1 },
  { text: 'every 5 minutes', starts: (d) => m(d) % 5 === 0, maxGap: 5 },
  { text: 'every 15 minutes', starts: (d) => m(d) % 15 === 0, maxGap: 15 },
  { text: 'every hour', starts: (d) => m(d) === 0, maxGap: 60 },
  { text: 'every 2 hours', starts: (d) => m(d) === 0 && h(d) % 2 === 0, maxGap: 120 },
  { text: 'every 480 minutes', starts: (d) => m(d) === 0 && h(d) % 8 === 0, maxGap: 480 },
  { text: 'every day', starts: (d) => m(d) === 0 && h(d) === 0, maxGap: 1440 },
  { text: '*/15 * * * *', starts: (d) => m(d) % 15 === 0, maxGap: 15 },
  {
    text: '0 2 * * 1-5',
    starts: (d) => m(d) === 0 && h(d) === 2 && d.getUTCDay() >= 1 && d.getUTCDay() <= 5,
    maxGap: 3 * 1440,
  },
  { text: '0-30/10 8-17 * * *', starts: (d) => m(d) % 10 === 0 && m(d) <= 30 && h(d) >= 8 && h(d) <= 17, maxGap: 870 },
  {
    text: '30 */6 1,15 * 0',
    starts: (d) => m(d) === 30 && h(d) % 6 === 0 && (d.getUTCDate() === 1 || d.getUTCDate() === 15 || d.getUTCDay() === 0),
    maxGap: 7 * 1440,
  },
  { text: '0 0 1 * *', starts: (d) => m(d) === 0 && h(d) === 0 && d.getUTCDate() === 1, maxGap: 31 * 1440 },
  {
    text: '0 0 29 2 *',
    starts: (d) => m(d) === 0 && h(d) === 0 && d.getUTCDate() === 29 && d.getUTCMonth() === 1,
    maxGap: Number.POSITIVE_INFINITY,
  },
];

const dates = fc.date({
  min: new Date('1970-01-01T00:00:00.000Z'),
  max: new Date('2100-12-31T23:59:59.999Z'),
  noInvalidDate: true,
});
const minuteDates = dates.map((d) => new Date(Math.floor(d.getTime() / MINUTE) * MINUTE));
const RUNS = { numRuns: 100 };

for (const c of CASES) {
  const s: Schedule = parseSchedule(c.text);

  test(`property (${c.text}): periodStart <= d < periodEnd, and the bounds are consecutive starts`, () => {
    fc.assert(
      fc.property(dates, (d) => {
        const start = periodStart(s, d);
        const end = periodEnd(s, toTimelabel(start));
        assert.ok(start.getTime() <= d.getTime() && d.getTime() < end.getTime());
        assert.ok(c.starts(start), `${start.toISOString()} is not a start`);
        assert.ok(c.starts(end), `${end.toISOString()} is not a start`);
        // Brute force: no start strictly between the bounds (skipped where gaps span years).
        if (c.maxGap <= 3 * 1440) {
          for (let t = start.getTime() + MINUTE; t < end.getTime(); t += MINUTE) {
            assert.ok(!c.starts(new Date(t)), `missed a start at ${new Date(t).toISOString()}`);
          }
          assert.ok(end.getTime() - start.getTime() <= c.maxGap * MINUTE);
        }
      }),
      RUNS,
    );
  });

  test(`property (${c.text}): the last complete period ends by now and the next one contains now`, () => {
    fc.assert(
      fc.property(dates, (now) => {
        const last = lastCompleteTimelabel(s, now);
        assert.ok(isAligned(s, last));
        assert.ok(periodEnd(s, last).getTime() <= now.getTime());
        const current = nextPeriodStart(s, last);
        assert.ok(fromTimelabel(current).getTime() <= now.getTime());
        assert.ok(now.getTime() < periodEnd(s, current).getTime());
      }),
      RUNS,
    );
  });

  test(`property (${c.text}): ranges are contiguous and previousTimelabel undoes nextPeriodStart`, () => {
    fc.assert(
      fc.property(dates, fc.integer({ min: 0, max: 30 }), (d, n) => {
        const from = toTimelabel(periodStart(s, d));
        let to = from;
        for (let i = 0; i < n; i++) to = nextPeriodStart(s, to);
        const range = timelabelRange(s, from, to);
        assert.equal(range.length, n + 1);
        assert.equal(range[0], from);
        assert.equal(range[n], to);
        for (let i = 1; i < range.length; i++) {
          assert.equal(range[i], nextPeriodStart(s, range[i - 1]));
          assert.equal(previousTimelabel(s, range[i]), range[i - 1]);
          assert.ok(range[i - 1] < range[i], 'timelabels sort as text in time order');
        }
      }),
      { numRuns: 30 },
    );
  });
}

test('property: toTimelabel and fromTimelabel round-trip, and text order is time order', () => {
  fc.assert(
    fc.property(minuteDates, minuteDates, (a, b) => {
      const tl = toTimelabel(a);
      assert.ok(isTimelabel(tl));
      assert.deepEqual(fromTimelabel(tl), a);
      assert.equal(toTimelabel(fromTimelabel(tl)), tl);
      assert.equal(Math.sign(tl.localeCompare(toTimelabel(b))), Math.sign(a.getTime() - b.getTime()));
    }),
    { numRuns: 500 },
  );
});

test('property: isTimelabel accepts exactly the real calendar minutes', () => {
  const two = (lo: number, hi: number) => fc.integer({ min: lo, max: hi }).map((n) => String(n).padStart(2, '0'));
  const year = fc.oneof(fc.integer({ min: 1970, max: 2100 }), fc.constantFrom(1900, 2000, 2400)).map((n) => String(n).padStart(4, '0'));
  const leap = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const monthDays = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  fc.assert(
    fc.property(year, two(0, 13), two(0, 32), two(0, 24), two(0, 60), fc.constantFrom('00', '30'), (y, mo, d, hh, mi, ss) => {
      const tl = y + mo + d + hh + mi + ss;
      const month = Number(mo);
      const valid =
        month >= 1 &&
        month <= 12 &&
        Number(d) >= 1 &&
        Number(d) <= (month === 2 && leap(Number(y)) ? 29 : monthDays[month - 1]) &&
        Number(hh) <= 23 &&
        Number(mi) <= 59 &&
        ss === '00';
      assert.equal(isTimelabel(tl), valid, tl);
      if (valid) assert.equal(toTimelabel(fromTimelabel(tl)), tl);
      else assert.throws(() => fromTimelabel(tl), { code: 'config.timelabel' });
    }),
    { numRuns: 1000 },
  );
});

test('property: alignedTimelabel is the first common start strictly after', () => {
  const intervals = ['every 5 minutes', 'every 15 minutes', 'every 20 minutes', 'every hour', 'every 3 hours', 'every 8 hours', 'every day'];
  fc.assert(
    fc.property(fc.subarray(intervals, { minLength: 1 }), minuteDates, (texts, d) => {
      const schedules = texts.map((t) => parseSchedule(t));
      const after = toTimelabel(d);
      const result = alignedTimelabel(schedules, after);
      assert.ok(result > after);
      for (const s of schedules) assert.ok(isAligned(s, result), `${result} not aligned to ${formatSchedule(s)}`);
      for (let t = d.getTime() + MINUTE; t < fromTimelabel(result).getTime(); t += MINUTE) {
        const tl = toTimelabel(new Date(t));
        assert.ok(!schedules.every((s) => isAligned(s, tl)), `${tl} is an earlier common start`);
      }
    }),
    { numRuns: 50 },
  );
});
