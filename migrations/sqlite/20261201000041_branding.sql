-- Tenant branding: the name shown, colours, support contact, a short
-- sign-in message, and three images (a logo for light and one for dark
-- backgrounds, a favicon), stored in the database (they are small and
-- every node serves them).

CREATE TABLE branding (
    tenant_id        TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    display_name     TEXT NOT NULL DEFAULT '',
    primary_color    TEXT,
    secondary_color  TEXT,
    support_email    TEXT NOT NULL DEFAULT '',
    support_phone    TEXT NOT NULL DEFAULT '',
    signin_message   TEXT NOT NULL DEFAULT '',
    updated_at       BIGINT NOT NULL
);

CREATE TABLE brand_images (
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('logo-light', 'logo-dark', 'favicon')),
    content_type  TEXT NOT NULL,
    bytes         BLOB NOT NULL,
    sha256        TEXT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, kind)
);
