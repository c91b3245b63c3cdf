-- Transfers: funding sources may belong to the account itself (no customer) and may be a
-- `balance` holding money; transfers between funding sources, the ACH legs ("bank transfers")
-- the sandbox processes, and on-demand authorizations. SQLite cannot drop a NOT NULL in place
-- and a migration runs inside a transaction (foreign keys stay on), so funding_sources and the
-- one table referencing it are copied aside, dropped child first, and rebuilt.
-- What an end user agreed to so that the account may debit a bank on demand.
CREATE TABLE on_demand_authorizations (
    seq        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    created_at BIGINT NOT NULL
);
CREATE TABLE funding_sources_copy AS SELECT * FROM funding_sources;
CREATE TABLE funding_source_micro_deposits_copy AS SELECT * FROM funding_source_micro_deposits;
DROP TABLE funding_source_micro_deposits;
DROP TABLE funding_sources;
CREATE TABLE funding_sources (
    seq                  INTEGER PRIMARY KEY,
    id                   TEXT NOT NULL UNIQUE,
    tenant_id            TEXT NOT NULL REFERENCES tenants(id),
    customer_id          TEXT REFERENCES customers(id),
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
    updated_at           BIGINT NOT NULL,
    kind                 TEXT NOT NULL DEFAULT 'bank',
    balance_cents        BIGINT NOT NULL DEFAULT 0,
    on_demand_authorization_id TEXT REFERENCES on_demand_authorizations(id)
);
INSERT INTO funding_sources (seq, id, tenant_id, customer_id, exchange_id, status, bank_account_type, name,
    bank_name, routing_number, account_number, account_number_last4, fingerprint, channels, removed, created_at, updated_at)
  SELECT seq, id, tenant_id, customer_id, exchange_id, status, bank_account_type, name, bank_name, routing_number,
    account_number, account_number_last4, fingerprint, channels, removed, created_at, updated_at FROM funding_sources_copy;
DROP TABLE funding_sources_copy;
CREATE TABLE funding_source_micro_deposits (
    funding_source_id TEXT PRIMARY KEY REFERENCES funding_sources(id),
    tenant_id         TEXT NOT NULL REFERENCES tenants(id),
    status            TEXT NOT NULL,
    failed_attempts   BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    processed_at      BIGINT
);
INSERT INTO funding_source_micro_deposits SELECT * FROM funding_source_micro_deposits_copy;
DROP TABLE funding_source_micro_deposits_copy;
CREATE INDEX funding_sources_by_customer ON funding_sources(customer_id, seq);
CREATE INDEX funding_sources_by_fingerprint ON funding_sources(customer_id, fingerprint);
CREATE UNIQUE INDEX funding_sources_one_active_per_account ON funding_sources(customer_id, fingerprint)
  WHERE removed = 0 AND kind = 'bank';
-- One balance per verified customer, and one balance and one bank for the account.
CREATE UNIQUE INDEX funding_sources_one_balance_per_customer ON funding_sources(customer_id) WHERE kind = 'balance';
CREATE UNIQUE INDEX funding_sources_account_sources ON funding_sources(tenant_id, kind) WHERE customer_id IS NULL;
-- Verified customers created before transfers existed get their balance.
INSERT INTO funding_sources (id, tenant_id, customer_id, status, bank_account_type, name, bank_name, routing_number,
    account_number, account_number_last4, fingerprint, channels, removed, created_at, updated_at, kind, balance_cents)
  SELECT lower(substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-a' || substr(h, 18, 3) || '-'
      || substr(h, 21, 12)), tenant_id, id, 'verified', 'checking', 'Balance', '', '', X'', '', '', '[]', 0,
      created_at, created_at, 'balance', 0
  FROM (SELECT hex(randomblob(16)) AS h, id, tenant_id, created_at FROM customers
        WHERE status = 'verified' AND type IN ('personal', 'business'));

ALTER TABLE events ADD COLUMN correlation_id TEXT;

CREATE TABLE transfers (
    seq                     INTEGER PRIMARY KEY,
    id                      TEXT NOT NULL UNIQUE,
    tenant_id               TEXT NOT NULL REFERENCES tenants(id),
    -- The transfer a facilitator fee is charged on; NULL for a transfer.
    fee_of                  TEXT REFERENCES transfers(id),
    source_id               TEXT NOT NULL REFERENCES funding_sources(id),
    destination_id          TEXT NOT NULL REFERENCES funding_sources(id),
    -- The owners, NULL for the account itself.
    source_customer_id      TEXT REFERENCES customers(id),
    destination_customer_id TEXT REFERENCES customers(id),
    amount_cents            BIGINT NOT NULL,
    status                  TEXT NOT NULL,
    -- JSON of what the request asked for (clearing, achDetails, processingChannel, metadata).
    options                 TEXT NOT NULL,
    correlation_id          TEXT,
    individual_ach_id       TEXT,
    failure_code            TEXT,
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL
);
CREATE INDEX transfers_by_tenant ON transfers(tenant_id, seq);
CREATE INDEX transfers_by_source_customer ON transfers(source_customer_id, seq);
CREATE INDEX transfers_by_destination_customer ON transfers(destination_customer_id, seq);
CREATE INDEX transfers_by_fee_of ON transfers(fee_of);

-- The ACH legs of a transfer through a bank: a debit from the source bank, a credit to the
-- destination bank. The sandbox processes them, newest first, 500 per simulation.
CREATE TABLE bank_transfers (
    seq               INTEGER PRIMARY KEY,
    id                TEXT NOT NULL UNIQUE,
    tenant_id         TEXT NOT NULL REFERENCES tenants(id),
    transfer_id       TEXT NOT NULL REFERENCES transfers(id),
    direction         TEXT NOT NULL,
    funding_source_id TEXT NOT NULL REFERENCES funding_sources(id),
    customer_id       TEXT REFERENCES customers(id),
    status            TEXT NOT NULL,
    -- A return the sandbox applies on a later processing, after the leg settled.
    late_return       TEXT,
    failure_code      TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX bank_transfers_by_transfer ON bank_transfers(transfer_id, seq);
CREATE INDEX bank_transfers_to_process ON bank_transfers(tenant_id, seq) WHERE status = 'pending' OR late_return IS NOT NULL;

