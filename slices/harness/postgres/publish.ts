/**
 * Publish one timelabel of a dataset into a table of an application's
 * PostgreSQL, all or nothing: in one transaction on the application database
 * the target is created or checked, the dataset's rows are staged with COPY
 * (read from the warehouse through a cursor, a page at a time, every value as
 * text), applied by mode, and a publish marker is written. A (publication,
 * timelabel) whose marker exists is not published again.
 *
 * The warehouse client must be idle (not inside a transaction): the read runs
 * in a read-only transaction of its own, ended before this returns.
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { TerminalError, TransientError } from '../../../shared/errors.ts';
import type { PublishInput, PublishResult } from '../../../shared/harness/publication.ts';
import { rollbackQuietly } from '../../../shared/postgres-connection.ts';
import { isTimelabel } from '../../../shared/timelabel.ts';
import { copyField } from '../../organize/redshift/copy-text.ts';
import { warehouseError } from '../../organize/redshift/warehouse-errors.ts';
import { planColumns, type PublishPlan } from './columns.ts';
import { REEF_SCHEMA, targetSchemaOf, type HarnessPostgresConfig } from './config.ts';
import {
  addColumnSql, beginReadSql, copyStagingSql, createMarkersSql, createSchemaSql, createStagingSql, createTargetSql, datasetColumnsSql, declareReadCursorSql,
  duplicateKeysSql, fetchSql, markerCheckSql, markerInsertSql, MARKERS, mergeSql, nullKeysSql, pinTargetSessionSql, publicationLockName,
  publicationLockSql, qualifiedName, relationKindSql, replaceSql, schemaExistsSql, targetColumnsSql, uniqueKeysSql, FETCH_ROWS, type TableRef,
} from './sql.ts';
import { connectTarget, targetError } from './target-errors.ts';
import { holdsEvery, type WarehouseColumn } from './target-types.ts';

export interface PublishOptions {
  /** Rows per FETCH from the warehouse (default FETCH_ROWS); tests make pages small to cross page boundaries. */
  fetchRows?: number;
}

/** Catalog races between two first publishes into one database: the loser's retry finds the objects made. */
const CREATE_RACE = new Set(['23505', '42P07', '42P06']);

export async function publish(input: PublishInput<HarnessPostgresConfig>, options: PublishOptions = {}): Promise<PublishResult> {
  if (!isTimelabel(input.timelabel)) {
    throw new TerminalError('internal', `publishing ${input.dataset}: found timelabel ${JSON.stringify(input.timelabel)}, expected YYYYMMDDHHmm00`, { code: 'internal.timelabel' });
  }
  const dataset = datasetTable(input.dataset);
  const target: TableRef = { schema: targetSchemaOf(input.config), table: input.config.target.table };
  // Quoting refuses names PostgreSQL would cut, before anything connects.
  qualifiedName(target);
  const secret = await input.services.secrets.get(input.config.connection.secret);
  const client = await connectTarget(secret, input.config.connection.ssl);
  try {
    const result = await publishOn(client, input, dataset, target, options.fetchRows ?? FETCH_ROWS);
    input.services.log(result.status === 'published' ? 'published' : 'already published', { publication: input.slice, timelabel: input.timelabel, rows: result.rows });
    return result;
  } finally {
    await client.end().catch(() => {});
  }
}

/** A dataset `schema.name` is the warehouse table `schema.name`. */
function datasetTable(name: string): TableRef {
  const dot = name.indexOf('.');
  if (dot <= 0 || dot === name.length - 1) {
    throw new TerminalError('internal', `found dataset name ${JSON.stringify(name)}, expected <schema>.<name>`, { code: 'internal.dataset-name' });
  }
  return { schema: name.slice(0, dot), table: name.slice(dot + 1) };
}

