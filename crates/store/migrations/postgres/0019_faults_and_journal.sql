-- Fault rules a tenant injects into its own requests, and the journal of its recent requests.
CREATE TABLE fault_rules (
    seq              BIGSERIAL PRIMARY KEY,
    id               TEXT NOT NULL UNIQUE,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    -- NULL: either listener; NULL method: any method.
    listener         TEXT,
    method           TEXT,
    path             TEXT NOT NULL,
    effect           TEXT NOT NULL,
    status           BIGINT,
    latency_ms       BIGINT,
    retry_after_secs BIGINT,
    -- Parts per million, so both backends compare integers.
    probability_ppm  BIGINT NOT NULL,
    seed             BIGINT NOT NULL,
    -- NULL: unlimited; 0: spent.
    remaining        BIGINT,
    matched          BIGINT NOT NULL,
    applied          BIGINT NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE INDEX fault_rules_by_tenant ON fault_rules(tenant_id, seq);

CREATE TABLE request_journal (
    seq          BIGSERIAL PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    at           BIGINT NOT NULL,
    listener     TEXT NOT NULL,
    method       TEXT NOT NULL,
    route        TEXT NOT NULL,
    status       BIGINT NOT NULL,
    latency_ms   BIGINT NOT NULL,
    request_id   TEXT NOT NULL,
    -- A JSON array of ids.
    resource_ids TEXT NOT NULL,
    fault_id     TEXT
);
CREATE INDEX request_journal_by_tenant ON request_journal(tenant_id, seq);
