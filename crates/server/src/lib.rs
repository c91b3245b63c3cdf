//! The `openiav` server: configuration, tenant bootstrap, listeners, the job worker and
//! graceful shutdown, wired into one [`app::App`] that the binary and the tests both start.

pub mod app;
pub mod bootstrap;
pub mod config;
pub mod demo;
pub mod edge;
pub mod keys;
pub mod link;
pub mod ops;
pub mod preload;
pub mod sandbox;
pub mod serve;
pub mod telemetry;
pub mod vendor_hosts;
pub mod verifier;
pub mod visa;