async function publishOn(client: pg.Client, input: PublishInput<HarnessPostgresConfig>, dataset: TableRef, target: TableRef, fetchRows: number): Promise<PublishResult> {
  const { services, slice, config, timelabel, runId, warehouse } = input;
  const targetName = qualifiedName(target);
  const about = `publishing ${input.dataset} to ${targetName} for timelabel ${timelabel}`;
  let doing = about;
  let n = 0;
  let targetOpen = false;
  let readOpen = false;
  // Local fault tests: `publish.step` is hit before each statement and each page, numbered from 1 in the order they run.
  const step = (what: string): void => {
    doing = `${what} (${about})`;
    services.faults.hit('publish.step', ++n);
  };
  const onTarget: OnTarget = async <R extends pg.QueryResultRow = Record<string, unknown>>(what: string, sql: string, params?: unknown[], creates = false): Promise<pg.QueryResult<R>> => {
    step(what);
    try {
      return await client.query<R>(sql, params);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (creates && typeof code === 'string' && CREATE_RACE.has(code)) {
        throw new TransientError('target', `${doing}: another session created the same object at the same moment (SQLSTATE ${code}); expected a retry to find it`, {
          code: 'target.busy',
          cause: e,
        });
      }
      throw targetError(e, doing);
    }
  };
  const onWarehouse = async <R extends pg.QueryResultRow = Record<string, unknown>>(what: string, sql: string, params?: unknown[]): Promise<pg.QueryResult<R>> => {
    step(what);
    try {
      return await warehouse.client.query<R>(sql, params);
    } catch (e) {
      throw warehouseError(e, doing);
    }
  };

  try {
    await onTarget('starting the transaction', 'BEGIN');
    targetOpen = true;
    await onTarget('pinning the session text settings', pinTargetSessionSql());
    await onTarget('waiting for other publishes of this publication', publicationLockSql(), [publicationLockName(slice)]);
    await ensureSchema(onTarget, REEF_SCHEMA);
    if ((await onTarget('looking for the publish markers table', relationKindSql(), [MARKERS.schema, MARKERS.table])).rows.length === 0) {
      await onTarget('creating the publish markers table', createMarkersSql(), undefined, true);
    }
    const done = await onTarget<{ rows: string }>('reading the publish marker', markerCheckSql(), [slice, timelabel]);
    if (done.rows.length > 0) {
      await onTarget('ending the transaction', 'ROLLBACK');
      targetOpen = false;
      return { status: 'already-published', rows: Number(done.rows[0].rows), detail: { target } };
    }

    for (const sql of beginReadSql(warehouse.dialect)) {
      await onWarehouse('starting the read of the dataset', sql);
      readOpen = true;
    }
    const described = await onWarehouse<WarehouseColumn>(`describing dataset ${input.dataset}`, datasetColumnsSql(warehouse.dialect), [dataset.schema, dataset.table]);
    if (described.rows.length === 0) {
      throw new TerminalError('target', `${about}: dataset ${input.dataset} is not in the warehouse (no table ${JSON.stringify(dataset.schema)}.${JSON.stringify(dataset.table)}); expected the table its load or refresh writes`, {
        code: 'target.dataset-missing',
      });
    }
    const plan = planColumns({ slice, config, dataset: input.dataset, dialect: warehouse.dialect, datasetColumns: described.rows, datasetKeys: input.keys });
    const all = config.columns === undefined || config.columns === 'all';
    const prepared = await prepareTarget(onTarget, { target, targetName, dataset: input.dataset, plan, mode: config.mode, addMissing: all });

    await onTarget('creating the staging table', createStagingSql(plan.columns.map((c) => ({ name: c.name, type: prepared.stagingTypes.get(c.name)! }))));
    await onWarehouse(`opening a cursor on ${input.dataset}`, declareReadCursorSql(warehouse.dialect, dataset, plan.columns.map((c) => c.source)));
    step('copying the rows into staging');
    const copy = client.query(copyFrom(copyStagingSql(plan.columns.map((c) => c.name))));
    const fetchPage = (): Promise<pg.QueryResult<unknown[]>> => {
      step(`fetching rows of ${input.dataset}`);
      return warehouse.client.query<unknown[]>({ text: fetchSql(fetchRows), rowMode: 'array' }).catch((e: unknown) => Promise.reject(warehouseError(e, doing)));
    };
    // One page read ahead at most: the next FETCH waits until COPY has taken the previous one.
    await pipeline(Readable.from(copyText(fetchPage, fetchRows), { highWaterMark: 1 }), copy);
    const rows = copy.rowCount;
    await onWarehouse('ending the read of the dataset', 'COMMIT');
    readOpen = false;

    const columns = plan.columns.map((c) => c.name);
    let deleted = 0;
    let changed = 0;
    if (config.mode === 'merge') {
      await requireUsableKeys(onTarget, plan.keys, `${about}: dataset ${input.dataset}`);
      const sql = mergeSql(target, columns, plan.keys);
      deleted = (await onTarget(`deleting rows of ${targetName} whose keys left the dataset`, sql.deleteVanished)).rowCount ?? 0;
      changed = (await onTarget(`upserting the rows into ${targetName}`, sql.upsert)).rowCount ?? 0;
    } else {
      const [remove, insert] = replaceSql(target, columns);
      deleted = (await onTarget(`deleting the rows of ${targetName}`, remove)).rowCount ?? 0;
      changed = (await onTarget(`inserting the rows into ${targetName}`, insert)).rowCount ?? 0;
    }
    await onTarget('writing the publish marker', markerInsertSql(), [slice, timelabel, rows, runId, services.now().toISOString()]);
    await onTarget('committing', 'COMMIT');
    targetOpen = false;
    const grown = prepared.added.length > 0 ? { addedColumns: prepared.added } : {};
    return { status: 'published', rows, detail: { target, mode: config.mode, created: prepared.created, deleted, written: changed, ...grown } };
  } catch (e) {
    if (readOpen) await rollbackQuietly(warehouse.client);
    if (targetOpen) await rollbackQuietly(client);
    // What is not a Reef error yet came from the COPY into staging (a value the target type refuses, a lost connection).
    throw targetError(e, doing);
  }
}

