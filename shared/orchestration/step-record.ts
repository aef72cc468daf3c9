/**
 * One unit of downstream work (a warehouse load, a view refresh, a publish)
 * for one timelabel, held as a record in the metadata under the slice that
 * does it and moved `pending → running → committed | failed` by the same
 * conditional writes as a collect batch, with a data event either way. Two
 * passes never do the same unit at once, and a done unit is not done again.
 */
import { asReefError, TERMINAL_ERROR_NAME } from '../errors.ts';
import type { BatchError, BatchRecord } from '../metadata/types.ts';
import { emit, type Services } from '../runtime/services.ts';

/** A running unit is held this long before another pass may take it over. */
export const STEP_LEASE_SECONDS = 15 * 60;

export interface StepKind {
  /** The slice whose metadata partition holds the records. */
  slice: string;
  /** For people and events: `warehouse load`, `view refresh`, `publish`. */
  step: string;
  /** Data event types on success and on failure. */
  doneEvent: string;
  failedEvent: string;
}

export interface StepWork {
  rows: number;
  /** What the unit read or wrote, kept on the record (a manifest key, a view file, a target). */
  manifestKey: string;
  version?: number;
  /** Small JSON added to the data event. */
  detail?: Record<string, unknown>;
  /** The work ran and said no (a failed check): recorded as a terminal failure. */
  failed?: { code: string; message: string };
}

export type StepResult = { ok: true; rows: number; version?: number } | { ok: false; rows: 0; version?: number; error: { code: string; message: string } };

/** Holds the unit for this pass: undefined when it is done already or another live pass holds it. */
export async function claimStep(services: Services, kind: StepKind, runId: string, name: string, timelabel: string): Promise<BatchRecord | undefined> {
  await services.metadata.createBatch({ slice: kind.slice, loadunit: name, dataset: name, timelabel });
  const started = await services.metadata.startBatch({ slice: kind.slice, loadunit: name, timelabel, owner: runId, leaseSeconds: STEP_LEASE_SECONDS });
  return started.outcome === 'started' ? started.batch : undefined;
}

/** Runs a claimed unit and records how it ended; never throws for the work's own errors. */
export async function settleStep(services: Services, kind: StepKind, runId: string, name: string, timelabel: string, work: () => Promise<StepWork>): Promise<StepResult> {
  const ref = { slice: kind.slice, loadunit: name, timelabel, owner: runId };
  const fail = async (error: BatchError, version?: number): Promise<StepResult> => {
    await services.metadata.failBatch({ ...ref, error });
    const shown = { code: error.code, message: error.message };
    await emit(services, { kind: 'data', type: kind.failedEvent, slice: kind.slice, dataset: name, timelabel, detail: { step: kind.step, error: shown } });
    return { ok: false, rows: 0, version, error: shown };
  };
  try {
    const done = await work();
    if (done.failed) return await fail({ name: TERMINAL_ERROR_NAME, category: 'target', ...done.failed }, done.version);
    await services.metadata.commitBatch({ ...ref, figures: { rows: done.rows, files: 0, bytes: 0 }, manifestKey: done.manifestKey, schemaVersion: done.version ?? 0 });
    await emit(services, { kind: 'data', type: kind.doneEvent, slice: kind.slice, dataset: name, timelabel, detail: { step: kind.step, rows: done.rows, version: done.version, ...done.detail } });
    return { ok: true, rows: done.rows, version: done.version };
  } catch (e) {
    const r = asReefError(e);
    return fail({ name: r.name, category: r.category, code: r.code, message: r.message });
  }
}

export interface StepPause {
  code: string;
  /** Which column, which change, and the command that lets the unit run again. */
  message: string;
}

/**
 * Parks a claimed unit as `paused`: it cannot run until the user changes a
 * definition, so it is neither failed (nothing to retry) nor waiting (no input
 * will complete it). The caller emits the metadata event that tells the user.
 */
export async function pauseStep(services: Services, kind: StepKind, runId: string, name: string, timelabel: string, pause: StepPause): Promise<void> {
  await services.metadata.pauseBatch({ slice: kind.slice, loadunit: name, timelabel, owner: runId, error: { name: TERMINAL_ERROR_NAME, category: 'config', ...pause } });
}
