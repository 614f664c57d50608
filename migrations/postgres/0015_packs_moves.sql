-- Packs, moves and adjustments in the UI (issue 12). A pack keeps its order
-- reference and how it came (bought, or moved in from another team with its
-- source pack's expiry); a pack entered by mistake is voided, not deleted.
ALTER TABLE token_packs ADD COLUMN order_ref TEXT NOT NULL DEFAULT '';
ALTER TABLE token_packs ADD COLUMN origin TEXT NOT NULL DEFAULT 'purchase';
ALTER TABLE token_packs ADD COLUMN note TEXT NOT NULL DEFAULT '';
ALTER TABLE token_packs ADD COLUMN voided_at TIMESTAMPTZ;
-- Freshness (issue 12): the newest usage day older than this many days is
-- shown as a warning, and may be mailed as a stale-data alert.
ALTER TABLE teams ADD COLUMN stale_after_days BIGINT NOT NULL DEFAULT 3;
