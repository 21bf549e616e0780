-- Client portal, part 1: boards with their statuses and categories,
-- priorities, tickets with per-tenant numbers, comments (public or
-- internal), documents (attachments), in-app notifications and their
-- preferences, invitations, and the profile fields of clients and users.
-- Every table carries tenant_id, and references between rows include it.

ALTER TABLE clients ADD COLUMN address TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN phone TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN website TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN industry TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN default_board_id TEXT;
ALTER TABLE clients ADD COLUMN default_priority_id TEXT;
-- Notification kinds on by default for the company's new users (comma-separated).
ALTER TABLE clients ADD COLUMN default_notifications TEXT NOT NULL DEFAULT 'ticket_created,ticket_status_changed,comment_added';
ALTER TABLE clients ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;

ALTER TABLE users ADD COLUMN phone TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE users ADD COLUMN locale TEXT NOT NULL DEFAULT '';

CREATE TABLE boards (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    is_default    BOOLEAN NOT NULL DEFAULT FALSE,
    display_order INTEGER NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX boards_tenant_name ON boards (tenant_id, lower(name));

CREATE TABLE ticket_statuses (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    board_id     TEXT NOT NULL,
    name         TEXT NOT NULL,
    is_closed    BOOLEAN NOT NULL DEFAULT FALSE,
    is_default   BOOLEAN NOT NULL DEFAULT FALSE,
    order_number INTEGER NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, board_id) REFERENCES boards (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX ticket_statuses_board ON ticket_statuses (tenant_id, board_id, order_number);

CREATE TABLE priorities (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    color        TEXT NOT NULL,
    order_number INTEGER NOT NULL,
    UNIQUE (tenant_id, id)
);

CREATE TABLE categories (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    board_id     TEXT NOT NULL,
    parent_id    TEXT,
    name         TEXT NOT NULL,
    order_number INTEGER NOT NULL DEFAULT 0,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, board_id) REFERENCES boards (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, parent_id) REFERENCES categories (tenant_id, id) ON DELETE CASCADE
);

-- The next human ticket number of each tenant (TIC-1001, TIC-1002, ...).
CREATE TABLE ticket_numbers (
    tenant_id   TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    prefix      TEXT NOT NULL DEFAULT 'TIC',
    next_number BIGINT NOT NULL DEFAULT 1001
);

CREATE TABLE tickets (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    number          BIGINT NOT NULL,
    board_id        TEXT NOT NULL,
    status_id       TEXT NOT NULL,
    priority_id     TEXT NOT NULL,
    category_id     TEXT,
    subcategory_id  TEXT,
    title           TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    assigned_to     TEXT,
    entered_by      TEXT NOT NULL,
    origin          TEXT NOT NULL CHECK (origin IN ('client_portal', 'msp', 'email')),
    response_state  TEXT CHECK (response_state IN ('awaiting_client', 'awaiting_internal')),
    due_at          BIGINT,
    entered_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    closed_at       BIGINT,
    closed_by       TEXT,
    UNIQUE (tenant_id, id),
    UNIQUE (tenant_id, number),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, board_id) REFERENCES boards (tenant_id, id),
    FOREIGN KEY (tenant_id, status_id) REFERENCES ticket_statuses (tenant_id, id),
    FOREIGN KEY (tenant_id, priority_id) REFERENCES priorities (tenant_id, id),
    FOREIGN KEY (tenant_id, category_id) REFERENCES categories (tenant_id, id),
    FOREIGN KEY (tenant_id, subcategory_id) REFERENCES categories (tenant_id, id),
    FOREIGN KEY (tenant_id, assigned_to) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, entered_by) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, closed_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX tickets_client_updated ON tickets (tenant_id, client_id, updated_at);
CREATE INDEX tickets_tenant_updated ON tickets (tenant_id, updated_at);

CREATE TABLE ticket_comments (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    ticket_id    TEXT NOT NULL,
    author_id    TEXT NOT NULL,
    body         TEXT NOT NULL,
    is_internal  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   BIGINT NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, author_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX ticket_comments_ticket ON ticket_comments (tenant_id, ticket_id, created_at);

-- Files: the stored object is named by our key, never the uploaded path.
CREATE TABLE documents (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    ticket_id     TEXT,
    comment_id    TEXT,
    file_name     TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size_bytes    BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    storage_key   TEXT NOT NULL UNIQUE,
    is_internal   BOOLEAN NOT NULL DEFAULT FALSE,
    uploaded_by   TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, comment_id) REFERENCES ticket_comments (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, uploaded_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX documents_ticket ON documents (tenant_id, ticket_id);

CREATE TABLE notifications (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('ticket_created', 'ticket_status_changed', 'comment_added')),
    ticket_id   TEXT,
    actor_id    TEXT,
    summary     TEXT NOT NULL,
    read_at     BIGINT,
    created_at  BIGINT NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX notifications_user ON notifications (tenant_id, user_id, read_at, created_at);

CREATE TABLE notification_preferences (
    tenant_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('ticket_created', 'ticket_status_changed', 'comment_added')),
    in_app     BOOLEAN NOT NULL,
    email      BOOLEAN NOT NULL,
    PRIMARY KEY (tenant_id, user_id, kind),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

-- People a client Admin (or staff) invited; the mailed setup link comes
-- with the account-security work.
CREATE TABLE invitations (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    email         TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    role_ids      TEXT NOT NULL,
    invited_by    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    accepted_at   BIGINT,
    revoked_at    BIGINT,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, invited_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX invitations_client ON invitations (tenant_id, client_id, created_at);

-- Every tenant that existed before this migration gets the catalog a new
-- tenant starts with (porta_core::db::catalog::DEFAULT_*): one default
-- board with its statuses, and four priorities.
INSERT INTO boards (id, tenant_id, name, description, is_default, display_order, created_at)
SELECT lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))), t.id, 'Support', 'Questions and problems', TRUE, 1, t.created_at FROM tenants t;
INSERT INTO ticket_statuses (id, tenant_id, board_id, name, is_closed, is_default, order_number)
SELECT lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))), b.tenant_id, b.id, s.column1, s.column2, s.column3, s.column4
FROM boards b CROSS JOIN (VALUES
    ('New', FALSE, TRUE, 1),
    ('In progress', FALSE, FALSE, 2),
    ('Waiting on client', FALSE, FALSE, 3),
    ('Resolved', TRUE, FALSE, 4),
    ('Closed', TRUE, FALSE, 5)
) AS s;
INSERT INTO priorities (id, tenant_id, name, color, order_number)
SELECT lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))), t.id, p.column1, p.column2, p.column3
FROM tenants t CROSS JOIN (VALUES
    ('Low', '#64748b', 1),
    ('Medium', '#2563eb', 2),
    ('High', '#d97706', 3),
    ('Critical', '#dc2626', 4)
) AS p;
INSERT INTO ticket_numbers (tenant_id, prefix, next_number) SELECT id, 'TIC', 1001 FROM tenants;
