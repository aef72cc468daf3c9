/**
 * The ten customers with the most revenue: a view built on a view.
 * @refresh 1 hour
 * @mode replace
 * @check row_count(0, 10)
 */
SELECT l.customer_id, l.name, l.revenue
FROM analytics.customer_ltv l
ORDER BY l.revenue DESC, l.customer_id
LIMIT 10
