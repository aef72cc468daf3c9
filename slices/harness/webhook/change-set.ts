/**
 * A timelabel's changes, computed once and kept in the warehouse until they
 * are delivered. Freezing them (one transaction: the upserts and deletes
 * tables and a `frozen` marker) means every attempt at the timelabel, however
 * late and whatever the dataset did since, reads the same rows in the same
 * order, so cuts the same batches and builds the same bodies. Committing (one
 * transaction: the shadow moved forward, the marker `delivered`, the frozen
 * tables dropped) happens only after every batch was delivered.
 */
import type pg from 'pg';
import { TerminalError } from '../../../shared/errors.ts';
import type { WarehouseDialectName } from '../../../shared/harness/publication.ts';
import { warehouseError } from '../../organize/redshift/warehouse-errors.ts';
import {
  MARKERS,
  ROW_HASH,
  SEQ,
  applyToShadowSql,
  countSql,
  createDeletesSql,
  createMarkersSql,
  createShadowSql,
  createUpsertsSql,
  datasetTable,
  describeSql,
  dropTableSql,
  duplicateKeySql,
  insertFrozenMarkerSql,
  lockMarkersSql,
  markDeliveredSql,
  nullKeySql,
  pageSql,
  pinSessionSql,
  publicationTables,
  relevantMarkersSql,
  tableExistsSql,
  type ChangeSqlInput,
  type PublicationTables,
  type TableRef,
  type TypedColumn,
} from './change-sql.ts';
import { RESERVED_COLUMNS } from './config.ts';
import { RAW_TEXT, rowJson, wireColumns, type WireColumn } from './row-json.ts';

/** Rows read per query of a frozen table: bounds memory whatever the change's size. */
const PAGE_ROWS = 1000;

/** PostgreSQL's SQLSTATEs for a relation that is not there, and for two sessions creating the same object at once. */
const UNDEFINED_TABLE = '42P01';
const CREATE_RACE = new Set(['42P06', '42P07', '23505']);

export interface ChangeSetInput {
  client: pg.ClientBase;
  dialect: WarehouseDialectName;
  /** The harness slice's name. */
  publication: string;
  dataset: string;
  /** Key columns; empty: rows are compared whole. */
  keys: readonly string[];
  columns: 'all' | readonly string[];
}

export interface BatchLimits {
  maxBytes: number;
  maxRows: number | undefined;
}

export interface FrozenPlan {
  timelabel: string;
  upserts: number;
  deletes: number;
  /** The limits the batches are cut with: those in force when the timelabel was frozen, so a config edit never re-cuts a half-sent timelabel. */
  limits: BatchLimits;
  /** Whether an earlier attempt froze it. */
  resumed: boolean;
}

export type FreezeResult = { state: 'delivered'; rows: number } | { state: 'frozen'; plan: FrozenPlan };

export interface ChangeItem {
  kind: 'upsert' | 'delete';
  /** The row (upserts; deletes without keys) or its key (deletes with keys) as JSON. */
  json: string;
  /** Names the row in a message: its key, or without keys its digest. */
  describe(): string;
}

interface MarkerRow {
  timelabel: string;
  state: 'frozen' | 'delivered';
  upserts: string;
  deletes: string;
  max_bytes: number;
  max_rows: number | null;
}

