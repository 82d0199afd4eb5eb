-- Champion and challenger: each model that scored a row gets its own record. `role` is the model's
-- place when it scored the row; `served` is 1 when that score answered the caller, 0 for a shadow
-- score (logged, never returned). Every record of one input row carries the same `row_key` (the
-- served record's prediction_id), so a row scored by both models is a pair: one served, one not.
-- Rows logged before this migration were all served by the champion, and have no key.
ALTER TABLE predictions ADD COLUMN role TEXT NOT NULL DEFAULT 'champion';
ALTER TABLE predictions ADD COLUMN served INTEGER NOT NULL DEFAULT 1;
ALTER TABLE predictions ADD COLUMN row_key TEXT;
CREATE INDEX predictions_row_key ON predictions (row_key);
