//! `TestApp`: a real openiav on ephemeral ports with a fresh database, and a client per tenant.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use openiav_core::clock::SystemClock;
use openiav_core::crypto::MasterKey;
use openiav_server::app::App;
use openiav_server::bootstrap::{self, IssuedTenant, PresetCredentials};
use openiav_server::config::ServeArgs;
use openiav_store::testing;
use openiav_store::Store;
use serde_json::{json, Value};

/// Everything the server logged during this test binary's run (TRACE level), so tests can
/// prove no secret reaches a log line.
pub fn captured_logs() -> String {
    let buf = LOGS.get().map(|b| b.lock().unwrap().clone()).unwrap_or_default();
    String::from_utf8_lossy(&buf).into_owned()
}

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn init_logging() {
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(buf.clone());
        let _ = tracing_subscriber::fmt()
            .with_env_filter("trace,hyper=info,h2=info,reqwest=info,sqlx=trace")
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .try_init();
        buf
    });
}

/// Options for a test server.
#[derive(Clone)]
pub struct Options {
    pub challenge_timeout_ms: u64,
    pub sandbox_delay_ms: u64,
    /// Offer Visa as an exchange partner (`ServeArgs::visa_partner`).
    pub visa_partner: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self { challenge_timeout_ms: 600_000, sandbox_delay_ms: 0, visa_partner: false }
    }
}

