/** The installation's settings and each slice's versioned config record. */
import { TerminalError, TransientError, isReefError } from '../errors.ts';
import { decodeInstallation, decodeSliceConfig, jsonEqual, toJsonValue } from './codec.ts';
import { PARTITION_KEY, SORT_KEY, keys } from './keys.ts';
import type { MetadataTable } from './table.ts';
import { ITEM_ABSENT, names } from './table.ts';
import type { InstallationConfig, SliceConfigRecord } from './types.ts';

export interface SliceConfigInput {
  slice: string;
  type: string;
  config: unknown;
}

export async function putInstallationConfig(table: MetadataTable, name: string, settings: Record<string, unknown>): Promise<InstallationConfig> {
  if (typeof name !== 'string' || name.length === 0) {
    throw new TerminalError('config', `installation name is ${JSON.stringify(name)}; expected a non-empty name`, { code: 'metadata.invalid-input' });
  }
  const normalized = toJsonValue(settings, 'installation settings', 'config');
  if (typeof normalized !== 'object' || normalized === null || Array.isArray(normalized)) {
    throw new TerminalError('config', `installation settings are ${Array.isArray(normalized) ? 'an array' : typeof normalized}; expected an object`, {
      code: 'metadata.invalid-input',
    });
  }
  const record: InstallationConfig = { name, settings: normalized as Record<string, unknown>, updatedAt: table.nowIso() };
  await table.put('PutItem installation config', {
    ...keys.installation(),
    name: record.name,
    settingsJson: JSON.stringify(record.settings),
    updatedAt: record.updatedAt,
  });
  return record;
}

export async function getInstallationConfig(table: MetadataTable): Promise<InstallationConfig | undefined> {
  const item = await table.get('GetItem installation config', keys.installation());
  return item && decodeInstallation(item);
}

export async function getSliceConfig(table: MetadataTable, slice: string): Promise<SliceConfigRecord | undefined> {
  const item = await table.get('GetItem slice config', keys.sliceConfig(slice));
  return item && decodeSliceConfig(item);
}

/**
 * A scan: slice configs live in per-slice partitions so each slice's IAM role
 * reaches only its own. Meant for the CLI and the local runtime, not for a
 * slice's hot path.
 */
export async function listSliceConfigs(table: MetadataTable): Promise<SliceConfigRecord[]> {
  const filter = `begins_with(#${PARTITION_KEY}, :pkPrefix) AND #${SORT_KEY} = :sk`;
  const items = await table.scan('Scan slice configs', {
    FilterExpression: filter,
    ExpressionAttributeNames: names(filter),
    ExpressionAttributeValues: { ':pkPrefix': keys.sliceConfigScan.pkPrefix, ':sk': keys.sliceConfigScan.sk },
  });
  return items.map(decodeSliceConfig).sort((a, b) => (a.slice < b.slice ? -1 : a.slice > b.slice ? 1 : 0));
}

export async function putSliceConfig(
  table: MetadataTable,
  input: SliceConfigInput,
  validate: (type: string, config: unknown) => void,
): Promise<SliceConfigRecord> {
  const key = keys.sliceConfig(input.slice);
  try {
    validate(input.type, input.config);
  } catch (e) {
    if (isReefError(e)) throw e;
    throw new TerminalError('config', `config of slice ${input.slice} (${input.type}) is invalid: ${e instanceof Error ? e.message : String(e)}`, {
      code: 'config.invalid',
      cause: e,
    });
  }
  const config = toJsonValue(input.config, `config of slice ${input.slice}`, 'config');
  const current = await getSliceConfig(table, input.slice);
  if (current && current.type === input.type && jsonEqual(current.config, config)) return current;

  const record: SliceConfigRecord = {
    slice: input.slice,
    type: input.type,
    config,
    version: (current?.version ?? 0) + 1,
    updatedAt: table.nowIso(),
  };
  const written = await table.putIf(
    'PutItem slice config',
    { ...key, slice: record.slice, type: record.type, configJson: JSON.stringify(config), version: record.version, updatedAt: record.updatedAt },
    current ? '#version = :read' : ITEM_ABSENT,
    current ? { ':read': current.version } : undefined,
  );
  if (!written) {
    throw new TransientError(
      'internal',
      `config of slice ${input.slice} changed while it was being written: expected version ${current?.version ?? 'none'} to still be stored; another writer got there first`,
      { code: 'metadata.conflict' },
    );
  }
  return record;
}
