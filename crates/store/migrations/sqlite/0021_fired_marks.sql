-- The control plane's fired marks: when an event or an MX webhook was fired on demand
-- (`POST /_openiav/fire/…`) rather than raised by a change, the time it was fired.
ALTER TABLE events ADD COLUMN fired_at BIGINT;
ALTER TABLE mx_webhooks ADD COLUMN fired_at BIGINT;
