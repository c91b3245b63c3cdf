//! Black-box tests of the aggregation API through the real server on an ephemeral port.
//! SQLite by default; PostgreSQL when `OPENIAV_TEST_POSTGRES_URL` is set.

mod helpers;

mod auth_and_versions;
mod control_faults;
mod control_fire;
mod control_fixtures;
mod control_force;
mod control_journal;
mod control_state;
mod dashboard;
mod institutions;
mod investments;
mod isolation_and_secrets;
mod lifecycle;
mod members;
mod metrics;
mod micro_deposits;
mod mx_webhooks;
mod oauth;
mod payments;
mod plaid_api;
mod plaid_link;
mod processor_tokens;
mod rewards;
mod robustness;
mod statements;
mod test_clock;
mod test_passwords;
mod users;
mod vendor_hosts;
mod verification;
mod widget;
