/**
 * How a failed DynamoDB call becomes a Reef error: TransientError when retrying
 * later can succeed (the state machine backs off), TerminalError otherwise.
 */
import { TerminalError, TransientError, isReefError } from '../errors.ts';

/** Throttles, server faults and dropped connections: retrying later can succeed (any AWS service). */
const TRANSIENT_ERROR_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TransactionConflictException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);
const TRANSIENT_NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);

export function errorName(e: unknown): string {
  return e instanceof Error ? e.name : typeof e;
}

export function isTransient(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const err = e as { name?: unknown; code?: unknown; $retryable?: unknown; $metadata?: { httpStatusCode?: number }; cause?: unknown; errors?: unknown };
  if (typeof err.name === 'string' && TRANSIENT_ERROR_NAMES.has(err.name)) return true;
  if (typeof err.code === 'string' && TRANSIENT_NETWORK_CODES.has(err.code)) return true;
  if (err.$retryable !== undefined) return true;
  if ((err.$metadata?.httpStatusCode ?? 0) >= 500) return true;
  // Node reports a refused dual-stack connect as an AggregateError of per-address errors.
  if (Array.isArray(err.errors) && err.errors.some(isTransient)) return true;
  return err.cause !== undefined && err.cause !== e && isTransient(err.cause);
}

export function mapDynamoError(tableName: string, operation: string, e: unknown): Error {
  if (isReefError(e)) return e;
  const detail = `${errorName(e)}: ${e instanceof Error ? e.message : String(e)}`;
  if (isTransient(e)) {
    return new TransientError('internal', `metadata table ${tableName} did not answer ${operation} (${detail}); expected DynamoDB to be reachable, retry with backoff`, {
      code: 'metadata.unavailable',
      cause: e,
    });
  }
  if (errorName(e) === 'ResourceNotFoundException') {
    return new TerminalError('internal', `metadata table ${tableName} was not found during ${operation}; expected the core stack (or ensureTable locally) to have created it`, {
      code: 'metadata.table-missing',
      cause: e,
    });
  }
  return new TerminalError('internal', `metadata ${operation} on table ${tableName} was rejected (${detail})`, {
    code: 'metadata.request-failed',
    cause: e,
  });
}
