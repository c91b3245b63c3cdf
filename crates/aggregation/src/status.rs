//! MX's connection statuses, defined with the rest of the vendors' vocabulary in core.

pub use openiav_core::aggregation::ConnectionStatus;
