-- MX micro-deposits (verification by two small deposits).
CREATE TABLE micro_deposits (
    seq                  BIGSERIAL PRIMARY KEY,
    guid                 TEXT NOT NULL UNIQUE,
    tenant_id            TEXT NOT NULL REFERENCES tenants(id),
    user_guid            TEXT NOT NULL REFERENCES users(guid) ON DELETE CASCADE,
    account_name         TEXT,
    account_type         TEXT NOT NULL,
    account_number       BYTEA NOT NULL,
    account_number_last4 TEXT NOT NULL,
    routing_number       TEXT NOT NULL,
    email                TEXT,
    first_name           TEXT,
    last_name            TEXT,
    institution_code     TEXT,
    institution_name     TEXT,
    status               TEXT NOT NULL,
    error_message        TEXT,
    failed_attempts      BIGINT NOT NULL,
    deposited_at         BIGINT NOT NULL,
    verified_at          BIGINT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
CREATE INDEX micro_deposits_by_user ON micro_deposits(user_guid, seq);
