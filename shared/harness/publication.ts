/**
 * The contract between a harness slice type and the pass that drives it. A
 * harness slice publishes one dataset (a collected table `<source>.<table>`
 * or a view `<schema>.<name>`) somewhere outside the warehouse, once per
 * timelabel the dataset finished (a committed load or refresh whose checks
 * passed), in timelabel order. The pass claims a record per (publication,
 * timelabel) in the metadata like every other step, so a publish must be
 * idempotent: a retry of a timelabel already published is a no-op.
 */
import type pg from 'pg';
import type { Services } from '../runtime/services.ts';

/** Warehouse dialects a harness may read from: Redshift in AWS, PostgreSQL as the local stand-in. */
export type WarehouseDialectName = 'redshift' | 'postgres';

export interface PublishInput<Config = unknown> {
  services: Services;
  /** The harness slice's name (its file `publications/<slice>.yaml`). */
  slice: string;
  config: Config;
  /** The dataset published, as `HarnessDefinition.dataset(config)` named it. */
  dataset: string;
  timelabel: string;
  /** Owner token of this pass, for markers and logs. */
  runId: string;
  /** A connected warehouse client the dataset is read through, and its dialect. */
  warehouse: { client: pg.ClientBase; dialect: WarehouseDialectName };
  /** The dataset's key columns, when it has any (a view's `@keys`, a collected table's keys). */
  keys?: string[];
}

export interface PublishResult {
  status: 'published' | 'already-published';
  /** Rows written or sent for this timelabel. */
  rows: number;
  /** Small JSON for the data event (target, batches sent...). Never data. */
  detail?: Record<string, unknown>;
}

/**
 * A publication's own warehouse credentials, the same field in every harness
 * type's config (`warehouse.secret`): a database user GRANTed SELECT on just
 * the dataset it publishes. IAM decides which secrets a slice may read, not
 * which tables a warehouse user may read; only such a user confines a
 * publication to its dataset inside the warehouse. Absent: the installation's
 * warehouse secret (reef.yaml's `warehouse.connection.secret`).
 */
export interface PublicationWarehouse {
  secret: string;
}

export const publicationWarehouseSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['secret'],
  description: "the warehouse user this publication reads its dataset as (default: the installation's warehouse secret)",
  properties: {
    secret: {
      type: 'string',
      pattern: '^[A-Za-z0-9/_+=.@-]{1,512}$',
      description: 'secret name (not its value): {"user","password"} (and "host","port","database" unless Reef created the warehouse) of a warehouse user granted SELECT on the dataset',
    },
  },
} as const;

/** What a harness slice type adds to its SliceDefinition. */
export interface HarnessDefinition<Config = unknown> {
  /** The dataset a config publishes. */
  dataset(config: Config): string;
  /** The config's own warehouse secret (`warehouse.secret`), when it names one. */
  warehouseSecret(config: Config): string | undefined;
  /**
   * The dataset columns a config lists by name, which pause it when the
   * dataset loses one (column-losses.ts); undefined for `columns: all`, which
   * publishes whatever the dataset has.
   */
  mappedColumns(config: Config): string[] | undefined;
  /** Loaded lazily, like SliceDefinition.runtime, so the CDK app never imports drivers. */
  publisher(): Promise<{ publish(input: PublishInput<Config>): Promise<PublishResult> }>;
}
