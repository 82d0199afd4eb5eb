-- Only shadow records (served = 0) are ever sought by row_key: the pairing query (paired-scores.ts)
-- seeks a served record's unserved partner, and a served record's row_key is its own prediction_id,
-- found by the primary key. Indexing only the shadow records spares every served insert an index
-- entry (in SQLite 9.26 -> 8.74 main-thread µs per served row, within this machine's spread;
-- bench/prediction-log-insert.ts).
DROP INDEX predictions_row_key;
CREATE INDEX predictions_row_key ON predictions (row_key) WHERE served = 0;
