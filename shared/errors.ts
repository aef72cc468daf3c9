/**
 * Reef's two kinds of error. A state machine `Retry` matches only the transient
 * names, so the `name` of each class is part of the contract with the ASL JSON.
 */
export type ErrorCategory = 'source' | 'target' | 'config' | 'internal';

export const TRANSIENT_ERROR_NAME = 'Reef.Transient';
export const TERMINAL_ERROR_NAME = 'Reef.Terminal';

export interface ReefErrorOptions {
  /** Short stable code, e.g. `source.unreachable`, for tests and dashboards. */
  code?: string;
  cause?: unknown;
}

export abstract class ReefError extends Error {
  abstract readonly transient: boolean;
  readonly category: ErrorCategory;
  readonly code: string;

  constructor(category: ErrorCategory, message: string, options: ReefErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.category = category;
    this.code = options.code ?? category;
  }

  /** What crosses a Step Functions boundary: no stack, no cause chain (which may hold secrets). */
  toJSON(): { name: string; category: ErrorCategory; code: string; message: string } {
    return { name: this.name, category: this.category, code: this.code, message: this.message };
  }
}

/** Worth retrying with backoff: a connection dropped, a throttle, a lease held by a live run. */
export class TransientError extends ReefError {
  readonly transient = true;
  override readonly name = TRANSIENT_ERROR_NAME;
}

/** Retrying will not help: the user must change something. Fails the batch and says why. */
export class TerminalError extends ReefError {
  readonly transient = false;
  override readonly name = TERMINAL_ERROR_NAME;
}

export function isReefError(e: unknown): e is ReefError {
  return e instanceof ReefError;
}

/** Anything that is not a ReefError is an internal bug until proven otherwise: terminal. */
export function asReefError(e: unknown): ReefError {
  if (isReefError(e)) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new TerminalError('internal', message, { code: 'internal.unexpected', cause: e });
}

/** The one-line form the CLI prints. */
export function describeError(e: unknown): string {
  const r = asReefError(e);
  return `${r.category} error (${r.code}): ${r.message}`;
}

/**
 * Reads back the one-line form `describeError` wrote, as it arrives from a
 * Task's failure (the Lambda's errorMessage, or the local Cause).
 */
export function parseErrorLine(line: string): { category: ErrorCategory; code: string; message: string } | undefined {
  const m = /^(source|target|config|internal) error \(([\w.-]+)\): ([\s\S]*)$/.exec(line);
  return m ? { category: m[1] as ErrorCategory, code: m[2], message: m[3] } : undefined;
}