function sqlState(e: unknown): string {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' ? code : '';
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export class ChangeSet {
  readonly publication: string;
  readonly dataset: string;
  readonly tables: PublicationTables;
  private readonly client: pg.ClientBase;
  private readonly dialect: WarehouseDialectName;
  private readonly keys: readonly string[];
  private readonly columns: 'all' | readonly string[];
  private readonly source: TableRef;

  constructor(input: ChangeSetInput) {
    this.client = input.client;
    this.dialect = input.dialect;
    this.publication = input.publication;
    this.dataset = input.dataset;
    this.keys = input.keys;
    this.columns = input.columns;
    this.tables = publicationTables(input.publication);
    this.source = datasetTable(input.dataset);
  }

  /**
   * The timelabel's changes, frozen now or by an earlier attempt, or word
   * that it was delivered already. Timelabels go in order: one frozen and not
   * delivered holds back the others, and a timelabel older than one already
   * delivered is refused (the shadow has moved past it).
   */
  async freeze(timelabel: string, runId: string, limits: BatchLimits): Promise<FreezeResult> {
    await this.ensureMarkers();
    return this.transaction(`freezing the changes of ${this.dataset} for ${this.publication} at ${timelabel}`, async () => {
      await this.lockMarkers();
      const markers = (await this.client.query<MarkerRow>(relevantMarkersSql(this.dialect), [this.publication, timelabel])).rows;
      const own = markers.find((m) => m.timelabel.trim() === timelabel);
      if (own?.state === 'delivered') return { state: 'delivered', rows: Number(own.upserts) + Number(own.deletes) };
      if (own?.state === 'frozen') {
        return {
          state: 'frozen',
          plan: { timelabel, upserts: Number(own.upserts), deletes: Number(own.deletes), limits: { maxBytes: own.max_bytes, maxRows: own.max_rows ?? undefined }, resumed: true },
        };
      }
      const pending = markers.find((m) => m.state === 'frozen');
      if (pending) {
        throw new TerminalError(
          'internal',
          `publication ${this.publication} was asked for ${timelabel} while ${pending.timelabel.trim()} is frozen and not yet delivered; expected timelabels in order, ${pending.timelabel.trim()} first`,
          { code: 'webhook.out-of-order' },
        );
      }
      const later = markers.find((m) => m.timelabel.trim() > timelabel);
      if (later) {
        throw new TerminalError(
          'internal',
          `publication ${this.publication} was asked for ${timelabel}, older than ${later.timelabel.trim()} which it has delivered already; expected a timelabel after the last one delivered (the receiver holds a newer state)`,
          { code: 'webhook.behind' },
        );
      }
      const sql = await this.changeSqlInput();
      await this.checkKeys(sql.columns);
      for (const t of [this.tables.upserts, this.tables.deletes]) await this.client.query(dropTableSql(this.dialect, t));
      await this.client.query(createUpsertsSql(this.dialect, sql));
      await this.client.query(createDeletesSql(this.dialect, sql));
      const upserts = await this.count(this.tables.upserts);
      const deletes = await this.count(this.tables.deletes);
      await this.client.query(insertFrozenMarkerSql(this.dialect), [
        this.publication, timelabel, this.dataset, upserts, deletes, limits.maxBytes, limits.maxRows ?? null, runId,
      ]);
      return { state: 'frozen', plan: { timelabel, upserts, deletes, limits, resumed: false } };
    });
  }

  /**
   * The frozen changes in order: upserts by `reef_seq`, then deletes. Each
   * page is read in a short transaction of its own, never held while the
   * caller sends: the pass's connection stays free between pages.
   */
  async *items(): AsyncGenerator<ChangeItem> {
    for (const [kind, table] of [['upsert', this.tables.upserts], ['delete', this.tables.deletes]] as const) {
      const fields = (await this.query(describeSql(this.dialect, table), `reading the frozen ${kind}s of ${this.publication}`)).fields;
      const sent = fields.filter((f) => f.name !== SEQ && f.name !== ROW_HASH);
      const wire = await wireColumns(this.client, this.dialect, sent);
      const keyed = this.keys.length > 0;
      const keyIndexes = keyed ? this.keys.map((k) => wire.findIndex((c) => c.name === k)) : [];
      const names = wire.map((c) => c.name);
      let after = '0';
      for (;;) {
        const page = await this.transaction(`reading the frozen ${kind}s of ${this.publication}`, async () => {
          await this.pin();
          return this.client.query<string[]>({ text: pageSql(this.dialect, table, names, PAGE_ROWS), values: [after], rowMode: 'array', types: RAW_TEXT });
        });
        for (const row of page.rows) {
          const seq = row[0];
          const values = row.slice(1, 1 + wire.length);
          const hash = row[1 + wire.length];
          const where = (column: string): string => `column ${column} of ${kind} ${seq} of ${this.publication}`;
          const describe = (): string => (keyed ? `the row with key ${keyJson(wire, keyIndexes, values, where)}` : `the row with digest ${hash} (no keys)`);
          yield { kind, json: rowJson(wire, values, where), describe };
        }
        if (page.rows.length < PAGE_ROWS) break;
        after = page.rows[page.rows.length - 1][0];
      }
    }
  }

  /**
   * After every batch was delivered: the shadow takes the frozen changes and
   * the marker says `delivered`, in one transaction, and the frozen tables go.
   * False when another run committed the timelabel first.
   */
  async commit(timelabel: string, batches: number): Promise<boolean> {
    return this.transaction(`recording ${this.publication} at ${timelabel} as delivered`, async () => {
      await this.lockMarkers();
      const markers = (await this.client.query<MarkerRow>(relevantMarkersSql(this.dialect), [this.publication, timelabel])).rows;
      const own = markers.find((m) => m.timelabel.trim() === timelabel);
      if (own?.state === 'delivered') return false;
      if (own === undefined) {
        throw new TerminalError('internal', `${this.publication} at ${timelabel} has no marker in ${MARKERS.schema}.${MARKERS.table}; expected the one its freeze wrote`, {
          code: 'webhook.marker-missing',
        });
      }
      const upsertColumns = (await this.client.query(describeSql(this.dialect, this.tables.upserts))).fields
        .filter((f) => f.name !== SEQ && f.name !== ROW_HASH)
        .map((f) => ({ name: f.name, oid: f.dataTypeID }));
      const shadowColumns = await this.shadowColumns();
      this.checkShadow(shadowColumns);
      const sql: ChangeSqlInput = { dataset: this.source, tables: this.tables, columns: upsertColumns, keys: this.keys, shadowColumns };
      for (const statement of applyToShadowSql(this.dialect, sql)) await this.client.query(statement);
      await this.client.query(markDeliveredSql(this.dialect), [this.publication, timelabel, batches]);
      for (const t of [this.tables.upserts, this.tables.deletes]) await this.client.query(dropTableSql(this.dialect, t));
      return true;
    });
  }

  // ------------------------------------------------------------------ steps

  private async ensureMarkers(): Promise<void> {
    // Two publications starting at once may both create the table; the loser sees it exist on its second try.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.transaction('creating the webhook markers table', async () => {
          for (const s of createMarkersSql(this.dialect)) await this.client.query(s);
        });
        return;
      } catch (e) {
        const cause = (e as { cause?: unknown }).cause;
        if (attempt >= 2 || !CREATE_RACE.has(sqlState(cause))) throw e;
      }
    }
  }

  /** What the freeze computes from: the dataset's columns as sent, the keys, and the shadow (created empty the first time). */
  private async changeSqlInput(): Promise<ChangeSqlInput> {
    await this.pin();
    let fields: pg.FieldDef[];
    try {
      fields = (await this.client.query(describeSql(this.dialect, this.source))).fields;
    } catch (e) {
      if (sqlState(e) !== UNDEFINED_TABLE) throw e;
      throw new TerminalError('config', `dataset ${this.dataset} is not a table in the warehouse; expected the organize slice to have loaded or refreshed it before it is published`, {
        code: 'webhook.dataset-missing',
        cause: e,
      });
    }
    const all: TypedColumn[] = fields.map((f) => ({ name: f.name, oid: f.dataTypeID }));
    const names = all.map((c) => c.name);
    const reserved = names.filter((n) => RESERVED_COLUMNS.includes(n));
    if (reserved.length > 0) {
      throw new TerminalError('config', `dataset ${this.dataset} has column(s) ${reserved.join(', ')}; expected none of ${RESERVED_COLUMNS.join(', ')}, which the webhook harness adds to its own tables (leave them out with columns:)`, {
        code: 'webhook.columns',
      });
    }
    let columns = all;
    if (this.columns !== 'all') {
      const missing = this.columns.filter((c) => !names.includes(c));
      if (missing.length > 0) {
        throw new TerminalError('config', `columns: found ${missing.join(', ')}, not in dataset ${this.dataset}; expected some of ${names.join(', ')}`, { code: 'webhook.columns' });
      }
      columns = this.columns.map((c) => all.find((x) => x.name === c)!);
    }
    const sentNames = columns.map((c) => c.name);
    const missingKeys = this.keys.filter((k) => !sentNames.includes(k));
    if (missingKeys.length > 0) {
      throw new TerminalError('config', `key(s) ${missingKeys.join(', ')} of publication ${this.publication} are not among the columns sent from ${this.dataset}; expected keys from ${sentNames.join(', ')}`, {
        code: 'webhook.keys',
      });
    }
    const input: ChangeSqlInput = { dataset: this.source, tables: this.tables, columns, keys: this.keys, shadowColumns: [] };
    if (!(await this.exists(this.tables.shadow))) await this.client.query(createShadowSql(this.dialect, input));
    const shadowColumns = await this.shadowColumns();
    this.checkShadow(shadowColumns);
    return { ...input, shadowColumns };
  }

  /** A NULL or repeated key would make updates and deletes ambiguous for the receiver: refused, naming the key. */
  private async checkKeys(columns: readonly TypedColumn[]): Promise<void> {
    if (this.keys.length === 0) return;
    if ((await this.client.query(nullKeySql(this.dialect, this.source, this.keys))).rows.length > 0) {
      throw new TerminalError('target', `dataset ${this.dataset} has a row whose key (${this.keys.join(', ')}) is NULL; expected every row to have a key, so the receiver can update and delete it`, {
        code: 'webhook.null-key',
      });
    }
    const oids = this.keys.map((k) => columns.find((c) => c.name === k)!.oid);
    const dup = await this.client.query<Record<string, string>>(duplicateKeySql(this.dialect, this.source, this.keys, oids));
    if (dup.rows.length > 0) {
      const shown = this.keys.map((k, i) => `${k}=${dup.rows[0][`k${i}`]}`).join(', ');
      throw new TerminalError('target', `dataset ${this.dataset} has more than one row with key ${shown}; expected the keys (${this.keys.join(', ')}) to identify one row each`, {
        code: 'webhook.duplicate-key',
      });
    }
  }

  /** With keys the shadow holds exactly them: other columns mean the keys were changed after rows were delivered under the old ones. */
  private checkShadow(shadowColumns: readonly string[]): void {
    if (this.keys.length === 0 || sameList(shadowColumns, this.keys)) return;
    const shadow = `${this.tables.shadow.schema}.${this.tables.shadow.table}`;
    throw new TerminalError(
      'config',
      `publication ${this.publication} delivered rows under the key (${shadowColumns.join(', ')}) and now has the key (${this.keys.join(', ')}); ` +
        `expected the same key, since the receiver identifies rows by it: restore the keys, or drop ${shadow} in the warehouse to send every row again under the new key`,
      { code: 'webhook.keys-changed' },
    );
  }

  private async shadowColumns(): Promise<string[]> {
    const fields = (await this.client.query(describeSql(this.dialect, this.tables.shadow))).fields;
    return fields.map((f) => f.name).filter((n) => n !== ROW_HASH);
  }

  private async exists(t: TableRef): Promise<boolean> {
    return (await this.client.query(tableExistsSql(), [t.schema, t.table])).rows.length > 0;
  }

  private async count(t: TableRef): Promise<number> {
    return Number((await this.client.query<{ n: string }>(countSql(this.dialect, t))).rows[0].n);
  }

  private async lockMarkers(): Promise<void> {
    await this.client.query(lockMarkersSql(this.dialect));
  }

  private async pin(): Promise<void> {
    for (const s of pinSessionSql(this.dialect)) await this.client.query(s);
  }

  private async query(text: string, doing: string): Promise<pg.QueryResult> {
    try {
      return await this.client.query(text);
    } catch (e) {
      throw warehouseError(e, doing);
    }
  }

  private async transaction<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    try {
      await this.client.query('BEGIN');
    } catch (e) {
      throw warehouseError(e, doing);
    }
    try {
      const result = await fn();
      await this.client.query('COMMIT');
      return result;
    } catch (e) {
      await this.client.query('ROLLBACK').catch(() => {});
      throw warehouseError(e, doing);
    }
  }
}

function keyJson(wire: readonly WireColumn[], indexes: readonly number[], values: readonly (string | null)[], where: (column: string) => string): string {
  return rowJson(indexes.map((i) => wire[i]), indexes.map((i) => values[i]), where);
}
