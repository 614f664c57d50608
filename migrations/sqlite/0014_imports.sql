-- Import history and undo (issue 12, DESIGN §5). Every import is recorded,
-- rejected ones too (with their bad lines), so an admin sees what came in,
-- when, from whom, and can take an import back.
CREATE TABLE imports (
    team_id     INTEGER NOT NULL REFERENCES teams (id),
    id          INTEGER PRIMARY KEY,
    created_at  TEXT NOT NULL,
    -- 'upload', 'api' or 'cli'
    source      TEXT NOT NULL,
    -- the admin's e-mail, the API key's label, or "command line"
    actor       TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    -- 'done' or 'rejected'
    status      TEXT NOT NULL,
    row_count   INTEGER NOT NULL DEFAULT 0,
    inserted    INTEGER NOT NULL DEFAULT 0,
    updated     INTEGER NOT NULL DEFAULT 0,
    unchanged   INTEGER NOT NULL DEFAULT 0,
    first_day   TEXT,
    last_day    TEXT,
    -- charges whose last writer this import is: what an undo takes back
    owned       INTEGER NOT NULL DEFAULT 0,
    -- JSON: new products and the new users' count, or the bad lines
    details     TEXT NOT NULL DEFAULT '{}',
    undone_at   TEXT,
    undone_by   TEXT,
    -- rows a later import had overwritten, which the undo left alone
    undo_kept   INTEGER
);
CREATE INDEX imports_by_team ON imports (team_id, id);

-- The import that last wrote a charge (NULL: the demo generator, or before
-- history was kept). Undo removes the charges an import still owns.
ALTER TABLE usage_charges ADD COLUMN import_id INTEGER;

-- What a correction replaced, so its undo can put it back.
CREATE TABLE import_corrections (
    import_id          INTEGER NOT NULL REFERENCES imports (id),
    charge_id          INTEGER NOT NULL,
    -- NULL: the charge did not exist before (a spliced-out insert)
    previous_tokens    INTEGER,
    previous_version   TEXT,
    previous_import_id INTEGER,
    PRIMARY KEY (import_id, charge_id)
);
CREATE INDEX import_corrections_by_previous ON import_corrections (previous_import_id);
