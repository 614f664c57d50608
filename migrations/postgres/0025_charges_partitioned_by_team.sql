-- usage_charges is partitioned by team on PostgreSQL: one table a team,
-- `usage_charges_of_team_<id>`, created by the team's first import. That
-- import fills its table before the table has an index, builds the four
-- indexes once, each a sort, and then attaches the table, instead of
-- inserting every charge into four b-trees (a year's first import spent
-- most of its time there). Attaching stops no other team reading or
-- writing its charges (only another attachment waits). Every query on
-- charges names its team, so each reads its team's table only.
--
-- A charge's id comes from a sequence shared by every team's table (an
-- identity column would be numbered per partition here). It goes on from
-- where the identity was, past charges that an undo deleted too: an id is
-- never given twice.
CREATE SEQUENCE usage_charge_ids AS BIGINT;
SELECT setval('usage_charge_ids',
              GREATEST(COALESCE((SELECT MAX(id) FROM usage_charges), 0),
                       (SELECT last_value FROM usage_charges_id_seq)) + 1,
              false);

CREATE TABLE usage_charges_by_team (
    team_id         BIGINT NOT NULL,
    id              BIGINT NOT NULL DEFAULT nextval('usage_charge_ids'),
    user_id         BIGINT NOT NULL,
    product_id      BIGINT NOT NULL,
    product_version TEXT NOT NULL DEFAULT '',
    feature         TEXT NOT NULL DEFAULT '',
    usage_date      DATE NOT NULL,
    tokens          BIGINT NOT NULL CONSTRAINT usage_charges_tokens_check CHECK (tokens >= 0),
    import_id       BIGINT
) PARTITION BY LIST (team_id);

DO $$
DECLARE team BIGINT;
BEGIN
    FOR team IN SELECT DISTINCT team_id FROM usage_charges LOOP
        EXECUTE format('CREATE TABLE usage_charges_of_team_%s PARTITION OF usage_charges_by_team FOR VALUES IN (%s)',
                       team, team);
    END LOOP;
END $$;

INSERT INTO usage_charges_by_team
    (team_id, id, user_id, product_id, product_version, feature, usage_date, tokens, import_id)
SELECT team_id, id, user_id, product_id, product_version, feature, usage_date, tokens, import_id
FROM usage_charges;

DROP TABLE usage_charges;
ALTER TABLE usage_charges_by_team RENAME TO usage_charges;
ALTER SEQUENCE usage_charge_ids OWNED BY usage_charges.id;

-- The same keys as before, under the same names; built after the copy.
ALTER TABLE usage_charges ADD CONSTRAINT usage_charges_pkey PRIMARY KEY (team_id, id);
ALTER TABLE usage_charges ADD CONSTRAINT usage_charges_natural_key
    UNIQUE (team_id, usage_date, user_id, product_id, feature);
CREATE INDEX usage_charges_by_user ON usage_charges (team_id, user_id, usage_date);
CREATE INDEX usage_charges_by_product ON usage_charges (team_id, product_id, usage_date);
