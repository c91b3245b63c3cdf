//! The Dwolla-compatible payments API through the real server: application tokens and media
//! types, customers, exchange partners, exchange sessions, the MX open-banking flow to a
//! verified funding source, funding sources from numbers, events, tenant isolation and secrets.

pub mod raw_receiver;
pub mod receiver;
pub mod support;

mod accounts;
mod clock;
mod clock_races;
mod customers;
mod funding_sources;
mod iav_flow;
mod idempotency;
mod isolation_and_secrets;
mod micro_deposits;
mod partners;
mod plaid_exchange;
mod processing_races;
mod races;
mod reauth;
mod secure_exchange;
mod sessions;
mod tokens;
pub mod transfer_processing;
mod transfer_races;
pub mod transfers;
mod visa;
mod webhook_delivery;
mod webhook_fairness;
mod webhook_subscriptions;
