-- A tenant's custom sandbox data (extra institutions and users with given accounts), as the JSON
-- document it loaded; a setting of the tenant, so a reset keeps it.
CREATE TABLE sandbox_fixtures (
    tenant_id  TEXT PRIMARY KEY REFERENCES tenants(id),
    document   TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
