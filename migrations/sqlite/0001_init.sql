-- Tokenboard schema (SQLite). Every team-owned table is keyed by team_id first,
-- like its PostgreSQL twin, so a large installation can shard by team.
-- Dates are ISO 'YYYY-MM-DD' text (they sort as dates); timestamps RFC 3339.

CREATE TABLE teams (
    id            INTEGER PRIMARY KEY,
    slug          TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    time_zone     TEXT NOT NULL,
    personal_data BOOLEAN NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL
);

CREATE TABLE admins (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

CREATE TABLE team_admins (
    team_id  INTEGER NOT NULL REFERENCES teams (id),
    admin_id INTEGER NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    role     TEXT NOT NULL CHECK (role IN ('primary', 'secondary')),
    PRIMARY KEY (team_id, admin_id)
);
CREATE INDEX team_admins_by_admin ON team_admins (admin_id);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    admin_id   INTEGER NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE api_keys (
    team_id      INTEGER NOT NULL REFERENCES teams (id),
    id           INTEGER PRIMARY KEY,
    label        TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);

-- The vendor's catalogue is shared by all teams (a reference table).
CREATE TABLE products (
    id   INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL DEFAULT 'desktop' CHECK (kind IN ('desktop', 'service'))
);

CREATE TABLE product_rates (
    product_id     INTEGER NOT NULL REFERENCES products (id),
    effective_from TEXT NOT NULL,
    tokens_per_day INTEGER NOT NULL CHECK (tokens_per_day >= 0),
    PRIMARY KEY (product_id, effective_from)
);

CREATE TABLE product_versions (
    product_id INTEGER NOT NULL REFERENCES products (id),
    version    TEXT NOT NULL,
    PRIMARY KEY (product_id, version)
);

CREATE TABLE team_users (
    team_id     INTEGER NOT NULL REFERENCES teams (id),
    id          INTEGER PRIMARY KEY,
    external_id TEXT,
    email       TEXT NOT NULL,
    first_name  TEXT NOT NULL DEFAULT '',
    last_name   TEXT NOT NULL DEFAULT '',
    UNIQUE (team_id, email)
);

CREATE TABLE token_packs (
    team_id      INTEGER NOT NULL REFERENCES teams (id),
    id           INTEGER PRIMARY KEY,
    tokens       INTEGER NOT NULL CHECK (tokens > 0),
    purchased_on TEXT NOT NULL,
    expires_on   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    CHECK (expires_on > purchased_on)
);
CREATE INDEX token_packs_by_team ON token_packs (team_id, expires_on);

-- One charge. The natural key makes re-imports idempotent: a product is
-- charged at most once per user, day and usage type.
CREATE TABLE usage_charges (
    team_id         INTEGER NOT NULL REFERENCES teams (id),
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES team_users (id),
    product_id      INTEGER NOT NULL REFERENCES products (id),
    product_version TEXT NOT NULL DEFAULT '',
    feature         TEXT NOT NULL DEFAULT '',
    usage_date      TEXT NOT NULL,
    tokens          INTEGER NOT NULL CHECK (tokens >= 0),
    UNIQUE (team_id, user_id, product_id, usage_date, feature)
);
-- Covers the range counts of the Summary (distinct users and products).
CREATE INDEX usage_charges_by_date ON usage_charges (team_id, usage_date, user_id, product_id);

-- Rollup: tokens and charges per team and day, kept by every import in the
-- same transaction; balances and the time series read it instead of charges.
CREATE TABLE daily_usage (
    team_id    INTEGER NOT NULL REFERENCES teams (id),
    usage_date TEXT NOT NULL,
    tokens     INTEGER NOT NULL,
    charges    INTEGER NOT NULL,
    PRIMARY KEY (team_id, usage_date)
);

-- Manual ledger entries. Purchases come from token_packs; expirations and
-- overdrafts are derived from the consumption order (src/ledger.rs).
CREATE TABLE token_events (
    team_id     INTEGER NOT NULL REFERENCES teams (id),
    id          INTEGER PRIMARY KEY,
    occurred_on TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('move_in', 'move_out', 'adjustment')),
    amount      INTEGER NOT NULL,
    pack_id     INTEGER,
    note        TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL
);
CREATE INDEX token_events_by_team ON token_events (team_id, occurred_on);
