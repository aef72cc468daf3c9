/**
 * The notify function: the target of every webhook notification rule in AWS
 * (infra/constructs/notifications.ts). EventBridge invokes it asynchronously
 * with `{ installation, notification, event }` (the rule's input
 * transformer puts the event's detail there); it applies the target's whole
 * filter again (the one part a rule cannot express, an exclude beside an
 * include, is enforced here), signs and POSTs the event exactly as the local
 * runtime does (webhook.ts), and throws when the receiver does not take it,
 * so Lambda retries the invocation and then leaves it in the notifications
 * dead-letter queue, where it can be inspected and redriven.
 *
 * Why a function and not an EventBridge API destination: the signature is an
 * HMAC of each body with a key from Secrets Manager, which an API
 * destination (static headers, basic auth, OAuth or an API key) cannot
 * compute.
 */
import { asReefError, describeError, TerminalError, TransientError } from '../errors.ts';
import type { ReefEvent } from '../metadata/types.ts';
import { SecretsManagerSource } from '../runtime/secrets-manager.ts';
import type { SecretSource } from '../secrets.ts';
import { REAL_CLOCK, type DeliveryClock, type RetryPolicy } from '../webhook/delivery.ts';
import { describeUrl } from '../webhook/url.ts';
import { matchesFilter, type NotificationFilter } from './filter.ts';
import { sendWebhookNotification, type NotificationBody, type WebhookTarget } from './webhook.ts';

/** The function's environment, which the construct sets. */
export const NOTIFY_ENV = {
  installation: 'REEF_INSTALLATION',
  /** JSON: DeployedWebhook[]. */
  targets: 'REEF_NOTIFY_WEBHOOKS',
} as const;

/**
 * Three requests with waits of about 0.5 and 1 s, each request at most 10 s:
 * well inside the function's timeout. A receiver down for longer is retried
 * by Lambda (twice, minutes apart), then the event waits in the dead-letter queue.
 */
export const AWS_DELIVERY_POLICY: RetryPolicy = { attempts: 3, baseDelayMs: 500, maxDelayMs: 5000, timeoutMs: 10_000 };

/** One webhook notification as the function's environment carries it. */
export interface DeployedWebhook {
  name: string;
  target: WebhookTarget;
  filter: NotificationFilter;
}

export type NotifyResult = { notification: string; event: string; delivered: true; status: number; attempts: number } | { notification: string; event: string; skipped: 'filtered' };

export interface NotifyContext {
  installation: string;
  webhooks: readonly DeployedWebhook[];
  secrets: SecretSource;
  policy?: RetryPolicy;
  clock?: DeliveryClock;
  log(message: string, fields?: Record<string, unknown>): void;
}

function parseInput(input: unknown): { notification: string; event: ReefEvent } {
  const i = input as Partial<NotificationBody> | null;
  const e = i?.event as Partial<ReefEvent> | undefined;
  if (typeof i?.notification !== 'string' || typeof e?.id !== 'string' || typeof e.type !== 'string' || (e.kind !== 'data' && e.kind !== 'metadata')) {
    throw new TerminalError('internal', `notify: found input ${JSON.stringify(input)?.slice(0, 200)}; expected { installation, notification, event: { id, kind, type, ... } } from a notification rule`, {
      code: 'internal.input',
    });
  }
  return { notification: i.notification, event: e as ReefEvent };
}

/** The handler's work, given its surroundings: what the tests run against a real HTTP receiver. */
export async function notifyWith(ctx: NotifyContext, input: unknown): Promise<NotifyResult> {
  const { notification, event } = parseInput(input);
  const webhook = ctx.webhooks.find((w) => w.name === notification);
  if (webhook === undefined) {
    throw new TerminalError('config', `notify: found notification "${notification}", expected one of ${ctx.webhooks.map((w) => w.name).join(', ') || '(none)'} (the rule and the function were deployed from different reef.yaml)`, {
      code: 'notification.unknown',
    });
  }
  if (!matchesFilter(webhook.filter, event)) {
    ctx.log(`notification ${notification}: ${event.type} of ${event.dataset ?? '(no dataset)'} left out by the filter`, { notification, event: event.id });
    return { notification, event: event.id, skipped: 'filtered' };
  }
  const outcome = await sendWebhookNotification({
    installation: ctx.installation,
    notification,
    target: webhook.target,
    event,
    secrets: ctx.secrets,
    policy: ctx.policy ?? AWS_DELIVERY_POLICY,
    clock: ctx.clock ?? REAL_CLOCK,
  });
  if (outcome.delivered) return { notification, event: event.id, delivered: true, status: outcome.status, attempts: outcome.attempts };
  const message = `notification ${notification}: ${event.type} (event ${event.id}) not delivered to ${describeUrl(webhook.target.url)} after ${outcome.attempts} attempt(s): ${outcome.error}`;
  throw outcome.retryable
    ? new TransientError('target', message, { code: 'notification.undelivered' })
    : new TerminalError('target', `${message}; expected a 2xx answer`, { code: 'notification.refused' });
}

let context: NotifyContext | undefined;

function contextFromEnv(): NotifyContext {
  const installation = process.env[NOTIFY_ENV.installation];
  const text = process.env[NOTIFY_ENV.targets];
  if (!installation || !text) {
    throw new TerminalError('config', `environment variables ${NOTIFY_ENV.installation} and ${NOTIFY_ENV.targets}: not set; expected the core stack to set them`, { code: 'config.env' });
  }
  return {
    installation,
    webhooks: JSON.parse(text) as DeployedWebhook[],
    secrets: new SecretsManagerSource(),
    log: (message, fields) => console.log(JSON.stringify({ level: 'info', message, ...fields })),
  };
}

/** Lambda entry point (`index.notify`). */
export async function notify(input: unknown): Promise<NotifyResult> {
  context ??= contextFromEnv();
  try {
    return await notifyWith(context, input);
  } catch (e) {
    const r = asReefError(e);
    // One line CloudWatch can be searched by; the message holds no secret and no query string.
    console.error(JSON.stringify({ level: 'error', message: describeError(r), code: r.code }));
    throw r;
  }
}
