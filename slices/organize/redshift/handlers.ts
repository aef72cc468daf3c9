/**
 * Lambda entry points of the organize/redshift slice: one export per Task
 * state (`pass`: OrganizePass, `fail`: RecordFailure). Services and settings
 * come from the environment the organize stack sets, built once per container.
 */
import { servicesFromEnv } from '../../../shared/runtime/aws.ts';
import { atBoundary, type Handler } from '../../../shared/runtime/services.ts';
import { organizeSettingsFromEnv } from './setup.ts';
import { organizeHandlers } from './tasks.ts';

let bound: ReturnType<typeof organizeHandlers> | undefined;
const handlers = () => (bound ??= organizeHandlers(servicesFromEnv(), organizeSettingsFromEnv()));

// Wrapped too, so a missing or malformed environment fails in the one-line form the state machine reads.
export const pass: Handler = atBoundary((event) => handlers().pass(event));
export const fail: Handler = atBoundary((event) => handlers().fail(event));
