-- A one-time token is bound to the browser that asked for it (the hash of
-- its handoff nonce cookie) and to the session that issued it: the exchange
-- needs the matching cookie and a live issuing session, and revoking the
-- session invalidates its tokens. Tokens issued before this migration have
-- neither and can no longer be exchanged (they lived 90 seconds anyway).
ALTER TABLE portal_domain_otts ADD COLUMN binding_hash BYTEA;
ALTER TABLE portal_domain_otts ADD COLUMN issuing_session_id TEXT;
CREATE INDEX portal_domain_otts_session ON portal_domain_otts (tenant_id, issuing_session_id);
