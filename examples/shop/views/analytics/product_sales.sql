/**
 * Units and revenue per product, recomputed whole each hour.
 * @refresh 1 hour
 * @mode replace
 * @check not_null(product_id)
 */
SELECT p.id AS product_id, p.sku, p.category, coalesce(sum(i.quantity), 0) AS units, coalesce(sum(i.quantity * i.unit_price), 0) AS revenue
FROM shop.products p
LEFT JOIN shop.order_items i ON i.product_id = p.id
GROUP BY p.id, p.sku, p.category
