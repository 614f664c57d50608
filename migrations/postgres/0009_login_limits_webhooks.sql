-- Login limits (issue 10 item 4): one counter row per key, reserved by a
-- single INSERT … ON CONFLICT DO UPDATE … RETURNING before the password is
-- checked, so parallel guesses cannot overtake the count. Keys are
-- 'account:<email>|<address>' and 'address:<address>'; times are unix
-- milliseconds so the delay arithmetic reads the same on both backends.
CREATE TABLE login_limits (
    key          TEXT PRIMARY KEY,
    -- every attempt in the window, refused ones included
    attempts     BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    -- when the latest attempt came
    last_at      BIGINT NOT NULL,
    -- whether the latest attempt was let through (what RETURNING answers)
    allowed      BOOLEAN NOT NULL
);
-- Replaced by login_limits; failed logins stay in the audit log.
DROP TABLE login_failures;

-- Webhooks (issue 10 item 5): the per-team signing secret, one outbox row
-- per crossing (event_key), and a bounded, claimed retry.
ALTER TABLE teams ADD COLUMN webhook_secret TEXT;
ALTER TABLE webhook_outbox ADD COLUMN event_key TEXT;
ALTER TABLE webhook_outbox ADD COLUMN next_attempt_at TIMESTAMPTZ;
CREATE UNIQUE INDEX webhook_outbox_one_per_event ON webhook_outbox (team_id, event_key);
