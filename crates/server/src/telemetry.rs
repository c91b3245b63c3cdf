//! Logging set-up. Request logs name the route template, never the raw path or query (OAuth
//! window tokens travel in paths); see docs/LOGGING.md for the never-log list.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once (`RUST_LOG` overrides the default level).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).try_init();
}
