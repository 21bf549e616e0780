-- Client portal, part 2: billing. Money is in integer minor units of the
-- currency stored beside it; quantities are in thousandths, tax rates in
-- basis points, hours in minutes; dates are YYYY-MM-DD, months YYYY-MM.
--
-- A finalized invoice is immutable: triggers refuse any change to it, its
-- lines and its credits (it can only be cancelled), and any deletion of a
-- finalized or cancelled invoice. Payments are append-only.

-- The tenant's currency for new invoices and contract lines.
ALTER TABLE tenants ADD COLUMN currency TEXT NOT NULL DEFAULT 'USD';

CREATE TABLE invoices (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    -- Assigned at finalize, one sequence per tenant.
    number          BIGINT,
    is_credit_note  BOOLEAN NOT NULL DEFAULT FALSE,
    status          TEXT NOT NULL CHECK (status IN ('draft', 'finalized', 'cancelled')),
    currency        TEXT NOT NULL CHECK (length(currency) = 3),
    -- Days from the issue date to the due date, set on the draft.
    terms_days      INTEGER NOT NULL DEFAULT 30 CHECK (terms_days >= 0 AND terms_days <= 365),
    memo            TEXT NOT NULL DEFAULT '',
    -- Set at finalize, frozen after.
    issue_date      TEXT,
    due_date        TEXT,
    subtotal_minor  BIGINT,
    tax_minor       BIGINT,
    credit_minor    BIGINT,
    total_minor     BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    finalized_at    BIGINT,
    cancelled_at    BIGINT,
    cancel_reason   TEXT NOT NULL DEFAULT '',
    UNIQUE (tenant_id, id),
    UNIQUE (tenant_id, number),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id),
    CHECK ((status = 'draft') = (number IS NULL)),
    CHECK (status = 'draft' OR (issue_date IS NOT NULL AND due_date IS NOT NULL AND subtotal_minor IS NOT NULL
           AND tax_minor IS NOT NULL AND credit_minor IS NOT NULL AND total_minor IS NOT NULL AND finalized_at IS NOT NULL)),
    CHECK (total_minor IS NULL OR total_minor >= 0),
    CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL))
);
CREATE INDEX invoices_client ON invoices (tenant_id, client_id, status, issue_date);

CREATE TABLE invoice_lines (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL,
    invoice_id        TEXT NOT NULL,
    position          INTEGER NOT NULL,
    description       TEXT NOT NULL,
    quantity_milli    BIGINT NOT NULL CHECK (quantity_milli > 0),
    unit_price_minor  BIGINT NOT NULL,
    tax_rate_bp       INTEGER NOT NULL DEFAULT 0 CHECK (tax_rate_bp >= 0 AND tax_rate_bp <= 10000),
    line_total_minor  BIGINT NOT NULL,
    service_start     TEXT,
    service_end       TEXT,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id) ON DELETE CASCADE,
    CHECK (service_start IS NULL OR service_end IS NULL OR service_start <= service_end)
);
CREATE INDEX invoice_lines_invoice ON invoice_lines (tenant_id, invoice_id, position);

