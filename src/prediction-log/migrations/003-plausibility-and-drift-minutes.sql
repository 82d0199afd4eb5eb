-- The plausibility checks a prediction failed (src/data-plane/plausibility.ts), comma-separated
-- in check order; NULL when it passed them all, and for every prediction logged before this.
ALTER TABLE predictions ADD COLUMN implausible TEXT;

-- Drift over time: rows scored per minute, per model, per profile (a feature, or the score) and per
-- bin of the model card's drift reference. Each process adds its counts every few seconds; a
-- window (the last hour, the last day) is a sum over at most 1,440 minutes. Kept two days.
CREATE TABLE drift_minutes (
  model_sha256 TEXT NOT NULL,
  minute_ms BIGINT NOT NULL,
  profile TEXT NOT NULL,
  bin INTEGER NOT NULL,
  row_count BIGINT NOT NULL,
  PRIMARY KEY (model_sha256, minute_ms, profile, bin)
);
CREATE INDEX drift_minutes_minute_ms ON drift_minutes (minute_ms);
