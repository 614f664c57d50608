-- A charge's natural key leads with its day: (team, day, user, product,
-- feature). Vendor files come in day order, so an import appends to the key
-- instead of inserting all over it, and the key now also serves every
-- range read that `usage_charges_by_date` served (its columns are the key's
-- first four), so that index goes: one index fewer for every import to
-- keep. A year's import spent most of its time keeping the four indexes.
ALTER TABLE usage_charges DROP CONSTRAINT usage_charges_team_id_user_id_product_id_usage_date_feature_key;
ALTER TABLE usage_charges ADD CONSTRAINT usage_charges_natural_key
    UNIQUE (team_id, usage_date, user_id, product_id, feature);
DROP INDEX usage_charges_by_date;
