/**
 * One event to one webhook target: the same JSON body, headers and signature
 * whether the local runtime sends it or the notify function in AWS does, and
 * the same body SQS and SNS targets get (infra/constructs/notifications.ts
 * shapes it with an input transformer), so a receiver handles one format.
 *
 * ```json
 * { "installation": "acme", "notification": "ops", "event": { "id": "…", "kind": "metadata", "type": "check.failed", … } }
 * ```
 *
 * Headers: `Idempotency-Key: reef:<installation>:<notification>:<event id>`
 * (the same on every retry, in both runtimes), `X-Reef-Notification`,
 * `X-Reef-Event: <kind>:<type>`, and with `signing`, `X-Reef-Signature:
 * sha256=<hex HMAC-SHA256 of the exact body>`, verified like a harness
 * webhook's (slices/harness/webhook/README.md).
 */
import type { ReefEvent } from '../metadata/types.ts';
import { detailType } from '../runtime/bus.ts';
import type { SecretSource } from '../secrets.ts';
import { deliver, REAL_CLOCK, type DeliveryClock, type DeliveryOutcome, type DeliveryRequest, type RetryPolicy } from '../webhook/delivery.ts';
import { SIGNED_REQUEST_HEADERS, signature, signingKey } from '../webhook/signing.ts';
import type { NotificationTarget } from './config.ts';

export const NOTIFICATION_HEADERS = {
  ...SIGNED_REQUEST_HEADERS,
  notification: 'X-Reef-Notification',
  event: 'X-Reef-Event',
} as const;

export interface NotificationBody {
  installation: string;
  notification: string;
  event: ReefEvent;
}

export type WebhookTarget = Extract<NotificationTarget, { type: 'webhook' }>;

/** Stable across retries and re-deliveries of one event to one target; none of the parts holds a ':'. */
export function notificationIdempotencyKey(installation: string, notification: string, eventId: string): string {
  return `reef:${installation}:${notification}:${eventId}`;
}

export function webhookRequest(installation: string, notification: string, target: WebhookTarget, event: ReefEvent, key: Buffer | undefined): DeliveryRequest {
  const body = JSON.stringify({ installation, notification, event } satisfies NotificationBody);
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'User-Agent': 'reef-notifications',
    [NOTIFICATION_HEADERS.idempotencyKey]: notificationIdempotencyKey(installation, notification, event.id),
    [NOTIFICATION_HEADERS.notification]: notification,
    [NOTIFICATION_HEADERS.event]: detailType(event),
  };
  if (key !== undefined) headers[NOTIFICATION_HEADERS.signature] = signature(key, body);
  return { url: target.url, headers, body };
}

/**
 * Sends one event: reads the signing key (every time, so a rotated key is
 * used at once), then POSTs with retries by `policy`. Throws only when the
 * key cannot be read (a config error: the secret is missing or malformed).
 */
export async function sendWebhookNotification(
  p: { installation: string; notification: string; target: WebhookTarget; event: ReefEvent; secrets: SecretSource; policy: RetryPolicy; clock?: DeliveryClock },
): Promise<DeliveryOutcome> {
  const key = p.target.signing ? await signingKey(p.secrets, p.target.signing.secret) : undefined;
  return deliver(webhookRequest(p.installation, p.notification, p.target, p.event, key), p.policy, p.clock ?? REAL_CLOCK);
}
