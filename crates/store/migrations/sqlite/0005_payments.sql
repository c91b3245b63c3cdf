-- The Dwolla-compatible payments model: access tokens, customers, exchange sessions, exchanges,
-- funding sources and the events written with every change.
CREATE TABLE payment_tokens (
    token_hash TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX payment_tokens_by_expiry ON payment_tokens(expires_at);

CREATE TABLE customers (
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    type            TEXT NOT NULL,
    status          TEXT NOT NULL,
    first_name      TEXT NOT NULL,
    last_name       TEXT NOT NULL,
    email           TEXT NOT NULL,
    email_key       TEXT NOT NULL,
    business_name   TEXT,
    correlation_id  TEXT,
    profile         TEXT,
    aggregator_user TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX customers_by_email ON customers(tenant_id, email_key);
CREATE UNIQUE INDEX customers_by_correlation_id ON customers(tenant_id, correlation_id) WHERE correlation_id IS NOT NULL;
CREATE INDEX customers_by_tenant ON customers(tenant_id, seq);

CREATE TABLE exchange_sessions (
    seq              INTEGER PRIMARY KEY,
    id               TEXT NOT NULL UNIQUE,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    customer_id      TEXT NOT NULL REFERENCES customers(id),
    partner          TEXT NOT NULL,
    exchange_id      TEXT,
    redirect_url     TEXT,
    provider_session BLOB,
    created_at       BIGINT NOT NULL
);

CREATE TABLE exchanges (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    customer_id TEXT NOT NULL REFERENCES customers(id),
    partner     TEXT NOT NULL,
    status      TEXT NOT NULL,
    connection  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX exchanges_by_customer ON exchanges(customer_id, seq);

CREATE TABLE funding_sources (
    seq                  INTEGER PRIMARY KEY,
    id                   TEXT NOT NULL UNIQUE,
    tenant_id            TEXT NOT NULL REFERENCES tenants(id),
    customer_id          TEXT NOT NULL REFERENCES customers(id),
    exchange_id          TEXT,
    status               TEXT NOT NULL,
    bank_account_type    TEXT NOT NULL,
    name                 TEXT NOT NULL,
    bank_name            TEXT NOT NULL,
    routing_number       TEXT NOT NULL,
    account_number       BLOB NOT NULL,
    account_number_last4 TEXT NOT NULL,
    fingerprint          TEXT NOT NULL,
    channels             TEXT NOT NULL,
    removed              INTEGER NOT NULL,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
CREATE INDEX funding_sources_by_customer ON funding_sources(customer_id, seq);
CREATE INDEX funding_sources_by_fingerprint ON funding_sources(customer_id, fingerprint);

CREATE TABLE events (
    seq           INTEGER PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    topic         TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    customer_id   TEXT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX events_by_tenant ON events(tenant_id, seq);

-- A tenant's payments settings; no row means the defaults (open banking on, no redirect URLs).
CREATE TABLE tenant_payment_settings (
    tenant_id     TEXT PRIMARY KEY REFERENCES tenants(id),
    open_banking  INTEGER NOT NULL,
    redirect_urls TEXT NOT NULL
);
