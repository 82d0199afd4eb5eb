-- One row per prediction served, whatever the protocol. Written in the SQL both stores accept
-- (SQLite and PostgreSQL): times are epoch milliseconds so retention is one comparison in either.
CREATE TABLE predictions (
  prediction_id TEXT PRIMARY KEY,
  recorded_at_ms BIGINT NOT NULL,
  request_id TEXT,
  customer_id TEXT,
  protocol TEXT NOT NULL,
  model_name TEXT NOT NULL,
  model_version TEXT NOT NULL,
  model_sha256 TEXT NOT NULL,
  tenure_months DOUBLE PRECISION NOT NULL,
  monthly_charges DOUBLE PRECISION NOT NULL,
  total_charges DOUBLE PRECISION NOT NULL,
  num_products DOUBLE PRECISION NOT NULL,
  has_support_calls DOUBLE PRECISION NOT NULL,
  probability DOUBLE PRECISION NOT NULL,
  prediction INTEGER NOT NULL,
  tier TEXT NOT NULL
);
CREATE INDEX predictions_recorded_at_ms ON predictions (recorded_at_ms);
CREATE INDEX predictions_customer_id ON predictions (customer_id);
