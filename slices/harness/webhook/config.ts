/**
 * The config of a `harness/webhook` slice: the YAML file
 * `publications/<slice>.yaml`. The JSON Schema below is what `reef validate`
 * checks and `reef describe` prints; the TypeScript type is what the slice's
 * code reads after validation.
 */
import type { ConfigProblem } from '../../../shared/slice.ts';
import { describeUrl, webhookUrlProblems } from '../../../shared/webhook/url.ts';
import { publicationWarehouseSchema, type PublicationWarehouse } from '../../../shared/harness/publication.ts';

export interface HarnessWebhookConfig {
  type: 'harness/webhook';
  description?: string;
  /** The dataset published: a view `<schema>.<name>` or a collected table `<slice>.<table>`. */
  dataset: string;
  /** Where each batch is POSTed (http or https). */
  url: string;
  signing: {
    /** Name of the secret holding `{ "key": "..." }`, the HMAC-SHA256 key the receiver shares. */
    secret: string;
  };
  /** Columns that identify a row; default: the dataset's own keys (a view's @keys, a loadunit's keys). */
  keys?: string[];
  /** Columns sent; default `all`. The keys must be among them. */
  columns?: 'all' | string[];
  batch?: {
    /** Upper bound of one request body, in bytes. */
    maxBytes?: number;
    /** Upper bound of rows (upserts plus deletes) in one request; default: no bound but bytes. */
    maxRows?: number;
  };
  retry?: {
    /** Requests per batch before it is dead-lettered, the first included. */
    attempts?: number;
    /** The first wait; each later one doubles, with jitter. */
    baseDelayMs?: number;
    /** No single wait is longer, and a receiver's Retry-After longer than this ends the attempts. */
    maxDelayMs?: number;
  };
  /** How long one request may take before it counts as a network error. */
  timeoutMs?: number;
  /** The warehouse user the dataset is read as (and the change tables are kept as); default the installation's warehouse secret. */
  warehouse?: PublicationWarehouse;
}

/**
 * 256 KiB is the message limit of SQS, SNS and EventBridge: a receiver that
 * hands each batch on to one of them (the common shape of a webhook endpoint
 * on AWS) can do so as one message. It is also small enough that a retried
 * batch costs little.
 */
export const DEFAULT_MAX_BYTES = 256 * 1024;
/** Five requests with waits of about 0.5, 1, 2 and 4 s ride out a receiver's restart or a short throttle; longer outages are the pass's to retry later. */
export const DEFAULT_ATTEMPTS = 5;
/** Short enough that a one-off 503 costs half a second, long enough not to hammer a struggling receiver. */
export const DEFAULT_BASE_DELAY_MS = 500;
/** Keeps every batch's attempts well inside one Lambda invocation (15 minutes), Retry-After included. */
export const DEFAULT_MAX_DELAY_MS = 30_000;
/** A receiver that has not answered in 30 s is treated like a dropped connection: retried. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** A body smaller than this could not hold the envelope and a row. */
export const MIN_MAX_BYTES = 1024;
/** 10 MiB: API Gateway's payload limit, larger than most receivers accept anyway. */
export const MAX_MAX_BYTES = 10 * 1024 * 1024;

const identifier = '[A-Za-z_][A-Za-z0-9_$]*';
const columnName = { type: 'string', minLength: 1, maxLength: 127 } as const;

export const configSchema = {
  $id: 'https://reef.dev/schemas/harness-webhook.json',
  type: 'object',
  additionalProperties: false,
  required: ['type', 'dataset', 'url', 'signing'],
  properties: {
    type: { const: 'harness/webhook' },
    description: { type: 'string', description: 'what this publication is for, for people' },
    dataset: {
      type: 'string',
      // The schema part may be a slice name, which allows hyphens (`shop-db.orders`).
      pattern: `^[A-Za-z_][A-Za-z0-9_$-]*\\.${identifier}$`,
      maxLength: 255,
      description: 'the dataset published: a view (analytics.customer_ltv) or a collected table (shop.orders)',
    },
    url: { type: 'string', pattern: '^https?://', maxLength: 2048, description: 'where each batch is POSTed; http or https, no user:password@ (signing authenticates Reef)' },
    signing: {
      type: 'object',
      additionalProperties: false,
      required: ['secret'],
      description: 'how the receiver knows a request came from Reef',
      properties: {
        secret: {
          type: 'string',
          pattern: '^[A-Za-z0-9/_+=.@-]{1,512}$',
          description: 'name of the secret (not its value) holding {"key": "..."}: the HMAC-SHA256 key, at least 16 characters, shared with the receiver',
        },
      },
    },
    keys: {
      type: 'array',
      minItems: 1,
      items: columnName,
      description: "columns that identify a row, so changes and deletes can be told apart (default: the dataset's keys; without any, rows are compared whole)",
    },
    columns: {
      description: 'columns sent (default all); the keys must be among them',
      oneOf: [{ const: 'all' }, { type: 'array', minItems: 1, items: columnName }],
    },
    batch: {
      type: 'object',
      additionalProperties: false,
      description: 'how the changed rows of a timelabel are cut into requests',
      properties: {
        maxBytes: { type: 'integer', minimum: MIN_MAX_BYTES, maximum: MAX_MAX_BYTES, description: 'largest request body in bytes (default 262144, the SQS/SNS/EventBridge message limit)' },
        maxRows: { type: 'integer', minimum: 1, maximum: 1_000_000, description: 'most rows (upserts plus deletes) in one request (default: no bound but maxBytes)' },
      },
    },
    retry: {
      type: 'object',
      additionalProperties: false,
      description: 'how a batch is retried on 408, 429, 5xx and network errors',
      properties: {
        attempts: { type: 'integer', minimum: 1, maximum: 20, description: 'requests per batch, the first included, before it is dead-lettered (default 5)' },
        baseDelayMs: { type: 'integer', minimum: 1, maximum: 60_000, description: 'first wait in ms; each later one doubles, with jitter (default 500)' },
        maxDelayMs: { type: 'integer', minimum: 1, maximum: 300_000, description: "longest single wait in ms; a longer Retry-After ends the batch's attempts (default 30000)" },
      },
    },
    timeoutMs: { type: 'integer', minimum: 100, maximum: 300_000, description: 'how long one request may take before it is retried as a network error (default 30000)' },
    warehouse: publicationWarehouseSchema,
  },
} as const;