pub struct TestApp {
    pub base: String,
    pub payments_base: String,
    pub sandbox: IssuedTenant,
    pub store: Store,
    pub database_url: String,
    pub key: MasterKey,
    pub dir: Arc<tempfile::TempDir>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(Options::default()).await
    }

    pub async fn spawn_with(opts: Options) -> Self {
        init_logging();
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let database_url = match testing::postgres_test_url() {
            Some(admin) => testing::scratch_postgres_url(&admin).await.unwrap(),
            None => testing::scratch_sqlite_url(dir.path()).await,
        };
        Self::start(database_url, MasterKey::generate(), dir, opts, None).await
    }

    /// Like [`TestApp::spawn`], with the server reading the time from `clock` (a
    /// `ManualClock` lets a test move time on). A restart goes back to the system clock.
    pub async fn spawn_with_clock(clock: Arc<dyn openiav_core::clock::Clock>) -> Self {
        init_logging();
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let database_url = match testing::postgres_test_url() {
            Some(admin) => testing::scratch_postgres_url(&admin).await.unwrap(),
            None => testing::scratch_sqlite_url(dir.path()).await,
        };
        let opts = Options::default();
        let mut args = ServeArgs::ephemeral();
        args.challenge_timeout_ms = opts.challenge_timeout_ms;
        args.sandbox_delay_ms = opts.sandbox_delay_ms;
        let key = MasterKey::generate();
        let app = App::build(&database_url, &key, args, clock).await.unwrap();
        let base = format!("http://{}", app.aggregation_addr());
        let payments_base = format!("http://{}", app.payments_addr());
        let store = app.store();
        let sandbox = app.sandbox.clone().expect("sandbox credentials");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async move {
            let _ = rx.await;
        }));
        Self { base, payments_base, sandbox, store, database_url, key, dir, stop: Some(tx), server: Some(server) }
    }

    /// Like [`TestApp::spawn`], with `configure` applied to the serve arguments first (e.g. a
    /// webhook allowlist). A restart goes back to the default arguments.
    pub async fn spawn_with_args(configure: impl FnOnce(&mut ServeArgs)) -> Self {
        init_logging();
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let database_url = match testing::postgres_test_url() {
            Some(admin) => testing::scratch_postgres_url(&admin).await.unwrap(),
            None => testing::scratch_sqlite_url(dir.path()).await,
        };
        Self::spawn_on(database_url, dir, configure).await
    }

    /// Like [`TestApp::spawn_with_args`], on a database the test chose (e.g. through a proxy).
    pub async fn spawn_on_database(database_url: String, configure: impl FnOnce(&mut ServeArgs)) -> Self {
        init_logging();
        let dir = Arc::new(tempfile::tempdir().unwrap());
        Self::spawn_on(database_url, dir, configure).await
    }

    async fn spawn_on(
        database_url: String,
        dir: Arc<tempfile::TempDir>,
        configure: impl FnOnce(&mut ServeArgs),
    ) -> Self {
        let mut args = ServeArgs::ephemeral();
        configure(&mut args);
        let key = MasterKey::generate();
        let app = App::build(&database_url, &key, args, Arc::new(SystemClock)).await.unwrap();
        let base = format!("http://{}", app.aggregation_addr());
        let payments_base = format!("http://{}", app.payments_addr());
        let store = app.store();
        let sandbox = app.sandbox.clone().expect("sandbox credentials");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async move {
            let _ = rx.await;
        }));
        Self { base, payments_base, sandbox, store, database_url, key, dir, stop: Some(tx), server: Some(server) }
    }

    /// Starts a server; `sandbox` carries the credentials when the database already has them.
    async fn start(
        database_url: String,
        key: MasterKey,
        dir: Arc<tempfile::TempDir>,
        opts: Options,
        sandbox: Option<IssuedTenant>,
    ) -> Self {
        let mut args = ServeArgs::ephemeral();
        args.challenge_timeout_ms = opts.challenge_timeout_ms;
        args.sandbox_delay_ms = opts.sandbox_delay_ms;
        args.visa_partner = opts.visa_partner;
        let app = App::build(&database_url, &key, args, Arc::new(SystemClock)).await.unwrap();
        let base = format!("http://{}", app.aggregation_addr());
        let payments_base = format!("http://{}", app.payments_addr());
        let store = app.store();
        let sandbox = app.sandbox.clone().or(sandbox).expect("sandbox credentials");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async move {
            let _ = rx.await;
        }));
        Self { base, payments_base, sandbox, store, database_url, key, dir, stop: Some(tx), server: Some(server) }
    }

    /// Stops this server gracefully and starts a new one on the same database and key.
    pub async fn restart(mut self, opts: Options) -> Self {
        let result = self.stop().await;
        assert!(result.is_ok(), "server stopped with {result:?}");
        let sandbox = self.sandbox.clone();
        Self::start(self.database_url.clone(), self.key.clone(), self.dir.clone(), opts, Some(sandbox)).await
    }

    /// Stops the server gracefully and returns how it ended.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match self.server.take() {
            Some(h) => tokio::time::timeout(Duration::from_secs(10), h).await.expect("server stops in time").unwrap(),
            None => Ok(()),
        }
    }

    /// A client for the sandbox tenant.
    pub fn client(&self) -> Client {
        Client::new(&self.base, &self.sandbox.mx.client_id, &self.sandbox.mx.api_key)
    }

    /// A second tenant on the same server.
    pub async fn other_tenant(&self) -> Client {
        let t = bootstrap::create_tenant(&self.store, &SystemClock, "Other", false, PresetCredentials::default())
            .await
            .unwrap();
        Client::new(&self.base, &t.mx.client_id, &t.mx.api_key)
    }

    /// A second tenant on the same server, with all its credentials (MX and Dwolla).
    pub async fn other_tenant_credentials(&self) -> IssuedTenant {
        bootstrap::create_tenant(&self.store, &SystemClock, "Other", false, PresetCredentials::default()).await.unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// A response: status, content type and JSON body (Null when empty or not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub content_type: String,
    pub text: String,
    pub body: Value,
}

impl Resp {
    pub fn error_message(&self) -> String {
        self.body["error"]["message"].as_str().unwrap_or_default().to_owned()
    }
}

/// An HTTP client authenticated as one tenant.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    http: reqwest::Client,
    user: String,
    pass: String,
    pub accept: Option<&'static str>,
    pub accept_version: Option<&'static str>,
}

