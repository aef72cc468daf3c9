/**
 * The local runtime's clock. `reef dev --speed N` runs time N times faster
 * than the wall clock from a starting instant, so a day of 15-minute periods
 * passes in minutes; `reef status` from another terminal reads the same
 * clock from `.reef/runtime.json` so its lags agree with what runs.
 */
export interface ClockSpec {
  /** Wall-clock milliseconds when the clock started. */
  realStart: number;
  /** Simulated milliseconds at that instant. */
  simStart: number;
  /** Simulated milliseconds per wall-clock millisecond. */
  speed: number;
}

export function clockNow(spec: ClockSpec | undefined, real: number = Date.now()): Date {
  if (spec === undefined) return new Date(real);
  return new Date(spec.simStart + (real - spec.realStart) * spec.speed);
}
