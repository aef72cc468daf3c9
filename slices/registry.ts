/**
 * Every slice type Reef knows. A new slice type is one folder under `slices/`
 * and one line here.
 */
import type { SliceDefinition } from '../shared/slice.ts';
import { collectPostgres } from './collect/postgres/definition.ts';
import { organizeRedshift } from './organize/redshift/definition.ts';
import { harnessPostgres } from './harness/postgres/definition.ts';
import { harnessWebhook } from './harness/webhook/definition.ts';

// Each definition is checked against SliceDefinition<ItsConfig> where it is
// declared (`satisfies`); here they are held with their config type erased,
// and only ever called with a config that passed that type's JSON Schema.
export const sliceTypes: readonly SliceDefinition<unknown>[] = [
  collectPostgres,
  organizeRedshift,
  harnessPostgres,
  harnessWebhook,
].map((d) => d as unknown as SliceDefinition<unknown>);

export function findSliceType(type: string): SliceDefinition<unknown> | undefined {
  return sliceTypes.find((d) => d.type === type);
}
