/**
 * Every metadata request a piece of code makes, as IAM sees it: the action
 * (`dynamodb:GetItem`…) and the partition key it names, which is what a
 * `dynamodb:LeadingKeys` condition judges. Recorded on a second SDK client
 * pointed at the local runtime's DynamoDB stand-in, so the code under test
 * runs unchanged on real requests.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { METADATA_TABLE, type LocalRuntime } from '../../shared/local/runtime.ts';
import { localDynamoClient } from '../../shared/local/standins.ts';
import { MetadataStore } from '../../shared/metadata/store.ts';

export interface MetadataAccess {
  action: string;
  pk: string;
}

/** The partition keys a request names, from its input before marshalling (as the document client sends it). */
function partitionsOf(input: Record<string, unknown>): string[] {
  const pk = (v: unknown): string[] => (typeof v === 'string' ? [v] : []);
  const key = (input.Key ?? input.Item) as { pk?: unknown } | undefined;
  if (key !== undefined) return pk(key.pk);
  const values = input.ExpressionAttributeValues as Record<string, unknown> | undefined;
  if (typeof input.KeyConditionExpression === 'string') return pk(values?.[':pk']);
  const items = (input.RequestItems ?? {}) as Record<string, unknown>;
  return Object.values(items).flatMap((r) => {
    const req = r as { Keys?: { pk?: unknown }[] } | { PutRequest?: { Item: { pk?: unknown } }; DeleteRequest?: { Key: { pk?: unknown } } }[];
    if (Array.isArray(req)) return req.flatMap((w) => pk(w.PutRequest?.Item.pk ?? w.DeleteRequest?.Key.pk));
    return (req.Keys ?? []).flatMap((k) => pk(k.pk));
  });
}

export function recordingMetadata(runtime: LocalRuntime): { metadata: MetadataStore; accesses: MetadataAccess[]; close(): void } {
  const { dynamoEndpoint } = JSON.parse(readFileSync(join(runtime.dir, 'runtime.json'), 'utf8')) as { dynamoEndpoint: string };
  const client = localDynamoClient(dynamoEndpoint);
  const accesses: MetadataAccess[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const action = `dynamodb:${String(context.commandName).replace(/Command$/, '')}`;
      const pks = partitionsOf(args.input as Record<string, unknown>);
      // A request with no partition key (a Scan) is recorded with none: no LeadingKeys condition can allow it.
      for (const pk of pks.length > 0 ? pks : ['']) accesses.push({ action, pk });
      return next(args);
    },
    { step: 'initialize', name: 'reefRecordMetadataAccess' },
  );
  return { metadata: new MetadataStore({ client, tableName: METADATA_TABLE, now: runtime.services.now }), accesses, close: () => client.destroy() };
}
