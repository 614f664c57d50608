-- Personal data off means off, and schedules that cannot leak (issue 10).

-- Whether the export was made while the team showed names and e-mails:
-- switching personal data off deletes these (files and rows). Exports made
-- before this column existed may hold names, so they count as made with it on.
ALTER TABLE exports ADD COLUMN personal_data BOOLEAN NOT NULL DEFAULT TRUE;

-- Mailed links carry no secret any more (they need a login): forget the old ones.
UPDATE exports SET download_token_hash = NULL;

-- Domains (comma-separated, e.g. 'example.com') whose addresses may receive
-- scheduled reports besides the team's admins; empty: admins only.
ALTER TABLE teams ADD COLUMN schedule_recipient_domains TEXT NOT NULL DEFAULT '';
