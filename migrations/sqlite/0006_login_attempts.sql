-- Failed logins, for the rate limit per account and per address (DESIGN §8).
-- Rows older than the window are deleted as new failures come in.
CREATE TABLE login_failures (
    id         INTEGER PRIMARY KEY,
    email      TEXT NOT NULL,
    address    TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX login_failures_by_email ON login_failures (email, created_at);
CREATE INDEX login_failures_by_address ON login_failures (address, created_at);
