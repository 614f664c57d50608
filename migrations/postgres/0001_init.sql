-- Tokenboard schema (PostgreSQL). Every team-owned table has team_id first in
-- its primary key and its foreign keys, so the tables can be distributed by
-- team_id (e.g. Citus) without code changes; products are a reference table.

CREATE TABLE teams (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug          TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    time_zone     TEXT NOT NULL,
    personal_data BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE admins (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE team_admins (
    team_id  BIGINT NOT NULL REFERENCES teams (id),
    admin_id BIGINT NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    role     TEXT NOT NULL CHECK (role IN ('primary', 'secondary')),
    PRIMARY KEY (team_id, admin_id)
);
CREATE INDEX team_admins_by_admin ON team_admins (admin_id);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    admin_id   BIGINT NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE api_keys (
    team_id      BIGINT NOT NULL REFERENCES teams (id),
    id           BIGINT GENERATED ALWAYS AS IDENTITY,
    label        TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ,
    PRIMARY KEY (team_id, id)
);

CREATE TABLE products (
    id   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL DEFAULT 'desktop' CHECK (kind IN ('desktop', 'service'))
);

CREATE TABLE product_rates (
    product_id     BIGINT NOT NULL REFERENCES products (id),
    effective_from DATE NOT NULL,
    tokens_per_day BIGINT NOT NULL CHECK (tokens_per_day >= 0),
    PRIMARY KEY (product_id, effective_from)
);

CREATE TABLE product_versions (
    product_id BIGINT NOT NULL REFERENCES products (id),
    version    TEXT NOT NULL,
    PRIMARY KEY (product_id, version)
);

CREATE TABLE team_users (
    team_id     BIGINT NOT NULL REFERENCES teams (id),
    id          BIGINT GENERATED ALWAYS AS IDENTITY,
    external_id TEXT,
    email       TEXT NOT NULL,
    first_name  TEXT NOT NULL DEFAULT '',
    last_name   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (team_id, id),
    UNIQUE (team_id, email)
);

CREATE TABLE token_packs (
    team_id      BIGINT NOT NULL REFERENCES teams (id),
    id           BIGINT GENERATED ALWAYS AS IDENTITY,
    tokens       BIGINT NOT NULL CHECK (tokens > 0),
    purchased_on DATE NOT NULL,
    expires_on   DATE NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (team_id, id),
    CHECK (expires_on > purchased_on)
);
CREATE INDEX token_packs_by_team ON token_packs (team_id, expires_on);

CREATE TABLE usage_charges (
    team_id         BIGINT NOT NULL REFERENCES teams (id),
    id              BIGINT GENERATED ALWAYS AS IDENTITY,
    user_id         BIGINT NOT NULL,
    product_id      BIGINT NOT NULL REFERENCES products (id),
    product_version TEXT NOT NULL DEFAULT '',
    feature         TEXT NOT NULL DEFAULT '',
    usage_date      DATE NOT NULL,
    tokens          BIGINT NOT NULL CHECK (tokens >= 0),
    PRIMARY KEY (team_id, id),
    FOREIGN KEY (team_id, user_id) REFERENCES team_users (team_id, id),
    UNIQUE (team_id, user_id, product_id, usage_date, feature)
);
CREATE INDEX usage_charges_by_date ON usage_charges (team_id, usage_date, user_id, product_id);

CREATE TABLE daily_usage (
    team_id    BIGINT NOT NULL REFERENCES teams (id),
    usage_date DATE NOT NULL,
    tokens     BIGINT NOT NULL,
    charges    BIGINT NOT NULL,
    PRIMARY KEY (team_id, usage_date)
);

CREATE TABLE token_events (
    team_id     BIGINT NOT NULL REFERENCES teams (id),
    id          BIGINT GENERATED ALWAYS AS IDENTITY,
    occurred_on DATE NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('move_in', 'move_out', 'adjustment')),
    amount      BIGINT NOT NULL,
    pack_id     BIGINT,
    note        TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (team_id, id)
);
CREATE INDEX token_events_by_team ON token_events (team_id, occurred_on);
