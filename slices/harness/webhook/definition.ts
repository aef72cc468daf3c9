import type { SliceDefinition } from '../../../shared/slice.ts';
import { configProblems, configSchema, exampleConfig, type HarnessWebhookConfig } from './config.ts';

/**
 * What `schedule()` answers. A harness slice does not run on a clock of its
 * own: the pass that drives it publishes a timelabel once its dataset has
 * finished it (a committed load or refresh whose checks passed). This is the
 * fallback period at which that pass also runs without being woken, to pick
 * up what an event-started run left (a lost event, a publish that failed and
 * may succeed now), the same rule as the organize slice's.
 */
export const HARNESS_FALLBACK_SCHEDULE = 'every 1 hour';

/** Timelabels are published in order, one at a time: a later one's changes are relative to the earlier one's. */
const PUBLISH_CONCURRENCY = 1;

export const harnessWebhook = {
  type: 'harness/webhook',
  kind: 'harness',
  summary: 'the changed rows of a dataset, per finished timelabel, POSTed to a URL as signed JSON batches',
  capabilities: {
    // What changed since the last timelabel delivered, not the whole dataset each time.
    modes: ['incremental'],
    // Keys gone from the dataset are sent as deletes.
    deletes: true,
    defaultMaxConnections: PUBLISH_CONCURRENCY,
    // Receivers are reached over the internet for now; a private URL would need the functions in a VPC.
    vpc: false,
  },
  configSchema,
  example: exampleConfig,
  maxConcurrency: () => PUBLISH_CONCURRENCY,
  secretNames: (c) => [c.signing.secret, ...(c.warehouse ? [c.warehouse.secret] : [])],
  schedule: () => HARNESS_FALLBACK_SCHEDULE,
  problems: configProblems,
  harness: {
    dataset: (c) => c.dataset,
    warehouseSecret: (c) => c.warehouse?.secret,
    mappedColumns: (c) => (c.columns === undefined || c.columns === 'all' ? undefined : [...c.columns]),
    publisher: async () => {
      const { createWebhookPublisher } = await import('./publish.ts');
      return createWebhookPublisher();
    },
  },
  runtime: async () => (await import('../../../shared/harness/tasks.ts')).harnessRuntime(),
} satisfies SliceDefinition<HarnessWebhookConfig>;
