-- Each tenant's test clock: frozen at a moment (frozen_at), or running offset_ms ahead of the
-- real clock. No row is the real clock. advancing_until is a lease on real time held while a
-- control call advances the clock and runs what falls due, so background workers leave the
-- tenant's jobs to it and two advances take turns.
CREATE TABLE tenant_clocks (
    tenant_id       TEXT PRIMARY KEY REFERENCES tenants(id),
    frozen_at       BIGINT,
    offset_ms       BIGINT NOT NULL,
    advancing_until BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
