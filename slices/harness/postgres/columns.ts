/**
 * What one publish writes, from the config and the dataset as the warehouse
 * describes it: which dataset columns, under which target names and types,
 * and which target columns are the merge keys. Config mistakes only the
 * warehouse can reveal (a column the dataset lacks, no keys anywhere) are
 * config errors naming the file and field.
 */
import { TerminalError } from '../../../shared/errors.ts';
import type { WarehouseDialectName } from '../../../shared/harness/publication.ts';
import type { ColumnSpec, HarnessPostgresConfig } from './config.ts';
import type { PublishedColumn } from './sql.ts';
import { targetType, type WarehouseColumn } from './target-types.ts';

export interface PublishPlan {
  columns: PublishedColumn[];
  /** merge: target names of the key columns, in key order; replace: none. */
  keys: string[];
}

export function planColumns(input: {
  slice: string;
  config: HarnessPostgresConfig;
  dataset: string;
  dialect: WarehouseDialectName;
  datasetColumns: WarehouseColumn[];
  datasetKeys?: string[];
}): PublishPlan {
  const { slice, config, dataset, dialect, datasetColumns } = input;
  const file = `publications/${slice}.yaml`;
  const byName = new Map(datasetColumns.map((c) => [c.name, c]));
  const available = datasetColumns.map((c) => c.name).join(', ');
  const specs: ColumnSpec[] = config.columns === undefined || config.columns === 'all' ? datasetColumns.map((c) => ({ column: c.name })) : config.columns;

  const columns = specs.map((spec, i): PublishedColumn => {
    const source = byName.get(spec.column);
    if (source === undefined) {
      throw new TerminalError('config', `${file}: columns[${i}].column: found "${spec.column}", which dataset ${dataset} does not have; expected one of ${available}`, {
        code: 'config.column',
      });
    }
    const name = spec.as ?? spec.column;
    return { source, name, type: targetType(dialect, source) };
  });
  const clash = columns.find((c, i) => columns.findIndex((d) => d.name === c.name) !== i);
  if (clash) {
    // configProblems catches renames that clash; `all` can only clash when the dataset itself repeats a name.
    throw new TerminalError('config', `${file}: columns: found target column name "${clash.name}" twice; expected unique names in the target table`, { code: 'config.column' });
  }

  if (config.mode !== 'merge') return { columns, keys: [] };
  const fromFile = config.keys !== undefined;
  const keys = config.keys ?? input.datasetKeys ?? [];
  if (keys.length === 0) {
    throw new TerminalError(
      'config',
      `${file}: keys: found none in the file, and dataset ${dataset} declares none (a view's @keys, a collected table's keys); expected the columns that identify a row, for mode merge`,
      { code: 'config.keys' },
    );
  }
  const targetKeys = keys.map((k) => {
    const c = columns.find((p) => p.source.name === k);
    if (c === undefined) {
      const where = fromFile ? 'keys' : `keys (from dataset ${dataset})`;
      throw new TerminalError('config', `${file}: ${where}: found key "${k}", which is not published; expected one of the published dataset columns: ${columns.map((p) => p.source.name).join(', ')}`, {
        code: 'config.keys',
      });
    }
    return c.name;
  });
  return { columns, keys: targetKeys };
}
