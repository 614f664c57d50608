-- See the SQLite twin.
ALTER TABLE teams ADD COLUMN data_version BIGINT NOT NULL DEFAULT 0;

CREATE TABLE daily_version_usage (
    team_id         BIGINT NOT NULL REFERENCES teams (id),
    usage_date      DATE NOT NULL,
    product_id      BIGINT NOT NULL REFERENCES products (id),
    product_version TEXT NOT NULL,
    tokens          BIGINT NOT NULL,
    charges         BIGINT NOT NULL,
    PRIMARY KEY (team_id, usage_date, product_id, product_version)
);

INSERT INTO daily_version_usage (team_id, usage_date, product_id, product_version, tokens, charges)
SELECT team_id, usage_date, product_id, product_version, SUM(tokens), COUNT(*)
FROM usage_charges GROUP BY team_id, usage_date, product_id, product_version;