/** Runs one statement on the application database as a numbered step; `creates`: a race with another session's CREATE is transient. */
type OnTarget = <R extends pg.QueryResultRow = Record<string, unknown>>(what: string, sql: string, params?: unknown[], creates?: boolean) => Promise<pg.QueryResult<R>>;

async function ensureSchema(onTarget: OnTarget, schema: string): Promise<void> {
  if ((await onTarget(`looking for schema ${JSON.stringify(schema)}`, schemaExistsSql(), [schema])).rows.length === 0) {
    await onTarget(`creating schema ${JSON.stringify(schema)}`, createSchemaSql(schema), undefined, true);
  }
}

/**
 * Creates the target when it is missing (the published columns with their
 * mapped types; for a merge, the keys as primary key); otherwise checks,
 * before anything is written, that every published column is there with a
 * type that holds its values and, for a merge, that a unique index covers the
 * keys. With `addMissing` (`columns: all`) a column the dataset gained is
 * added to the target instead, in the same transaction, since the user asked
 * for every column; a list names its columns, so a missing one is refused.
 * Returns the type each published column is staged as (the target's own) and
 * the columns added.
 */
async function prepareTarget(
  onTarget: OnTarget,
  p: { target: TableRef; targetName: string; dataset: string; plan: PublishPlan; mode: HarnessPostgresConfig['mode']; addMissing: boolean },
): Promise<{ created: boolean; stagingTypes: Map<string, string>; added: string[] }> {
  const { target, targetName, plan } = p;
  const kind = await onTarget<{ kind: string }>(`looking for table ${targetName}`, relationKindSql(), [target.schema, target.table]);
  if (kind.rows.length === 0) {
    await ensureSchema(onTarget, target.schema);
    await onTarget(`creating table ${targetName}`, createTargetSql(target, plan.columns, plan.keys), undefined, true);
    return { created: true, stagingTypes: new Map(plan.columns.map((c) => [c.name, c.type])), added: [] };
  }
  if (kind.rows[0].kind !== 'r' && kind.rows[0].kind !== 'p') {
    throw new TerminalError('target', `target ${targetName} is not a table (relation kind ${kind.rows[0].kind}); expected a table to write into, or no relation of that name so one is created`, {
      code: 'target.not-a-table',
    });
  }
  const found = await onTarget<{ name: string; declared: string; type: string }>(`reading the columns of ${targetName}`, targetColumnsSql(), [target.schema, target.table]);
  const byName = new Map(found.rows.map((r) => [r.name, r]));
  const stagingTypes = new Map<string, string>();
  const added: string[] = [];
  for (const c of plan.columns) {
    const have = byName.get(c.name);
    const origin = `dataset column ${p.dataset}.${JSON.stringify(c.source.name)} (${c.source.type} in the warehouse)`;
    if (have === undefined && p.addMissing) {
      await onTarget(`adding column ${JSON.stringify(c.name)} to ${targetName}`, addColumnSql(target, c));
      stagingTypes.set(c.name, c.type);
      added.push(c.name);
      continue;
    }
    if (have === undefined) {
      throw new TerminalError('target', `target table ${targetName} has no column ${JSON.stringify(c.name)}; expected it, of type ${c.type}, to publish ${origin}: add the column or leave it out of columns. Nothing was written`, {
        code: 'target.missing-column',
      });
    }
    if (!holdsEvery(have.type, c.type)) {
      const declared = have.declared === have.type ? have.type : `${have.declared} (over ${have.type})`;
      throw new TerminalError(
        'target',
        `target table ${targetName}: column ${JSON.stringify(c.name)} has type ${declared}; expected ${c.type}, or a type that holds every value of it, to publish ${origin}. Nothing was written`,
        { code: 'target.incompatible-column' },
      );
    }
    stagingTypes.set(c.name, have.declared);
  }
  if (p.mode === 'merge') {
    const unique = await onTarget<{ columns: string[] }>(`reading the unique keys of ${targetName}`, uniqueKeysSql(), [target.schema, target.table]);
    const wanted = [...plan.keys].sort();
    const usable = unique.rows.some((r) => r.columns.length === wanted.length && [...r.columns].sort().every((c, i) => c === wanted[i]));
    if (!usable) {
      throw new TerminalError(
        'target',
        `target table ${targetName} has no primary key or unique index on exactly (${plan.keys.map((k) => JSON.stringify(k)).join(', ')}); expected one for mode merge, which upserts by those keys. Nothing was written`,
        { code: 'target.no-unique-key' },
      );
    }
  }
  return { created: false, stagingTypes, added };
}

