/**
 * `reef dev`: a long-running local installation. Each collect slice runs on
 * its own schedule, on a clock that may run faster than the wall clock
 * (`--speed`); every collected period is followed by an organize pass and a
 * harness pass, exactly as `reef run` does for one period. Stopping (the
 * abort signal, Ctrl-C in the CLI) lets the step in progress finish; a
 * restart resumes after the newest period each slice committed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { SliceSpec } from '../flow/types.ts';
import type { BatchOutcome } from '../orchestration/contracts.ts';
import { lastCompleteTimelabel, nextPeriodStart, parseSchedule, periodEnd, previousTimelabel, type Schedule } from '../timelabel.ts';
import { findSliceType } from '../../slices/registry.ts';
import type { OrganizeOutcome } from '../../slices/organize/redshift/organizer.ts';
import type { PublishOutcome } from '../harness/pass.ts';
import type { ClockSpec } from './clock.ts';
import { runFlow } from './run.ts';
import type { LocalRuntime } from './runtime.ts';

/** A restart after a long pause catches up at most this many periods per slice; incremental windows start at the last cursor, so skipped periods lose no row. */
export const MAX_CATCH_UP_PERIODS = 96;
/** How often the loop looks at the clock while waiting, in wall-clock ms: Ctrl-C is answered within it. */
const POLL_MS = 250;

export interface DevOptions {
  /** Simulated seconds per wall-clock second; 1 is real time. */
  speed: number;
  signal: AbortSignal;
  onBatch?: (outcome: BatchOutcome) => void;
  onOrganize?: (outcome: OrganizeOutcome) => void;
  onPublish?: (outcome: PublishOutcome) => void;
  /** Before each period a slice runs, and when the loop starts waiting. */
  onState?: (state: DevState) => void;
  /** Skipped periods after a long pause, per slice. */
  onSkip?: (slice: string, from: string, to: string) => void;
}

export interface SliceProgress {
  slice: string;
  schedule: string;
  /** The next period to collect. */
  next: string;
  /** Periods collected since the loop started. */
  periods: number;
  lastStatus: 'committed' | 'failed' | null;
}

export interface DevState {
  now: Date;
  clock: ClockSpec;
  slices: SliceProgress[];
  /** What runs now: `<slice> @ <T>`, or null while waiting. */
  running: string | null;
}

interface SliceLoop extends SliceProgress {
  spec: SliceSpec;
  parsed: Schedule;
}

/** The newest period the slice committed for any of its loadunits; undefined before the first. */
async function lastCommitted(runtime: LocalRuntime, slice: string): Promise<string | undefined> {
  const states = await runtime.services.metadata.listLoadunitStates(slice);
  return states.map((s) => s.lastCommittedTimelabel).sort().at(-1);
}

export async function runDev(runtime: LocalRuntime, options: DevOptions): Promise<DevState> {
  const realNow = Date.now();
  const loops: SliceLoop[] = [];
  let simStart = realNow;
  for (const spec of runtime.flow.sources) {
    const text = findSliceType(spec.type)!.schedule(spec.config);
    const parsed = parseSchedule(text, `${spec.file}: schedule`);
    const last = await lastCommitted(runtime, spec.slice);
    // A faster clock in an earlier session may have run ahead of the wall: resume where it stopped, never behind it.
    if (last !== undefined) simStart = Math.max(simStart, periodEnd(parsed, last).getTime());
    loops.push({ spec, parsed, slice: spec.slice, schedule: text, next: last ?? '', periods: 0, lastStatus: null });
  }
  const clock: ClockSpec = { realStart: realNow, simStart, speed: options.speed };
  runtime.useClock(clock);
  const now = () => runtime.services.now();
  for (const loop of loops) {
    const latest = lastCompleteTimelabel(loop.parsed, now());
    loop.next = loop.next === '' ? latest : nextPeriodStart(loop.parsed, loop.next);
    let oldest = latest;
    for (let i = 1; i < MAX_CATCH_UP_PERIODS; i++) oldest = previousTimelabel(loop.parsed, oldest);
    if (loop.next < oldest) {
      options.onSkip?.(loop.slice, loop.next, previousTimelabel(loop.parsed, oldest));
      loop.next = oldest;
    }
  }
  const state = (running: string | null): DevState => ({ now: now(), clock, running, slices: loops.map(({ spec: _spec, parsed: _parsed, ...p }) => p) });

  while (!options.signal.aborted) {
    const due = loops.filter((l) => periodEnd(l.parsed, l.next) <= now()).sort((a, b) => (a.next < b.next ? -1 : a.next > b.next ? 1 : 0));
    if (due.length === 0) {
      options.onState?.(state(null));
      const soonest = Math.min(...loops.map((l) => periodEnd(l.parsed, l.next).getTime()));
      const wait = Number.isFinite(soonest) ? (soonest - now().getTime()) / options.speed : POLL_MS;
      await sleep(Math.max(1, Math.min(POLL_MS, wait)), undefined, { signal: options.signal }).catch(() => {});
      continue;
    }
    const loop = due[0];
    options.onState?.(state(`${loop.slice} @ ${loop.next}`));
    const report = await runFlow(runtime, {
      slice: loop.slice,
      timelabel: loop.next,
      onBatch: options.onBatch,
      onOrganize: options.onOrganize,
      onPublish: options.onPublish,
    });
    loop.lastStatus = report.batches.some((b) => b.status === 'failed') ? 'failed' : 'committed';
    loop.periods++;
    loop.next = nextPeriodStart(loop.parsed, loop.next);
  }
  return state(null);
}

