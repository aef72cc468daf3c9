/**
 * reef.yaml's `notifications`: where events go and which ones. The JSON
 * Schema is part of reef.yaml's (shared/flow/installation-schema.ts); here
 * are the shape the code reads once the schema passed (one target per
 * entry, the filter's defaults applied) and the rules a schema cannot say.
 *
 * ```yaml
 * notifications:
 *   - name: ops                        # failures and metadata events (the default)
 *     webhook: { url: https://ops.example.com/hooks/reef, signing: { secret: ops-hook } }
 *   - name: data-team
 *     sqs: { queueArn: arn:aws:sqs:eu-west-1:123456789012:reef-events }
 *     events: [data]
 *     schemas: { include: [analytics], exclude: [analytics.tmp_*] }   # refused: see below
 *   - name: pager
 *     snsTopic: installation             # the topic the core stack creates
 * ```
 */
import type { ConfigProblem } from '../slice.ts';
import { closest } from '../flow/spelling.ts';
import { webhookUrlProblems } from '../webhook/url.ts';
import { DEFAULT_EVENTS, EVENT_TYPES, isKind, knownTypesSelected, type NotificationFilter, type SchemaPatterns } from './filter.ts';

export type NotificationTarget =
  | {
      type: 'webhook';
      url: string;
      /** The secret holding `{"key": "..."}`; absent: requests are not signed. */
      signing?: { secret: string };
    }
  | { type: 'sqs'; queueArn: string }
  | {
      type: 'sns';
      /** Absent: the installation's own notification topic (core stack). */
      topicArn?: string;
      /** The key a topic of your own is encrypted with, which publishing needs. */
      kmsKeyArn?: string;
    };

export interface NotificationSpec {
  /** Unique in reef.yaml: names the EventBridge rule and appears in every delivery. */
  name: string;
  target: NotificationTarget;
  filter: NotificationFilter;
}

/** The YAML keys of the three target kinds, one of which each entry has. */
export const TARGET_KEYS = ['webhook', 'sqs', 'snsTopic'] as const;

/** One entry of reef.yaml's `notifications` as the schema checked it, before defaults. */
interface RawNotification {
  name: string;
  webhook?: { url: string; signing?: { secret: string } };
  sqs?: { queueArn: string };
  snsTopic?: 'installation' | { topicArn: string; kmsKeyArn?: string };
  events?: string[];
  schemas?: SchemaPatterns;
}

function targetOf(raw: RawNotification): NotificationTarget {
  if (raw.webhook) return { type: 'webhook', url: raw.webhook.url, ...(raw.webhook.signing ? { signing: { secret: raw.webhook.signing.secret } } : {}) };
  if (raw.sqs) return { type: 'sqs', queueArn: raw.sqs.queueArn };
  const topic = raw.snsTopic;
  if (topic === undefined || topic === 'installation') return { type: 'sns' };
  return { type: 'sns', topicArn: topic.topicArn, ...(topic.kmsKeyArn !== undefined ? { kmsKeyArn: topic.kmsKeyArn } : {}) };
}

/** Defaults applied to entries that passed the schema and notificationProblems. */
export function withNotificationDefaults(raw: unknown): NotificationSpec[] {
  return ((raw as RawNotification[] | undefined) ?? []).map((r) => ({
    name: r.name,
    target: targetOf(r),
    filter: {
      events: r.events ?? [...DEFAULT_EVENTS],
      schemas: { ...(r.schemas?.include ? { include: r.schemas.include } : {}), ...(r.schemas?.exclude ? { exclude: r.schemas.exclude } : {}) },
    },
  }));
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/**
 * What the schema cannot say about `notifications` (paths from reef.yaml's
 * top). Each rule looks only at values of the right shape, so they run
 * beside the schema's own problems and one run reports everything.
 */
export function notificationProblems(notifications: unknown): ConfigProblem[] {
  if (!Array.isArray(notifications)) return [];
  const problems: ConfigProblem[] = [];
  const firstOfName = new Map<string, number>();
  notifications.forEach((raw, i) => {
    const n = asRecord(raw);
    if (n === undefined) return;
    const at = (...path: (string | number)[]) => ['notifications', i, ...path];
    if (typeof n.name === 'string') {
      const first = firstOfName.get(n.name);
      if (first === undefined) firstOfName.set(n.name, i);
      else problems.push({ path: at('name'), message: `found "${n.name}" again (first at notifications[${first}]), expected each notification to have its own name (it names its EventBridge rule)` });
    }
    const targets = TARGET_KEYS.filter((k) => n[k] !== undefined);
    if (targets.length !== 1) {
      problems.push({
        path: targets.length === 0 ? at() : at(targets[1]!),
        message: `found ${targets.length === 0 ? 'no target' : targets.join(' and ')}, expected exactly one target: webhook, sqs or snsTopic`,
      });
    }
    const url = asRecord(n.webhook)?.url;
    if (typeof url === 'string') for (const message of webhookUrlProblems(url)) problems.push({ path: at('webhook', 'url'), message });

    strings(n.events).forEach((entry, j) => {
      if (entry.includes('**')) {
        problems.push({ path: at('events', j), message: `found "${entry}", expected no two * in a row (EventBridge refuses them; one * already matches any run of characters)` });
      } else if (!isKind(entry) && knownTypesSelected(entry).length === 0) {
        const near = closest(entry, Object.keys(EVENT_TYPES));
        problems.push({
          path: at('events', j),
          message: `found "${entry}", which selects no event Reef emits${near ? ` (did you mean "${near}"?)` : ''}; expected data, metadata, or event types such as ${Object.keys(EVENT_TYPES).slice(0, 4).join(', ')}, ... (globs like *.failed allowed)`,
        });
      }
    });
    const schemas = asRecord(n.schemas);
    for (const side of ['include', 'exclude'] as const) {
      strings(schemas?.[side]).forEach((p, j) => {
        if (p.includes('**')) problems.push({ path: at('schemas', side, j), message: `found "${p}", expected no two * in a row (EventBridge refuses them; one * already matches any run of characters)` });
      });
    }
    // See event-pattern.ts: an EventBridge pattern cannot both include and exclude on one field, and only the webhook function can finish the job.
    if (strings(schemas?.include).length > 0 && strings(schemas?.exclude).length > 0 && targets.length === 1 && targets[0] !== 'webhook') {
      problems.push({
        path: at('schemas'),
        message:
          `found both include and exclude for a ${targets[0]} target, which an EventBridge rule cannot express (it names dataset once: either wildcards or anything-but); ` +
          'expected only one of them (often the include can list exactly the schemas or datasets wanted), or a webhook target, whose function applies both',
      });
    }
  });
  return problems;
}
