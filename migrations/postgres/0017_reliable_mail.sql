-- Mail neither lost nor repeated (issue 14). An undelivered mail is tried
-- again with a growing delay for a day (`next_attempt_at`), then given up
-- (`given_up_at`); a scheduled export's mail is put in the outbox once, in
-- the transaction that sets `mailed_at`; a schedule remembers the day it
-- last ran, so pausing and resuming on that day does not run it again.
ALTER TABLE mail_outbox ADD COLUMN next_attempt_at TIMESTAMPTZ;
ALTER TABLE mail_outbox ADD COLUMN given_up_at TIMESTAMPTZ;
-- Mails the old rule gave up (five attempts) stay given up.
UPDATE mail_outbox SET given_up_at = created_at WHERE sent_at IS NULL AND attempts >= 5;
ALTER TABLE exports ADD COLUMN mailed_at TIMESTAMPTZ;
-- Finished scheduled exports were mailed when they finished.
UPDATE exports SET mailed_at = created_at WHERE schedule_id IS NOT NULL AND status IN ('done', 'failed');
ALTER TABLE report_schedules ADD COLUMN last_run_on DATE;
