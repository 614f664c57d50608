-- SQLite drops usage_charges' foreign keys in its 0024, as PostgreSQL did
-- in 0023. Nothing to change here; the statement keeps the two backends'
-- migration lists alike.
SELECT 1;
