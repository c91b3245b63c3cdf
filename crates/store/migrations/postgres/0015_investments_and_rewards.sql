-- MX investments and rewards: the holdings of investment accounts, the users deactivated from
-- the investment-holdings product (any holdings endpoint reactivates them), and the balances of
-- members' rewards programs. Rows are written by the member jobs that gather them.
CREATE TABLE holdings (
    guid                 TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES tenants(id),
    user_guid            TEXT NOT NULL REFERENCES users(guid) ON DELETE CASCADE,
    member_guid          TEXT NOT NULL REFERENCES members(guid) ON DELETE CASCADE,
    account_guid         TEXT NOT NULL REFERENCES accounts(guid) ON DELETE CASCADE,
    position             BIGINT NOT NULL,
    symbol               TEXT NOT NULL,
    description          TEXT NOT NULL,
    cusip                TEXT NOT NULL,
    holding_type         TEXT NOT NULL,
    shares               BIGINT NOT NULL,
    price_cents          BIGINT NOT NULL,
    purchase_price_cents BIGINT NOT NULL,
    daily_change_cents   BIGINT NOT NULL,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
CREATE INDEX holdings_by_user ON holdings(tenant_id, user_guid);
CREATE INDEX holdings_by_account ON holdings(account_guid, position);

CREATE TABLE investment_deactivations (
    user_guid      TEXT PRIMARY KEY REFERENCES users(guid) ON DELETE CASCADE,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    deactivated_at BIGINT NOT NULL
);

CREATE TABLE rewards (
    guid         TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    user_guid    TEXT NOT NULL REFERENCES users(guid) ON DELETE CASCADE,
    member_guid  TEXT NOT NULL REFERENCES members(guid) ON DELETE CASCADE,
    account_guid TEXT REFERENCES accounts(guid) ON DELETE CASCADE,
    position     BIGINT NOT NULL,
    unit_type    TEXT NOT NULL,
    balance_type TEXT NOT NULL,
    balance      BIGINT NOT NULL,
    description  TEXT NOT NULL,
    expires_on   TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX rewards_by_member ON rewards(member_guid, position);
