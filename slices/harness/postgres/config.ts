/**
 * The config of a `harness/postgres` slice: the YAML file
 * `publications/<slice>.yaml`. The JSON Schema below is what `reef validate`
 * checks and `reef describe` prints; the TypeScript type is what the slice's
 * code reads after validation. Target names are used exactly as written (case
 * kept, always double-quoted), so any name the application uses can be given.
 */
import type { ConfigProblem } from '../../../shared/slice.ts';
import { vpcPlacementSchema, type VpcPlacement } from '../../../shared/flow/vpc-placement.ts';
import { publicationWarehouseSchema, type PublicationWarehouse } from '../../../shared/harness/publication.ts';

export type PublishMode = 'replace' | 'merge';

export interface ColumnSpec {
  /** The dataset's column, as the warehouse names it. */
  column: string;
  /** Its name in the target table; default: the same name. */
  as?: string;
}

export interface HarnessPostgresConfig {
  type: 'harness/postgres';
  description?: string;
  /** `schema.name`: a view (`analytics.customer_ltv`) or a collected table (`shop.orders`). */
  dataset: string;
  connection: {
    /** Name of the secret holding `{ host, port, database, user, password }`. */
    secret: string;
    /** TLS: `require` encrypts but verifies nothing; `verify-full` also checks the host. */
    ssl?: 'disable' | 'require' | 'verify-full';
    vpc?: VpcPlacement;
  };
  target: {
    /** Default `public` (DEFAULT_TARGET_SCHEMA). */
    schema?: string;
    table: string;
  };
  mode: PublishMode;
  /** merge: dataset columns that identify a row; default: the dataset's own keys. */
  keys?: string[];
  /** `all` (the default) or the dataset columns to publish, each optionally renamed. */
  columns?: 'all' | ColumnSpec[];
  /** The warehouse user the dataset is read as; default the installation's warehouse secret. */
  warehouse?: PublicationWarehouse;
}

/** Where an application's tables live when nothing else is said, as in PostgreSQL itself. */
export const DEFAULT_TARGET_SCHEMA = 'public';

/** The schema Reef keeps its publish markers in, on the application's database; never a target. */
export const REEF_SCHEMA = 'reef';

/** PostgreSQL's limit on identifier length (NAMEDATALEN - 1), in bytes: a longer name is silently cut. */
export const MAX_IDENTIFIER_BYTES = 63;

// A quoted PostgreSQL identifier can hold anything but NUL; the byte limit is checked in configProblems.
const targetName = (description: string) => ({ type: 'string', minLength: 1, maxLength: MAX_IDENTIFIER_BYTES, pattern: '^[^\\u0000]+$', description });

export const configSchema = {
  $id: 'https://reef.dev/schemas/harness-postgres.json',
  type: 'object',
  additionalProperties: false,
  required: ['type', 'dataset', 'connection', 'target', 'mode'],
  properties: {
    type: { const: 'harness/postgres' },
    description: { type: 'string', description: 'what this publication is for, for people' },
    dataset: {
      type: 'string',
      // Dataset names are `<source>.<loadunit>` (source slice names may hold '-') or `<schema>.<view>`.
      pattern: '^[A-Za-z_][A-Za-z0-9_$-]*\\.[A-Za-z_][A-Za-z0-9_$]*$',
      maxLength: 127,
      description: 'the dataset published: a view (analytics.customer_ltv) or a collected table (shop.orders)',
    },
    connection: {
      type: 'object',
      additionalProperties: false,
      required: ['secret'],
      properties: {
        secret: { type: 'string', pattern: '^[A-Za-z0-9/_+=.@-]{1,512}$', description: 'secret name (not its value): {"host","port","database","user","password"} of the application database' },
        ssl: { enum: ['disable', 'require', 'verify-full'], description: 'TLS to the application database (default disable); verify-full also checks the host name' },
        vpc: vpcPlacementSchema('place the functions in these subnets to reach a private application database'),
      },
    },
    target: {
      type: 'object',
      additionalProperties: false,
      required: ['table'],
      description: 'the table written in the application database (created when missing); names are used exactly as written',
      properties: {
        schema: targetName('schema of the target table (default public); not reef, which holds Reef\'s markers'),
        table: targetName('name of the target table'),
      },
    },
    mode: {
      enum: ['replace', 'merge'],
      description: 'replace: the table becomes the dataset (all rows deleted, then inserted); merge: upsert by keys and delete rows whose keys left the dataset',
    },
    keys: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', minLength: 1, maxLength: MAX_IDENTIFIER_BYTES },
      description: 'merge only: dataset columns that identify a row (default: the dataset\'s keys, a view\'s @keys or a collected table\'s keys)',
    },
    columns: {
      description: 'all (default), or the dataset columns to publish, in target order, each optionally renamed',
      oneOf: [
        { const: 'all' },
        {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['column'],
            properties: {
              column: { type: 'string', minLength: 1, maxLength: MAX_IDENTIFIER_BYTES, description: 'a column of the dataset, as the warehouse names it' },
              as: targetName('its name in the target table (default: the same name)'),
            },
          },
        },
      ],
    },
    warehouse: publicationWarehouseSchema,
  },
} as const;

