-- Team settings beyond time zone and personal data, and the audit log
-- (DESIGN §8: every settings change and export is written to it).

-- Low-balance alert thresholds: comma-separated percentages of the total,
-- e.g. '20,10'; alerts are e-mailed to alert_recipients (comma-separated).
ALTER TABLE teams ADD COLUMN low_balance_percents TEXT NOT NULL DEFAULT '20';
ALTER TABLE teams ADD COLUMN expiry_horizon_days BIGINT NOT NULL DEFAULT 30;
ALTER TABLE teams ADD COLUMN alert_recipients TEXT NOT NULL DEFAULT '';
ALTER TABLE teams ADD COLUMN alert_webhook_url TEXT;

-- Append-only: rows are inserted, never updated or deleted by the app.
-- team_id is NULL for events outside a team (logins).
CREATE TABLE audit_log (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id    BIGINT REFERENCES teams (id),
    admin_id   BIGINT REFERENCES admins (id) ON DELETE SET NULL,
    -- who, as text: an admin's e-mail, 'api key #3', 'command line', 'scheduler'
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    detail     TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX audit_log_by_team ON audit_log (team_id, id);
