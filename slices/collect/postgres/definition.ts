import type { SliceDefinition } from '../../../shared/slice.ts';
import { COLLECT_TASKS } from '../../../shared/orchestration/contracts.ts';
import {
  configProblems,
  configSchema,
  exampleConfig,
  isPatternLoadunit,
  loadunitName,
  DEFAULT_MAX_CONNECTIONS,
  type CollectPostgresConfig,
} from './config.ts';

export const collectPostgres = {
  type: 'collect/postgres',
  kind: 'collect',
  summary: 'PostgreSQL tables into the S3 lake as Parquet, in snapshot or incremental batches',
  capabilities: {
    modes: ['snapshot', 'incremental'],
    // Deletes are invisible to a cursor query; cdc (logical replication) will see them.
    deletes: false,
    defaultMaxConnections: DEFAULT_MAX_CONNECTIONS,
    vpc: true,
  },
  configSchema,
  example: exampleConfig,
  maxConcurrency: (c) => c.connection.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
  secretNames: (c) => [c.connection.secret],
  schedule: (c) => c.schedule,
  problems: configProblems,
  datasets: (c) => ({
    tables: c.loadunits.flatMap((l) => {
      const name = isPatternLoadunit(l) ? undefined : loadunitName(l);
      return name === undefined ? [] : [name];
    }),
    tablesKnownAtRunTime: c.loadunits.some(isPatternLoadunit),
  }),
  loadOptions: (c, table) => {
    const spec = c.loadunits.find((l) => !isPatternLoadunit(l) && loadunitName(l) === table);
    return spec && !isPatternLoadunit(spec) ? { mode: spec.mode, keys: spec.keys } : { mode: 'snapshot' };
  },
  runtime: async () => {
    const { collectHandlers, acceptSchema } = await import('./collector.ts');
    return {
      handlers: (services) => {
        const h = collectHandlers(services);
        return Object.fromEntries(Object.entries(COLLECT_TASKS).map(([task, state]) => [state, h[task as keyof typeof h]]));
      },
      acceptSchema,
    };
  },
} satisfies SliceDefinition<CollectPostgresConfig>;