/** A merge needs each staged key non-NULL and once: otherwise it could never match a row, or would update one twice. */
async function requireUsableKeys(onTarget: OnTarget, keys: string[], what: string): Promise<void> {
  const nulls = Number((await onTarget<{ n: string }>('looking for NULL keys', nullKeysSql(keys))).rows[0].n);
  if (nulls > 0) {
    throw new TerminalError('target', `${what} has ${nulls} row(s) whose key (${keys.join(', ')}) holds NULL; expected every key column to have a value, so each row can be merged`, {
      code: 'target.null-key',
    });
  }
  const twice = Number((await onTarget<{ n: string }>('looking for duplicate keys', duplicateKeysSql(keys))).rows[0].n);
  if (twice > 0) {
    throw new TerminalError('target', `${what} holds ${twice} key(s) (${keys.join(', ')}) on more than one row; expected each key once, so a merge has one row to write`, {
      code: 'target.duplicate-key',
    });
  }
}

/** Warehouse pages as COPY text; the copy stream's backpressure decides when the next page is fetched. */
async function* copyText(fetchPage: () => Promise<pg.QueryResult<unknown[]>>, fetchRows: number): AsyncGenerator<Buffer> {
  for (;;) {
    const page = await fetchPage();
    if (page.rows.length > 0) {
      let text = '';
      for (const row of page.rows) text += row.map((v) => copyField(v as string | null)).join('\t') + '\n';
      yield Buffer.from(text, 'utf8');
    }
    if (page.rows.length < fetchRows) return;
  }
}
