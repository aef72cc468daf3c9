/**
 * What makes a batch request recognisable to its receiver: the publication
 * headers and an idempotency key that is the same for a batch on every retry
 * and re-run. The signature itself (and the signing key) is shared with the
 * notifications: shared/webhook/signing.ts.
 */
import { SIGNED_REQUEST_HEADERS, signature } from '../../../shared/webhook/signing.ts';

export const HEADERS = {
  ...SIGNED_REQUEST_HEADERS,
  publication: 'X-Reef-Publication',
  timelabel: 'X-Reef-Timelabel',
  batch: 'X-Reef-Batch',
} as const;

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
