-- The Plaid Link stand-in: items (an end user's login at a sandbox institution and the accounts
-- they shared), link tokens (each opens one Link session, whose own token the Link page sends),
-- public tokens (what Link's onSuccess hands out), and the Plaid API's access tokens (one per
-- item) and processor tokens (an item's account handed to a processor such as Dwolla). Only
-- SHA-256 hashes of tokens are stored.
CREATE TABLE plaid_items (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants(id),
    client_user_id    TEXT NOT NULL,
    institution_id    TEXT NOT NULL,
    accounts          TEXT NOT NULL,
    login_required_at BIGINT,
    access_token_hash TEXT UNIQUE,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX plaid_items_by_tenant ON plaid_items(tenant_id);

CREATE TABLE plaid_link_tokens (
    id                 TEXT PRIMARY KEY,
    token_hash         TEXT NOT NULL UNIQUE,
    tenant_id          TEXT NOT NULL REFERENCES tenants(id),
    client_user_id     TEXT NOT NULL,
    item_id            TEXT REFERENCES plaid_items(id),
    session_token_hash TEXT UNIQUE,
    stage              TEXT NOT NULL,
    institution_id     TEXT,
    mfa                TEXT,
    expires_at         BIGINT NOT NULL,
    opened_at          BIGINT,
    session_expires_at BIGINT,
    created_at         BIGINT NOT NULL
);
CREATE INDEX plaid_link_tokens_by_tenant ON plaid_link_tokens(tenant_id);

CREATE TABLE plaid_public_tokens (
    id             TEXT PRIMARY KEY,
    token_hash     TEXT NOT NULL UNIQUE,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    link_token_id  TEXT NOT NULL REFERENCES plaid_link_tokens(id),
    client_user_id TEXT NOT NULL,
    item_id        TEXT NOT NULL REFERENCES plaid_items(id),
    account_id     TEXT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT,
    created_at     BIGINT NOT NULL
);
CREATE INDEX plaid_public_tokens_by_item ON plaid_public_tokens(item_id);

CREATE TABLE plaid_processor_tokens (
    id         TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    item_id    TEXT NOT NULL REFERENCES plaid_items(id),
    account_id TEXT NOT NULL,
    processor  TEXT NOT NULL,
    used_at    BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX plaid_processor_tokens_by_item ON plaid_processor_tokens(item_id);
