-- Export caps (issue 10): the running and queued exports of one admin are
-- counted on every one-click export, inside the insert that the cap guards.
CREATE INDEX exports_by_admin ON exports (admin_id, status);
