-- Tenants, the MX-compatible aggregation model and durable jobs (SQLite dialect).
-- Flags are INTEGER 0/1: sqlx's Any driver refuses columns declared BOOLEAN on SQLite.
CREATE TABLE tenants (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    mx_client_id       TEXT NOT NULL UNIQUE,
    mx_api_key_hash    TEXT NOT NULL,
    dwolla_key         TEXT NOT NULL UNIQUE,
    dwolla_secret_hash TEXT NOT NULL,
    is_sandbox         INTEGER NOT NULL,
    created_at         BIGINT NOT NULL
);

CREATE TABLE users (
    seq         INTEGER PRIMARY KEY,
    guid        TEXT NOT NULL UNIQUE,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    id          TEXT,
    email       TEXT,
    is_disabled INTEGER NOT NULL,
    metadata    TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX users_by_tenant ON users(tenant_id, seq);
CREATE UNIQUE INDEX users_by_partner_id ON users(tenant_id, id) WHERE id IS NOT NULL;

CREATE TABLE members (
    seq                                INTEGER PRIMARY KEY,
    guid                               TEXT NOT NULL UNIQUE,
    tenant_id                          TEXT NOT NULL REFERENCES tenants(id),
    user_guid                          TEXT NOT NULL REFERENCES users(guid) ON DELETE CASCADE,
    id                                 TEXT,
    institution_code                   TEXT NOT NULL,
    name                               TEXT NOT NULL,
    credentials                        BLOB,
    credentials_fingerprint            TEXT,
    is_oauth                           INTEGER NOT NULL,
    connection_status                  TEXT NOT NULL,
    connection_status_message          TEXT,
    is_being_aggregated                INTEGER NOT NULL,
    is_authenticated                   INTEGER NOT NULL,
    aggregated_at                      BIGINT,
    successfully_aggregated_at         BIGINT,
    background_aggregation_is_disabled INTEGER NOT NULL,
    metadata                           TEXT,
    use_cases                          TEXT,
    has_processed_accounts             INTEGER NOT NULL,
    has_processed_account_numbers      INTEGER NOT NULL,
    has_processed_account_owners       INTEGER NOT NULL,
    has_processed_transactions         INTEGER NOT NULL,
    job                                TEXT,
    challenges                         TEXT,
    oauth_token_hash                   TEXT,
    oauth_expires_at                   BIGINT,
    oauth_options                      TEXT,
    created_at                         BIGINT NOT NULL,
    updated_at                         BIGINT NOT NULL
);
CREATE INDEX members_by_user ON members(user_guid, seq);
CREATE INDEX members_by_tenant ON members(tenant_id);
CREATE UNIQUE INDEX members_by_partner_id ON members(user_guid, id) WHERE id IS NOT NULL;
CREATE INDEX members_by_oauth_token ON members(oauth_token_hash) WHERE oauth_token_hash IS NOT NULL;

CREATE TABLE accounts (
    seq                    INTEGER PRIMARY KEY,
    guid                   TEXT NOT NULL UNIQUE,
    tenant_id              TEXT NOT NULL REFERENCES tenants(id),
    user_guid              TEXT NOT NULL,
    member_guid            TEXT NOT NULL REFERENCES members(guid) ON DELETE CASCADE,
    kind                   TEXT NOT NULL,
    seed                   BIGINT NOT NULL,
    name                   TEXT NOT NULL,
    type                   TEXT NOT NULL,
    subtype                TEXT,
    balance_cents          BIGINT NOT NULL,
    available_balance_cents BIGINT,
    credit_limit_cents     BIGINT,
    apr_bps                BIGINT,
    routing_number         TEXT,
    account_number         BLOB,
    account_number_last4   TEXT,
    account_number_guid    TEXT NOT NULL,
    owner_guid             TEXT NOT NULL,
    numbers_verified       INTEGER NOT NULL,
    history_days           BIGINT NOT NULL,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL,
    UNIQUE (member_guid, kind)
);
CREATE INDEX accounts_by_user ON accounts(user_guid, seq);
CREATE INDEX accounts_by_member ON accounts(member_guid, seq);

CREATE TABLE jobs (
    seq          INTEGER PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    queue        TEXT NOT NULL,
    subject      TEXT NOT NULL,
    payload      TEXT NOT NULL,
    run_at       BIGINT NOT NULL,
    locked_until BIGINT NOT NULL,
    attempts     BIGINT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs(queue, run_at, seq);
