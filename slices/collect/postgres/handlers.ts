/**
 * Lambda entry points of the collect/postgres slice: one export per Task state.
 * Each parses nothing itself; the collector does the work.
 */
import { servicesFromEnv } from '../../../shared/runtime/aws.ts';
import type { Handler } from '../../../shared/runtime/services.ts';
import { collectHandlers } from './collector.ts';

let bound: ReturnType<typeof collectHandlers> | undefined;
const handlers = () => (bound ??= collectHandlers(servicesFromEnv()));

export const plan: Handler = (event) => handlers().plan(event);
export const extract: Handler = (event) => handlers().extract(event);
export const commit: Handler = (event) => handlers().commit(event);
export const announce: Handler = (event) => handlers().announce(event);
export const fail: Handler = (event) => handlers().fail(event);
