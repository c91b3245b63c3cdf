-- Visa open banking. The bank page's links: one per exchange session, opened once through the
-- hash of its authorization code, then worked through by the hash of a page token. The page
-- keeps the session's state encrypted to hand it back, and names the session it serves only by
-- an opaque reference.
CREATE TABLE visa_links (
    id                      TEXT PRIMARY KEY,
    tenant_id               TEXT NOT NULL REFERENCES tenants(id),
    reference               TEXT NOT NULL,
    authorization_code_hash TEXT NOT NULL UNIQUE,
    redirect_uri            TEXT NOT NULL,
    state                   BLOB NOT NULL,
    page_token_hash         TEXT UNIQUE,
    stage                   TEXT NOT NULL,
    bank                    TEXT,
    login                   TEXT,
    url_expires_at          BIGINT NOT NULL,
    opened_at               BIGINT,
    page_expires_at         BIGINT,
    created_at              BIGINT NOT NULL
);

-- The single-use codes the bank page hands back for the account the end user chose (hashes only).
CREATE TABLE visa_codes (
    code_hash  TEXT PRIMARY KEY,
    link_id    TEXT NOT NULL REFERENCES visa_links(id),
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    bank       TEXT NOT NULL,
    login      TEXT NOT NULL,
    account    TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX visa_codes_by_link ON visa_codes(link_id);

-- The payments side: the hash of the state that binds a partner's redirect back to its exchange
-- session, spent once.
CREATE TABLE exchange_session_states (
    state_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL UNIQUE,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    created_at BIGINT NOT NULL
);
