-- Accounts (issue 10). An invited account has no usable password until its
-- owner sets one through a single-use, expiring link; only the SHA-256 of the
-- link's token is stored. `team_id` is the team whose outbox carries the link:
-- the link is valid only while that team is the account's only team.
CREATE TABLE set_password_tokens (
    token_hash TEXT PRIMARY KEY,
    admin_id   BIGINT NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    team_id    BIGINT NOT NULL REFERENCES teams (id),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE INDEX set_password_tokens_by_admin ON set_password_tokens (admin_id);

-- Sessions also end after an idle time; purged by the jobs worker.
ALTER TABLE sessions ADD COLUMN last_seen_at TIMESTAMPTZ;
UPDATE sessions SET last_seen_at = created_at;
CREATE INDEX sessions_by_admin ON sessions (admin_id);

-- A credential inside a mail's body (a set-password link): the outbox shows it
-- only without SMTP and only to the team's primary admins; delivery removes it.
ALTER TABLE mail_outbox ADD COLUMN secret TEXT;
