/**
 * A timelabel's changes cut into request bodies of at most `maxBytes` (and
 * `maxRows`), in the frozen order: the same changes and limits always give
 * the same batches, byte for byte.
 *
 * A body is
 *   {"publication":…,"dataset":…,"timelabel":…,"batch":i,"batches":n,"upserts":[…],"deletes":[…]}
 * and `n` is known only once every change has been cut, so the cut reserves
 * room for the widest `i` and `n` there can be: a body is never larger than
 * the limit, whatever the count turns out to be.
 */
import { TerminalError } from '../../../shared/errors.ts';
import { MAX_DELIVERY_BATCH } from '../../../shared/metadata/keys.ts';
import type { BatchLimits, ChangeItem } from './change-set.ts';

export interface Envelope {
  publication: string;
  dataset: string;
  timelabel: string;
}

export interface CutBatch {
  /** 1-based. */
  index: number;
  upserts: string[];
  deletes: string[];
}

/** The body of batch `index` of `batches`; rows are JSON texts already. */
export function batchBody(envelope: Envelope, index: number, batches: number, upserts: readonly string[], deletes: readonly string[]): string {
  return (
    `{"publication":${JSON.stringify(envelope.publication)},"dataset":${JSON.stringify(envelope.dataset)},"timelabel":${JSON.stringify(envelope.timelabel)},` +
    `"batch":${index},"batches":${batches},"upserts":[${upserts.join(',')}],"deletes":[${deletes.join(',')}]}`
  );
}

/** The largest an empty body can be: batch and batch count at their widest. */
export function envelopeBytes(envelope: Envelope): number {
  return Buffer.byteLength(batchBody(envelope, MAX_DELIVERY_BATCH, MAX_DELIVERY_BATCH, [], []));
}

/**
 * Cuts `items` into batches and hands each to `onBatch` as it closes (so at
 * most one batch is held); answers how many there were. Each row costs its
 * JSON's bytes plus one for the comma before it (one too many for the first
 * of each list: the bound stays safe).
 */
export async function cutBatches(items: AsyncIterable<ChangeItem>, envelope: Envelope, limits: BatchLimits, onBatch: (batch: CutBatch) => Promise<void>): Promise<number> {
  const empty = envelopeBytes(envelope);
  let index = 0;
  let upserts: string[] = [];
  let deletes: string[] = [];
  let bytes = empty;
  const flush = async (): Promise<void> => {
    index++;
    if (index > MAX_DELIVERY_BATCH) {
      throw new TerminalError('config', `the changes of ${envelope.dataset} at ${envelope.timelabel} need more than ${MAX_DELIVERY_BATCH} batches; expected fewer: raise batch.maxBytes or batch.maxRows`, {
        code: 'webhook.too-many-batches',
      });
    }
    const batch = { index, upserts, deletes };
    upserts = [];
    deletes = [];
    bytes = empty;
    await onBatch(batch);
  };
  for await (const item of items) {
    const cost = Buffer.byteLength(item.json) + 1;
    if (empty + cost > limits.maxBytes) {
      throw new TerminalError(
        'config',
        `${item.describe()} of ${envelope.dataset} is ${cost - 1} bytes as JSON, which with the envelope (${empty} bytes) is more than batch.maxBytes (${limits.maxBytes}); ` +
          'expected every row to fit in one request: raise batch.maxBytes, or leave wide columns out with columns:',
        { code: 'webhook.row-too-large' },
      );
    }
    const count = upserts.length + deletes.length;
    if (count > 0 && (bytes + cost > limits.maxBytes || (limits.maxRows !== undefined && count >= limits.maxRows))) await flush();
    (item.kind === 'upsert' ? upserts : deletes).push(item.json);
    bytes += cost;
  }
  if (upserts.length + deletes.length > 0) await flush();
  return index;
}
