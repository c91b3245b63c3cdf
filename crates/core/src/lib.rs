//! Pure building blocks shared by every openiav crate: typed ids, time, crypto, bank numbers,
//! and the vendors' closed vocabularies (statuses, kinds, topics, Link stages) as enums.

pub mod aggregation;
pub mod bank;
pub mod browser;
pub mod clock;
pub mod crypto;
pub mod ids;
pub mod money;
pub mod ops;
pub mod payments;
pub mod plaid;
pub mod visa;
pub mod vocab;

pub use secrecy::{ExposeSecret, SecretString};
