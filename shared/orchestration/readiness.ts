/**
 * When a view may be refreshed for a timelabel: only when every input has
 * finished every one of its periods that overlaps the view's period.
 * Downstream never assumes upstream finished because a clock says so.
 */
import { fromTimelabel, nextPeriodStart, periodEnd, periodStart, toTimelabel, type Schedule } from '../timelabel.ts';

/** One input of a view: a loaded dataset or another view, with the timelabels it has finished. */
export interface InputProgress {
  name: string;
  schedule: Schedule;
  done: ReadonlySet<string>;
}

export type Readiness = { ready: true } | { ready: false; waitingFor: { input: string; timelabel: string }[] };

/** The input's timelabels whose periods overlap [start, end). */
export function coveringTimelabels(input: Schedule, start: Date, end: Date): string[] {
  const out: string[] = [];
  for (let tl = toTimelabel(periodStart(input, start)); fromTimelabel(tl) < end; tl = nextPeriodStart(input, tl)) out.push(tl);
  return out;
}

export function readiness(view: Schedule, timelabel: string, inputs: readonly InputProgress[]): Readiness {
  const start = fromTimelabel(timelabel);
  const end = periodEnd(view, timelabel);
  const waitingFor = inputs.flatMap((input) =>
    coveringTimelabels(input.schedule, start, end)
      .filter((tl) => !input.done.has(tl))
      .map((tl) => ({ input: input.name, timelabel: tl })),
  );
  return waitingFor.length === 0 ? { ready: true } : { ready: false, waitingFor };
}
