/**
 * Refresh one view for one timelabel in the warehouse, all or nothing: the
 * view's new rows, its checks and its refresh marker commit together, and a
 * (view, timelabel, version) whose marker exists is not refreshed again. A
 * failed check rolls everything back, so the previous good data stays.
 */
import type pg from 'pg';
import { TerminalError, TransientError } from '../../../shared/errors.ts';
import { isTimelabel } from '../../../shared/timelabel.ts';
import type { ViewCheck, ViewSpec } from '../../../shared/views/types.ts';
import {
  addViewColumnSql, checkSql, computeViewRowsSql, countViewRowsSql, createRefreshMarkersSql, createSchemaSql, createViewTableSql, dropViewRowsSql,
  duplicateKeysSql, existingColumnsSql, lockTableSql, nullKeysSql, pinRefreshSessionSql, refreshMarkerCheckSql, refreshMarkerInsertSql, viewApplySql,
  VIEW_ROWS_TABLE, type DialectName, type MergeStrategy, type TableRef, type ViewColumn,
} from './dialect.ts';
import { describeView } from './view-signature.ts';
import { singleStatement, userSqlError } from './view-sql.ts';
import { warehouseError } from './warehouse-errors.ts';
import { rollbackQuietly } from '../../../shared/postgres-connection.ts';
import type { Faults } from '../../../shared/runtime/services.ts';

export interface RefreshViewInput {
  client: pg.ClientBase;
  /**
   * Every statement comes from the dialect module. Nothing here relies on a
   * savepoint (Redshift has none): any failure rolls the whole refresh back.
   */
  dialect: DialectName;
  view: ViewSpec;
  /** The view's own period being refreshed. */
  timelabel: string;
  /** The view definition's version in effect for the timelabel: a new version refreshes a timelabel again. */
  version: number;
  /** Recorded in the marker, to trace which run wrote it. */
  runId: string;
  /** merge views: one MERGE (default) or delete-insert by the keys. */
  strategy?: MergeStrategy;
  /** Local fault tests: `refresh.step` is hit before each step, numbered from 1 in the order they run. */
  faults?: Faults;
}

export interface CheckResult {
  /** The check as written: `not_null(customer_id)`, `row_count(1, 100)`, `sql`. */
  check: string;
  kind: ViewCheck['kind'];
  /** File line of its `@check` tag. */
  line: number;
  passed: boolean;
  /** Rows that break it; for row_count, the rows the view's table holds. */
  failingRows: number;
  /** What was found and what was expected. */
  message: string;
}

export interface RefreshResult {
  status: 'refreshed' | 'already-refreshed' | 'check-failed';
  view: string;
  timelabel: string;
  version: number;
  /** Rows the view yielded; for already-refreshed, as the marker recorded them. */
  rows: number;
  /** Every check in header order (empty when already refreshed); check-failed has at least one not passed. */
  checks: CheckResult[];
  /** Columns this refresh added to the view's table (the signature gained them). */
  addedColumns: string[];
}

/** Catalog races between two first refreshes of the same view: the loser's retry finds the objects made. */
const CREATE_RACE = new Set(['23505', '42P07', '42P06']);

