//! `openiav sandbox reset|snapshot|restore|fixtures` as a user runs them: the real binary against
//! a running `openiav serve`, credentials from the environment.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const MX_ID: &str = "cli-sandbox-client";
const MX_KEY: &str = "cli-sandbox-api-key-0123456789";
const DWOLLA_KEY: &str = "cli-sandbox-dwolla-key-0123456789";
const DWOLLA_SECRET: &str = "cli-sandbox-dwolla-secret-0123456789";

fn openiav() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_openiav"));
    for var in [
        "OPENIAV_DATABASE_URL",
        "OPENIAV_ENCRYPTION_KEY",
        "OPENIAV_KEY_FILE",
        "OPENIAV_LOG_FORMAT",
        "RUST_LOG",
        "OPENIAV_URL",
        "OPENIAV_MX_CLIENT_ID",
        "OPENIAV_MX_API_KEY",
        "OPENIAV_DWOLLA_KEY",
        "OPENIAV_DWOLLA_SECRET",
    ] {
        c.env_remove(var);
    }
    c
}

/// A running `openiav serve` with known sandbox credentials, and its two base URLs.
struct Server {
    child: Child,
    mx: String,
    dwolla: String,
}

impl Server {
    fn start(dir: &std::path::Path, extra: &[&str]) -> Self {
        let mut child = openiav()
            .current_dir(dir)
            .args(["serve", "--aggregation-listen", "127.0.0.1:0", "--payments-listen", "127.0.0.1:0"])
            .args(extra)
            .env("OPENIAV_SANDBOX_MX_CLIENT_ID", MX_ID)
            .env("OPENIAV_SANDBOX_MX_API_KEY", MX_KEY)
            .env("OPENIAV_SANDBOX_DWOLLA_KEY", DWOLLA_KEY)
            .env("OPENIAV_SANDBOX_DWOLLA_SECRET", DWOLLA_SECRET)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let Some(Ok(line)) = lines.next() else { break };
            if line.contains("is listening") {
                let urls: Vec<String> = line
                    .split("http://")
                    .skip(1)
                    .map(|s| format!("http://{}", s.split([',', ' ']).next().unwrap().trim()))
                    .collect();
                // Keep reading stdout so the server never blocks on a full pipe.
                std::thread::spawn(move || for _ in lines {});
                return Self { child, mx: urls[0].clone(), dwolla: urls[1].clone() };
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the server did not announce its listeners");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `openiav sandbox <args>` with MX credentials (or Dwolla ones) from the environment.
fn sandbox(url: &str, dwolla: bool, args: &[&str]) -> Output {
    let mut c = openiav();
    c.arg("sandbox").args(args).env("OPENIAV_URL", url);
    if dwolla {
        c.env("OPENIAV_DWOLLA_KEY", DWOLLA_KEY).env("OPENIAV_DWOLLA_SECRET", DWOLLA_SECRET);
    } else {
        c.env("OPENIAV_MX_CLIENT_ID", MX_ID).env("OPENIAV_MX_API_KEY", MX_KEY);
    }
    c.output().unwrap()
}

fn json_of(out: &Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

async fn user_status(http: &reqwest::Client, mx: &str, user: &str) -> u16 {
    let r = http
        .get(format!("{mx}/users/{user}"))
        .basic_auth(MX_ID, Some(MX_KEY))
        .header("accept", "application/vnd.mx.api.v1+json")
        .send()
        .await
        .unwrap();
    r.status().as_u16()
}

#[test]
fn sandbox_snapshot_reset_and_restore_verbs_drive_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let http = reqwest::Client::new();
    let user = rt.block_on(async {
        let r = http
            .post(format!("{}/users", server.mx))
            .basic_auth(MX_ID, Some(MX_KEY))
            .header("accept", "application/vnd.mx.api.v1+json")
            .json(&json!({ "user": { "id": "cli-user" } }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.unwrap()["user"]["guid"].as_str().unwrap().to_owned()
    });

    let file = dir.path().join("snap.json");
    let written = json_of(&sandbox(&server.mx, false, &["snapshot", "--out", file.to_str().unwrap()]));
    assert_eq!(written["rows"], 1, "{written}");
    let document: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(document["format"], "openiav-snapshot");
    assert_eq!(document["tables"]["users"]["rows"].as_array().unwrap().len(), 1);
    let printed = json_of(&sandbox(&server.mx, false, &["snapshot"]));
    assert_eq!(printed["tables"], document["tables"], "without --out the document is printed");

    // Reset through the payments listener with Dwolla credentials: the same tenant.
    let reset = json_of(&sandbox(&server.dwolla, true, &["reset"]));
    assert_eq!(reset["deleted"]["users"], 1, "{reset}");
    assert_eq!(rt.block_on(user_status(&http, &server.mx, &user)), 404);

    let restored = json_of(&sandbox(&server.mx, false, &["restore", file.to_str().unwrap()]));
    assert_eq!(restored["restored"]["users"], 1, "{restored}");
    assert_eq!(rt.block_on(user_status(&http, &server.mx, &user)), 200);

    // A refusal is a failing exit with the server's message.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"format":"openiav-snapshot","version":9}"#).unwrap();
    let out = sandbox(&server.mx, false, &["restore", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("400") && stderr.contains("Snapshot version 9 is not supported"), "{stderr}");
    let out = openiav().args(["sandbox", "reset"]).env("OPENIAV_URL", &server.mx).output().unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("credentials"));
}

#[test]
fn sandbox_fixtures_verb_loads_a_document_the_server_then_serves() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/sandbox-fixtures.example.json");
    let loaded = json_of(&sandbox(&server.dwolla, true, &["fixtures", example]));
    assert_eq!(loaded, json!({ "institutions": 1, "users": 2, "accounts": 3 }));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let status = rt.block_on(async {
        reqwest::Client::new()
            .get(format!("{}/institutions/acme_bank", server.mx))
            .basic_auth(MX_ID, Some(MX_KEY))
            .header("accept", "application/vnd.mx.api.v1+json")
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"institutions":[{"code":"Has Spaces","name":"x"}]}"#).unwrap();
    let out = sandbox(&server.mx, false, &["fixtures", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("institutions[0].code"), "{stderr}");
}
