-- A registration that has not proven control of its domain no longer
-- reserves the name: several tenants may have the same domain pending, and
-- the first to prove it (a CNAME to its own canonical host, or a TXT record
-- `_porta-challenge.<domain>` holding its registration's token) gets it.
-- `verified_at` says when a registration proved it; at most one
-- registration of a name may have one. `verification_token` is the TXT
-- value staff are shown. A tenant registers a name at most once.
ALTER TABLE portal_domains DROP CONSTRAINT portal_domains_domain_key;
ALTER TABLE portal_domains ADD COLUMN verified_at BIGINT;
ALTER TABLE portal_domains ADD COLUMN verification_token TEXT;
-- Until now a name had one registration: each that got past the DNS step
-- (or was made active by an operator) had proven it.
UPDATE portal_domains SET
    verified_at = CASE WHEN status IN ('pending_certificate', 'active') OR activated_at IS NOT NULL
                       THEN COALESCE(activated_at, updated_at) END,
    verification_token = replace(gen_random_uuid()::text, '-', '');
ALTER TABLE portal_domains ALTER COLUMN verification_token SET NOT NULL;
CREATE INDEX portal_domains_domain ON portal_domains (domain);
CREATE UNIQUE INDEX portal_domains_tenant_domain ON portal_domains (tenant_id, domain);
CREATE UNIQUE INDEX portal_domains_verified_domain ON portal_domains (domain) WHERE verified_at IS NOT NULL;
