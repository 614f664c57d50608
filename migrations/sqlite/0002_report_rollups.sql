-- Rollup for the report pipeline: per team, day and product. Kept by every
-- import in the same transaction (src/rollups.rs); rebuilt by
-- `tokenboard rollups rebuild`.
CREATE TABLE daily_product_usage (
    team_id    INTEGER NOT NULL REFERENCES teams (id),
    usage_date TEXT NOT NULL,
    product_id INTEGER NOT NULL REFERENCES products (id),
    tokens     INTEGER NOT NULL,
    charges    INTEGER NOT NULL,
    -- distinct users charged for this product on this day
    user_days  INTEGER NOT NULL,
    PRIMARY KEY (team_id, usage_date, product_id)
);

INSERT INTO daily_product_usage (team_id, usage_date, product_id, tokens, charges, user_days)
SELECT team_id, usage_date, product_id, SUM(tokens), COUNT(*), COUNT(DISTINCT user_id)
FROM usage_charges GROUP BY team_id, usage_date, product_id;

-- Drill-downs: one user's charges, one product's charges.
CREATE INDEX usage_charges_by_user ON usage_charges (team_id, user_id, usage_date);
CREATE INDEX usage_charges_by_product ON usage_charges (team_id, product_id, usage_date);
