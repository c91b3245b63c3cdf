-- Webhook subscriptions, the webhooks each event fans out to (with every delivery attempt), manual
-- retries, and Idempotency-Key replays.
CREATE TABLE webhook_subscriptions (
    seq                  INTEGER PRIMARY KEY,
    id                   TEXT NOT NULL UNIQUE,
    tenant_id            TEXT NOT NULL REFERENCES tenants(id),
    url                  TEXT NOT NULL,
    secret               BLOB NOT NULL,
    paused               INTEGER NOT NULL,
    consecutive_failures BIGINT NOT NULL,
    last_success_at      BIGINT,
    created_at           BIGINT NOT NULL
);
CREATE INDEX webhook_subscriptions_by_tenant ON webhook_subscriptions(tenant_id, seq);

CREATE TABLE webhooks (
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
    event_id        TEXT NOT NULL,
    topic           TEXT NOT NULL,
    body            TEXT NOT NULL,
    attempts        TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX webhooks_by_subscription ON webhooks(subscription_id, seq);

CREATE TABLE webhook_retries (
    seq        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
CREATE INDEX webhook_retries_by_webhook ON webhook_retries(webhook_id, seq);

CREATE TABLE idempotency_keys (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       BIGINT,
    location     TEXT,
    body         TEXT,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
