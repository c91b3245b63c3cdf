//! Vendor-host mode: openiav answers on the vendors' own host names (Dwolla's API hosts, MX's
//! API hosts and the Connect widget's hosts) over TLS, with a local CA made once beside the
//! database, so apps and SDKs that hard-code those hosts run unchanged once the names resolve to
//! openiav and the CA is trusted.

pub mod ca;
pub mod tls;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use tokio::net::TcpListener;
use tokio_rustls::rustls::ServerConfig;

/// The `serve` flags of vendor-host mode.
#[derive(Debug, Clone, Args)]
pub struct VendorHostsArgs {
    /// Also serve TLS for the vendors' own hosts (api-sandbox.dwolla.com, api.dwolla.com,
    /// int-api.mx.com, api.mx.com and the Connect widget hosts), with certificates from a local
    /// CA made once beside the database; public URLs then default to the vendors' own.
    #[arg(long = "vendor-hosts", env = "OPENIAV_VENDOR_HOSTS", default_value_t = false)]
    pub enabled: bool,

    /// Address of the vendor-host TLS listener (the vendors' URLs carry no port: 443).
    #[arg(long = "vendor-hosts-listen", env = "OPENIAV_VENDOR_HOSTS_LISTEN", default_value = "127.0.0.1:443")]
    pub listen: SocketAddr,

    /// Where the CA and the host certificate are kept: defaults to the SQLite file's directory,
    /// or the working directory for PostgreSQL.
    #[arg(long = "vendor-hosts-dir", env = "OPENIAV_VENDOR_HOSTS_DIR")]
    pub dir: Option<PathBuf>,
}

impl VendorHostsArgs {
    /// Vendor-host mode off (the listener address is the default, unused).
    pub fn disabled() -> Self {
        Self { enabled: false, listen: "127.0.0.1:443".parse().expect("valid address"), dir: None }
    }
}

/// The bound vendor-host listener with its TLS settings.
pub struct Listener {
    pub(crate) tcp: TcpListener,
    pub(crate) tls: std::sync::Arc<ServerConfig>,
    /// The CA certificate file clients trust.
    pub ca_file: PathBuf,
}

impl Listener {
    /// Makes (or reuses) the CA and certificate in the mode's directory and binds the listener.
    pub async fn bind(args: &VendorHostsArgs, database_url: &str) -> anyhow::Result<Self> {
        let dir = dir_for(args.dir.as_deref(), database_url);
        let material = tokio::task::spawn_blocking(move || ca::ensure(&dir, &host_names()))
            .await
            .context("making the vendor hosts' certificate")??;
        if material.made_ca {
            tracing::info!(file = %material.ca_file.display(), "generated a local CA for vendor-host mode");
        }
        if material.issued {
            tracing::info!("issued the vendor hosts' certificate");
        }
        let tls = tls::server_config(&material)?;
        let tcp = TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding the vendor-host listener on {}", args.listen))?;
        Ok(Self { tcp, tls, ca_file: material.ca_file })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.tcp.local_addr().expect("bound listener")
    }
}

/// The CA certificate file to trust for the database's vendor-host directory (made now, with the
/// hosts' certificate, if there is none yet), as an absolute path, and whether it was made now.
pub fn ca_path(configured: Option<&Path>, database_url: &str) -> anyhow::Result<(PathBuf, bool)> {
    let dir = dir_for(configured, database_url);
    let material = ca::ensure(&dir, &host_names())?;
    let path =
        std::path::absolute(&material.ca_file).with_context(|| format!("resolving {}", material.ca_file.display()))?;
    Ok((path, material.made_ca))
}

/// Which of openiav's APIs answers for a vendor host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// The Dwolla-compatible payments router.
    Payments,
    /// The MX-compatible aggregation router, which also serves the Connect widget.
    Aggregation,
}

/// A host name a vendor's SDK or sample app calls, and the API that answers it.
#[derive(Clone, Copy, Debug)]
pub struct VendorHost {
    pub name: &'static str,
    pub api: Api,
}

/// Every host vendor-host mode answers for; the certificate names them all.
pub const HOSTS: &[VendorHost] = &[
    VendorHost { name: "api-sandbox.dwolla.com", api: Api::Payments },
    VendorHost { name: "api.dwolla.com", api: Api::Payments },
    VendorHost { name: "int-api.mx.com", api: Api::Aggregation },
    VendorHost { name: "api.mx.com", api: Api::Aggregation },
    // The Connect widget's hosts (integration and production), as in MX's widget URLs.
    VendorHost { name: "int-widgets.moneydesktop.com", api: Api::Aggregation },
    VendorHost { name: "widgets.moneydesktop.com", api: Api::Aggregation },
];

/// The payments API's public base URL in vendor-host mode (the `sandbox` environment's host).
pub const PAYMENTS_PUBLIC_URL: &str = "https://api-sandbox.dwolla.com";

/// The aggregation side's public base URL in vendor-host mode: it is the base of widget URLs
/// and OAuth windows, which MX hands out on the integration widget host.
pub const AGGREGATION_PUBLIC_URL: &str = "https://int-widgets.moneydesktop.com";

