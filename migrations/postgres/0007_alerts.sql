-- Alerts (low balance, tokens about to expire). A condition alerts once when
-- it starts to hold and is re-armed when it stops holding, so one crossing
-- sends one alert however often the check runs.
CREATE TABLE alert_state (
    team_id    BIGINT NOT NULL REFERENCES teams (id),
    -- 'low-balance:20' (threshold percent) or 'expiring:<pack id>'
    condition  TEXT NOT NULL,
    active     BOOLEAN NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (team_id, condition)
);

-- Alert events for a team's webhook, delivered by the server's sender.
CREATE TABLE webhook_outbox (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id    BIGINT NOT NULL REFERENCES teams (id),
    url        TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    sent_at    TIMESTAMPTZ,
    attempts   BIGINT NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX webhook_outbox_unsent ON webhook_outbox (sent_at, id);
