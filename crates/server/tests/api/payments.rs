//! The Dwolla-compatible payments API through the real server: application tokens and media
//! types, customers, exchange partners, exchange sessions, the MX open-banking flow to a
//! verified funding source, funding sources from numbers, events, tenant isolation and secrets.

mod support;

mod customers;
mod funding_sources;
mod iav_flow;
mod isolation_and_secrets;
mod partners;
mod sessions;
mod tokens;
