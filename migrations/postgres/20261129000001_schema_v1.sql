-- Schema v1. Timestamps are BIGINT milliseconds since the Unix epoch; ids are
-- UUIDs as TEXT. Tenant-owned rows carry tenant_id, and references between
-- them include tenant_id so a row can never point into another tenant.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE clients (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX clients_tenant_name ON clients (tenant_id, lower(name));

CREATE TABLE contacts (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    client_id   TEXT NOT NULL,
    full_name   TEXT NOT NULL,
    email       TEXT NOT NULL,
    phone       TEXT,
    created_at  BIGINT NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX contacts_tenant_email ON contacts (tenant_id, lower(email));

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_type       TEXT NOT NULL CHECK (user_type IN ('internal', 'client')),
    email           TEXT NOT NULL,
    display_name    TEXT NOT NULL,
    client_id       TEXT,
    contact_id      TEXT,
    password_hash   TEXT NOT NULL,
    disabled        BOOLEAN NOT NULL DEFAULT FALSE,
    totp_secret_encrypted BYTEA,
    totp_enabled    BOOLEAN NOT NULL DEFAULT FALSE,
    last_signin_at  BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (tenant_id, id),
    CHECK ((user_type = 'client') = (client_id IS NOT NULL)),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id)
);
CREATE UNIQUE INDEX users_tenant_type_email ON users (tenant_id, user_type, lower(email));

CREATE TABLE permissions (
    id          TEXT PRIMARY KEY,
    resource    TEXT NOT NULL,
    action      TEXT NOT NULL,
    description TEXT NOT NULL
);

CREATE TABLE roles (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    user_type   TEXT NOT NULL CHECK (user_type IN ('internal', 'client')),
    description TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX roles_tenant_name ON roles (tenant_id, lower(name));

CREATE TABLE role_permissions (
    tenant_id     TEXT NOT NULL,
    role_id       TEXT NOT NULL,
    permission_id TEXT NOT NULL REFERENCES permissions(id),
    PRIMARY KEY (role_id, permission_id),
    FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE user_roles (
    tenant_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    role_id     TEXT NOT NULL,
    PRIMARY KEY (user_id, role_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE sessions (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    host            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    last_seen_at    BIGINT NOT NULL,
    revoked_at      BIGINT,
    revoked_reason  TEXT,
    ip              TEXT,
    user_agent      TEXT,
    login_method    TEXT NOT NULL,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX sessions_tenant_user ON sessions (tenant_id, user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE portal_domains (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    domain          TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL CHECK (status IN
                        ('pending_dns', 'pending_certificate', 'active', 'failed', 'disabled')),
    status_message  TEXT NOT NULL DEFAULT '',
    expected_cname  TEXT NOT NULL,
    observed_cname  TEXT,
    issuer          TEXT NOT NULL DEFAULT 'acme' CHECK (issuer IN ('acme', 'internal')),
    trust_dns       BOOLEAN NOT NULL DEFAULT FALSE,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_retry_at   BIGINT,
    last_checked_at BIGINT,
    activated_at    BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (tenant_id, id)
);
CREATE INDEX portal_domains_tenant ON portal_domains (tenant_id);

CREATE TABLE portal_domain_otts (
    token_hash        BYTEA PRIMARY KEY,
    tenant_id         TEXT NOT NULL,
    user_id           TEXT NOT NULL,
    portal_domain_id  TEXT NOT NULL,
    session_snapshot  TEXT NOT NULL,
    next_path         TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    consumed_at       BIGINT,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, portal_domain_id) REFERENCES portal_domains (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX portal_domain_otts_expiry ON portal_domain_otts (tenant_id, expires_at);

CREATE TABLE certificates (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT REFERENCES tenants(id) ON DELETE CASCADE,
    domain          TEXT NOT NULL,
    issuer          TEXT NOT NULL,
    serial          TEXT NOT NULL,
    not_before      BIGINT NOT NULL,
    not_after       BIGINT NOT NULL,
    chain_pem       TEXT NOT NULL,
    key_encrypted   BYTEA NOT NULL,
    key_nonce       BYTEA NOT NULL,
    created_at      BIGINT NOT NULL,
    replaced_at     BIGINT
);
CREATE INDEX certificates_domain ON certificates (domain, not_after);

CREATE TABLE acme_accounts (
    id                      TEXT PRIMARY KEY,
    directory_url           TEXT NOT NULL UNIQUE,
    contact                 TEXT,
    credentials_encrypted   BYTEA NOT NULL,
    credentials_nonce       BYTEA NOT NULL,
    created_at              BIGINT NOT NULL
);

CREATE TABLE acme_challenges (
    token               TEXT PRIMARY KEY,
    domain              TEXT NOT NULL,
    challenge_type      TEXT NOT NULL CHECK (challenge_type IN ('http-01', 'tls-alpn-01')),
    key_authorization   TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    expires_at          BIGINT NOT NULL
);
CREATE INDEX acme_challenges_domain ON acme_challenges (domain);

CREATE TABLE audit_log (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT REFERENCES tenants(id) ON DELETE CASCADE,
    actor_user_id   TEXT,
    action          TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    subject         TEXT,
    ip              TEXT,
    user_agent      TEXT,
    detail          TEXT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX audit_log_subject ON audit_log (tenant_id, action, subject, created_at);

INSERT INTO permissions (id, resource, action, description) VALUES
    ('settings:read', 'settings', 'read', 'See tenant settings, including the portal domain'),
    ('settings:update', 'settings', 'update', 'Change tenant settings, including the portal domain'),
    ('users:read', 'users', 'read', 'See users'),
    ('users:update', 'users', 'update', 'Create and change users'),
    ('tickets:read', 'tickets', 'read', 'See tickets'),
    ('tickets:create', 'tickets', 'create', 'Open tickets'),
    ('tickets:update', 'tickets', 'update', 'Change tickets'),
    ('projects:read', 'projects', 'read', 'See projects'),
    ('billing:read', 'billing', 'read', 'See invoices and billing'),
    ('client_settings:update', 'client_settings', 'update', 'Change the client company''s settings');
