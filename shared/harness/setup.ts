/**
 * What a harness slice's functions work on in AWS, from the environment its
 * stack sets: the publication's config as deployed (stored in the metadata,
 * validated, before each pass uses it) and the warehouse its dataset is read
 * from, reached as the organize slice reaches it but never COPYing.
 */
import { TerminalError } from '../errors.ts';
import { deployedConfigFromEnv, type DeployedConfig } from '../runtime/deployed-config.ts';
import { SLICE_ENV } from '../runtime/env.ts';
import { sliceTypes } from '../../slices/registry.ts';
import { warehouseTargetFromEnv } from '../../slices/organize/redshift/setup.ts';
import type { WarehouseTarget } from '../../slices/organize/redshift/warehouse.ts';

export interface HarnessSettings {
  /** The harness slice (its name, type and config) exactly as its stack deployed it. */
  publication: DeployedConfig;
  /** The warehouse, with the secret the stack let this slice read (the publication's own, or the installation's). */
  warehouse: WarehouseTarget;
}

export function harnessSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): HarnessSettings {
  const publication = deployedConfigFromEnv(env);
  if (publication === undefined) {
    throw new TerminalError('config', `environment variable ${SLICE_ENV.sliceConfig}: found nothing; expected the publication's config as JSON, as the harness stack sets it`, {
      code: 'config.env',
    });
  }
  const harnessTypes = sliceTypes.filter((d) => d.kind === 'harness' && d.harness !== undefined).map((d) => d.type);
  if (!harnessTypes.includes(publication.type)) {
    throw new TerminalError('config', `environment variable ${SLICE_ENV.sliceType}: found ${JSON.stringify(publication.type)}; expected a harness slice type (${harnessTypes.join(', ')})`, {
      code: 'config.env',
    });
  }
  return { publication, warehouse: warehouseTargetFromEnv(env, { copy: false }) };
}