/// The host names, in [`HOSTS`] order.
pub fn host_names() -> Vec<&'static str> {
    HOSTS.iter().map(|h| h.name).collect()
}

/// The `/etc/hosts` line that sends every vendor host to `ip`.
pub fn hosts_line(ip: &str) -> String {
    format!("{ip} {}", host_names().join(" "))
}

/// The API that answers for `host` (a Host header or a TLS server name: any case, with or
/// without a port or a trailing dot), if it is a vendor host.
pub fn api_for(host: &str) -> Option<Api> {
    let name = host_name(host);
    HOSTS.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.api)
}

/// `host` without a port and a trailing dot.
fn host_name(host: &str) -> &str {
    let host = host.trim();
    let name = match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    name.strip_suffix('.').unwrap_or(name)
}

/// Why a request on the vendor-host listener has no API to go to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Misdirected {
    /// Neither the Host header nor the TLS server name is a vendor host.
    UnknownHost,
    /// The Host header names another host than the connection's TLS server name.
    HostIsNotServerName,
}

/// The API a request goes to: the Host header's, which must be the connection's TLS server name
/// when the client sent one; the server name's when the request has no Host header.
pub fn route(server_name: Option<&str>, host: Option<&str>) -> Result<Api, Misdirected> {
    match (server_name, host) {
        (Some(sni), Some(host)) if !host_name(sni).eq_ignore_ascii_case(host_name(host)) => {
            Err(Misdirected::HostIsNotServerName)
        }
        (_, Some(name)) | (Some(name), None) => api_for(name).ok_or(Misdirected::UnknownHost),
        (None, None) => Err(Misdirected::UnknownHost),
    }
}

/// Where vendor-host mode keeps its CA and certificate: the configured directory, else the
/// SQLite file's directory, else (PostgreSQL, in-memory SQLite) the working directory.
pub fn dir_for(configured: Option<&Path>, database_url: &str) -> PathBuf {
    if let Some(dir) = configured {
        return dir.to_path_buf();
    }
    if let Some(rest) = database_url.strip_prefix("sqlite:") {
        let path = rest.trim_start_matches("//").split('?').next().unwrap_or_default();
        if !path.is_empty() && path != ":memory:" {
            if let Some(parent) = Path::new(path).parent().filter(|p| !p.as_os_str().is_empty()) {
                return parent.to_path_buf();
            }
        }
    }
    PathBuf::from(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dwolla_hosts_go_to_payments_and_mx_hosts_to_aggregation() {
        assert_eq!(api_for("api-sandbox.dwolla.com"), Some(Api::Payments));
        assert_eq!(api_for("API.Dwolla.com:443"), Some(Api::Payments));
        assert_eq!(api_for("int-api.mx.com."), Some(Api::Aggregation));
        assert_eq!(api_for("api.mx.com"), Some(Api::Aggregation));
        assert_eq!(api_for("int-widgets.moneydesktop.com"), Some(Api::Aggregation));
        assert_eq!(api_for("widgets.moneydesktop.com:8443"), Some(Api::Aggregation));
        assert_eq!(api_for("example.com"), None);
        assert_eq!(api_for("evil-api.mx.com"), None);
        assert_eq!(api_for("[::1]:443"), None);
    }

    #[test]
    fn the_host_header_must_be_the_server_name() {
        assert_eq!(route(Some("api.mx.com"), Some("api.mx.com:443")), Ok(Api::Aggregation));
        assert_eq!(route(None, Some("api-sandbox.dwolla.com")), Ok(Api::Payments));
        assert_eq!(route(Some("api-sandbox.dwolla.com"), None), Ok(Api::Payments));
        assert_eq!(route(Some("api.mx.com"), Some("api.dwolla.com")), Err(Misdirected::HostIsNotServerName));
        assert_eq!(route(None, Some("example.com")), Err(Misdirected::UnknownHost));
        assert_eq!(route(None, None), Err(Misdirected::UnknownHost));
    }

    #[test]
    fn the_directory_is_the_sqlite_files_or_the_working_directory() {
        assert_eq!(dir_for(None, "sqlite:///var/lib/openiav/data.db?mode=rwc"), PathBuf::from("/var/lib/openiav"));
        assert_eq!(dir_for(None, "sqlite://openiav.db"), PathBuf::from("."));
        assert_eq!(dir_for(None, "sqlite://data/x.db"), PathBuf::from("data"));
        assert_eq!(dir_for(None, "postgres://h/db"), PathBuf::from("."));
        assert_eq!(dir_for(Some(Path::new("/etc/openiav")), "sqlite:///x/y.db"), PathBuf::from("/etc/openiav"));
    }

    #[test]
    fn the_hosts_line_names_every_host() {
        let line = hosts_line("127.0.0.1");
        for h in HOSTS {
            assert!(line.contains(h.name));
        }
        assert!(line.starts_with("127.0.0.1 api-sandbox.dwolla.com "));
    }
}