impl Client {
    pub fn new(base: &str, user: &str, pass: &str) -> Self {
        Self {
            base: base.to_owned(),
            http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
            user: user.to_owned(),
            pass: pass.to_owned(),
            accept: Some("application/vnd.mx.api.v1+json"),
            accept_version: None,
        }
    }

    /// The same tenant speaking v20250224.
    pub fn v2025(&self) -> Self {
        Self { accept: Some("application/json"), accept_version: Some("v20250224"), ..self.clone() }
    }

    pub fn with_credentials(&self, user: &str, pass: &str) -> Self {
        Self { user: user.to_owned(), pass: pass.to_owned(), ..self.clone() }
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Resp {
        let mut req =
            self.http.request(method, format!("{}{}", self.base, path)).basic_auth(&self.user, Some(&self.pass));
        if let Some(a) = self.accept {
            req = req.header("accept", a);
        }
        if let Some(v) = self.accept_version {
            req = req.header("accept-version", v);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let content_type =
            resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp { status, content_type, text, body }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(reqwest::Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }
    pub async fn post_empty(&self, path: &str) -> Resp {
        self.send(reqwest::Method::POST, path, None).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    // ---- flows -------------------------------------------------------------------------

    pub async fn create_user(&self) -> String {
        let r = self.post("/users", json!({ "user": {} })).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["user"]["guid"].as_str().unwrap().to_owned()
    }

    /// The credential guids of an institution, by field type.
    pub async fn credential_guids(&self, code: &str) -> (String, String) {
        let r = self.get(&format!("/institutions/{code}/credentials")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let creds = r.body["credentials"].as_array().unwrap();
        let guid = |t: &str| creds.iter().find(|c| c["field_type"] == t).unwrap()["guid"].as_str().unwrap().to_owned();
        (guid("LOGIN"), guid("PASSWORD"))
    }

    /// Creates an MX Bank member; returns the whole response.
    pub async fn create_member(&self, user: &str, username: &str, password: &str, skip_aggregation: bool) -> Resp {
        let (login, pass) = self.credential_guids("mxbank").await;
        self.post(
            &format!("/users/{user}/members"),
            json!({ "member": {
                "institution_code": "mxbank",
                "skip_aggregation": skip_aggregation,
                "credentials": [{ "guid": login, "value": username }, { "guid": pass, "value": password }]
            }}),
        )
        .await
    }

    pub async fn member_guid(&self, user: &str, username: &str, password: &str, skip: bool) -> String {
        let r = self.create_member(user, username, password, skip).await;
        assert!(r.status == 200 || r.status == 202, "{}", r.text);
        r.body["member"]["guid"].as_str().unwrap().to_owned()
    }

    pub async fn status(&self, user: &str, member: &str) -> Value {
        let r = self.get(&format!("/users/{user}/members/{member}/status")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["member"].clone()
    }

    /// Polls status until the job is finished or waits for a challenge answer.
    pub async fn settle(&self, user: &str, member: &str) -> Value {
        for _ in 0..400 {
            let s = self.status(user, member).await;
            if s["is_being_aggregated"] == false || s["connection_status"] == "CHALLENGED" {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("member {member} never settled");
    }

    pub async fn resume(&self, user: &str, member: &str, challenge: &str, value: &str) -> Resp {
        self.put(
            &format!("/users/{user}/members/{member}/resume"),
            json!({ "member": { "challenges": [{ "guid": challenge, "value": value }] } }),
        )
        .await
    }

    pub async fn read_member(&self, user: &str, member: &str) -> Value {
        let r = self.get(&format!("/users/{user}/members/{member}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["member"].clone()
    }
}

/// The ABA check-digit rule.
pub fn aba_valid(r: &str) -> bool {
    let d: Vec<u32> = r.chars().filter_map(|c| c.to_digit(10)).collect();
    d.len() == 9 && r.len() == 9 && d.iter().zip([3, 7, 1, 3, 7, 1, 3, 7, 1]).map(|(a, b)| a * b).sum::<u32>() % 10 == 0
}
