import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSchedule } from '../timelabel.ts';
import { coveringTimelabels, readiness } from './readiness.ts';

const quarter = parseSchedule('every 15 minutes');
const hourly = parseSchedule('every 1 hour');
const daily = parseSchedule('every 1 day');

function quarters(day: string, skip: string[] = []): Set<string> {
  const done = new Set<string>();
  for (let h = 0; h < 24; h++) {
    for (const m of ['00', '15', '30', '45']) done.add(`${day}${String(h).padStart(2, '0')}${m}00`);
  }
  for (const s of skip) done.delete(s);
  return done;
}

test('an hourly view covers four 15-minute batches; a daily view covers 96', () => {
  assert.deepEqual(coveringTimelabels(quarter, new Date('2026-03-05T08:00:00Z'), new Date('2026-03-05T09:00:00Z')), [
    '20260305080000', '20260305081500', '20260305083000', '20260305084500',
  ]);
  assert.equal(coveringTimelabels(quarter, new Date('2026-03-05T00:00:00Z'), new Date('2026-03-06T00:00:00Z')).length, 96);
});

test('a coarser input covers a finer view with its own period: an hourly view waits for the whole day of a daily input', () => {
  assert.deepEqual(coveringTimelabels(daily, new Date('2026-03-05T08:00:00Z'), new Date('2026-03-05T09:00:00Z')), ['20260305000000']);
});

test('a daily view is ready only when every 15-minute batch of the day is done, and says which is missing', () => {
  const all = { name: 'shop.orders', schedule: quarter, done: quarters('20260305') };
  assert.deepEqual(readiness(daily, '20260305000000', [all]), { ready: true });
  const missing = { name: 'shop.orders', schedule: quarter, done: quarters('20260305', ['20260305134500']) };
  assert.deepEqual(readiness(daily, '20260305000000', [missing]), { ready: false, waitingFor: [{ input: 'shop.orders', timelabel: '20260305134500' }] });
  // Hours other than 13:00 are not held back by the missing 13:45.
  assert.deepEqual(readiness(hourly, '20260305120000', [missing]), { ready: true });
  assert.equal(readiness(hourly, '20260305130000', [missing]).ready, false);
});

test('every input must be complete: one finished input does not make the view ready', () => {
  const a = { name: 'shop.orders', schedule: quarter, done: quarters('20260305') };
  const b = { name: 'analytics.customer_ltv', schedule: hourly, done: new Set(['20260305000000']) };
  const r = readiness(daily, '20260305000000', [a, b]);
  assert.equal(r.ready, false);
  assert.equal(r.ready === false && r.waitingFor.length, 23);
});
