/**
 * How a failed call to an AWS API, made by the CLI on a person's behalf,
 * becomes a Reef error that says which call, on what, and what to do.
 */
import { isReefError, TerminalError, TransientError, type ReefError } from '../errors.ts';
import { errorName, isTransient } from '../metadata/dynamo-errors.ts';

const NO_CREDENTIALS = new Set(['CredentialsProviderError', 'ExpiredToken', 'ExpiredTokenException', 'InvalidClientTokenId', 'UnrecognizedClientException', 'SignatureDoesNotMatch']);
const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation']);

/** `call` names the request (`CloudFormation UpdateStack shop-core`); `denied` says what a refusal means here. */
export function mapAwsError(call: string, e: unknown, denied?: string): ReefError {
  if (isReefError(e)) return e;
  const name = errorName(e);
  const message = e instanceof Error ? e.message : String(e);
  if (/region is missing/i.test(message)) {
    return new TerminalError('config', `${call}: no AWS region; expected reef.yaml's region, --region or AWS_REGION`, { code: 'aws.no-region', cause: e });
  }
  if (NO_CREDENTIALS.has(name)) {
    return new TerminalError('config', `${call}: AWS refused the credentials (${name}: ${message}); expected valid credentials from the environment or a profile (AWS_PROFILE)`, { code: 'aws.credentials', cause: e });
  }
  if (DENIED.has(name)) {
    return new TerminalError('target', `${call} was denied: ${message}${denied ? `; ${denied}` : ''}`, { code: 'aws.access-denied', cause: e });
  }
  if (isTransient(e)) {
    return new TransientError('target', `${call} did not get an answer (${name}: ${message}); expected AWS to be reachable, try again`, { code: 'aws.unavailable', cause: e });
  }
  return new TerminalError('target', `${call} failed (${name}: ${message})`, { code: 'aws.request-failed', cause: e });
}

/** Runs one request and maps its failure. */
export async function awsCall<T>(call: string, run: () => Promise<T>, denied?: string): Promise<T> {
  try {
    return await run();
  } catch (e) {
    throw mapAwsError(call, e, denied);
  }
}
