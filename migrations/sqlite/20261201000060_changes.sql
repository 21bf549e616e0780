-- What other nodes may have cached and must forget: a certificate stored
-- for a name, a custom domain registration changed, a tenant (or its
-- branding) changed. A row is written in the transaction of the change it
-- names; SQLite nodes poll for ids above the last they saw, PostgreSQL
-- nodes are told by NOTIFY on `porta_changes` in the same transaction and
-- keep the rows only for the record. Rows are pruned after an hour.
CREATE TABLE changes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL CHECK (kind IN ('certificate', 'domain', 'tenant')),
    tenant_id   TEXT,
    subject     TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX changes_created_at ON changes (created_at);
