/**
 * Sends view periods back to be refreshed again (a backfill): their refresh
 * markers are deleted in the warehouse, then their records in the metadata go
 * back to pending, and the next organize pass refreshes them in DAG order.
 *
 * The order makes an interrupted reopen harmless: markers gone while the
 * records still say committed leaves the old rows in place and nothing
 * scheduled (the backfill can simply be run again); a pending record always
 * lacks its marker, so its refresh really computes.
 */
import type pg from 'pg';
import type { Services } from '../../../shared/runtime/services.ts';
import { ORGANIZE_SLICE } from '../../../shared/slice.ts';
import { deleteRefreshMarkersSql } from './dialect.ts';
import { warehouseError } from './warehouse-errors.ts';
import { connectWarehouse, type WarehouseTarget } from './warehouse.ts';

/** PostgreSQL and Redshift: the relation does not exist. No view has refreshed yet, so there is no marker to forget. */
const UNDEFINED_TABLE = '42P01';

export interface ReopenInput {
  services: Services;
  warehouse: WarehouseTarget;
  /** Per view, the periods to refresh again; periods with no record, or one still running, are left alone. */
  periods: { view: string; timelabels: string[] }[];
  /** Recorded on each reopened record. */
  reason: string;
}

export interface ReopenedView {
  view: string;
  /** The periods sent back to pending. */
  timelabels: string[];
  /** Periods skipped because a run holds them now. */
  running: string[];
}

export async function reopenViewPeriods(input: ReopenInput): Promise<ReopenedView[]> {
  const { services, warehouse } = input;
  const wanted: { view: string; timelabels: string[] }[] = [];
  for (const { view, timelabels } of input.periods) {
    const range = new Set(timelabels);
    const records = (await services.metadata.listBatches(ORGANIZE_SLICE, view)).filter((b) => b.loadunit === view && range.has(b.timelabel));
    const settled = records.filter((b) => b.status === 'committed' || b.status === 'failed').map((b) => b.timelabel);
    if (settled.length > 0) wanted.push({ view, timelabels: settled });
  }
  if (wanted.length === 0) return [];

  const client = await connectWarehouse(services, warehouse);
  try {
    for (const { view, timelabels } of wanted) await forgetRefreshes(client, warehouse, view, timelabels);
  } finally {
    await client.end().catch(() => {});
  }

  const out: ReopenedView[] = [];
  for (const { view, timelabels } of wanted) {
    const done: ReopenedView = { view, timelabels: [], running: [] };
    for (const timelabel of timelabels) {
      const r = await services.metadata.reopenBatch({ slice: ORGANIZE_SLICE, loadunit: view, timelabel, reason: input.reason });
      (r.reopened ? done.timelabels : done.running).push(timelabel);
    }
    out.push(done);
  }
  return out;
}

async function forgetRefreshes(client: pg.Client, warehouse: WarehouseTarget, view: string, timelabels: string[]): Promise<void> {
  try {
    await client.query(deleteRefreshMarkersSql(warehouse.dialect, view, timelabels));
  } catch (e) {
    if ((e as { code?: unknown }).code === UNDEFINED_TABLE) return;
    throw warehouseError(e, `forgetting the refreshes of ${view} for ${timelabels.length} period(s)`);
  }
}
