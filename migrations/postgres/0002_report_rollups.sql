-- Rollup for the report pipeline: per team, day and product (see the SQLite twin).
CREATE TABLE daily_product_usage (
    team_id    BIGINT NOT NULL REFERENCES teams (id),
    usage_date DATE NOT NULL,
    product_id BIGINT NOT NULL REFERENCES products (id),
    tokens     BIGINT NOT NULL,
    charges    BIGINT NOT NULL,
    user_days  BIGINT NOT NULL,
    PRIMARY KEY (team_id, usage_date, product_id)
);

INSERT INTO daily_product_usage (team_id, usage_date, product_id, tokens, charges, user_days)
SELECT team_id, usage_date, product_id, SUM(tokens), COUNT(*), COUNT(DISTINCT user_id)
FROM usage_charges GROUP BY team_id, usage_date, product_id;

CREATE INDEX usage_charges_by_user ON usage_charges (team_id, user_id, usage_date);
CREATE INDEX usage_charges_by_product ON usage_charges (team_id, product_id, usage_date);
