-- What each data_version of a team changed (issue 14/15): the days whose
-- charges an import or an undo rewrote. A usage index held in memory at an
-- older version re-reads only those days instead of every charge; a row
-- with no days (an erasure renames people, a rollup rebuild) asks for a
-- full rebuild. Written in the transaction that bumps the version; the
-- newest 64 versions of a team are kept.
CREATE TABLE usage_changes (
    team_id      INTEGER NOT NULL REFERENCES teams (id),
    data_version BIGINT NOT NULL,
    first_day    DATE,
    last_day     DATE,
    PRIMARY KEY (team_id, data_version)
);
