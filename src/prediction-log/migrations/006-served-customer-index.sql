-- Only served records (served = 1) are ever sought by customer: a shadow score is never a
-- customer's latest or later prediction (outcomes.ts), and every query that seeks by customer
-- says served = 1, which lets both stores use this index. With a challenger scoring the rows, half
-- the records are shadow ones and skip it (with 005, 7.02 -> 6.05 main-thread µs per record in
-- SQLite, one customer: PREDICTION_LOG_SHADOW=1 bench/prediction-log-insert.ts); with many
-- customers this index is most of an insert's cost, since each row dirties a random page.
DROP INDEX predictions_customer_recorded;
CREATE INDEX predictions_customer_recorded ON predictions (customer_id, recorded_at_ms) WHERE served = 1;
