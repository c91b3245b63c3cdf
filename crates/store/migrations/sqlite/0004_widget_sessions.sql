-- Connect widget sessions: a single-use widget URL token that, when opened, becomes a session
-- bound to one tenant and one user. Only hashes of the two tokens are stored.
CREATE TABLE widget_sessions (
    url_token_hash     TEXT PRIMARY KEY,
    session_token_hash TEXT UNIQUE,
    session_guid       TEXT NOT NULL UNIQUE,
    tenant_id          TEXT NOT NULL REFERENCES tenants(id),
    user_guid          TEXT NOT NULL REFERENCES users(guid) ON DELETE CASCADE,
    config             TEXT NOT NULL,
    url_expires_at     BIGINT NOT NULL,
    opened_at          BIGINT,
    session_expires_at BIGINT,
    created_at         BIGINT NOT NULL
);
CREATE INDEX widget_sessions_by_user ON widget_sessions(user_guid);
