/**
 * `reef accept <flow> <dataset>` on the embedded default: a loadunit paused
 * by `schemaPolicy: freeze` takes its source table's current schema as its
 * registered one, so the next run collects the paused periods (incremental
 * windows start at the last committed cursor, so no row is lost).
 */
import { TerminalError } from '../errors.ts';
import type { SchemaAcceptance } from '../slice.ts';
import { findSliceType } from '../../slices/registry.ts';
import type { LocalRuntime } from './runtime.ts';

export async function acceptSchemaChange(runtime: LocalRuntime, dataset: string): Promise<SchemaAcceptance> {
  const slice = dataset.slice(0, Math.max(0, dataset.indexOf('.')));
  const spec = runtime.flow.sources.find((s) => s.slice === slice);
  if (spec === undefined) {
    const known = runtime.flow.sources.map((s) => `${s.slice}.<table>`).join(', ') || 'none';
    throw new TerminalError('config', `found dataset ${JSON.stringify(dataset)}, which no source of ${runtime.flow.dir} collects; expected a collected table <source>.<table> (${known})`, {
      code: 'config.unknown-dataset',
    });
  }
  const sliceRuntime = await findSliceType(spec.type)?.runtime();
  if (sliceRuntime?.acceptSchema === undefined) {
    throw new TerminalError('config', `source ${slice} is of type ${spec.type}, which has no schema policy to accept; expected a collect slice type with schemaPolicy`, {
      code: 'config.slice-type',
    });
  }
  return sliceRuntime.acceptSchema(runtime.services, dataset);
}
