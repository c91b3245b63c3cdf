-- MX statements: one monthly statement per deposit account and calendar month, written by a
-- fetch_statements job. The PDF is generated on download from this row and the sandbox data;
-- content_hash is the SHA-256 of those bytes as of the last fetch.
CREATE TABLE statements (
    seq                    BIGSERIAL PRIMARY KEY,
    guid                   TEXT NOT NULL UNIQUE,
    tenant_id              TEXT NOT NULL REFERENCES tenants(id),
    user_guid              TEXT NOT NULL,
    member_guid            TEXT NOT NULL REFERENCES members(guid) ON DELETE CASCADE,
    account_guid           TEXT NOT NULL REFERENCES accounts(guid) ON DELETE CASCADE,
    period_start_day       BIGINT NOT NULL,
    period_end_day         BIGINT NOT NULL,
    opening_balance_cents  BIGINT NOT NULL,
    closing_balance_cents  BIGINT NOT NULL,
    content_hash           TEXT NOT NULL,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL,
    UNIQUE (account_guid, period_start_day)
);
CREATE INDEX statements_by_member ON statements(member_guid, period_start_day, seq);
