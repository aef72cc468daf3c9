/**
 * Lambda entry points of every harness slice, whatever its type: one export
 * per Task state (`publish`: Publish, `fail`: RecordFailure). Each harness
 * type's `handlers.ts` re-exports these, so its stack bundles them with that
 * type's publisher. Services and settings come from the environment the
 * harness stack sets, built once per container; the lake is not among them.
 */
import { servicesFromEnv } from '../runtime/aws.ts';
import { atBoundary, type Handler } from '../runtime/services.ts';
import { harnessSettingsFromEnv } from './setup.ts';
import { harnessHandlers } from './tasks.ts';

let bound: ReturnType<typeof harnessHandlers> | undefined;
const handlers = () => (bound ??= harnessHandlers(servicesFromEnv({ lake: false }), harnessSettingsFromEnv()));

// Wrapped too, so a missing or malformed environment fails in the one-line form the state machine reads.
export const publish: Handler = atBoundary((event) => handlers().publish(event));
export const fail: Handler = atBoundary((event) => handlers().fail(event));