export async function refreshView(input: RefreshViewInput): Promise<RefreshResult> {
  const { client, view, timelabel, version, runId, faults } = input;
  const dialect = input.dialect;
  if (!isTimelabel(timelabel)) {
    throw new TerminalError('internal', `refreshing ${view.name}: found timelabel ${JSON.stringify(timelabel)}, expected YYYYMMDDHHmm00`, { code: 'internal.timelabel' });
  }
  const target = viewTable(view);
  const marker = { view: view.name, timelabel, version };
  const result = { ...marker, addedColumns: [] as string[] };
  let open = false;
  let doing = `refreshing ${view.name} for timelabel ${timelabel}`;
  let n = 0;
  const run = async <R extends pg.QueryResultRow = Record<string, unknown>>(what: string, sql: string): Promise<pg.QueryResult<R>> => {
    doing = `${what} (refreshing ${view.name} for timelabel ${timelabel})`;
    faults?.hit('refresh.step', ++n);
    return client.query<R>(sql);
  };
  const ensure = async (what: string, sql: string): Promise<void> => {
    try {
      await run(what, sql);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (typeof code === 'string' && CREATE_RACE.has(code)) {
        throw new TransientError('target', `${doing}: another session created the same object at the same moment (SQLSTATE ${code}); expected a retry to find it`, { code: 'target.busy', cause: e });
      }
      throw e;
    }
  };
  try {
    await run('starting the transaction', 'BEGIN');
    open = true;
    await run('pinning the session time zone', pinRefreshSessionSql());
    for (const sql of createRefreshMarkersSql(dialect)) await ensure('creating the refresh markers table', sql);
    await ensure(`creating schema ${target.schema}`, createSchemaSql(dialect, target.schema));

    // The table must exist to be locked; when it does, the lock and the marker come before
    // the view's SQL runs, so a refreshed timelabel stays a no-op even if its inputs broke since.
    let signature: ViewColumn[] | undefined;
    faults?.hit('refresh.step', ++n);
    if ((await columnsOf(client, dialect, target)).length === 0) {
      doing = `describing ${view.name}`;
      faults?.hit('refresh.step', ++n);
      signature = (await describeView(client, dialect, view)).columns;
      await ensure(`creating table ${view.name}`, createViewTableSql(dialect, target, signature, view.header.keys));
    }
    await run(`locking ${view.name}`, lockTableSql(dialect, target));
    const done = await run<{ rows: string }>('reading the refresh marker', refreshMarkerCheckSql(dialect, marker));
    if (done.rows.length > 0) {
      faults?.hit('refresh.step', ++n);
      await client.query('ROLLBACK');
      open = false;
      return { status: 'already-refreshed', ...result, rows: Number(done.rows[0].rows), checks: [] };
    }

    doing = `describing ${view.name}`;
    if (signature === undefined) {
      faults?.hit('refresh.step', ++n);
      signature = (await describeView(client, dialect, view)).columns;
    }
    const names = signature.map((c) => c.name);
    requireOutputs(view, names);
    faults?.hit('refresh.step', ++n);
    const existing = new Set(await columnsOf(client, dialect, target));
    for (const c of signature.filter((s) => !existing.has(s.name))) {
      await run(`adding column ${c.name} to ${view.name}`, addViewColumnSql(dialect, target, c));
      result.addedColumns.push(c.name);
    }

    await run('dropping a leftover rows table', dropViewRowsSql(dialect));
    const body = await singleStatement(view.body);
    const compute = computeViewRowsSql(dialect, body);
    try {
      await run(`computing the rows of ${view.name}`, compute.sql);
    } catch (e) {
      throw userSqlError(e, { file: view.file, startLine: view.bodyStartLine, text: body, what: `view ${view.name}` }, compute, doing);
    }
    const rows = Number((await run<{ n: string }>('counting the rows', countViewRowsSql(dialect))).rows[0].n);
    if (view.header.mode === 'merge') await requireUsableKeys(dialect, view, run);
    for (const sql of viewApplySql(dialect, { target, columns: names, mode: view.header.mode, keys: view.header.keys, strategy: input.strategy })) {
      await run(`writing the rows into ${view.name}`, sql);
    }

    const checks: CheckResult[] = [];
    for (const check of view.header.checks) {
      faults?.hit('refresh.step', ++n);
      checks.push(await runCheck(client, dialect, view, target, check, (what) => (doing = what)));
    }
    if (checks.some((c) => !c.passed)) {
      faults?.hit('refresh.step', ++n);
      await client.query('ROLLBACK');
      open = false;
      return { status: 'check-failed', ...result, rows, checks };
    }

    await run('writing the refresh marker', refreshMarkerInsertSql(dialect, { ...marker, rows, runId }));
    await run('dropping the rows table', dropViewRowsSql(dialect));
    await run('committing', 'COMMIT');
    open = false;
    return { status: 'refreshed', ...result, rows, checks };
  } catch (e) {
    if (open) await rollbackQuietly(client);
    throw warehouseError(e, doing);
  }
}

/** A view `schema.name` is the table `schema.name`. */
export function viewTable(view: ViewSpec): TableRef {
  const dot = view.name.indexOf('.');
  if (dot <= 0 || dot === view.name.length - 1) {
    throw new TerminalError('internal', `found view name ${JSON.stringify(view.name)}, expected <schema>.<name>`, { code: 'internal.view-name' });
  }
  return { schema: view.name.slice(0, dot), table: view.name.slice(dot + 1) };
}

async function columnsOf(client: pg.ClientBase, dialect: DialectName, target: TableRef): Promise<string[]> {
  const r = await client.query<{ column_name: string }>(existingColumnsSql(dialect), [target.schema, target.table]);
  return r.rows.map((row) => row.column_name);
}

/**
 * Keys and checked columns must be outputs of the view. The compiler proves
 * it when the SQL names every output; with `*` only the warehouse knows.
 */
