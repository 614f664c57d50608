-- Passwords another team's admins may know (issue 10). A password set through
-- a link its team's primaries could read in the outbox (no SMTP) may be known
-- to them: `password_known_to_team_id` names that team, and a role on any
-- other team voids the password (`password_links::ON_NEW_ROLE`). NULL when
-- only the owner can know it (the operator set it, or an SMTP-delivered link).
ALTER TABLE admins ADD COLUMN password_known_to_team_id INTEGER;
-- The mail that carried a link, and whether the outbox ever showed a mail's
-- credential: a link is private only if its mail was delivered and never shown.
ALTER TABLE set_password_tokens ADD COLUMN mail_id INTEGER;
ALTER TABLE mail_outbox ADD COLUMN secret_shown BOOLEAN NOT NULL DEFAULT FALSE;
-- Fail closed for passwords set through links before this migration: the
-- link's team may know them.
UPDATE admins SET password_known_to_team_id = (
    SELECT t.team_id FROM set_password_tokens t
    WHERE t.admin_id = admins.id AND t.used_at IS NOT NULL
    ORDER BY t.used_at DESC LIMIT 1);
