//! Vendor-host mode over real TLS: the CA and certificate made once and reused, every vendor host
//! reached by its own name (reqwest's `resolve()` override, the generated CA as the only root),
//! each routed to its API, with the vendors' own hosts in the URLs handed out.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use openiav_core::clock::SystemClock;
use openiav_core::crypto::MasterKey;
use openiav_server::app::App;
use openiav_server::bootstrap::IssuedTenant;
use openiav_server::config::ServeArgs;
use openiav_server::vendor_hosts::{self, ca};
use openiav_store::testing;
use serde_json::{json, Value};

const HAL: &str = "application/vnd.dwolla.v1.hal+json";
const MX_ACCEPT: &str = "application/vnd.mx.api.v1+json";

/// A server in vendor-host mode on ephemeral ports.
struct VendorApp {
    tls: SocketAddr,
    payments_plain: SocketAddr,
    ca_file: PathBuf,
    sandbox: Option<IssuedTenant>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl VendorApp {
    async fn start(database_url: &str, key: &MasterKey, dir: &Path) -> Self {
        Self::start_with(database_url, key, dir, |_| {}).await
    }

    async fn start_with(
        database_url: &str,
        key: &MasterKey,
        dir: &Path,
        configure: impl FnOnce(&mut ServeArgs),
    ) -> Self {
        let mut args = ServeArgs::ephemeral();
        configure(&mut args);
        args.vendor_hosts.enabled = true;
        args.vendor_hosts.listen = "127.0.0.1:0".parse().unwrap();
        args.vendor_hosts.dir = Some(dir.to_path_buf());
        let app = App::build(database_url, key, args, Arc::new(SystemClock)).await.unwrap();
        let tls = app.vendor_hosts_addr().expect("vendor-host mode binds its listener");
        let ca_file = app.vendor_hosts_ca_file().expect("vendor-host mode names its CA").to_path_buf();
        let payments_plain = app.payments_addr();
        let sandbox = app.sandbox.clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async move {
            let _ = rx.await;
        }));
        Self { tls, payments_plain, ca_file, sandbox, stop: Some(tx), server: Some(server) }
    }

    async fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.server.take() {
            let ended = tokio::time::timeout(Duration::from_secs(10), h).await.expect("server stops in time").unwrap();
            assert!(ended.is_ok(), "server stopped with {ended:?}");
        }
    }
}

impl Drop for VendorApp {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

async fn database_url(dir: &Path) -> String {
    match testing::postgres_test_url() {
        Some(admin) => testing::scratch_postgres_url(&admin).await.unwrap(),
        None => testing::scratch_sqlite_url(dir).await,
    }
}

/// A client that resolves every vendor host (and `extra`) to `tls` and trusts only `ca_pem`.
fn client_for(tls: SocketAddr, ca_pem: &[u8], extra: &[&str]) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20));
    for host in vendor_hosts::host_names().into_iter().chain(extra.iter().copied()) {
        b = b.resolve(host, tls);
    }
    b.build().unwrap()
}

