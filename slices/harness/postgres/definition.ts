import type { SliceDefinition } from '../../../shared/slice.ts';
import { configProblems, configSchema, exampleConfig, type HarnessPostgresConfig } from './config.ts';

/**
 * A harness slice runs after its dataset, never on a clock: the pass that
 * drives it publishes each timelabel once the dataset's load or refresh for it
 * committed with passing checks, started by that data event. This schedule
 * only bounds how long a timelabel waits when such an event was lost (the
 * pass, run on it, finds every finished timelabel not yet published); a
 * quarter of an hour matches the shortest collect period the examples use.
 */
export const HARNESS_FALLBACK_SCHEDULE = 'every 15 minutes';

/** One publish holds one connection to the application database; publishes of a publication run one at a time, in timelabel order. */
const PUBLISH_CONNECTIONS = 1;

export const harnessPostgres = {
  type: 'harness/postgres',
  kind: 'harness',
  summary: 'a dataset (a view or a collected table) into a table of an application\'s PostgreSQL, replaced or merged by keys, once per finished timelabel',
  capabilities: {
    // The load modes' harness counterparts: replace publishes a snapshot, merge applies the dataset's changes by keys.
    modes: ['snapshot', 'incremental'],
    // A merge deletes the target rows whose keys left the dataset.
    deletes: true,
    defaultMaxConnections: PUBLISH_CONNECTIONS,
    // An application database is often private: connection.vpc places the functions next to it.
    vpc: true,
  },
  configSchema,
  example: exampleConfig,
  maxConcurrency: () => PUBLISH_CONNECTIONS,
  secretNames: (c) => [c.connection.secret, ...(c.warehouse ? [c.warehouse.secret] : [])],
  schedule: () => HARNESS_FALLBACK_SCHEDULE,
  problems: configProblems,
  harness: {
    dataset: (c) => c.dataset,
    warehouseSecret: (c) => c.warehouse?.secret,
    mappedColumns: (c) => (c.columns === undefined || c.columns === 'all' ? undefined : c.columns.map((x) => x.column)),
    publisher: async () => {
      const { publish } = await import('./publish.ts');
      return { publish: (input) => publish(input) };
    },
  },
  runtime: async () => (await import('../../../shared/harness/tasks.ts')).harnessRuntime(),
} satisfies SliceDefinition<HarnessPostgresConfig>;
