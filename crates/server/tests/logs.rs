//! Request ids in JSON logs, through the real binary: every answer echoes `X-Request-Id`,
//! every log line of a request carries that id, and no credential or token reaches a line.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

const MX_CLIENT_ID: &str = "logs-test-mx-client-0001";
const MX_API_KEY: &str = "logs-test-mx-api-key-secret-0001";
const DWOLLA_KEY: &str = "logs-test-dwolla-key-0000000001";
const DWOLLA_SECRET: &str = "logs-test-dwolla-secret-000000001";

/// The request id a JSON line names in its request span, if it is a request's line.
fn request_id_of(line: &Value) -> Option<&str> {
    line["spans"].as_array()?.iter().find(|s| s["name"] == "request").and_then(|s| s["request_id"].as_str())
}

#[test]
fn every_log_line_of_a_request_carries_the_id_its_answer_echoes_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_openiav"))
        .current_dir(dir.path())
        .env_remove("OPENIAV_DATABASE_URL")
        .env("RUST_LOG", "debug,sqlx=warn,hyper=warn,hyper_util=warn,tower_http=warn,reqwest=warn,h2=warn")
        .env("OPENIAV_SANDBOX_MX_CLIENT_ID", MX_CLIENT_ID)
        .env("OPENIAV_SANDBOX_MX_API_KEY", MX_API_KEY)
        .env("OPENIAV_SANDBOX_DWOLLA_KEY", DWOLLA_KEY)
        .env("OPENIAV_SANDBOX_DWOLLA_SECRET", DWOLLA_SECRET)
        .args([
            "--log-format",
            "json",
            "serve",
            "--aggregation-listen",
            "127.0.0.1:0",
            "--payments-listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    let listening = loop {
        let line = rx.recv_timeout(Duration::from_secs(30)).expect("the server announces its listeners");
        if line.contains("is listening") {
            break line;
        }
        lines.push(line);
    };
    let addrs: Vec<String> =
        listening.split("http://").skip(1).map(|s| s.split([',', ' ']).next().unwrap().to_owned()).collect();
    let (mx, dwolla) = (format!("http://{}", addrs[0]), format!("http://{}", addrs[1]));

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let answered: Vec<String> = rt.block_on(async {
        let http = reqwest::Client::new();
        let mut ids = Vec::new();
        let mut keep = |r: &reqwest::Response| ids.push(r.headers()["x-request-id"].to_str().unwrap().to_owned());
        let r = http.get(format!("{mx}/users")).basic_auth(MX_CLIENT_ID, Some(MX_API_KEY)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        keep(&r);
        let r = http
            .get(format!("{mx}/users/USR-missing"))
            .basic_auth(MX_CLIENT_ID, Some(MX_API_KEY))
            .header("x-request-id", "caller-chosen-id-1")
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["x-request-id"], "caller-chosen-id-1", "a sane incoming id is kept");
        keep(&r);
        let r = http
            .get(format!("{mx}/users"))
            .basic_auth(MX_CLIENT_ID, Some("a-wrong-key"))
            .header("x-request-id", "not sane\tid")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert_ne!(r.headers()["x-request-id"], "not sane\tid");
        keep(&r);
        let r = http
            .post(format!("{dwolla}/token"))
            .form(&[("client_id", DWOLLA_KEY), ("client_secret", DWOLLA_SECRET), ("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        keep(&r);
        let token = r.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
        // A fault rule makes the server log within the request (which rule applied).
        let rule = serde_json::json!({ "path": "/customers", "effect": "status", "status": 503, "count": 1 });
        let r = http.post(format!("{dwolla}/_openiav/faults")).bearer_auth(&token).json(&rule).send().await.unwrap();
        assert_eq!(r.status(), 201);
        keep(&r);
        let r = http
            .get(format!("{dwolla}/customers"))
            .bearer_auth(&token)
            .header("accept", "application/vnd.dwolla.v1.hal+json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 503);
        keep(&r);
        ids.push(token);
        ids
    });
    let (ids, token) = answered.split_at(answered.len() - 1);
    let token = &token[0];

    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    reader.join().unwrap();
    lines.extend(rx.try_iter());

    let logs: Vec<Value> = lines
        .iter()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let scoped: Vec<&Value> = logs.iter().filter(|l| l["spans"].as_array().is_some_and(|s| !s.is_empty())).collect();
    for id in ids {
        assert!(
            scoped.iter().any(|l| request_id_of(l) == Some(id.as_str())),
            "no log line carries request id {id}: {lines:#?}"
        );
    }
    for line in &scoped {
        let id = request_id_of(line).unwrap_or_else(|| panic!("a request's line without its id: {line}"));
        assert!(ids.iter().any(|known| known == id), "a line names an id no answer had: {line}");
    }
    assert!(scoped.iter().any(|l| l["fields"]["message"] == "a fault rule applies to this request"), "{lines:#?}");
    // The banner of a first start prints the credentials once by design; log lines never do.
    for secret in [MX_API_KEY, DWOLLA_SECRET, token.as_str()] {
        assert!(!lines.iter().filter(|l| l.starts_with('{')).any(|l| l.contains(secret)), "a secret reached the log");
    }
}
