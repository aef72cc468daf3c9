/**
 * What a Catch puts at `$.error` when a Task failed after its retries, read
 * back as a Reef error record: Step Functions gives `Error` (the error's name)
 * and `Cause` (Lambda's JSON error document in AWS, the message locally).
 */
import { parseErrorLine } from '../errors.ts';

/** The Catch's `$.error`. */
export interface CaughtError {
  Error: string;
  Cause?: string;
}

export interface CaughtErrorRecord {
  name: string;
  category: string;
  code: string;
  message: string;
}

export function parseCaught(caught: CaughtError): CaughtErrorRecord {
  let message = caught.Cause ?? '';
  let category = 'internal';
  let code = 'internal.unexpected';
  try {
    const cause = JSON.parse(message) as { errorMessage?: string; message?: string; category?: string; code?: string };
    message = cause.errorMessage ?? cause.message ?? message;
    category = cause.category ?? category;
    code = cause.code ?? code;
  } catch {
    // A plain-text cause: keep it as the message.
  }
  const line = parseErrorLine(message);
  if (line) ({ category, code, message } = line);
  return { name: caught.Error, category, code, message };
}
