-- Export history, scheduled reports and the mail outbox (DESIGN §4).

-- Every export, one-click or scheduled. The file lives under the data
-- directory while status is 'done'; the sweeper deletes file and row 14 days
-- after creation. Jobs keep their state here, so any app server can run them
-- and a restart finds what was interrupted.
CREATE TABLE exports (
    team_id             BIGINT NOT NULL REFERENCES teams (id),
    id                  BIGINT GENERATED ALWAYS AS IDENTITY,
    admin_id            BIGINT REFERENCES admins (id) ON DELETE SET NULL,
    schedule_id         BIGINT,
    report              TEXT NOT NULL,
    format              TEXT NOT NULL CHECK (format IN ('csv', 'xlsx')),
    -- the view's URL query (range, filters, order) the export was made from
    query               TEXT NOT NULL,
    range_from          DATE NOT NULL,
    range_to            DATE NOT NULL,
    file_name           TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    rows_expected       BIGINT,
    rows_written        BIGINT NOT NULL DEFAULT 0,
    bytes               BIGINT,
    sha256              TEXT,
    error               TEXT,
    -- hash of the secret in e-mailed download links
    download_token_hash TEXT,
    attempts            BIGINT NOT NULL DEFAULT 0,
    heartbeat_at        TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL,
    finished_at         TIMESTAMPTZ,
    expires_at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (team_id, id)
);
CREATE INDEX exports_by_team ON exports (team_id, created_at);
CREATE INDEX exports_by_status ON exports (status, created_at);

CREATE TABLE report_schedules (
    team_id        BIGINT NOT NULL REFERENCES teams (id),
    id             BIGINT GENERATED ALWAYS AS IDENTITY,
    created_by     BIGINT REFERENCES admins (id) ON DELETE SET NULL,
    report         TEXT NOT NULL,
    format         TEXT NOT NULL CHECK (format IN ('csv', 'xlsx')),
    range_preset   TEXT NOT NULL,
    cadence        TEXT NOT NULL CHECK (cadence IN ('weekly', 'biweekly', 'monthly', 'quarterly')),
    start_on       DATE NOT NULL,
    next_run_on    DATE NOT NULL,
    -- comma-separated e-mail addresses
    recipients     TEXT NOT NULL,
    paused         BOOLEAN NOT NULL DEFAULT FALSE,
    last_export_id BIGINT,
    created_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (team_id, id)
);
CREATE INDEX report_schedules_due ON report_schedules (next_run_on);

-- Mail waiting for SMTP, or kept for /outbox when no SMTP is configured.
CREATE TABLE mail_outbox (
    team_id    BIGINT NOT NULL REFERENCES teams (id),
    id         BIGINT GENERATED ALWAYS AS IDENTITY,
    recipients TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    sent_at    TIMESTAMPTZ,
    attempts   BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    PRIMARY KEY (team_id, id)
);
CREATE INDEX mail_outbox_by_team ON mail_outbox (team_id, created_at);
CREATE INDEX mail_outbox_unsent ON mail_outbox (sent_at, id);
