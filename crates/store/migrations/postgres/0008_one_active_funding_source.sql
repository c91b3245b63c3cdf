-- One active funding source per customer and bank account, also under concurrent creates.
CREATE UNIQUE INDEX funding_sources_one_active_per_account ON funding_sources(customer_id, fingerprint) WHERE NOT removed;
