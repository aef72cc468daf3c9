/** The schema registry: numbered versions of each dataset's schema, with the diff from the one before. */
import { TransientError } from '../errors.ts';
import type { DatasetSchema } from '../schema.ts';
import { diffSchemas } from '../schema.ts';
import { decodeSchemaVersion, jsonEqual, toJsonValue } from './codec.ts';
import { checkTimelabel, keys } from './keys.ts';
import type { MetadataTable } from './table.ts';
import { ITEM_ABSENT, KEY_PREFIX, names } from './table.ts';
import type { SchemaVersion } from './types.ts';

/** recordSchema retries once: a conflict means another writer just added a version, which the re-read sees. */
const SCHEMA_ROUNDS = 2;

export interface RecordSchemaInput {
  slice: string;
  dataset: string;
  schema: DatasetSchema;
  since: string;
}

export async function getLatestSchema(table: MetadataTable, slice: string, dataset: string): Promise<SchemaVersion | undefined> {
  const [item] = await table.query(
    'Query latest schema',
    {
      KeyConditionExpression: KEY_PREFIX,
      ExpressionAttributeNames: names(KEY_PREFIX),
      ExpressionAttributeValues: { ':pk': keys.schemaPartition(slice, dataset), ':prefix': keys.schemaVersionPrefix },
      ScanIndexForward: false,
    },
    { max: 1 },
  );
  return item && decodeSchemaVersion(item);
}

export async function listSchemaVersions(table: MetadataTable, slice: string, dataset: string): Promise<SchemaVersion[]> {
  const items = await table.queryPrefix('Query schema versions', keys.schemaPartition(slice, dataset), keys.schemaVersionPrefix);
  return items.map(decodeSchemaVersion);
}

export async function recordSchema(table: MetadataTable, input: RecordSchemaInput): Promise<{ version: SchemaVersion; created: boolean }> {
  keys.schemaPartition(input.slice, input.dataset);
  checkTimelabel(input.since);
  const schema = toJsonValue(input.schema, `schema of ${input.dataset}`, 'internal') as DatasetSchema;
  for (let round = 0; round < SCHEMA_ROUNDS; round++) {
    const latest = await getLatestSchema(table, input.slice, input.dataset);
    if (latest && jsonEqual(latest.schema, schema)) return { version: latest, created: false };
    const version: SchemaVersion = {
      dataset: input.dataset,
      version: (latest?.version ?? 0) + 1,
      schema,
      since: input.since,
      createdAt: table.nowIso(),
    };
    if (latest) version.diff = diffSchemas(latest.schema, schema);
    const item = {
      ...keys.schemaVersion(input.slice, input.dataset, version.version),
      dataset: version.dataset,
      version: version.version,
      schemaJson: JSON.stringify(version.schema),
      diffJson: version.diff && JSON.stringify(version.diff),
      since: version.since,
      createdAt: version.createdAt,
    };
    if (await table.putIf('PutItem schema version', item, ITEM_ABSENT)) return { version, created: true };
  }
  throw new TransientError('internal', `schema registry of ${input.dataset} kept gaining versions while recording a new one; expected at most one concurrent writer`, {
    code: 'metadata.conflict',
  });
}
