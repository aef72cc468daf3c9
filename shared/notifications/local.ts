/**
 * Notifications on the embedded default: every event the local bus carries
 * is matched against each target's filter; matching events go out to
 * webhook targets in the background, and are recorded for SQS and SNS
 * targets, which have no stand-in here, as what AWS would deliver.
 *
 * Delivery never blocks or fails the run that emitted the event: `publish`
 * only queues (one queue per target, so a receiver sees a target's events in
 * the order they happened), and every outcome, good or bad, is one line of
 * `.reef/notifications.jsonl`; a failure is also a log line. A failed
 * delivery is not an event itself: a `*.failed` filter would send news of a
 * failing receiver to that same receiver.
 *
 * `drain` waits for the queues; the runtime calls it when it stops, so a
 * short run still delivers everything it emitted.
 */
import { appendFileSync } from 'node:fs';
import { describeError, asReefError } from '../errors.ts';
import type { ReefEvent } from '../metadata/types.ts';
import type { SecretSource } from '../secrets.ts';
import { REAL_CLOCK, type DeliveryClock, type DeliveryOutcome, type RetryPolicy } from '../webhook/delivery.ts';
import { describeUrl } from '../webhook/url.ts';
import type { NotificationSpec } from './config.ts';
import { matchesFilter } from './filter.ts';
import { sendWebhookNotification, type WebhookTarget } from './webhook.ts';

/** Where outcomes are recorded, under the flow's `.reef/`. */
export const NOTIFICATIONS_LOG = 'notifications.jsonl';

/**
 * Quick: three requests with waits of about 0.2 and 0.4 s ride out a
 * receiver's hiccup; a receiver down for longer is not waited for, the
 * outcome says so and the run goes on.
 */
export const LOCAL_DELIVERY_POLICY: RetryPolicy = { attempts: 3, baseDelayMs: 200, maxDelayMs: 1000, timeoutMs: 5000 };

/**
 * After this many events in a row failed for a target, each further event
 * gets one request only (until one gets through), so a receiver that is down
 * costs a stopping runtime one timeout per event, not three.
 */
export const SUSPEND_AFTER_FAILURES = 3;

export type NotificationOutcome = 'delivered' | 'failed' | 'aws-only';

/** One line of notifications.jsonl. */
export interface NotificationRecord {
  time: string;
  notification: string;
  target: 'webhook' | 'sqs' | 'sns';
  /** The webhook's origin and path, the queue or topic ARN (`installation`: the core stack's topic). */
  to: string;
  event: Pick<ReefEvent, 'id' | 'kind' | 'type' | 'dataset' | 'timelabel'>;
  outcome: NotificationOutcome;
  attempts?: number;
  status?: number;
  error?: string;
  /** For `aws-only`: why nothing was sent. */
  note?: string;
}

export interface LocalNotifierOptions {
  installation: string;
  notifications: readonly NotificationSpec[];
  secrets: SecretSource;
  /** Path of notifications.jsonl. */
  logFile: string;
  log(message: string, fields?: Record<string, unknown>): void;
  now(): Date;
  /** @default LOCAL_DELIVERY_POLICY */
  policy?: RetryPolicy;
  /** @default real timers */
  clock?: DeliveryClock;
}

export class LocalNotifier {
  readonly #o: LocalNotifierOptions;
  readonly #queues = new Map<string, Promise<void>>();
  readonly #failuresInARow = new Map<string, number>();

  constructor(options: LocalNotifierOptions) {
    this.#o = options;
  }

  /** Queues the event for every target whose filter it passes; returns at once and never throws. */
  publish(event: ReefEvent): void {
    for (const spec of this.#o.notifications) {
      try {
        if (!matchesFilter(spec.filter, event)) continue;
        const target = spec.target;
        if (target.type !== 'webhook') {
          this.#record(spec, event, { outcome: 'aws-only', note: `no local stand-in for ${target.type.toUpperCase()}: in AWS the installation's rule delivers this event` });
          continue;
        }
        const previous = this.#queues.get(spec.name) ?? Promise.resolve();
        const next = previous
          .then(() => this.#deliver(spec, target, event))
          .catch((e: unknown) => this.#o.log(`notification ${spec.name}: ${event.type}: ${describeError(asReefError(e))}`));
        this.#queues.set(spec.name, next);
      } catch (e) {
        // A notification must never break the run that emitted the event (a full disk, say).
        this.#o.log(`notification ${spec.name}: ${event.type} not queued: ${describeError(asReefError(e))}`);
      }
    }
  }

  /** Resolves once every queued event was delivered or given up on. */
  async drain(): Promise<void> {
    for (;;) {
      const pending = [...this.#queues.values()];
      await Promise.all(pending);
      // Events published while waiting (a listener reacting to one) extend the queues: wait for those too.
      const now = [...this.#queues.values()];
      if (now.length === pending.length && now.every((q, i) => q === pending[i])) return;
    }
  }

  async #deliver(spec: NotificationSpec, target: WebhookTarget, event: ReefEvent): Promise<void> {
    const failures = this.#failuresInARow.get(spec.name) ?? 0;
    const policy = this.#o.policy ?? LOCAL_DELIVERY_POLICY;
    let outcome: DeliveryOutcome;
    try {
      outcome = await sendWebhookNotification({
        installation: this.#o.installation,
        notification: spec.name,
        target,
        event,
        secrets: this.#o.secrets,
        policy: failures >= SUSPEND_AFTER_FAILURES ? { ...policy, attempts: 1 } : policy,
        clock: this.#o.clock ?? REAL_CLOCK,
      });
    } catch (e) {
      // The signing key could not be read; the message names the secret, never its value.
      outcome = { delivered: false, retryable: false, error: describeError(asReefError(e)), attempts: 0 };
    }
    this.#failuresInARow.set(spec.name, outcome.delivered ? 0 : failures + 1);
    try {
      if (outcome.delivered) {
        this.#record(spec, event, { outcome: 'delivered', attempts: outcome.attempts, status: outcome.status });
      } else {
        this.#record(spec, event, { outcome: 'failed', attempts: outcome.attempts, status: outcome.status, error: outcome.error });
        this.#o.log(`notification ${spec.name}: ${event.type} not delivered to ${describeUrl(target.url)} after ${outcome.attempts} attempt(s): ${outcome.error}`, {
          notification: spec.name,
          event: event.id,
        });
      }
    } catch (e) {
      this.#o.log(`notification ${spec.name}: outcome not recorded: ${describeError(asReefError(e))}`);
    }
  }

  #record(spec: NotificationSpec, event: ReefEvent, result: Pick<NotificationRecord, 'outcome' | 'attempts' | 'status' | 'error' | 'note'>): void {
    const t = spec.target;
    const to = t.type === 'webhook' ? describeUrl(t.url) : t.type === 'sqs' ? t.queueArn : (t.topicArn ?? 'installation');
    const { id, kind, type, dataset, timelabel } = event;
    const record: NotificationRecord = {
      time: this.#o.now().toISOString(),
      notification: spec.name,
      target: t.type,
      to,
      event: { id, kind, type, ...(dataset !== undefined ? { dataset } : {}), ...(timelabel !== undefined ? { timelabel } : {}) },
      ...result,
    };
    appendFileSync(this.#o.logFile, JSON.stringify(record) + '\n');
  }
}
