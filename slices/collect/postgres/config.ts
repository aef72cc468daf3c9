/**
 * The config of a `collect/postgres` slice: the YAML file `sources/<slice>.yaml`.
 * The JSON Schema below is what `reef validate` checks and `reef describe` prints;
 * the TypeScript type is what the slice's code reads after validation.
 */
export type CollectPostgresMode = 'snapshot' | 'incremental';

export interface LoadunitByTable {
  /** `schema.table`, or `table` for the `public` schema. */
  table: string;
  /** Loadunit name (and lake folder and dataset table); defaults to the table name. */
  as?: string;
  mode: CollectPostgresMode;
  /** incremental only: a column that grows with every insert and update (`updated_at`, a sequence id). */
  cursor?: string;
  /** incremental: primary key columns, so downstream merges can upsert. */
  keys?: string[];
}

export interface LoadunitByPattern {
  /** `schema.*` or `schema.prefix_*`: every matching base table is a loadunit (snapshot only). */
  pattern: string;
  mode: 'snapshot';
}

export type LoadunitSpec = LoadunitByTable | LoadunitByPattern;

export interface VpcPlacement {
  vpcId: string;
  subnetIds: string[];
  availabilityZones: string[];
  /** Security groups the source accepts connections from; one is created when absent. */
  securityGroupIds?: string[];
}

export interface CollectPostgresConfig {
  type: 'collect/postgres';
  description?: string;
  /** `every 15 minutes`, `every 1 hour`, `every 1 day`, or a 5-field UTC cron. */
  schedule: string;
  connection: {
    /** Name of the secret holding `{ host, port, database, user, password }`. */
    secret: string;
    /** Upper bound of concurrent connections to the source; the Map's MaxConcurrency. */
    maxConnections?: number;
    /** TLS: `require` verifies nothing but encrypts; `verify-full` also checks the host. */
    ssl?: 'disable' | 'require' | 'verify-full';
    vpc?: VpcPlacement;
  };
  loadunits: LoadunitSpec[];
  extract?: {
    /** Rows per Parquet row group (bounds the writer's memory). */
    rowGroupRows?: number;
    /** Row groups per part file before it is uploaded and a new part begins. */
    rowGroupsPerPart?: number;
  };
}

/** Two connections leave room for the application on small sources; raise it for large ones. */
export const DEFAULT_MAX_CONNECTIONS = 2;
/** 64k rows of ~100 bytes keeps a row group near 6 MB in memory, well under the Lambda's. */
export const DEFAULT_ROW_GROUP_ROWS = 65_536;
/** Eight row groups (~50 MB) per part: few enough objects, small enough to retry cheaply. */
export const DEFAULT_ROW_GROUPS_PER_PART = 8;

const identifier = '^[A-Za-z_][A-Za-z0-9_$]*$';

export const configSchema = {
  $id: 'https://reef.dev/schemas/collect-postgres.json',
  type: 'object',
  additionalProperties: false,
  required: ['type', 'schedule', 'connection', 'loadunits'],
  properties: {
    type: { const: 'collect/postgres' },
    description: { type: 'string' },
    schedule: { type: 'string', minLength: 1, description: 'every N minutes|hours|days, or a 5-field UTC cron' },
    connection: {
      type: 'object',
      additionalProperties: false,
      required: ['secret'],
      properties: {
        secret: { type: 'string', pattern: '^[A-Za-z0-9/_+=.@-]{1,512}$', description: 'secret name (not its value)' },
        maxConnections: { type: 'integer', minimum: 1, maximum: 64 },
        ssl: { enum: ['disable', 'require', 'verify-full'] },
        vpc: {
          type: 'object',
          additionalProperties: false,
          required: ['vpcId', 'subnetIds', 'availabilityZones'],
          properties: {
            vpcId: { type: 'string', pattern: '^vpc-[0-9a-f]+$' },
            subnetIds: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^subnet-[0-9a-f]+$' } },
            availabilityZones: { type: 'array', minItems: 1, items: { type: 'string' } },
            securityGroupIds: { type: 'array', items: { type: 'string', pattern: '^sg-[0-9a-f]+$' } },
          },
        },
      },
    },
    loadunits: {
      type: 'array',
      minItems: 1,
      items: {
        oneOf: [
          {
            type: 'object',
            additionalProperties: false,
            required: ['table', 'mode'],
            properties: {
              table: { type: 'string', minLength: 1, maxLength: 127 },
              as: { type: 'string', pattern: identifier, maxLength: 63 },
              mode: { enum: ['snapshot', 'incremental'] },
              cursor: { type: 'string', minLength: 1, maxLength: 63 },
              keys: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1, maxLength: 63 } },
            },
            if: { properties: { mode: { const: 'incremental' } } },
            then: { required: ['cursor'] },
          },
          {
            type: 'object',
            additionalProperties: false,
            required: ['pattern', 'mode'],
            properties: {
              pattern: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_$]*\\.[A-Za-z0-9_$]*\\*$' },
              mode: { const: 'snapshot' },
            },
          },
        ],
      },
    },
    extract: {
      type: 'object',
      additionalProperties: false,
      properties: {
        rowGroupRows: { type: 'integer', minimum: 1000, maximum: 1_000_000 },
        rowGroupsPerPart: { type: 'integer', minimum: 1, maximum: 64 },
      },
    },
  },
} as const;

export const exampleConfig: CollectPostgresConfig = {
  type: 'collect/postgres',
  description: 'The shop database',
  schedule: 'every 15 minutes',
  connection: { secret: 'shop-source', maxConnections: 2 },
  loadunits: [
    { table: 'public.customers', mode: 'incremental', cursor: 'updated_at', keys: ['id'] },
    { table: 'public.products', mode: 'snapshot' },
    { pattern: 'audit.*', mode: 'snapshot' },
  ],
};

export function isPatternLoadunit(l: LoadunitSpec): l is LoadunitByPattern {
  return 'pattern' in l;
}
