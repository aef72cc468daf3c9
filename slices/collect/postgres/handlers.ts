/**
 * Lambda entry points of the collect/postgres slice: one export per Task state.
 * Each parses nothing itself; the collector does the work.
 */
import { servicesFromEnv, storeDeployedConfig } from '../../../shared/runtime/aws.ts';
import { atBoundary, type Handler } from '../../../shared/runtime/services.ts';
import { collectHandlers } from './collector.ts';

let services: ReturnType<typeof servicesFromEnv> | undefined;
let bound: ReturnType<typeof collectHandlers> | undefined;
const handlers = () => (bound ??= collectHandlers((services ??= servicesFromEnv())));

export const plan: Handler = atBoundary(async (event) => {
  const h = handlers();
  await storeDeployedConfig(services!);
  return h.plan(event);
});
export const extract: Handler = (event) => handlers().extract(event);
export const commit: Handler = (event) => handlers().commit(event);
export const announce: Handler = (event) => handlers().announce(event);
export const fail: Handler = (event) => handlers().fail(event);
