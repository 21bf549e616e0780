-- How many tickets each company has in each status, kept by a trigger in the
-- transaction of every ticket insert, delete and move, whatever writes it.
-- A ticket list without filters beyond its state sums a few of these rows
-- instead of counting the company's tickets (O(statuses), not O(tickets));
-- the status decides open or closed at read time, so a status turned
-- closed by staff needs no rewrite here.
CREATE TABLE ticket_counts (
    tenant_id  TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    status_id  TEXT NOT NULL,
    tickets    BIGINT NOT NULL CHECK (tickets >= 0),
    PRIMARY KEY (tenant_id, client_id, status_id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id) ON DELETE CASCADE
);

INSERT INTO ticket_counts (tenant_id, client_id, status_id, tickets)
SELECT tenant_id, client_id, status_id, COUNT(*) FROM tickets GROUP BY tenant_id, client_id, status_id;

CREATE FUNCTION ticket_counts_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (OLD.tenant_id, OLD.client_id, OLD.status_id)
            IS NOT DISTINCT FROM (NEW.tenant_id, NEW.client_id, NEW.status_id) THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE ticket_counts SET tickets = tickets - 1
        WHERE tenant_id = OLD.tenant_id AND client_id = OLD.client_id AND status_id = OLD.status_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO ticket_counts (tenant_id, client_id, status_id, tickets)
        VALUES (NEW.tenant_id, NEW.client_id, NEW.status_id, 1)
        ON CONFLICT (tenant_id, client_id, status_id) DO UPDATE SET tickets = ticket_counts.tickets + 1;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER ticket_counts_keep AFTER INSERT OR DELETE OR UPDATE OF tenant_id, client_id, status_id
    ON tickets FOR EACH ROW EXECUTE FUNCTION ticket_counts_keep();
