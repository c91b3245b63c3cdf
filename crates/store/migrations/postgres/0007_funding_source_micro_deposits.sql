-- Micro-deposits that verify a funding source added by routing and account numbers.
CREATE TABLE funding_source_micro_deposits (
    funding_source_id TEXT PRIMARY KEY REFERENCES funding_sources(id),
    tenant_id         TEXT NOT NULL REFERENCES tenants(id),
    status            TEXT NOT NULL,
    failed_attempts   BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    processed_at      BIGINT
);
