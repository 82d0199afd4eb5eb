-- What the CRM observed about a customer, posted after the fact (POST /outcomes). An outcome is
-- kept whether or not a prediction matches it yet: it is joined to the predictions when they are
-- read (scoredOutcomes), so a prediction recorded later still finds it. One row per customer and
-- observation time; posting the same again changes nothing, a different `churned` replaces it.
CREATE TABLE outcomes (
  customer_id TEXT NOT NULL,
  observed_at_ms BIGINT NOT NULL,
  -- 1 churned, 0 stayed (renewed): both stores read INTEGER the same way, SQLite has no BOOLEAN.
  churned INTEGER NOT NULL CHECK (churned IN (0, 1)),
  -- When the outcome was first posted, and when its `churned` was last changed by a correction.
  received_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  PRIMARY KEY (customer_id, observed_at_ms)
);
-- The join looks up a customer's predictions by time: the latest before an observation, the next
-- after a prediction. This index serves those seeks and every lookup by customer alone, so it
-- replaces the single-column one.
CREATE INDEX predictions_customer_recorded ON predictions (customer_id, recorded_at_ms);
DROP INDEX predictions_customer_id;
