-- Erased people (issue 12): the keyed hash of each erased e-mail, so a
-- vendor file that still names the person maps their rows to the erased
-- user (shown by pseudonym) instead of creating them again. The hash needs
-- the server's secret; the e-mail itself is not kept.
CREATE TABLE erased_users (
    team_id    BIGINT NOT NULL REFERENCES teams (id),
    email_hash TEXT NOT NULL,
    user_id    BIGINT NOT NULL,
    PRIMARY KEY (team_id, email_hash)
);
