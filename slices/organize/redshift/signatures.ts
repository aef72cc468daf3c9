/**
 * The signatures of every view of a flow, as the warehouse describes them:
 * what `reef plan` compares with the stored versions. A view is described
 * against the tables it reads, so inputs not loaded yet are created from
 * their recorded schema, and a view already described is put in place as a
 * plain view so the views that read it are described against its new
 * definition, not against the table of its last refresh. All of that happens
 * in one transaction that is always rolled back: describing changes nothing.
 */
import type pg from 'pg';
import { TerminalError, isReefError } from '../../../shared/errors.ts';
import type { Flow } from '../../../shared/flow/types.ts';
import type { MetadataStore } from '../../../shared/metadata/store.ts';
import type { ViewSpec } from '../../../shared/views/types.ts';
import { rollbackQuietly } from '../../../shared/postgres-connection.ts';
import { findSliceType } from '../../registry.ts';
import { createSchemaSql, createTableSql, qualifiedName, type DialectName, type TableRef, type ViewColumn } from './dialect.ts';
import { describeView } from './view-signature.ts';
import { singleStatement } from './view-sql.ts';
import { warehouseError } from './warehouse-errors.ts';

function tableRef(relation: string): TableRef {
  const dot = relation.indexOf('.');
  return { schema: relation.slice(0, dot), table: relation.slice(dot + 1) };
}

async function exists(client: pg.ClientBase, t: TableRef): Promise<boolean> {
  const r = await client.query('SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2', [t.schema, t.table]);
  return r.rows.length > 0;
}

async function run(client: pg.ClientBase, doing: string, sql: string, values?: unknown[]): Promise<void> {
  try {
    await client.query(sql, values);
  } catch (e) {
    throw warehouseError(e, doing);
  }
}

/** Creates each collected dataset a view reads and the warehouse does not hold yet, from its latest recorded schema. */
async function createMissingInputs(client: pg.ClientBase, dialect: DialectName, flow: Flow, metadata: MetadataStore): Promise<void> {
  const views = new Set(flow.views.map((v) => v.name));
  const datasets = [...new Set(flow.views.flatMap((v) => v.inputs.map((i) => i.relation)))].filter((r) => !views.has(r)).sort();
  for (const dataset of datasets) {
    const target = tableRef(dataset);
    if (await exists(client, target)) continue;
    const source = flow.sources.find((s) => s.slice === target.schema);
    const schema = source && (await metadata.getLatestSchema(source.slice, dataset));
    if (!source || !schema) {
      const readers = flow.views.filter((v) => v.inputs.some((i) => i.relation === dataset)).map((v) => v.name);
      throw new TerminalError(
        'config',
        `dataset ${dataset} (read by ${readers.join(', ')}) has not been collected yet: found no recorded schema and no warehouse table; ` +
          `expected at least one collected batch to describe the views against; run \`reef run\` first`,
        { code: 'config.not-collected' },
      );
    }
    const keys = findSliceType(source.type)?.loadOptions?.(source.config, target.table).keys ?? [];
    await run(client, `creating schema ${target.schema} to describe views`, createSchemaSql(dialect, target.schema));
    await run(client, `creating table ${dataset} from its recorded schema to describe views`, createTableSql(dialect, target, schema.schema.columns, keys));
  }
}

export interface DescribeOptions {
  dialect?: DialectName;
  /**
   * The columns to assume for a view the warehouse cannot describe against
   * the new definitions upstream (it reads a column a changed view drops):
   * its applied signature when its own SQL did not change, so a plan can name
   * it as broken instead of failing. Undefined: the error stands.
   */
  fallback?: (view: ViewSpec) => ViewColumn[] | undefined;
}

/** Where a failed describe is undone without losing the transaction; PostgreSQL only (Redshift has no savepoints, so there the error stands). */
const SAVEPOINT = 'reef_describe';

/**
 * Each view's output columns, in the order of `flow.views` (already DAG
 * order). Runs in a transaction of its own on `client` and rolls it back,
 * whatever happens, so the warehouse is left exactly as it was.
 */
export async function describeFlowViews(client: pg.ClientBase, flow: Flow, metadata: MetadataStore, options: DescribeOptions = {}): Promise<Map<string, ViewColumn[]>> {
  const dialect = options.dialect ?? 'postgres';
  const fallback = dialect === 'postgres' ? options.fallback : undefined;
  const out = new Map<string, ViewColumn[]>();
  if (flow.views.length === 0) return out;
  await run(client, 'starting the transaction that describes the views', 'BEGIN');
  try {
    await createMissingInputs(client, dialect, flow, metadata);
    for (const view of flow.views) {
      if (fallback) await run(client, 'setting a savepoint to describe views', `SAVEPOINT ${SAVEPOINT}`);
      try {
        out.set(view.name, (await describeView(client, dialect, view)).columns);
      } catch (e) {
        const assumed = isReefError(e) && !e.transient ? fallback?.(view) : undefined;
        if (assumed === undefined) throw e;
        await run(client, 'undoing a failed describe', `ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
        // Left as it is: what reads it is described against its last refreshed table.
        out.set(view.name, assumed);
        continue;
      }
      const target = tableRef(view.name);
      const name = qualifiedName(dialect, target);
      await run(client, `creating schema ${target.schema} to describe views`, createSchemaSql(dialect, target.schema));
      await run(client, `setting view ${view.name} aside to describe what reads it`, `DROP TABLE IF EXISTS ${name}`);
      await run(client, `putting view ${view.name} in place to describe what reads it`, `CREATE VIEW ${name} AS ${await singleStatement(view.body)}`);
    }
  } finally {
    await rollbackQuietly(client);
  }
  return out;
}
