/**
 * What makes a request recognisable and trustworthy to its receiver: the
 * HMAC-SHA256 signature of the body with the shared key, and an idempotency
 * key that is the same for a batch on every retry and re-run.
 */
import { createHash, createHmac } from 'node:crypto';
import { TerminalError } from '../../../shared/errors.ts';
import type { SecretSource } from '../../../shared/secrets.ts';

/** Shorter keys are guessable offline from one signed request; 16 characters is a floor, 32 random bytes the advice. */
export const MIN_SIGNING_KEY_LENGTH = 16;

export const HEADERS = {
  idempotencyKey: 'Idempotency-Key',
  signature: 'X-Reef-Signature',
  publication: 'X-Reef-Publication',
  timelabel: 'X-Reef-Timelabel',
  batch: 'X-Reef-Batch',
} as const;

/** The signing key from its secret (`{"key": "..."}`). Messages name the secret and the field, never the value or its length. */
export async function signingKey(secrets: SecretSource, name: string): Promise<Buffer> {
  const secret = await secrets.get(name);
  const key = secret.reveal().key;
  if (typeof key !== 'string' || key.length < MIN_SIGNING_KEY_LENGTH) {
    throw new TerminalError(
      'config',
      `secret ${name} has ${typeof key === 'string' ? 'a "key" that is too short' : 'no string "key"'}; expected {"key": "<at least ${MIN_SIGNING_KEY_LENGTH} characters, ideally 32 random bytes as hex>"}`,
      { code: 'webhook.signing-key' },
    );
  }
  return Buffer.from(key, 'utf8');
}

/** `sha256=<hex>`: the HMAC-SHA256 of the body's exact bytes. */
export function signature(key: Buffer, body: string): string {
  return `sha256=${createHmac('sha256', key).update(body, 'utf8').digest('hex')}`;
}

export function sha256Hex(body: string): string {
  return createHash('sha256').update(body, 'utf8').digest('hex');
}

/**
 * `reef:<installation>:<publication>:<timelabel>:<batch>`: stable across
 * retries and re-runs of a timelabel (its batches are frozen), different for
 * every batch, installation and publication. None of the parts holds a ':'.
 */
export function idempotencyKey(installation: string, publication: string, timelabel: string, batch: number): string {
  return `reef:${installation}:${publication}:${timelabel}:${batch}`;
}

export interface BatchRequestParts {
  key: Buffer;
  body: string;
  idempotencyKey: string;
  publication: string;
  timelabel: string;
  batch: number;
  batches: number;
}

export function batchHeaders(p: BatchRequestParts): Record<string, string> {
  return {
    'Content-Type': 'application/json',
    'User-Agent': 'reef-harness-webhook',
    [HEADERS.idempotencyKey]: p.idempotencyKey,
    [HEADERS.signature]: signature(p.key, p.body),
    [HEADERS.publication]: p.publication,
    [HEADERS.timelabel]: p.timelabel,
    [HEADERS.batch]: `${p.batch}/${p.batches}`,
  };
}
