//! Command line and environment: every flag has an `OPENIAV_*` environment equivalent.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "openiav",
    version,
    about = "Open-banking instant account verification: MX-compatible aggregation and Dwolla-compatible payments"
)]
pub struct Cli {
    /// Database URL: `sqlite://openiav.db` (default, in the working directory) or `postgres://…`.
    #[arg(long, global = true, env = "OPENIAV_DATABASE_URL", default_value = "sqlite://openiav.db")]
    pub database: String,

    /// Hex-encoded 32-byte key that encrypts credentials and account numbers at rest. Without it,
    /// the key is read from (or generated into) the key file.
    #[arg(long, global = true, env = "OPENIAV_ENCRYPTION_KEY", hide_env_values = true)]
    pub encryption_key: Option<String>,

    /// Where the encryption key is kept when none is given: defaults to the SQLite file's name
    /// with `.key`, or `openiav.key` in the working directory.
    #[arg(long, global = true, env = "OPENIAV_KEY_FILE")]
    pub key_file: Option<PathBuf>,

    /// How log lines are written: `text` (coloured only on a terminal) or `json`, one object a line.
    #[arg(long, global = true, env = "OPENIAV_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API listeners and the job worker (bootstraps a sandbox tenant on first start).
    Serve(Box<ServeArgs>),
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Apply database migrations and exit.
    Migrate,
    /// Walk seed 000's open-banking flow end to end (an embedded server unless --payments-url
    /// names a running one) and print each step, the verified funding source and its webhooks.
    Demo(DemoArgs),
    /// Control a running server's sandbox for one tenant: reset, snapshot, force, fire, clock,
    /// faults, journal.
    Sandbox(crate::sandbox::SandboxArgs),
    /// The local CA of vendor-host mode (`serve --vendor-hosts`).
    #[command(subcommand)]
    Ca(CaCommand),
}

