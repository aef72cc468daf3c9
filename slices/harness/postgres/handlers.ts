/**
 * Lambda entry points of this harness slice type, where every slice type
 * keeps them (`handlersEntryOf`): the handlers every harness slice shares.
 * The pass is generic; it reaches this type's publish through the registry.
 */
export { fail, publish } from '../../../shared/harness/handlers.ts';
