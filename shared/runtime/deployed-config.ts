/**
 * A slice's config as its stack deployed it: the Lambda environment carries
 * it (REEF_SLICE, REEF_SLICE_TYPE, REEF_SLICE_CONFIG), and the function stores
 * it in the metadata, validated against its type (a no-op when unchanged),
 * before using it, so DynamoDB stays the one place config is read from,
 * whoever wrote it last.
 */
import { TerminalError } from '../errors.ts';
import { validateSliceConfig } from '../flow/load.ts';
import type { SliceConfigRecord } from '../metadata/types.ts';
import { SLICE_ENV } from './env.ts';
import type { Services } from './services.ts';

export interface DeployedConfig {
  slice: string;
  type: string;
  config: unknown;
}

function envError(name: string, found: string, expected: string): TerminalError {
  return new TerminalError('config', `environment variable ${name}: found ${found}; expected ${expected}, as the slice stack sets it`, { code: 'config.env' });
}

/** Undefined when the environment carries no config (a function that does not store one). */
export function deployedConfigFromEnv(env: NodeJS.ProcessEnv): DeployedConfig | undefined {
  const text = env[SLICE_ENV.sliceConfig];
  if (!text) return undefined;
  const slice = env[SLICE_ENV.slice];
  if (!slice) throw envError(SLICE_ENV.slice, 'nothing', 'the slice name');
  const type = env[SLICE_ENV.sliceType];
  if (!type) throw envError(SLICE_ENV.sliceType, 'nothing', 'the slice type');
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch {
    throw new TerminalError('config', `${SLICE_ENV.sliceConfig} of slice ${slice} is not JSON; expected the config the slice stack deployed`, { code: 'config.env' });
  }
  return { slice, type, config };
}

/** Stores the deployed config, refused unless its type's schema and rules accept it, and answers the stored record. */
export function storeDeployedSliceConfig(services: Services, deployed: DeployedConfig): Promise<SliceConfigRecord> {
  return services.metadata.putSliceConfig(deployed, (t, c) => validateSliceConfig(t, c, `slice ${deployed.slice} (deployed config)`));
}
