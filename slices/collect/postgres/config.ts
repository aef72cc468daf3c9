/**
 * The config of a `collect/postgres` slice: the YAML file `sources/<slice>.yaml`.
 * The JSON Schema below is what `reef validate` checks and `reef describe` prints;
 * the TypeScript type is what the slice's code reads after validation.
 */
import type { ConfigProblem } from '../../../shared/slice.ts';
import { parseTableRef } from './sql.ts';
import { vpcPlacementSchema, type VpcPlacement } from '../../../shared/flow/vpc-placement.ts';
export type CollectPostgresMode = 'snapshot' | 'incremental';

/**
 * What a change of a loadunit's source schema does (schema-policy.ts):
 * `evolve` carries it downstream, `freeze` pauses the loadunit until
 * `reef accept`, `ignore_new_columns` leaves added columns out.
 */
export type SchemaPolicy = 'evolve' | 'freeze' | 'ignore_new_columns';

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
  /** Overrides the source's `schemaPolicy` for this loadunit. */
  schemaPolicy?: SchemaPolicy;
}

export interface LoadunitByPattern {
  /** `schema.*` or `schema.prefix_*`: every matching base table is a loadunit (snapshot only). */
  pattern: string;
  mode: 'snapshot';
  /** Overrides the source's `schemaPolicy` for every table of the pattern. */
  schemaPolicy?: SchemaPolicy;
}

export type LoadunitSpec = LoadunitByTable | LoadunitByPattern;

export type { VpcPlacement };

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
  /** What a change of a source table's schema does, for every loadunit that sets none; default `evolve`. */
  schemaPolicy?: SchemaPolicy;
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

const schemaPolicySchema = (scope: string) => ({
  enum: ['evolve', 'freeze', 'ignore_new_columns'],
  description:
    `what a change of ${scope} source schema does: evolve (default: carry it downstream), freeze (pause until \`reef accept\`), ` +
    'ignore_new_columns (added columns are not extracted; drops and retypes evolve)',
});

export const configSchema = {
  $id: 'https://reef.dev/schemas/collect-postgres.json',
  type: 'object',
  additionalProperties: false,
  required: ['type', 'schedule', 'connection', 'loadunits'],
  properties: {
    type: { const: 'collect/postgres' },
    description: { type: 'string', description: 'what this source is, for people' },
    schedule: { type: 'string', minLength: 1, description: 'every N minutes|hours|days, or a 5-field UTC cron' },
    connection: {
      type: 'object',
      additionalProperties: false,
      required: ['secret'],
      properties: {
        secret: { type: 'string', pattern: '^[A-Za-z0-9/_+=.@-]{1,512}$', description: 'secret name (not its value)' },
        maxConnections: { type: 'integer', minimum: 1, maximum: 64, description: 'at most this many tables are extracted at once (default 2)' },
        ssl: { enum: ['disable', 'require', 'verify-full'], description: 'TLS to the source (default disable); verify-full also checks the host name' },
        vpc: vpcPlacementSchema('place the functions in these subnets to reach a private source'),
      },
    },
    schemaPolicy: schemaPolicySchema("a loadunit's (unless it sets its own)"),
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
              table: { type: 'string', minLength: 1, maxLength: 127, description: 'table or schema.table, as in SQL (double-quote unusual names)' },
              as: { type: 'string', pattern: identifier, maxLength: 63, description: 'loadunit name: lake folder and dataset table (default: the table name)' },
              mode: { enum: ['snapshot', 'incremental'], description: 'snapshot copies the whole table each batch; incremental only rows whose cursor grew' },
              cursor: { type: 'string', minLength: 1, maxLength: 63, description: 'a column that grows on every insert and update (updated_at, a sequence id)' },
              keys: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1, maxLength: 63 }, description: 'primary key columns, so loads downstream can merge' },
              schemaPolicy: schemaPolicySchema("this table's"),
            },
            if: { properties: { mode: { const: 'incremental' } } },
            then: { required: ['cursor'] },
          },
          {
            type: 'object',
            additionalProperties: false,
            required: ['pattern', 'mode'],
            properties: {
              pattern: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_$]*\\.[A-Za-z0-9_$]*\\*$', description: 'schema.* or schema.prefix*: every base table that matches, each its own snapshot loadunit' },
              mode: { const: 'snapshot' },
              schemaPolicy: schemaPolicySchema("each matching table's"),
            },
          },
        ],
      },
    },
    extract: {
      type: 'object',
      additionalProperties: false,
      description: 'tuning of the Parquet output',
      properties: {
        rowGroupRows: { type: 'integer', minimum: 1000, maximum: 1_000_000, description: 'rows per Parquet row group (default 65536); bounds memory' },
        rowGroupsPerPart: { type: 'integer', minimum: 1, maximum: 64, description: 'row groups per part file (default 8)' },
      },
    },
  },
} as const;

export const exampleConfig: CollectPostgresConfig = {
  type: 'collect/postgres',
  description: 'The shop database',
  schedule: 'every 15 minutes',
  connection: { secret: 'shop-source', maxConnections: 2 },
  schemaPolicy: 'evolve',
  loadunits: [
    { table: 'public.customers', mode: 'incremental', cursor: 'updated_at', keys: ['id'], schemaPolicy: 'freeze' },
    { table: 'public.products', mode: 'snapshot', schemaPolicy: 'ignore_new_columns' },
    { pattern: 'audit.*', mode: 'snapshot' },
  ],
};

export function isPatternLoadunit(l: LoadunitSpec): l is LoadunitByPattern {
  return 'pattern' in l;
}

const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_$]*$/;

/**
 * A loadunit's name is its lake folder, its dataset's table and part of its
 * metadata keys, so it must be a plain identifier: `as`, or else the table's
 * own name when that is plain. Returns undefined when neither is.
 */
export function loadunitName(spec: LoadunitByTable): string | undefined {
  if (spec.as) return spec.as;
  let table: string;
  try {
    table = parseTableRef(spec.table, 'table').table;
  } catch {
    return undefined;
  }
  return PLAIN_NAME.test(table) ? table : undefined;
}

export function configProblems(config: CollectPostgresConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  // Compared without case: the warehouse folds unquoted identifiers to lowercase.
  const seen = new Map<string, number>();
  config.loadunits.forEach((spec, i) => {
    if (isPatternLoadunit(spec)) return;
    try {
      parseTableRef(spec.table, 'table');
    } catch (e) {
      problems.push({ path: ['loadunits', i, 'table'], message: (e as Error).message.replace(/^table: /, '') });
      return;
    }
    const name = loadunitName(spec);
    if (name === undefined) {
      problems.push({
        path: ['loadunits', i, 'table'],
        message: `found table ${JSON.stringify(spec.table)}, whose name is not a plain identifier; expected an "as: <name>" (letters, digits, _) to name its loadunit`,
      });
      return;
    }
    const first = seen.get(name.toLowerCase());
    if (first !== undefined) {
      problems.push({
        path: ['loadunits', i, spec.as ? 'as' : 'table'],
        message: `found loadunit name "${name}"${spec.as ? '' : ` (from table ${spec.table})`}, already used by loadunits[${first}]; expected unique loadunit names within a slice: give one of them another name with "as"`,
      });
      return;
    }
    seen.set(name.toLowerCase(), i);
    if (spec.mode === 'snapshot' && spec.cursor) {
      problems.push({ path: ['loadunits', i, 'cursor'], message: 'found a cursor on a snapshot loadunit; expected mode: incremental, or no cursor' });
    }
  });
  return problems;
}
