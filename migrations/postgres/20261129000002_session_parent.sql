-- A session created by the custom-domain handoff remembers the canonical-host
-- session it came from, so signing out on the custom domain ends both.
ALTER TABLE sessions ADD COLUMN parent_session_id TEXT;
CREATE INDEX sessions_parent ON sessions (parent_session_id);
CREATE INDEX portal_domain_otts_consumed ON portal_domain_otts (consumed_at);
