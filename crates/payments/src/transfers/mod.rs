//! Transfers: money moved between two funding sources of the account or its customers, the
//! ACH legs ("bank transfers") a bank side needs, facilitator fees, cancellation, and the
//! sandbox's processing of pending legs. Every operation loads, decides with [`rules`] and saves
//! inside one store write, with the events the change raises ([`events`]).

pub mod events;
pub mod failure;
pub mod processing;
pub mod rules;
pub mod view;
