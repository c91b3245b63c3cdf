-- Sessions of the sandbox dashboard (`/_openiav/dashboard`): a tenant logged in through its own
-- credentials. Only the SHA-256 of the session token is stored; the CSRF token is a random
-- value bound to the session (worthless without the session cookie).
CREATE TABLE dashboard_sessions (
    token_hash TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX dashboard_sessions_by_expiry ON dashboard_sessions(expires_at);
