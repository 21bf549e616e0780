-- One node at a time works on a domain's certificate: a lease that its
-- holder takes (or renews) with one atomic upsert and that lapses at
-- expires_at, so a lease whose holder died is taken over after its TTL.
CREATE TABLE acme_order_leases (
    domain      TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
