//! Logging set-up. Request logs name the route template, never the raw path or query (OAuth
//! window tokens travel in paths); see docs/LOGGING.md for the never-log list.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber once (`RUST_LOG` overrides the default level). Lines go to
/// stdout, coloured only when stdout is a terminal, so files and pipes get no escape codes.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(std::io::stdout().is_terminal()).try_init(),
        LogFormat::Json => builder.json().with_ansi(false).try_init(),
    };
}
