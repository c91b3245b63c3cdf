-- When an exchange's partner connection was found to need the end user to sign in again
-- (NULL while it is usable); set once per loss, with the customer_exchange_reauth_required event.
ALTER TABLE exchanges ADD COLUMN reauth_required_at BIGINT;
