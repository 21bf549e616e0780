-- Languages: a client company's default language and the tenant's (kept
-- with its branding). Empty means "not chosen"; the reader's profile and
-- browser decide then.
ALTER TABLE clients ADD COLUMN default_locale TEXT NOT NULL DEFAULT '';
ALTER TABLE branding ADD COLUMN default_locale TEXT NOT NULL DEFAULT '';
