/**
 * Orders and revenue per day they were placed (UTC).
 * @refresh 1 day
 * @mode merge
 * @keys day
 * @check not_null(day)
 * @check unique(day)
 */
SELECT CAST(date_trunc('day', o.placed_at AT TIME ZONE 'UTC') AS date) AS day, count(*) AS orders, sum(o.total) AS revenue
FROM shop.orders o
GROUP BY 1
