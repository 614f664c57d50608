-- What a team's packs, moves and adjustments are at (issue 14): bumped in
-- the transaction of every change to them, as data_version is for charges.
-- A ledger kept in memory for (data_version, ledger_version) is current
-- while both are unchanged.
ALTER TABLE teams ADD COLUMN ledger_version INTEGER NOT NULL DEFAULT 0;