async fn json_of(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// A Dwolla access token from `host`'s `/token`.
async fn dwolla_token(http: &reqwest::Client, host: &str, tenant: &IssuedTenant) -> String {
    let r = http
        .post(format!("https://{host}/token"))
        .basic_auth(&tenant.dwolla.key, Some(&tenant.dwolla.secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(r).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn each_vendor_host_reaches_its_api_over_tls_and_urls_name_the_vendors_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let db = database_url(dir.path()).await;
    let mut app = VendorApp::start(&db, &MasterKey::generate(), &dir.path().join("vendor-hosts")).await;
    let tenant = app.sandbox.clone().unwrap();
    let http = client_for(app.tls, &std::fs::read(&app.ca_file).unwrap(), &["example.com"]);

    // Dwolla's hosts: the payments API, with HAL links on the sandbox host.
    let token = dwolla_token(&http, "api-sandbox.dwolla.com", &tenant).await;
    let dwolla =
        |method: reqwest::Method, url: &str| http.request(method, url).bearer_auth(&token).header("accept", HAL);
    let (status, root) =
        json_of(dwolla(reqwest::Method::GET, "https://api-sandbox.dwolla.com/").send().await.unwrap()).await;
    assert_eq!(status, 200, "{root}");
    let links = root["_links"].as_object().expect("the root lists links");
    assert!(!links.is_empty());
    for (rel, link) in links {
        let href = link["href"].as_str().unwrap();
        assert!(href.starts_with("https://api-sandbox.dwolla.com/"), "{rel}: {href}");
    }
    assert!(!dwolla_token(&http, "api.dwolla.com", &tenant).await.is_empty(), "api.dwolla.com is Dwolla too");

    // A customer's exchange session with MX hands out a widget URL on MX's widget host.
    let r = dwolla(reqwest::Method::POST, "https://api-sandbox.dwolla.com/customers")
        .header("content-type", "application/json")
        .body(json!({ "firstName": "Jane", "lastName": "Doe", "email": "vendor-hosts@example.com" }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let customer = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(customer.starts_with("https://api-sandbox.dwolla.com/customers/"), "{customer}");
    let (_, partners) =
        json_of(dwolla(reqwest::Method::GET, "https://api-sandbox.dwolla.com/exchange-partners").send().await.unwrap())
            .await;
    let mx = partners["_embedded"]["exchange-partners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "MX")
        .expect("MX is a partner")["_links"]["self"]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(mx.starts_with("https://api-sandbox.dwolla.com/exchange-partners/"), "{mx}");
    let r = dwolla(reqwest::Method::POST, &format!("{customer}/exchange-sessions"))
        .header("content-type", "application/json")
        .body(json!({ "_links": { "exchange-partner": { "href": mx } } }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let session = r.headers()["location"].to_str().unwrap().to_owned();
    let (_, session) = json_of(dwolla(reqwest::Method::GET, &session).send().await.unwrap()).await;
    let widget = session["_links"]["external-provider-session"]["href"].as_str().unwrap().to_owned();
    assert!(widget.starts_with("https://int-widgets.moneydesktop.com/md/connect/"), "{widget}");

    // MX's hosts: the aggregation API; its widget URLs are on the widget host, which serves them.
    let mx_get = |url: &str| {
        http.get(url).basic_auth(&tenant.mx.client_id, Some(&tenant.mx.api_key)).header("accept", MX_ACCEPT)
    };
    for host in ["int-api.mx.com", "api.mx.com"] {
        let (status, body) =
            json_of(mx_get(&format!("https://{host}/institutions/mxbank")).send().await.unwrap()).await;
        assert_eq!(status, 200, "{host}: {body}");
        assert_eq!(body["institution"]["code"], "mxbank");
    }
    let r = http
        .post("https://int-api.mx.com/users")
        .basic_auth(&tenant.mx.client_id, Some(&tenant.mx.api_key))
        .header("accept", MX_ACCEPT)
        .json(&json!({ "user": { "id": "vendor-hosts-user" } }))
        .send()
        .await
        .unwrap();
    let (status, user) = json_of(r).await;
    assert_eq!(status, 200, "{user}");
    let user = user["user"]["guid"].as_str().unwrap();
    let r = http
        .post(format!("https://int-api.mx.com/users/{user}/widget_urls"))
        .basic_auth(&tenant.mx.client_id, Some(&tenant.mx.api_key))
        .header("accept", MX_ACCEPT)
        .json(&json!({ "widget_url": { "widget_type": "connect_widget" } }))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(r).await;
    assert_eq!(status, 200, "{body}");
    let url = body["widget_url"]["url"].as_str().unwrap();
    assert!(url.starts_with("https://int-widgets.moneydesktop.com/md/connect/"), "{url}");
    for url in [url, widget.as_str()] {
        let page = http.get(url).send().await.unwrap();
        assert_eq!(page.status(), 200, "{url}");
        assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    }

    // Each host reaches only its own API: Dwolla's routes are not MX's.
    let r = http.get("https://int-api.mx.com/exchange-partners").bearer_auth(&token).send().await.unwrap();
    let (status, body) = json_of(r).await;
    assert_eq!(status, 404, "{body}");
    // A Host header that is not the connection's server name is misdirected.
    let r = http.get("https://api.mx.com/health").header("host", "api-sandbox.dwolla.com").send().await.unwrap();
    assert_eq!(r.status(), 421);
    // Another name gets no certificate at all.
    let refused = http.get("https://example.com/health").send().await;
    assert!(refused.is_err(), "no handshake for a host openiav does not stand in for: {refused:?}");

    // The dashboard over TLS sets only Secure cookies; over a plain listener, not (the browser
    // would refuse them on plain http to another host).
    let cookies = |r: &reqwest::Response| -> Vec<String> {
        r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect()
    };
    let login = http.get("https://int-api.mx.com/_openiav/dashboard/login").send().await.unwrap();
    assert_eq!(login.status(), 200);
    let over_tls = cookies(&login);
    assert!(!over_tls.is_empty());
    for c in &over_tls {
        assert!(
            c.starts_with("openiav_dashboard_login=")
                && c.ends_with("; HttpOnly; SameSite=Strict; Path=/_openiav/dashboard; Max-Age=3600; Secure"),
            "{c}"
        );
    }

    // The plain listeners keep working, with the vendor's host in their links too.
    let r = reqwest::get(format!("http://{}/health", app.payments_plain)).await.unwrap();
    assert_eq!(r.status(), 200);
    let plain = reqwest::get(format!("http://{}/_openiav/dashboard/login", app.payments_plain)).await.unwrap();
    assert_eq!(plain.status(), 200);
    assert!(cookies(&plain).iter().all(|c| !c.contains("Secure")), "{:?}", cookies(&plain));
    assert_eq!(cookies(&plain).len(), over_tls.len());
    app.stop().await;
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn the_ca_and_certificate_are_made_once_and_reused_on_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = database_url(dir.path()).await;
    let key = MasterKey::generate();
    let vh = dir.path().join("vh");
    let mut first = VendorApp::start(&db, &key, &vh).await;
    assert_eq!(first.ca_file, vh.join(ca::CA_FILE));
    let ca_pem = std::fs::read(&first.ca_file).unwrap();
    let hosts_bundle = std::fs::read(vh.join(ca::HOSTS_KEY_FILE)).unwrap();
    let ca_bundle = std::fs::read(vh.join(ca::CA_KEY_FILE)).unwrap();
    #[cfg(unix)]
    {
        assert_eq!(mode(&vh.join(ca::CA_KEY_FILE)), 0o600, "the CA key is its owner's only");
        assert_eq!(mode(&vh.join(ca::HOSTS_KEY_FILE)), 0o600, "the hosts' key is its owner's only");
        assert_eq!(mode(&first.ca_file), 0o644, "the CA certificate is public");
    }
    let text = String::from_utf8(ca_pem.clone()).unwrap();
    assert!(text.starts_with("-----BEGIN CERTIFICATE-----") && !text.contains("PRIVATE KEY"), "{text}");
    first.stop().await;

    let mut second = VendorApp::start(&db, &key, &vh).await;
    assert_eq!(std::fs::read(&second.ca_file).unwrap(), ca_pem, "the same CA after a restart");
    assert_eq!(std::fs::read(vh.join(ca::CA_KEY_FILE)).unwrap(), ca_bundle);
    assert_eq!(std::fs::read(vh.join(ca::HOSTS_KEY_FILE)).unwrap(), hosts_bundle, "the certificate is reused");

    // The CA a client trusted before the restart still works, for every host (the SANs).
    let http = client_for(second.tls, &ca_pem, &[]);
    for host in vendor_hosts::host_names() {
        let r = http.get(format!("https://{host}/health")).send().await.unwrap_or_else(|e| panic!("{host}: {e:?}"));
        assert_eq!(r.status(), 200, "{host}");
    }
    second.stop().await;
}

#[tokio::test]
async fn ca_path_prints_the_ca_file_without_a_server_and_the_server_reuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_openiav"))
            .env_remove("OPENIAV_DATABASE_URL")
            .env_remove("OPENIAV_VENDOR_HOSTS_DIR")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    };
    // Beside the SQLite file by default, without opening the database.
    let sqlite = format!("sqlite://{}/data/x.db", dir.path().display());
    let printed = run(&["--database", &sqlite, "ca", "path"]);
    assert_eq!(printed, dir.path().join("data").join(ca::CA_FILE));
    assert!(printed.is_file());
    assert!(!dir.path().join("data/x.db").exists());
    // In the named directory; a second call prints the same unchanged file.
    let vh = dir.path().join("vh");
    let printed = run(&["ca", "path", "--vendor-hosts-dir", vh.to_str().unwrap()]);
    assert_eq!(printed, vh.join(ca::CA_FILE));
    let pem = std::fs::read(&printed).unwrap();
    assert_eq!(run(&["ca", "path", "--vendor-hosts-dir", vh.to_str().unwrap()]), printed);
    assert_eq!(std::fs::read(&printed).unwrap(), pem);

    let db = database_url(dir.path()).await;
    let mut app = VendorApp::start(&db, &MasterKey::generate(), &vh).await;
    assert_eq!(std::fs::read(&app.ca_file).unwrap(), pem, "serve uses the CA that ca path made");
    let http = client_for(app.tls, &pem, &[]);
    let r = http.get("https://int-api.mx.com/health").send().await.unwrap();
    assert_eq!(r.status(), 200);
    app.stop().await;
}

/// Reads until the server closes the connection; the timeout only turns a hang into a failure.
async fn closed_by_server<S: tokio::io::AsyncRead + Unpin>(stream: &mut S, what: &str) {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server kept the {what} connection open");
}

#[tokio::test]
async fn the_tls_listener_has_the_plain_listeners_edge() {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::{self, pki_types::ServerName};
    let dir = tempfile::tempdir().unwrap();
    let db = database_url(dir.path()).await;
    let mut app = VendorApp::start_with(&db, &MasterKey::generate(), &dir.path().join("vh"), |a| {
        a.header_read_timeout_ms = 300;
        a.idle_timeout_ms = 300;
    })
    .await;
    let ca_pem = std::fs::read(&app.ca_file).unwrap();

    // A socket that never starts its handshake, and one that never sends a request after it.
    let mut silent = tokio::net::TcpStream::connect(app.tls).await.unwrap();
    closed_by_server(&mut silent, "silent").await;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(rustls::pki_types::CertificateDer::from_pem_slice(&ca_pem).unwrap()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(app.tls).await.unwrap();
    let mut tls = connector.connect(ServerName::try_from("api.mx.com").unwrap(), tcp).await.unwrap();
    closed_by_server(&mut tls, "handshaken but silent").await;

    // A NUL is refused in each host's vendor envelope.
    let http = client_for(app.tls, &ca_pem, &[]);
    let r = http.get("https://api-sandbox.dwolla.com/customers/%00").send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with(HAL), "Dwolla's envelope");
    let (status, body) = json_of(http.get("https://int-api.mx.com/users/%00").send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"].is_string(), "MX's envelope: {body}");
    app.stop().await;
}
