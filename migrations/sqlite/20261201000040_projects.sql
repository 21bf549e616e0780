-- Client portal, part 2: projects of a client company, their phases and
-- tasks, dependencies between tasks, and what clients may see of each
-- project (a visibility config, defaulted from the tenant's). Documents may
-- belong to a project or one of its tasks.

CREATE TABLE projects (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    number          BIGINT NOT NULL,
    name            TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL CHECK (status IN ('planning', 'in_progress', 'on_hold', 'completed', 'cancelled')),
    start_date      TEXT,
    end_date        TEXT,
    -- Minutes, so that fractions of hours stay exact.
    budget_minutes  BIGINT,
    manager_id      TEXT,
    -- The visibility config as JSON; NULL: the tenant's default.
    visibility      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (tenant_id, id),
    UNIQUE (tenant_id, number),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, manager_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX projects_client ON projects (tenant_id, client_id, status);

CREATE TABLE project_phases (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    project_id  TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    position    INTEGER NOT NULL,
    start_date  TEXT,
    end_date    TEXT,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX project_phases_project ON project_phases (tenant_id, project_id, position);

CREATE TABLE project_tasks (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL,
    project_id         TEXT NOT NULL,
    phase_id           TEXT NOT NULL,
    name               TEXT NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    status             TEXT NOT NULL CHECK (status IN ('todo', 'in_progress', 'blocked', 'review', 'done')),
    priority           TEXT NOT NULL DEFAULT 'medium' CHECK (priority IN ('low', 'medium', 'high', 'critical')),
    assigned_to        TEXT,
    due_date           TEXT,
    estimated_minutes  BIGINT,
    actual_minutes     BIGINT NOT NULL DEFAULT 0,
    checklist_total    INTEGER NOT NULL DEFAULT 0,
    checklist_done     INTEGER NOT NULL DEFAULT 0,
    -- The services the task delivers, comma-separated (shown as written).
    services           TEXT NOT NULL DEFAULT '',
    position           INTEGER NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, phase_id) REFERENCES project_phases (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, assigned_to) REFERENCES users (tenant_id, id),
    CHECK (checklist_done >= 0 AND checklist_done <= checklist_total)
);
CREATE INDEX project_tasks_project ON project_tasks (tenant_id, project_id, phase_id, position);

CREATE TABLE task_dependencies (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    project_id      TEXT NOT NULL,
    predecessor_id  TEXT NOT NULL,
    successor_id    TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('blocks', 'related_to')),
    -- Positive: lag after the predecessor; negative: lead.
    lead_lag_days   INTEGER NOT NULL DEFAULT 0,
    notes           TEXT NOT NULL DEFAULT '',
    UNIQUE (tenant_id, id),
    UNIQUE (tenant_id, predecessor_id, successor_id),
    CHECK (predecessor_id <> successor_id),
    FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, predecessor_id) REFERENCES project_tasks (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, successor_id) REFERENCES project_tasks (tenant_id, id) ON DELETE CASCADE
);

ALTER TABLE documents ADD COLUMN project_id TEXT;
ALTER TABLE documents ADD COLUMN task_id TEXT;
CREATE INDEX documents_project ON documents (tenant_id, project_id);

-- The tenant's default visibility config (JSON; NULL: the built-in one).
ALTER TABLE tenants ADD COLUMN project_visibility TEXT;
-- Each user's choice of task view on a project page.
ALTER TABLE users ADD COLUMN task_view TEXT NOT NULL DEFAULT 'kanban' CHECK (task_view IN ('kanban', 'list'));