export const exampleConfig: HarnessWebhookConfig = {
  type: 'harness/webhook',
  description: 'Customer lifetime value to the CRM',
  dataset: 'analytics.customer_ltv',
  url: 'https://crm.example.com/hooks/reef/customer-ltv',
  signing: { secret: 'crm-webhook-signing' },
  keys: ['customer_id'],
  columns: 'all',
  batch: { maxBytes: DEFAULT_MAX_BYTES, maxRows: 1000 },
  retry: { attempts: DEFAULT_ATTEMPTS, baseDelayMs: DEFAULT_BASE_DELAY_MS, maxDelayMs: DEFAULT_MAX_DELAY_MS },
};

/** The settings a publish runs with: the config's, or the defaults. */
export interface WebhookSettings {
  maxBytes: number;
  maxRows: number | undefined;
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  timeoutMs: number;
}

export function webhookSettings(config: HarnessWebhookConfig): WebhookSettings {
  return {
    maxBytes: config.batch?.maxBytes ?? DEFAULT_MAX_BYTES,
    maxRows: config.batch?.maxRows,
    attempts: config.retry?.attempts ?? DEFAULT_ATTEMPTS,
    baseDelayMs: config.retry?.baseDelayMs ?? DEFAULT_BASE_DELAY_MS,
    maxDelayMs: config.retry?.maxDelayMs ?? DEFAULT_MAX_DELAY_MS,
    timeoutMs: config.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  };
}

/** Columns Reef adds beside the dataset's in its own tables; a dataset column of these names would be overwritten. */
export const RESERVED_COLUMNS: readonly string[] = ['reef_seq', 'reef_row_hash', 'reef_dup'];

// What may be printed of a URL, and what a webhook URL may be: shared with the notifications.
export { describeUrl };

function duplicates(list: readonly string[]): string[] {
  return [...new Set(list.filter((x, i) => list.indexOf(x) !== i))];
}

export function configProblems(config: HarnessWebhookConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const message of webhookUrlProblems(config.url)) problems.push({ path: ['url'], message });
  for (const d of duplicates(config.keys ?? [])) problems.push({ path: ['keys'], message: `found ${JSON.stringify(d)} twice; expected each key column once` });
  const columns = Array.isArray(config.columns) ? config.columns : undefined;
  for (const d of duplicates(columns ?? [])) problems.push({ path: ['columns'], message: `found ${JSON.stringify(d)} twice; expected each column once` });
  for (const name of [...(config.keys ?? []), ...(columns ?? [])]) {
    if (RESERVED_COLUMNS.includes(name)) {
      problems.push({ path: [config.keys?.includes(name) ? 'keys' : 'columns'], message: `found ${JSON.stringify(name)}, a name Reef uses for its own columns; expected none of ${RESERVED_COLUMNS.join(', ')}` });
    }
  }
  if (columns && config.keys) {
    config.keys.forEach((k, i) => {
      if (!columns.includes(k)) problems.push({ path: ['keys', i], message: `found key ${JSON.stringify(k)}, which is not in columns; expected the keys to be sent (add it to columns)` });
    });
  }
  const base = config.retry?.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
  const max = config.retry?.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  if (max < base) problems.push({ path: ['retry', 'maxDelayMs'], message: `found ${max} ms, below baseDelayMs (${base} ms); expected at least the first wait` });
  return problems;
}
