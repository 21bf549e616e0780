-- How many tickets each company has in each status, kept by triggers in the
-- transaction of every ticket insert, delete and move, whatever writes it.
-- A ticket list without filters beyond its state sums a few of these rows
-- instead of counting the company's tickets (O(statuses), not O(tickets));
-- the status decides open or closed at read time, so a status turned
-- closed by staff needs no rewrite here.
CREATE TABLE ticket_counts (
    tenant_id  TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    status_id  TEXT NOT NULL,
    tickets    INTEGER NOT NULL CHECK (tickets >= 0),
    PRIMARY KEY (tenant_id, client_id, status_id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id) ON DELETE CASCADE
);

INSERT INTO ticket_counts (tenant_id, client_id, status_id, tickets)
SELECT tenant_id, client_id, status_id, COUNT(*) FROM tickets GROUP BY tenant_id, client_id, status_id;

CREATE TRIGGER ticket_counts_insert AFTER INSERT ON tickets
BEGIN
    INSERT INTO ticket_counts (tenant_id, client_id, status_id, tickets)
    VALUES (NEW.tenant_id, NEW.client_id, NEW.status_id, 1)
    ON CONFLICT (tenant_id, client_id, status_id) DO UPDATE SET tickets = tickets + 1;
END;

CREATE TRIGGER ticket_counts_delete AFTER DELETE ON tickets
BEGIN
    UPDATE ticket_counts SET tickets = tickets - 1
    WHERE tenant_id = OLD.tenant_id AND client_id = OLD.client_id AND status_id = OLD.status_id;
END;

CREATE TRIGGER ticket_counts_move AFTER UPDATE OF tenant_id, client_id, status_id ON tickets
WHEN OLD.tenant_id IS NOT NEW.tenant_id OR OLD.client_id IS NOT NEW.client_id
    OR OLD.status_id IS NOT NEW.status_id
BEGIN
    UPDATE ticket_counts SET tickets = tickets - 1
    WHERE tenant_id = OLD.tenant_id AND client_id = OLD.client_id AND status_id = OLD.status_id;
    INSERT INTO ticket_counts (tenant_id, client_id, status_id, tickets)
    VALUES (NEW.tenant_id, NEW.client_id, NEW.status_id, 1)
    ON CONFLICT (tenant_id, client_id, status_id) DO UPDATE SET tickets = tickets + 1;
END;
