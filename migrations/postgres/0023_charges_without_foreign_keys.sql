-- usage_charges loses its three foreign keys on PostgreSQL. PostgreSQL
-- checks each one with a trigger per inserted row, and those checks were
-- half of a year's import (the merge of 3.57 M charges: 106 s with them,
-- 48 s without, same indexes). The references still hold by construction:
-- charges are inserted only by the import (`store_charges`, which the demo
-- uses too), which takes every user id from its own team's team_users rows
-- (read, or inserted in the same transaction) and every product id from
-- the catalogue it read or extended under the catalogue lock; corrections
-- and undo change tokens and versions, never the team, user or product;
-- and nothing deletes teams, users or products.
-- (SQLite checks its keys in the insert itself, by a lookup that costs
-- little, and keeps them.)
ALTER TABLE usage_charges DROP CONSTRAINT usage_charges_team_id_fkey;
ALTER TABLE usage_charges DROP CONSTRAINT usage_charges_product_id_fkey;
ALTER TABLE usage_charges DROP CONSTRAINT usage_charges_team_id_user_id_fkey;
