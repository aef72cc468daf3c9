/**
 * Proves that flow schedules become the EventBridge Scheduler expressions that
 * fire at the same moments: rates with AWS's singular/plural units, and Unix
 * cron rewritten into AWS's six fields (`?` in one day field, Sunday = 1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toScheduleExpression } from './schedule.ts';

test('intervals become rate() with the unit AWS expects', () => {
  assert.equal(toScheduleExpression('every 15 minutes'), 'rate(15 minutes)');
  assert.equal(toScheduleExpression('every minute'), 'rate(1 minute)');
  assert.equal(toScheduleExpression('every 1 hour'), 'rate(1 hour)');
  assert.equal(toScheduleExpression('every 60 minutes'), 'rate(1 hour)');
  assert.equal(toScheduleExpression('every 6 hours'), 'rate(6 hours)');
  assert.equal(toScheduleExpression('every 1 day'), 'rate(1 day)');
  assert.equal(toScheduleExpression('every day'), 'rate(1 day)');
});

test('5-field cron becomes 6-field AWS cron with ? in the unrestricted day field', () => {
  assert.equal(toScheduleExpression('0 2 * * *'), 'cron(0 2 ? * * *)');
  assert.equal(toScheduleExpression('*/15 * * * *'), 'cron(0/15 * ? * * *)');
  assert.equal(toScheduleExpression('30 */6 * * *'), 'cron(30 0/6 ? * * *)');
  // Day of month given: day of week is `?`.
  assert.equal(toScheduleExpression('0 0 1 * *'), 'cron(0 0 1 * ? *)');
  assert.equal(toScheduleExpression('15 3 1,15 1-3,6 *'), 'cron(15 3 1,15 1-3,6 ? *)');
});

test('day of week is renumbered: Unix Sunday 0 (or 7) is AWS 1', () => {
  assert.equal(toScheduleExpression('0 2 * * 1-5'), 'cron(0 2 ? * 2-6 *)');
  assert.equal(toScheduleExpression('0 8 * * 0,6'), 'cron(0 8 ? * 1,7 *)');
  assert.equal(toScheduleExpression('0 8 * * 7'), 'cron(0 8 ? * 1 *)');
  // Standard cron ORs two written-out day fields; a full one means every day.
  assert.equal(toScheduleExpression('0 0 1-31 * 1'), 'cron(0 0 ? * * *)');
});

test('what AWS cannot express, or the flow does not accept, is refused with the reason', () => {
  assert.throws(() => toScheduleExpression('0 0 13 * 5'), /cannot restrict both day-of-month and day-of-week/);
  assert.throws(() => toScheduleExpression('every 7 minutes'), /does not divide an hour/);
  assert.throws(() => toScheduleExpression('0 2 * *'), /neither an interval/);
});
