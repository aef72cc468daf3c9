/**
 * What a view holds in the warehouse, and what its SQL gives when run
 * directly on the shop demo's source: the two must be equal after a clean run.
 */
import type pg from 'pg';
import type { Flow } from '../../shared/flow/types.ts';
import type { LocalRuntime } from '../../shared/local/runtime.ts';

function sorted(r: pg.QueryResult): unknown[] {
  return r.rows.map((row) => JSON.stringify(row)).sort();
}

/** The view's SQL run on the source, whose tables are in `public`: `shop.x` becomes a view over `public.x`. */
export async function onSource(runtime: LocalRuntime, flow: Flow, view: string): Promise<unknown[]> {
  const body = flow.views.find((v) => v.name === view)!.body;
  return runtime.withDatabase('shop', async (c) => {
    await c.query('CREATE SCHEMA IF NOT EXISTS shop; CREATE SCHEMA IF NOT EXISTS analytics');
    for (const t of ['customers', 'products', 'orders', 'order_items']) await c.query(`CREATE OR REPLACE VIEW shop.${t} AS SELECT * FROM public.${t}`);
    if (view === 'analytics.top_customers') {
      const ltv = flow.views.find((v) => v.name === 'analytics.customer_ltv')!.body;
      await c.query(`CREATE OR REPLACE VIEW analytics.customer_ltv AS ${ltv}`);
    }
    return sorted(await c.query(body));
  });
}

/** Every row of the view's table in the warehouse. */
export async function inWarehouse(runtime: LocalRuntime, view: string): Promise<unknown[]> {
  return runtime.withDatabase('warehouse', async (c) => sorted(await c.query(`SELECT * FROM ${view}`)));
}
