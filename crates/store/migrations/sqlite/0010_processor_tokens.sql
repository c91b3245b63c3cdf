-- MX processor tokens: the single-use authorization codes a client hands a processor (ten
-- minutes), and the access tokens a processor redeems them into (sixty days), each scoped to one
-- verified account. Only SHA-256 hashes of codes and tokens are stored.
CREATE TABLE processor_codes (
    code_hash    TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    user_guid    TEXT NOT NULL REFERENCES users(guid) ON DELETE CASCADE,
    member_guid  TEXT NOT NULL REFERENCES members(guid) ON DELETE CASCADE,
    account_guid TEXT NOT NULL REFERENCES accounts(guid) ON DELETE CASCADE,
    scope        TEXT NOT NULL,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX processor_codes_by_member ON processor_codes(member_guid);

CREATE TABLE processor_tokens (
    token_hash   TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    user_guid    TEXT NOT NULL REFERENCES users(guid) ON DELETE CASCADE,
    member_guid  TEXT NOT NULL REFERENCES members(guid) ON DELETE CASCADE,
    account_guid TEXT NOT NULL REFERENCES accounts(guid) ON DELETE CASCADE,
    scope        TEXT NOT NULL,
    expires_at   BIGINT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX processor_tokens_by_user ON processor_tokens(user_guid);
