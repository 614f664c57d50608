-- A charge's natural key leads with its day: (team, day, user, product,
-- feature). Vendor files come in day order, so an import appends to the key
-- instead of inserting all over it, and the key now also serves every
-- range read that `usage_charges_by_date` served (its columns are the key's
-- first four), so that index goes: one index fewer for every import to
-- keep. A year's import spent most of its time keeping the four indexes.
-- SQLite cannot change a table's UNIQUE constraint: the table is rebuilt
-- (no other table refers to it).
CREATE TABLE usage_charges_keyed_by_day (
    team_id         INTEGER NOT NULL REFERENCES teams (id),
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES team_users (id),
    product_id      INTEGER NOT NULL REFERENCES products (id),
    product_version TEXT NOT NULL DEFAULT '',
    feature         TEXT NOT NULL DEFAULT '',
    usage_date      TEXT NOT NULL,
    tokens          INTEGER NOT NULL CHECK (tokens >= 0),
    import_id       INTEGER,
    UNIQUE (team_id, usage_date, user_id, product_id, feature)
);
INSERT INTO usage_charges_keyed_by_day
    (team_id, id, user_id, product_id, product_version, feature, usage_date, tokens, import_id)
SELECT team_id, id, user_id, product_id, product_version, feature, usage_date, tokens, import_id
FROM usage_charges ORDER BY team_id, usage_date, user_id, product_id, feature;
DROP TABLE usage_charges;
ALTER TABLE usage_charges_keyed_by_day RENAME TO usage_charges;
CREATE INDEX usage_charges_by_user ON usage_charges (team_id, user_id, usage_date);
CREATE INDEX usage_charges_by_product ON usage_charges (team_id, product_id, usage_date);
