-- Every export request checks the team's caps (exports in progress, bytes
-- kept) and the jobs worker looks every second for scheduled exports not
-- yet mailed. Both read every export row the team or the server ever kept
-- (measured: 3-6 ms for 3,500 rows, in the write transaction of each
-- request). These indexes answer them from index entries alone.
CREATE INDEX exports_by_team_status ON exports (team_id, status, bytes);
CREATE INDEX exports_to_mail ON exports (status) WHERE schedule_id IS NOT NULL AND mailed_at IS NULL;
