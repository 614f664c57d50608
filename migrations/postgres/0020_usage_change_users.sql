-- Which users each change touched (issue 14/15), when an import names few:
-- a usage index behind re-reads only those users' charges of the changed
-- days and copies every other user's as they were. `touched_users` counts
-- the rows listed in usage_change_users; NULL: not listed (an undo, a large
-- import), every user of the changed days is re-read. Written in the
-- transaction that bumps the version, removed with its usage_changes row.
ALTER TABLE usage_changes ADD COLUMN touched_users BIGINT;
CREATE TABLE usage_change_users (
    team_id      BIGINT NOT NULL REFERENCES teams (id),
    data_version BIGINT NOT NULL,
    user_id      BIGINT NOT NULL,
    PRIMARY KEY (team_id, data_version, user_id)
);
