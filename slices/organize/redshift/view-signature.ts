/**
 * A view's signature: its output columns and their warehouse types, read
 * from the warehouse without computing a row. The query is planned under
 * `LIMIT 0`, and the row description the warehouse answers with (names, type
 * OIDs and modifiers) is turned into type names by the warehouse itself
 * (`format_type`), so the names are valid DDL for the view's table.
 */
import type pg from 'pg';
import { TerminalError } from '../../../shared/errors.ts';
import type { ViewSpec } from '../../../shared/views/types.ts';
import { describeViewSql, formatTypesSql, type DialectName, type ViewColumn } from './dialect.ts';
import { singleStatement, userSqlError } from './view-sql.ts';
import { warehouseError } from './warehouse-errors.ts';

export interface ViewSignature {
  /** In the order the view yields them. */
  columns: ViewColumn[];
}

/**
 * The name PostgreSQL and Redshift give an output column that has none
 * (`SELECT count(*) + 1`): not a name anyone can select by, so refused.
 */
const UNNAMED = '?column?';

/** Types a table column cannot have: the view must cast such an output. */
const NOT_STORABLE = new Set(['unknown', 'record', 'void', 'anyelement', 'anyarray', 'cstring', 'trigger']);

export async function describeView(client: pg.ClientBase, dialect: DialectName, view: ViewSpec): Promise<ViewSignature> {
  const text = await singleStatement(view.body);
  const sent = describeViewSql(text);
  let fields: pg.FieldDef[];
  try {
    fields = (await client.query(sent.sql)).fields;
  } catch (e) {
    throw userSqlError(e, { file: view.file, startLine: view.bodyStartLine, text, what: `view ${view.name}` }, sent, `describing view ${view.name} in ${dialect}`);
  }
  checkNames(view, fields.map((f) => f.name));
  let typeRow: Record<string, string>;
  try {
    typeRow = (await client.query<Record<string, string>>(formatTypesSql(fields.map((f) => ({ oid: f.dataTypeID, typmod: f.dataTypeModifier }))))).rows[0];
  } catch (e) {
    throw warehouseError(e, `naming the column types of view ${view.name}`);
  }
  const columns = fields.map((f, i) => ({ name: f.name, type: typeRow[`t${i}`] }));
  const odd = columns.find((c) => NOT_STORABLE.has(c.type));
  if (odd !== undefined) {
    throw new TerminalError(
      'config',
      `${view.file}:${view.bodyStartLine}: view ${view.name}: found output column "${odd.name}" of type ${odd.type}, which a table cannot hold; expected a concrete type (add a cast, e.g. CAST(... AS text))`,
      { code: 'config.view-columns' },
    );
  }
  return { columns };
}

function checkNames(view: ViewSpec, names: string[]): void {
  const where = `${view.file}:${view.bodyStartLine}: view ${view.name}`;
  if (names.length === 0) {
    throw new TerminalError('config', `${where}: found no output columns, expected at least one`, { code: 'config.view-columns' });
  }
  const unnamed = names.findIndex((n) => n === '' || n === UNNAMED);
  if (unnamed >= 0) {
    throw new TerminalError('config', `${where}: output column ${unnamed + 1} has no name; expected every output column named (add AS <name>)`, { code: 'config.view-columns' });
  }
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) {
    throw new TerminalError('config', `${where}: found output column "${dup}" more than once, expected each output name once (rename one with AS)`, { code: 'config.view-columns' });
  }
}
