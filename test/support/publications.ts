/**
 * What the shop demo's publication (publications/customer-scores.yaml) should
 * make of its view, and what the application database holds: the two sides
 * every publication test compares, each as sorted JSON rows.
 */
import type { LocalRuntime } from '../../shared/local/runtime.ts';

/** `analytics.customer_ltv` as the publication's column list renames it. */
export async function viewAsPublished(runtime: LocalRuntime): Promise<string[]> {
  return runtime.withDatabase('warehouse', async (c) =>
    (await c.query('SELECT customer_id, name, orders AS order_count, revenue AS lifetime_revenue FROM analytics.customer_ltv')).rows.map((r) => JSON.stringify(r)).sort(),
  );
}

/** The application's `public.customer_scores`. */
export async function customerScores(runtime: LocalRuntime): Promise<string[]> {
  return runtime.withDatabase('app', async (c) =>
    (await c.query('SELECT customer_id, name, order_count, lifetime_revenue FROM public.customer_scores')).rows.map((r) => JSON.stringify(r)).sort(),
  );
}
