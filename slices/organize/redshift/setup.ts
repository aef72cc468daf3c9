/**
 * What an organize pass works on: the warehouse, the collect slices whose
 * batches it loads, and the views it refreshes. Locally all three come from
 * the flow's files; in AWS there are no files, so the collect slices' configs
 * are read from the metadata (each collect stack's Plan function stores its
 * own) and the views are the applied view versions.
 */
import { TerminalError } from '../../../shared/errors.ts';
import type { Flow, SliceSpec } from '../../../shared/flow/types.ts';
import type { MetadataStore } from '../../../shared/metadata/store.ts';
import { SLICE_ENV } from '../../../shared/runtime/env.ts';
import { ORGANIZE_SLICE } from '../../../shared/slice.ts';
import { appliedViews } from '../../../shared/views/applied.ts';
import type { ViewSpec } from '../../../shared/views/types.ts';
import type { DialectName } from './dialect.ts';
import type { WarehouseEndpoint, WarehouseTarget } from './warehouse.ts';

export interface OrganizeSetup {
  warehouse: WarehouseTarget;
  sources: SliceSpec[];
  /** Each after the views it reads. */
  views: ViewSpec[];
}

/** Locally the warehouse is a database of the embedded PostgreSQL; undefined when the flow names none. */
export function organizeSetupOfFlow(flow: Flow): OrganizeSetup | undefined {
  const warehouse = flow.installation.warehouse;
  if (warehouse === undefined) return undefined;
  return { warehouse: { dialect: 'postgres', secret: warehouse.connection.secret }, sources: flow.sources, views: flow.views };
}

/** The organize functions' settings, from the environment the organize stack gives them. */
export interface OrganizeSettings {
  warehouse: WarehouseTarget;
  collectSlices: string[];
}

function fromEnv(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

function envError(name: string, found: string, expected: string): TerminalError {
  return new TerminalError('config', `environment variable ${name}: found ${found}; expected ${expected}, as the slice stack sets it`, { code: 'config.env' });
}

function parseJson(env: NodeJS.ProcessEnv, name: string): unknown {
  const text = fromEnv(env, name);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw envError(name, JSON.stringify(text), 'JSON');
  }
}

/**
 * The warehouse a slice's functions connect to, from the environment its
 * stack sets: the organize slice's (which COPYs, so needs the COPY role on
 * Redshift) and each harness slice's (which only reads, so does not).
 */
export function warehouseTargetFromEnv(env: NodeJS.ProcessEnv, options: { copy: boolean }): WarehouseTarget {
  const dialectText = fromEnv(env, SLICE_ENV.warehouseDialect) ?? 'postgres';
  if (dialectText !== 'postgres' && dialectText !== 'redshift') throw envError(SLICE_ENV.warehouseDialect, JSON.stringify(dialectText), 'redshift or postgres');
  const dialect: DialectName = dialectText;
  const secret = fromEnv(env, SLICE_ENV.secretName);
  if (secret === undefined) throw envError(SLICE_ENV.secretName, 'nothing', 'the name or ARN of the warehouse secret');
  const warehouse: WarehouseTarget = { dialect, secret };

  if (options.copy) {
    const copyRole = fromEnv(env, SLICE_ENV.copyRole);
    if (dialect === 'redshift' && copyRole === undefined) throw envError(SLICE_ENV.copyRole, 'nothing', 'the ARN of the role Redshift assumes for COPY');
    if (copyRole !== undefined) warehouse.copy = { iamRole: copyRole };
  }

  const endpoint = parseJson(env, SLICE_ENV.warehouseEndpoint) as Partial<WarehouseEndpoint> | undefined;
  if (endpoint !== undefined) {
    const port = Number(endpoint.port);
    if (typeof endpoint.host !== 'string' || typeof endpoint.database !== 'string' || !Number.isInteger(port)) {
      throw envError(SLICE_ENV.warehouseEndpoint, JSON.stringify(endpoint), '{"host", "port", "database"}');
    }
    warehouse.endpoint = { host: endpoint.host, port, database: endpoint.database };
  }
  return warehouse;
}

export function organizeSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): OrganizeSettings {
  const warehouse = warehouseTargetFromEnv(env, { copy: true });
  const slices = parseJson(env, SLICE_ENV.collectSlices) ?? [];
  if (!Array.isArray(slices) || !slices.every((s) => typeof s === 'string')) {
    throw envError(SLICE_ENV.collectSlices, JSON.stringify(slices), 'a JSON array of collect slice names');
  }
  return { warehouse, collectSlices: slices };
}

/**
 * The setup in AWS. A collect slice with no stored config has never run its
 * Plan, so it has committed nothing yet: it is left out until it has.
 */
export async function organizeSetupFromMetadata(metadata: MetadataStore, settings: OrganizeSettings): Promise<OrganizeSetup> {
  const sources: SliceSpec[] = [];
  for (const slice of settings.collectSlices) {
    const stored = await metadata.getSliceConfig(slice);
    if (stored !== undefined) sources.push({ slice, type: stored.type, file: `sources/${slice}.yaml`, config: stored.config });
  }
  return { warehouse: settings.warehouse, sources, views: await appliedViews(metadata, ORGANIZE_SLICE) };
}
