-- A registration that has not proven control of its domain no longer
-- reserves the name: several tenants may have the same domain pending, and
-- the first to prove it (a CNAME to its own canonical host, or a TXT record
-- `_porta-challenge.<domain>` holding its registration's token) gets it.
-- `verified_at` says when a registration proved it; at most one
-- registration of a name may have one. `verification_token` is the TXT
-- value staff are shown. A tenant registers a name at most once.
--
-- SQLite cannot drop a column's UNIQUE constraint: the table is rebuilt.
-- Dropping the old table deletes the one-time tokens that refer to it (ON
-- DELETE CASCADE); they live 90 seconds, so a sign-in under way during the
-- upgrade has to be started again.
CREATE TABLE portal_domains_v2 (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    domain             TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN
                           ('pending_dns', 'pending_certificate', 'active', 'failed', 'disabled')),
    status_message     TEXT NOT NULL DEFAULT '',
    expected_cname     TEXT NOT NULL,
    observed_cname     TEXT,
    issuer             TEXT NOT NULL DEFAULT 'acme' CHECK (issuer IN ('acme', 'internal')),
    trust_dns          BOOLEAN NOT NULL DEFAULT FALSE,
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_retry_at      BIGINT,
    last_checked_at    BIGINT,
    activated_at       BIGINT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    verified_at        BIGINT,
    verification_token TEXT NOT NULL,
    UNIQUE (tenant_id, id)
);
-- Until now a name had one registration: each that got past the DNS step
-- (or was made active by an operator) had proven it.
INSERT INTO portal_domains_v2 (id, tenant_id, domain, status, status_message, expected_cname,
    observed_cname, issuer, trust_dns, attempts, next_retry_at, last_checked_at, activated_at,
    created_at, updated_at, verified_at, verification_token)
SELECT id, tenant_id, domain, status, status_message, expected_cname, observed_cname, issuer,
    trust_dns, attempts, next_retry_at, last_checked_at, activated_at, created_at, updated_at,
    CASE WHEN status IN ('pending_certificate', 'active') OR activated_at IS NOT NULL
         THEN COALESCE(activated_at, updated_at) END,
    lower(hex(randomblob(16)))
FROM portal_domains;
DROP TABLE portal_domains;
ALTER TABLE portal_domains_v2 RENAME TO portal_domains;
CREATE INDEX portal_domains_tenant ON portal_domains (tenant_id);
CREATE INDEX portal_domains_domain ON portal_domains (domain);
CREATE UNIQUE INDEX portal_domains_tenant_domain ON portal_domains (tenant_id, domain);
CREATE UNIQUE INDEX portal_domains_verified_domain ON portal_domains (domain) WHERE verified_at IS NOT NULL;
