-- Issuing a token retires the session's live tokens beyond the newest five:
-- a query that reads one session's tokens, newest first. With the session
-- index on (tenant_id, issuing_session_id) alone SQLite chose the
-- (tenant_id, expires_at) index instead and read every live token of the
-- tenant on each issue (40 000 live tokens: about 8 ms an issue). With
-- created_at in the session index it searches the session's own rows, in
-- order.
DROP INDEX portal_domain_otts_session;
CREATE INDEX portal_domain_otts_session ON portal_domain_otts (tenant_id, issuing_session_id, created_at);
