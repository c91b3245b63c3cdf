-- Transfers: funding sources may belong to the account itself (no customer) and may be a
-- `balance` holding money; transfers between funding sources, the ACH legs ("bank transfers")
-- the sandbox processes, and on-demand authorizations.
-- What an end user agreed to so that the account may debit a bank on demand.
CREATE TABLE on_demand_authorizations (
    seq        BIGSERIAL PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    created_at BIGINT NOT NULL
);

ALTER TABLE funding_sources ALTER COLUMN customer_id DROP NOT NULL;
ALTER TABLE funding_sources ADD COLUMN kind TEXT NOT NULL DEFAULT 'bank';
ALTER TABLE funding_sources ADD COLUMN balance_cents BIGINT NOT NULL DEFAULT 0;
ALTER TABLE funding_sources ADD COLUMN on_demand_authorization_id TEXT REFERENCES on_demand_authorizations(id);
DROP INDEX funding_sources_one_active_per_account;
CREATE UNIQUE INDEX funding_sources_one_active_per_account ON funding_sources(customer_id, fingerprint)
  WHERE NOT removed AND kind = 'bank';
-- One balance per verified customer, and one balance and one bank for the account.
CREATE UNIQUE INDEX funding_sources_one_balance_per_customer ON funding_sources(customer_id) WHERE kind = 'balance';
CREATE UNIQUE INDEX funding_sources_account_sources ON funding_sources(tenant_id, kind) WHERE customer_id IS NULL;
-- Verified customers created before transfers existed get their balance.
INSERT INTO funding_sources (id, tenant_id, customer_id, status, bank_account_type, name, bank_name, routing_number,
    account_number, account_number_last4, fingerprint, channels, removed, created_at, updated_at, kind, balance_cents)
  SELECT gen_random_uuid()::text, tenant_id, id, 'verified', 'checking', 'Balance', '', '', ''::bytea, '', '', '[]',
      FALSE, created_at, created_at, 'balance', 0
  FROM customers WHERE status = 'verified' AND type IN ('personal', 'business');

ALTER TABLE events ADD COLUMN correlation_id TEXT;

CREATE TABLE transfers (
    seq                     BIGSERIAL PRIMARY KEY,
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
    seq               BIGSERIAL PRIMARY KEY,
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
