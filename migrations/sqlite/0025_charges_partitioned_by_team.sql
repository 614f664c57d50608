-- PostgreSQL partitions usage_charges by team in its 0025. SQLite has no
-- partitions (its import drops and rebuilds the secondary indexes instead);
-- the statement keeps the two backends' migration lists alike.
SELECT 1;