#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// Print the CA certificate file to trust (made now if there is none yet), for
    /// `NODE_EXTRA_CA_CERTS`, `SSL_CERT_FILE`/`REQUESTS_CA_BUNDLE` or the OS store.
    Path {
        /// The directory `serve --vendor-hosts-dir` names, if any.
        #[arg(long = "vendor-hosts-dir", env = "OPENIAV_VENDOR_HOSTS_DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Base URL of a running payments API; without it the demo starts its own server on a
    /// throwaway SQLite database.
    #[arg(long)]
    pub payments_url: Option<String>,
    /// The running server's Dwolla application key.
    #[arg(long, env = "OPENIAV_DEMO_DWOLLA_KEY", requires = "payments_url")]
    pub key: Option<String>,
    /// The running server's Dwolla application secret.
    #[arg(long, env = "OPENIAV_DEMO_DWOLLA_SECRET", hide_env_values = true, requires = "payments_url")]
    pub secret: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant and print its credentials (shown once).
    Create {
        #[arg(long)]
        name: String,
        /// Print the credentials as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Change a tenant's payments settings.
    Settings {
        /// The tenant's id (as `tenant create` printed it).
        #[arg(long)]
        id: String,
        /// A redirect URL exchange sessions may name (repeatable; replaces the list).
        #[arg(long = "redirect-url")]
        redirect_urls: Vec<String>,
        /// Whether open banking (exchange sessions and exchanges) is enabled.
        #[arg(long)]
        open_banking: Option<bool>,
        /// Where MX webhooks go (of `--mx-webhook-type`, else of every type without a URL of
        /// its own); `''` removes that URL.
        #[arg(long)]
        mx_webhook_url: Option<String>,
        /// The MX webhook type the URL is for (CONNECTION_STATUS, MEMBER, VERIFICATION,
        /// AGGREGATION, HISTORY, BALANCE, STATEMENT, MICRODEPOSIT, USER); all types if left out.
        #[arg(long, requires = "mx_webhook_url")]
        mx_webhook_type: Option<String>,
        /// HTTP Basic credentials sent with those webhooks, as USER:PASS (the password is
        /// stored encrypted and never shown).
        #[arg(long, requires = "mx_webhook_url")]
        mx_webhook_basic_auth: Option<String>,
        /// Remove every MX webhook URL of the tenant (before applying `--mx-webhook-url`).
        #[arg(long)]
        clear_mx_webhooks: bool,
    },
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address of the MX-compatible aggregation API.
    #[arg(long, env = "OPENIAV_AGGREGATION_LISTEN", default_value = "127.0.0.1:8080")]
    pub aggregation_listen: SocketAddr,

    /// Address of the Dwolla-compatible payments API.
    #[arg(long, env = "OPENIAV_PAYMENTS_LISTEN", default_value = "127.0.0.1:8081")]
    pub payments_listen: SocketAddr,

    /// Public base URL of the aggregation API, used in every absolute URL it returns.
    #[arg(long, env = "OPENIAV_AGGREGATION_PUBLIC_URL")]
    pub aggregation_public_url: Option<String>,

    /// Public base URL of the payments API.
    #[arg(long, env = "OPENIAV_PAYMENTS_PUBLIC_URL")]
    pub payments_public_url: Option<String>,

    /// How long each step of a sandbox bank job takes, in milliseconds.
    #[arg(long, env = "OPENIAV_SANDBOX_DELAY_MS", default_value_t = 0)]
    pub sandbox_delay_ms: u64,

    /// How long an MFA or account-selection challenge waits before the member becomes EXPIRED.
    #[arg(long, env = "OPENIAV_CHALLENGE_TIMEOUT_MS", default_value_t = 600_000)]
    pub challenge_timeout_ms: u64,

    /// Offer Visa as an exchange partner (Dwolla removed it in 2025; the `dwolla` TypeScript SDK
    /// rejects a partner list that contains it).
    #[arg(long, env = "OPENIAV_VISA_PARTNER", default_value_t = false)]
    pub visa_partner: bool,

    /// Hosts or IP addresses webhooks may reach although they are private or loopback
    /// (comma-separated). Public addresses are always allowed; the sandbox tenant may also call
    /// loopback.
    #[arg(long, env = "OPENIAV_WEBHOOK_ALLOWLIST", value_delimiter = ',')]
    pub webhook_allowlist: Vec<String>,

    /// Redirect URLs the sandbox tenant's exchange sessions may name (comma-separated; applied
    /// at every start when given).
    #[arg(long, env = "OPENIAV_SANDBOX_REDIRECT_URLS", value_delimiter = ',')]
    pub sandbox_redirect_urls: Vec<String>,

    /// The sandbox tenant's MX webhook URL for all types (applied at every start when given),
    /// e.g. `http://127.0.0.1:9999/mx`.
    #[arg(long, env = "OPENIAV_SANDBOX_MX_WEBHOOK_URL")]
    pub sandbox_mx_webhook_url: Option<String>,

    /// A snapshot (`openiav sandbox snapshot`) to restore into the sandbox tenant at start; on a
    /// fresh database the sandbox tenant is created with the snapshot's tenant id. Needs the
    /// encryption key the snapshot was taken under.
    #[arg(long, env = "OPENIAV_LOAD_SNAPSHOT")]
    pub load_snapshot: Option<std::path::PathBuf>,

    /// Custom sandbox data (institutions, users with their accounts and transactions) for the
    /// sandbox tenant, loaded at every start; see docs/sandbox-fixtures.example.json.
    #[arg(long, env = "OPENIAV_SANDBOX_FIXTURES")]
    pub sandbox_fixtures: Option<std::path::PathBuf>,

    /// Longest a request may run, in milliseconds, before it is answered 503; on PostgreSQL it is
    /// also each connection's `statement_timeout` and the bound on one write transaction.
    #[arg(long, env = "OPENIAV_REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
    pub request_timeout_ms: u64,

    /// How long a new connection may take to send its first request's headers, in milliseconds.
    #[arg(long, env = "OPENIAV_HEADER_READ_TIMEOUT_MS", default_value_t = 10_000)]
    pub header_read_timeout_ms: u64,

    /// How long a keep-alive connection may wait for (and read the headers of) its next request,
    /// in milliseconds, before the server closes it.
    #[arg(long, env = "OPENIAV_IDLE_TIMEOUT_MS", default_value_t = 60_000)]
    pub idle_timeout_ms: u64,

    #[command(flatten)]
    pub vendor_hosts: crate::vendor_hosts::VendorHostsArgs,
    /// How many of its most recent requests the journal keeps per tenant (`/_openiav/journal`).
    #[arg(long, env = "OPENIAV_JOURNAL_SIZE", default_value_t = 1000)]
    pub journal_size: u32,

    /// Credentials of the sandbox tenant, used when it is first bootstrapped.
    #[arg(long, env = "OPENIAV_SANDBOX_MX_CLIENT_ID", hide = true)]
    pub sandbox_mx_client_id: Option<String>,
    #[arg(long, env = "OPENIAV_SANDBOX_MX_API_KEY", hide = true, hide_env_values = true)]
    pub sandbox_mx_api_key: Option<String>,
    #[arg(long, env = "OPENIAV_SANDBOX_DWOLLA_KEY", hide = true)]
    pub sandbox_dwolla_key: Option<String>,
    #[arg(long, env = "OPENIAV_SANDBOX_DWOLLA_SECRET", hide = true, hide_env_values = true)]
    pub sandbox_dwolla_secret: Option<String>,
}

impl ServeArgs {
    /// Defaults for tests: both listeners on ephemeral loopback ports, no delays.
    pub fn ephemeral() -> Self {
        Self {
            aggregation_listen: "127.0.0.1:0".parse().expect("valid address"),
            payments_listen: "127.0.0.1:0".parse().expect("valid address"),
            aggregation_public_url: None,
            payments_public_url: None,
            sandbox_delay_ms: 0,
            challenge_timeout_ms: 600_000,
            visa_partner: false,
            webhook_allowlist: Vec::new(),
            sandbox_redirect_urls: Vec::new(),
            sandbox_mx_webhook_url: None,
            load_snapshot: None,
            sandbox_fixtures: None,
            request_timeout_ms: 30_000,
            header_read_timeout_ms: 10_000,
            idle_timeout_ms: 60_000,
            vendor_hosts: crate::vendor_hosts::VendorHostsArgs::disabled(),
            journal_size: 1000,
            sandbox_mx_client_id: None,
            sandbox_mx_api_key: None,
            sandbox_dwolla_key: None,
            sandbox_dwolla_secret: None,
        }
    }
}

/// `http://addr`, with an unspecified address replaced by loopback.
pub fn base_url_for(addr: SocketAddr) -> String {
    let host = if addr.ip().is_unspecified() {
        if addr.is_ipv4() {
            "127.0.0.1".to_owned()
        } else {
            "[::1]".to_owned()
        }
    } else if addr.is_ipv6() {
        format!("[{}]", addr.ip())
    } else {
        addr.ip().to_string()
    };
    format!("http://{host}:{}", addr.port())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn base_urls_replace_unspecified_hosts() {
        assert_eq!(base_url_for("0.0.0.0:8080".parse().unwrap()), "http://127.0.0.1:8080");
        assert_eq!(base_url_for("127.0.0.1:9".parse().unwrap()), "http://127.0.0.1:9");
    }
}
