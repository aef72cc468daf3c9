/**
 * A flow schedule (`every 15 minutes`, or a 5-field UTC cron) as an
 * EventBridge Scheduler expression. Parsed by the same `parseSchedule` the
 * local runtime uses, so AWS and `reef dev` fire on the same timelabels.
 */
import { parseSchedule, type CronSchedule } from '../shared/timelabel.ts';

const DAY_MINUTES = 24 * 60;

function rate(n: number, unit: 'minute' | 'hour' | 'day'): string {
  // AWS rejects `rate(1 minutes)` and `rate(5 minute)`: the unit agrees with the number.
  return `rate(${n} ${n === 1 ? unit : `${unit}s`})`;
}

/**
 * A sorted value list as a short AWS cron field: `*`, `start/step` when it is a
 * step from its first value to the end of the range, otherwise ranges and
 * values. The parser expanded the user's field; compressing keeps the
 * expression far under Scheduler's 256-character limit.
 */
function field(values: readonly number[], min: number, max: number, allowStep: boolean): string {
  if (values.length === max - min + 1) return '*';
  if (allowStep && values.length >= 3) {
    const step = values[1]! - values[0]!;
    const even = values.every((v, i) => i === 0 || v - values[i - 1]! === step);
    if (even && values[values.length - 1]! + step > max) return `${values[0]}/${step}`;
  }
  const parts: string[] = [];
  for (let i = 0; i < values.length; ) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === values[j]! + 1) j++;
    parts.push(j > i ? `${values[i]}-${values[j]}` : `${values[i]}`);
    i = j + 1;
  }
  return parts.join(',');
}

function cron(s: CronSchedule, text: string): string {
  const minutes = field(s.minutes, 0, 59, true);
  const hours = field(s.hours, 0, 23, true);
  const months = field(s.months, 1, 12, true);
  const allDom = s.daysOfMonth.length === 31;
  const allDow = s.daysOfWeek.length === 7;
  // Standard cron ORs the two day fields when both are written out; then one
  // full field means every day.
  const everyDay = s.dayMatchesEither ? allDom || allDow : allDom && allDow;
  // AWS cron cannot combine the two day fields at all: one of them must be `?`.
  if (!everyDay && !allDom && !allDow) {
    throw new Error(
      `schedule ${JSON.stringify(text)}: EventBridge Scheduler cannot restrict both day-of-month and day-of-week; ` +
        'expected `*` in one of the two day fields',
    );
  }
  let dom = '?';
  let dow = '?';
  if (everyDay) dow = '*';
  else if (allDom) dow = field(s.daysOfWeek.map((d) => d + 1), 1, 7, false); // Unix Sunday is 0, AWS Sunday is 1; AWS documents no `/` here.
  else dom = field(s.daysOfMonth, 1, 31, true);
  return `cron(${minutes} ${hours} ${dom} ${months} ${dow} *)`;
}

/** `every 15 minutes` → `rate(15 minutes)`; `0 2 * * 1-5` → `cron(0 2 ? * 2-6 *)`. Always UTC. */
export function toScheduleExpression(schedule: string): string {
  const s = parseSchedule(schedule);
  if (s.kind === 'cron') return cron(s, schedule);
  const m = s.periodMinutes;
  if (m % DAY_MINUTES === 0) return rate(m / DAY_MINUTES, 'day');
  if (m % 60 === 0) return rate(m / 60, 'hour');
  return rate(m, 'minute');
}
