-- MX Platform webhooks: each tenant's endpoints (a URL per webhook type, or one for all types
-- under webhook_type '', with optional HTTP Basic credentials whose password is encrypted), and
-- every webhook written, with its payload and every delivery attempt.
CREATE TABLE mx_webhook_endpoints (
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    webhook_type   TEXT NOT NULL,
    url            TEXT NOT NULL,
    basic_username TEXT,
    basic_password BLOB,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, webhook_type)
);

CREATE TABLE mx_webhooks (
    seq          INTEGER PRIMARY KEY,
    guid         TEXT NOT NULL UNIQUE,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    webhook_type TEXT NOT NULL,
    endpoint     TEXT NOT NULL,
    url          TEXT NOT NULL,
    body         TEXT NOT NULL,
    attempts     TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX mx_webhooks_by_tenant ON mx_webhooks(tenant_id, seq);
