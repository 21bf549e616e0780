-- Account security: a durable mail outbox, password reset tokens, setup
-- tokens of invitations, TOTP two-factor with recovery codes, OpenID
-- Connect providers, and the tenant's sign-in policy.

-- Mail is written here in the same transaction as what it carries and
-- sent by a worker that retries with backoff; claimed rows are locked for
-- a while so one node sends each message.
CREATE TABLE mail_outbox (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT REFERENCES tenants(id) ON DELETE CASCADE,
    kind             TEXT NOT NULL,
    to_address       TEXT NOT NULL,
    to_name          TEXT NOT NULL DEFAULT '',
    reply_to         TEXT,
    subject          TEXT NOT NULL,
    text_body        TEXT NOT NULL,
    html_body        TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    locked_until     BIGINT,
    sent_at          BIGINT,
    last_error       TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox (sent_at, next_attempt_at);

-- Single-use, expiring; only the SHA-256 of the token is stored.
CREATE TABLE password_resets (
    token_hash   BYTEA PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    consumed_at  BIGINT,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX password_resets_user ON password_resets (tenant_id, user_id);

ALTER TABLE invitations ADD COLUMN token_hash BYTEA;
ALTER TABLE invitations ADD COLUMN expires_at BIGINT;
ALTER TABLE invitations ADD COLUMN accepted_user_id TEXT;
CREATE UNIQUE INDEX invitations_token ON invitations (token_hash);

-- TOTP: the secret sealed under the master key, the last time step used
-- (a code is accepted once), ten single-use recovery codes (hashed).
ALTER TABLE users ADD COLUMN totp_nonce BYTEA;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
ALTER TABLE users ADD COLUMN totp_enabled_at BIGINT;
CREATE TABLE recovery_codes (
    tenant_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    code_hash   BYTEA NOT NULL,
    used_at     BIGINT,
    PRIMARY KEY (tenant_id, user_id, code_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

ALTER TABLE tenants ADD COLUMN reply_to TEXT NOT NULL DEFAULT '';
ALTER TABLE tenants ADD COLUMN require_2fa_clients BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tenants ADD COLUMN require_2fa_staff BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tenants ADD COLUMN password_signin_clients BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE tenants ADD COLUMN password_signin_staff BOOLEAN NOT NULL DEFAULT TRUE;

-- Sign-in through an OpenID provider of the tenant's choice.
CREATE TABLE oidc_providers (
    id                       TEXT PRIMARY KEY,
    tenant_id                TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    display_name             TEXT NOT NULL,
    preset                   TEXT NOT NULL CHECK (preset IN ('google', 'microsoft', 'keycloak', 'generic')),
    issuer_url               TEXT NOT NULL,
    client_id                TEXT NOT NULL,
    client_secret_encrypted  BYTEA NOT NULL,
    client_secret_nonce      BYTEA NOT NULL,
    user_type                TEXT NOT NULL CHECK (user_type IN ('internal', 'client')),
    trust_unverified_email   BOOLEAN NOT NULL DEFAULT FALSE,
    create_users             BOOLEAN NOT NULL DEFAULT FALSE,
    -- The company new client users of this provider join (with create_users).
    default_client_id        TEXT,
    enabled                  BOOLEAN NOT NULL DEFAULT TRUE,
    created_at               BIGINT NOT NULL,
    UNIQUE (tenant_id, id)
);
