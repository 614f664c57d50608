-- Bumped by every write to a team's charges, so that in-memory usage indexes
-- (src/usage_index.rs) on any app server know when to rebuild.
ALTER TABLE teams ADD COLUMN data_version INTEGER NOT NULL DEFAULT 0;

-- Rollup per team, day, product and version: the version breakdowns.
CREATE TABLE daily_version_usage (
    team_id         INTEGER NOT NULL REFERENCES teams (id),
    usage_date      TEXT NOT NULL,
    product_id      INTEGER NOT NULL REFERENCES products (id),
    product_version TEXT NOT NULL,
    tokens          INTEGER NOT NULL,
    charges         INTEGER NOT NULL,
    PRIMARY KEY (team_id, usage_date, product_id, product_version)
);

INSERT INTO daily_version_usage (team_id, usage_date, product_id, product_version, tokens, charges)
SELECT team_id, usage_date, product_id, product_version, SUM(tokens), COUNT(*)
FROM usage_charges GROUP BY team_id, usage_date, product_id, product_version;
