//! Pure building blocks shared by every openiav crate: typed ids, time, crypto, bank numbers.

pub mod bank;
pub mod clock;
pub mod crypto;
pub mod ids;

pub use secrecy::{ExposeSecret, SecretString};
