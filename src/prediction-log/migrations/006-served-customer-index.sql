-- Only served records (served = 1) are ever sought by customer: a shadow score is never a
-- customer's latest or later prediction (outcomes.ts), and every query that seeks by customer
-- says served = 1, which lets both stores use this index. With a challenger scoring the rows, half
-- the records are shadow ones and skip it; with many customers this index is most of an insert's
-- cost (each row dirties a random page): 17.2 -> 14.1 main-thread µs per record at 1,000,000 rows
-- (bench/prediction-log-insert.ts, bench/README.md).
DROP INDEX predictions_customer_recorded;
CREATE INDEX predictions_customer_recorded ON predictions (customer_id, recorded_at_ms) WHERE served = 1;