CREATE TABLE invoice_credits (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    invoice_id    TEXT NOT NULL,
    description   TEXT NOT NULL,
    amount_minor  BIGINT NOT NULL CHECK (amount_minor > 0),
    created_at    BIGINT NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX invoice_credits_invoice ON invoice_credits (tenant_id, invoice_id);

CREATE TABLE payments (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    invoice_id    TEXT NOT NULL,
    amount_minor  BIGINT NOT NULL CHECK (amount_minor > 0),
    currency      TEXT NOT NULL CHECK (length(currency) = 3),
    paid_on       TEXT NOT NULL,
    method        TEXT NOT NULL CHECK (method IN ('bank_transfer', 'card', 'direct_debit', 'cheque', 'cash', 'other')),
    reference     TEXT NOT NULL DEFAULT '',
    recorded_by   TEXT,
    created_at    BIGINT NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id),
    FOREIGN KEY (tenant_id, recorded_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX payments_client ON payments (tenant_id, client_id, paid_on);
CREATE INDEX payments_invoice ON payments (tenant_id, invoice_id);

CREATE TABLE contract_lines (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    service     TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    rate_minor  BIGINT NOT NULL CHECK (rate_minor >= 0),
    currency    TEXT NOT NULL CHECK (length(currency) = 3),
    frequency   TEXT NOT NULL CHECK (frequency IN ('weekly', 'monthly', 'quarterly', 'annually', 'one_time')),
    -- What the rate is per ('user', 'device', 'GB'); empty: a flat rate.
    unit        TEXT NOT NULL DEFAULT '',
    start_date  TEXT NOT NULL,
    end_date    TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id) ON DELETE CASCADE,
    CHECK (end_date IS NULL OR start_date <= end_date)
);
CREATE INDEX contract_lines_client ON contract_lines (tenant_id, client_id, start_date);

CREATE TABLE usage_records (
    tenant_id         TEXT NOT NULL,
    contract_line_id  TEXT NOT NULL,
    month             TEXT NOT NULL CHECK (length(month) = 7),
    quantity_milli    BIGINT NOT NULL CHECK (quantity_milli >= 0),
    updated_at        BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, contract_line_id, month),
    FOREIGN KEY (tenant_id, contract_line_id) REFERENCES contract_lines (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE prepaid_blocks (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    name            TEXT NOT NULL,
    minutes_bought  BIGINT NOT NULL CHECK (minutes_bought > 0),
    minutes_used    BIGINT NOT NULL DEFAULT 0 CHECK (minutes_used >= 0),
    purchased_on    TEXT NOT NULL,
    expires_on      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id) ON DELETE CASCADE,
    CHECK (minutes_used <= minutes_bought),
    CHECK (expires_on IS NULL OR purchased_on <= expires_on)
);
CREATE INDEX prepaid_blocks_client ON prepaid_blocks (tenant_id, client_id, purchased_on);

-- Immutability, enforced here as well as in the code.
CREATE TRIGGER invoices_frozen_update BEFORE UPDATE ON invoices
WHEN OLD.status <> 'draft' AND NOT (
    OLD.status = 'finalized' AND NEW.status = 'cancelled'
    AND NEW.id IS OLD.id AND NEW.tenant_id IS OLD.tenant_id AND NEW.client_id IS OLD.client_id
    AND NEW.number IS OLD.number AND NEW.is_credit_note IS OLD.is_credit_note AND NEW.currency IS OLD.currency
    AND NEW.terms_days IS OLD.terms_days AND NEW.memo IS OLD.memo
    AND NEW.issue_date IS OLD.issue_date AND NEW.due_date IS OLD.due_date
    AND NEW.subtotal_minor IS OLD.subtotal_minor AND NEW.tax_minor IS OLD.tax_minor
    AND NEW.credit_minor IS OLD.credit_minor AND NEW.total_minor IS OLD.total_minor
    AND NEW.created_at IS OLD.created_at AND NEW.finalized_at IS OLD.finalized_at
)
BEGIN
    SELECT RAISE(ABORT, 'invoice is finalized: it cannot be changed');
END;

CREATE TRIGGER invoices_frozen_delete BEFORE DELETE ON invoices
WHEN OLD.status <> 'draft'
BEGIN
    SELECT RAISE(ABORT, 'invoice is finalized: it cannot be deleted');
END;

CREATE TRIGGER invoice_lines_frozen_insert BEFORE INSERT ON invoice_lines
WHEN EXISTS (SELECT 1 FROM invoices i WHERE i.id = NEW.invoice_id AND i.status <> 'draft')
BEGIN
    SELECT RAISE(ABORT, 'invoice is finalized: its lines cannot be changed');
END;

CREATE TRIGGER invoice_lines_frozen_update BEFORE UPDATE ON invoice_lines
WHEN EXISTS (SELECT 1 FROM invoices i WHERE i.id IN (OLD.invoice_id, NEW.invoice_id) AND i.status <> 'draft')
BEGIN
    SELECT RAISE(ABORT, 'invoice is finalized: its lines cannot be changed');
END;

CREATE TRIGGER invoice_lines_frozen_delete BEFORE DELETE ON invoice_lines
WHEN EXISTS (SELECT 1 FROM invoices i WHERE i.id = OLD.invoice_id AND i.status <> 'draft')
BEGIN
    SELECT RAISE(ABORT, 'invoice is finalized: its lines cannot be changed');
END;

CREATE TRIGGER invoice_credits_frozen_insert BEFORE INSERT ON invoice_credits
WHEN EXISTS (SELECT 1 FROM invoices i WHERE i.id = NEW.invoice_id AND i.status <> 'draft')
BEGIN
    SELECT RAISE(ABORT, 'invoice is finalized: its credits cannot be changed');
END;

CREATE TRIGGER invoice_credits_frozen_update BEFORE UPDATE ON invoice_credits
WHEN EXISTS (SELECT 1 FROM invoices i WHERE i.id IN (OLD.invoice_id, NEW.invoice_id) AND i.status <> 'draft')
BEGIN
    SELECT RAISE(ABORT, 'invoice is finalized: its credits cannot be changed');
END;

CREATE TRIGGER invoice_credits_frozen_delete BEFORE DELETE ON invoice_credits
WHEN EXISTS (SELECT 1 FROM invoices i WHERE i.id = OLD.invoice_id AND i.status <> 'draft')
BEGIN
    SELECT RAISE(ABORT, 'invoice is finalized: its credits cannot be changed');
END;

-- Payments only on a finalized invoice (not a credit note); never changed.
CREATE TRIGGER payments_need_finalized BEFORE INSERT ON payments
WHEN NOT EXISTS (SELECT 1 FROM invoices i WHERE i.id = NEW.invoice_id AND i.status = 'finalized'
                 AND NOT i.is_credit_note AND i.client_id = NEW.client_id AND i.currency = NEW.currency)
BEGIN
    SELECT RAISE(ABORT, 'payments are recorded on finalized invoices only');
END;

CREATE TRIGGER payments_frozen_update BEFORE UPDATE ON payments
BEGIN
    SELECT RAISE(ABORT, 'payments cannot be changed');
END;

CREATE TRIGGER payments_frozen_delete BEFORE DELETE ON payments
BEGIN
    SELECT RAISE(ABORT, 'payments cannot be deleted');
END;
