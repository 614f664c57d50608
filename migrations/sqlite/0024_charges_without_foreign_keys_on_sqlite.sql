-- usage_charges loses its three foreign keys on SQLite too, as on
-- PostgreSQL in 0023. SQLite checks each one by a lookup per inserted row:
-- a third of a year's import merge (3.57 M charges into a table of that
-- shape, in the sqlite3 shell: 14.4 s with the keys on, 8.7 s with them
-- off). The references hold by construction, as 0023 says: charges are
-- inserted only by the import, which takes every user id from its own
-- team's team_users rows and every product id from the catalogue it read or
-- extended; corrections and undo never change the team, user or product;
-- nothing deletes teams, users or products.
-- SQLite cannot drop a constraint: the table is rebuilt, in key order, as
-- in 0022 (no other table refers to it).
CREATE TABLE usage_charges_without_references (
    team_id         INTEGER NOT NULL,
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL,
    product_id      INTEGER NOT NULL,
    product_version TEXT NOT NULL DEFAULT '',
    feature         TEXT NOT NULL DEFAULT '',
    usage_date      TEXT NOT NULL,
    tokens          INTEGER NOT NULL CHECK (tokens >= 0),
    import_id       INTEGER,
    UNIQUE (team_id, usage_date, user_id, product_id, feature)
);
INSERT INTO usage_charges_without_references
    (team_id, id, user_id, product_id, product_version, feature, usage_date, tokens, import_id)
SELECT team_id, id, user_id, product_id, product_version, feature, usage_date, tokens, import_id
FROM usage_charges ORDER BY team_id, usage_date, user_id, product_id, feature;
DROP TABLE usage_charges;
ALTER TABLE usage_charges_without_references RENAME TO usage_charges;
CREATE INDEX usage_charges_by_user ON usage_charges (team_id, user_id, usage_date);
CREATE INDEX usage_charges_by_product ON usage_charges (team_id, product_id, usage_date);