function requireOutputs(view: ViewSpec, outputs: string[]): void {
  const missing = (column: string, field: string, line: number | undefined): TerminalError =>
    new TerminalError(
      'config',
      `${view.file}:${line ?? view.bodyStartLine}: ${field}: found column "${column}", which view ${view.name} does not output; expected one of ${outputs.join(', ')}`,
      { code: 'config.view-columns' },
    );
  if (view.header.mode === 'merge' && view.header.keys.length === 0) {
    throw new TerminalError('config', `${view.file}:${view.header.tagLines.mode ?? 1}: @mode merge: found no @keys, expected the columns that identify a row`, { code: 'config.keys' });
  }
  for (const k of view.header.keys) if (!outputs.includes(k)) throw missing(k, '@keys', view.header.tagLines.keys);
  for (const c of view.header.checks) {
    const cols = c.kind === 'not_null' || c.kind === 'accepted_values' ? [c.column] : c.kind === 'unique' ? c.columns : [];
    for (const col of cols) if (!outputs.includes(col)) throw missing(col, `@check ${c.kind}`, c.line);
  }
}

/** A merge needs each key once and never NULL among the computed rows, or rows would be lost or picked at random. */
async function requireUsableKeys(dialect: DialectName, view: ViewSpec, run: (what: string, sql: string) => Promise<pg.QueryResult>): Promise<void> {
  const keys = view.header.keys;
  const where = `${view.file}:${view.header.tagLines.keys ?? view.bodyStartLine}: @keys`;
  const nulls = await run('checking the keys for NULL', nullKeysSql(dialect, keys, VIEW_ROWS_TABLE));
  if (nulls.rows.length > 0) {
    throw new TerminalError('config', `${where}: view ${view.name} yields a row whose key (${keys.join(', ')}) holds NULL; expected every key column to have a value`, { code: 'config.view-keys' });
  }
  const dups = await run('checking the keys for duplicates', duplicateKeysSql(dialect, keys, VIEW_ROWS_TABLE));
  if (dups.rows.length > 0) {
    const row = dups.rows[0] as { key: unknown; n: unknown };
    throw new TerminalError(
      'config',
      `${where}: view ${view.name} yields the key (${keys.join(', ')}) = (${String(row.key)}) on ${String(row.n)} rows; expected each key once (group by the keys)`,
      { code: 'config.view-keys' },
    );
  }
}

async function runCheck(client: pg.ClientBase, dialect: DialectName, view: ViewSpec, target: TableRef, check: ViewCheck, doing: (what: string) => void): Promise<CheckResult> {
  const label = checkLabel(check);
  doing(`running @check ${label} of ${view.name}`);
  const base = { check: label, kind: check.kind, line: check.line };
  if (check.kind === 'sql') {
    const text = await singleStatement(check.sql);
    const sent = checkSql(dialect, target, { kind: 'sql', sql: text });
    let failing: number;
    try {
      failing = Number((await client.query<{ failing: string }>(sent.sql)).rows[0].failing);
    } catch (e) {
      throw userSqlError(e, { file: view.file, startLine: check.line, text, what: `@check sql of view ${view.name}` }, sent, `running @check sql of ${view.name}`);
    }
    return { ...base, passed: failing === 0, failingRows: failing, message: failing === 0 ? 'returned no rows' : `returned ${failing} failing rows, expected none` };
  }
  const sent = checkSql(dialect, target, check);
  let count: number;
  try {
    count = Number((await client.query<{ failing: string }>(sent.sql)).rows[0].failing);
  } catch (e) {
    // e.g. accepted_values('x') on an integer column: the check, as written, does not fit the view.
    throw userSqlError(e, { file: view.file, startLine: check.line, text: '', what: `@check ${label} of view ${view.name}` }, sent, `running @check ${label} of ${view.name}`);
  }
  if (check.kind === 'row_count') {
    const passed = count >= check.min && count <= check.max;
    return { ...base, passed, failingRows: passed ? 0 : count, message: `found ${count} rows, expected ${check.min} to ${check.max}` };
  }
  const what: Record<typeof check.kind, string> = {
    not_null: `rows with ${label.slice('not_null('.length, -1)} NULL`,
    unique: 'rows sharing their value with another row',
    accepted_values: 'rows with a value not in the list',
  };
  return { ...base, passed: count === 0, failingRows: count, message: `found ${count} ${what[check.kind]}, expected none` };
}

function checkLabel(check: ViewCheck): string {
  switch (check.kind) {
    case 'not_null':
      return `not_null(${check.column})`;
    case 'unique':
      return `unique(${check.columns.join(', ')})`;
    case 'accepted_values':
      return `accepted_values(${check.column}, ${check.values.map((v) => (typeof v === 'number' ? String(v) : `'${v.replaceAll("'", "''")}'`)).join(', ')})`;
    case 'row_count':
      return `row_count(${check.min}, ${check.max})`;
    case 'sql':
      return 'sql';
  }
}
