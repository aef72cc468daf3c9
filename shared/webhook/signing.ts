/**
 * What makes an HTTP request from Reef trustworthy to its receiver: the
 * HMAC-SHA256 signature of the exact body with a key the two share, kept in
 * a secret. Shared by the webhook harness (batches of rows) and the
 * notifications (events), so a receiver verifies both the same way.
 */
import { createHash, createHmac } from 'node:crypto';
import { TerminalError } from '../errors.ts';
import type { SecretSource } from '../secrets.ts';

/** Shorter keys are guessable offline from one signed request; 16 characters is a floor, 32 random bytes the advice. */
export const MIN_SIGNING_KEY_LENGTH = 16;

/** Header names every signed Reef request uses. */
export const SIGNED_REQUEST_HEADERS = {
  idempotencyKey: 'Idempotency-Key',
  signature: 'X-Reef-Signature',
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
