/**
 * One timelabel of a webhook publication: freeze the dataset's changes since
 * the last timelabel delivered, cut them into batches, POST each batch not
 * yet delivered (recording it in the metadata once accepted), and only when
 * all are delivered move the shadow forward with the timelabel's marker.
 *
 * A crash anywhere leaves a state the next run continues from: before the
 * freeze commits, nothing happened; after it, the frozen changes give the
 * same batches again and the delivery records say which were accepted; after
 * the final commit, the marker answers `already-published`. The one window
 * left is between a receiver's 2xx and the delivery record: that batch is
 * sent again under the same Idempotency-Key, which the receiver uses to
 * drop it.
 */
import { TerminalError, TransientError } from '../../../shared/errors.ts';
import type { PublishInput, PublishResult } from '../../../shared/harness/publication.ts';
import { batchBody, cutBatches, type Envelope } from './batches.ts';
import { ChangeSet } from './change-set.ts';
import { describeUrl, webhookSettings, type HarnessWebhookConfig } from './config.ts';
import { REAL_CLOCK, deliver, type DeliveryClock } from '../../../shared/webhook/delivery.ts';
import { sha256Hex, signingKey } from '../../../shared/webhook/signing.ts';
import { batchHeaders, idempotencyKey } from './signing.ts';

export interface WebhookPublisherOptions {
  /** Replaces parts of the real clock: tests pass a `sleep` that records instead of waiting. */
  clock?: Partial<DeliveryClock>;
}

export interface WebhookPublisher {
  publish(input: PublishInput<HarnessWebhookConfig>): Promise<PublishResult>;
}

export function createWebhookPublisher(options: WebhookPublisherOptions = {}): WebhookPublisher {
  const clock: DeliveryClock = { ...REAL_CLOCK, ...options.clock };
  return { publish: (input) => publishTimelabel(input, clock) };
}

async function publishTimelabel(input: PublishInput<HarnessWebhookConfig>, clock: DeliveryClock): Promise<PublishResult> {
  const { services, slice, config, dataset, timelabel, runId } = input;
  const settings = webhookSettings(config);
  const target = describeUrl(config.url);
  const changes = new ChangeSet({
    client: input.warehouse.client,
    dialect: input.warehouse.dialect,
    publication: slice,
    dataset,
    keys: config.keys ?? input.keys ?? [],
    columns: config.columns ?? 'all',
  });
  const frozen = await changes.freeze(timelabel, runId, { maxBytes: settings.maxBytes, maxRows: settings.maxRows });
  if (frozen.state === 'delivered') return { status: 'already-published', rows: frozen.rows, detail: { target } };
  const { plan } = frozen;
  const envelope: Envelope = { publication: slice, dataset, timelabel };

  // Every body names the batch count, so the changes are cut once to count them, then again to send.
  const batches = await cutBatches(changes.items(), envelope, plan.limits, async () => {});
  const delivered = new Map((await services.metadata.listDeliveries(slice, timelabel)).map((d) => [d.batch, d]));
  const deadLettered = new Set((await services.metadata.listDeadLetters(slice, timelabel)).filter((d) => d.resolvedAt === undefined).map((d) => d.batch));
  let key: Buffer | undefined;
  let sent = 0;
  let bytes = 0;

  const cut = await cutBatches(changes.items(), envelope, plan.limits, async (b) => {
    const body = batchBody(envelope, b.index, batches, b.upserts, b.deletes);
    const bodySha256 = sha256Hex(body);
    const ikey = idempotencyKey(services.installation, slice, timelabel, b.index);
    const what = `batch ${b.index} of ${batches} of ${slice} (${dataset} at ${timelabel})`;
    const before = delivered.get(b.index);
    if (before) {
      if (before.bodySha256 !== bodySha256 || before.batches !== batches) throw batchChanged(what, before.bodySha256, before.batches, bodySha256, batches);
      return;
    }
    key ??= await signingKey(services.secrets, config.signing.secret);
    const headers = batchHeaders({ key, body, idempotencyKey: ikey, publication: slice, timelabel, batch: b.index, batches });
    const outcome = await deliver({ url: config.url, headers, body }, settings, clock);
    const fields = {
      slice, dataset, timelabel, batch: b.index, batches, idempotencyKey: ikey, bodySha256,
      bytes: Buffer.byteLength(body), upserts: b.upserts.length, deletes: b.deletes.length, attempts: outcome.attempts, runId,
    };
    if (outcome.delivered) {
      await services.metadata.recordDelivery({ ...fields, status: outcome.status });
      if (deadLettered.has(b.index)) await services.metadata.resolveDeadLetter(slice, timelabel, b.index);
      sent++;
      bytes += fields.bytes;
      services.log(`${what} delivered to ${target}`, { status: outcome.status, attempts: outcome.attempts, bytes: fields.bytes });
      services.faults.hit('publish.batch', b.index);
      return;
    }
    const code = outcome.retryable ? 'webhook.undelivered' : 'webhook.rejected';
    await services.metadata.recordDeadLetter({ ...fields, lastStatus: outcome.status, lastError: outcome.error, code });
    services.log(`${what} dead-lettered`, { status: outcome.status, attempts: outcome.attempts, idempotencyKey: ikey });
    const found = `${what} to ${target}: ${outcome.error} (request ${outcome.attempts} of at most ${settings.attempts})`;
    if (outcome.retryable) {
      throw new TransientError('target', `${found}; expected a 2xx answer. Dead-lettered under Idempotency-Key ${ikey}; a later run of the timelabel sends it again`, { code });
    }
    throw new TerminalError('target', `${found}; expected a 2xx answer, and retrying will not change this one. Dead-lettered under Idempotency-Key ${ikey}: find it in the receiver's logs, fix the cause, then run the timelabel again`, { code });
  });
  if (cut !== batches) throw batchChanged(`the changes of ${slice} at ${timelabel}`, '-', batches, '-', cut);

  services.faults.hit('publish.delivered');
  const committed = await changes.commit(timelabel, batches);
  return {
    status: committed ? 'published' : 'already-published',
    rows: plan.upserts + plan.deletes,
    detail: { target, batches, sent, alreadyDelivered: batches - sent, upserts: plan.upserts, deletes: plan.deletes, bytes, resumed: plan.resumed },
  };
}

/** The frozen changes gave other batches than an earlier attempt delivered: the receiver would see rows twice or never. */
function batchChanged(what: string, beforeSha: string, beforeCount: number, nowSha: string, nowCount: number): TerminalError {
  return new TerminalError(
    'internal',
    `${what}: an earlier attempt delivered it as body sha256 ${beforeSha} of ${beforeCount} batches, and it now comes out as ${nowSha} of ${nowCount}; ` +
      'expected the frozen changes to give the same batches on every attempt (did the Reef version change mid-timelabel?)',
    { code: 'webhook.batch-changed' },
  );
}