export const exampleConfig: HarnessPostgresConfig = {
  type: 'harness/postgres',
  description: 'Customer lifetime value for the shop application',
  dataset: 'analytics.customer_ltv',
  connection: { secret: 'shop-app' },
  target: { schema: 'public', table: 'customer_ltv' },
  mode: 'merge',
  keys: ['customer_id'],
  columns: [{ column: 'customer_id' }, { column: 'orders', as: 'order_count' }, { column: 'revenue' }],
};

export function targetSchemaOf(config: HarnessPostgresConfig): string {
  return config.target.schema ?? DEFAULT_TARGET_SCHEMA;
}

function tooLong(name: string): boolean {
  return Buffer.byteLength(name, 'utf8') > MAX_IDENTIFIER_BYTES;
}

function lengthProblem(path: (string | number)[], name: string): ConfigProblem {
  return {
    path,
    message: `found ${JSON.stringify(name)}, ${Buffer.byteLength(name, 'utf8')} bytes long; expected at most ${MAX_IDENTIFIER_BYTES} bytes, since PostgreSQL cuts longer names and two of them could become one`,
  };
}

export function configProblems(config: HarnessPostgresConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const schema = targetSchemaOf(config);
  if (config.target.schema !== undefined && tooLong(config.target.schema)) problems.push(lengthProblem(['target', 'schema'], config.target.schema));
  if (tooLong(config.target.table)) problems.push(lengthProblem(['target', 'table'], config.target.table));
  if (schema === REEF_SCHEMA) {
    problems.push({
      path: ['target', 'schema'],
      message: `found schema "${REEF_SCHEMA}", where Reef keeps its publish markers in the application database; expected another schema (default ${DEFAULT_TARGET_SCHEMA})`,
    });
  }

  // Published columns: dataset name → index in `columns`; target names must be unique, exactly as written (they are quoted).
  let published: Map<string, number> | undefined;
  if (Array.isArray(config.columns)) {
    published = new Map();
    const targets = new Map<string, number>();
    config.columns.forEach((c, i) => {
      const first = published!.get(c.column);
      if (first !== undefined) {
        problems.push({ path: ['columns', i, 'column'], message: `found dataset column "${c.column}", already published by columns[${first}]; expected each dataset column at most once` });
        return;
      }
      published!.set(c.column, i);
      const name = c.as ?? c.column;
      if (tooLong(name)) problems.push(lengthProblem(['columns', i, c.as === undefined ? 'column' : 'as'], name));
      const clash = targets.get(name);
      if (clash !== undefined) {
        problems.push({
          path: ['columns', i, c.as === undefined ? 'column' : 'as'],
          message: `found target column name "${name}", already given to columns[${clash}]; expected unique column names in the target table: rename one with "as"`,
        });
        return;
      }
      targets.set(name, i);
    });
  }

  if (config.keys !== undefined) {
    if (config.mode !== 'merge') {
      problems.push({ path: ['keys'], message: `found keys with mode ${config.mode}; expected keys only with mode merge, which upserts by them` });
    }
    const seen = new Set<string>();
    config.keys.forEach((k, i) => {
      if (seen.has(k)) {
        problems.push({ path: ['keys', i], message: `found key "${k}" twice; expected each key column once` });
        return;
      }
      seen.add(k);
      if (published !== undefined && !published.has(k)) {
        problems.push({
          path: ['keys', i],
          message: `found key "${k}", which columns does not publish; expected one of the published dataset columns: ${[...published.keys()].join(', ')}`,
        });
      }
    });
  }
  return problems;
}
