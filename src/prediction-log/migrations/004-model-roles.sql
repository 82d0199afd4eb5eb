-- Champion and challenger: which model scored a row, whether its score answered the caller, and
-- the key every record of the same input row shares (the served record's prediction_id), so the
-- comparison pairs the two scores of one row. Records logged before this are the champion's,
-- served, without a key.
ALTER TABLE predictions ADD COLUMN role TEXT NOT NULL DEFAULT 'champion';
ALTER TABLE predictions ADD COLUMN served INTEGER NOT NULL DEFAULT 1;
ALTER TABLE predictions ADD COLUMN row_key TEXT;
CREATE INDEX predictions_row_key ON predictions (row_key);
