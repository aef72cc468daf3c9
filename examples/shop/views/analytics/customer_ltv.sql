/**
 * Orders and revenue per customer since the shop opened.
 * @refresh 1 hour
 * @mode merge
 * @keys customer_id
 * @check not_null(customer_id)
 * @check unique(customer_id)
 * @freshness 3 hours
 */
SELECT c.id AS customer_id, c.name, c.country, count(o.id) AS orders, coalesce(sum(o.total), 0) AS revenue
FROM shop.customers c
LEFT JOIN shop.orders o ON o.customer_id = c.id
GROUP BY c.id, c.name, c.country
