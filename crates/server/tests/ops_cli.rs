//! `openiav sandbox faults …` and `openiav sandbox journal` against the real binary, with the
//! server URL and credentials from the environment, as the README shows them.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const MX_CLIENT_ID: &str = "ops-cli-mx-client-0001";
const MX_API_KEY: &str = "ops-cli-mx-api-key-secret-0001";
const DWOLLA_KEY: &str = "ops-cli-dwolla-key-000000000001";
const DWOLLA_SECRET: &str = "ops-cli-dwolla-secret-0000000001";

struct Server {
    child: Child,
    mx: String,
    dwolla: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

fn openiav() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_openiav"));
    for var in [
        "OPENIAV_DATABASE_URL",
        "OPENIAV_URL",
        "OPENIAV_MX_CLIENT_ID",
        "OPENIAV_MX_API_KEY",
        "OPENIAV_DWOLLA_KEY",
        "OPENIAV_DWOLLA_SECRET",
        "RUST_LOG",
    ] {
        c.env_remove(var);
    }
    c
}

fn serve() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut child = openiav()
        .current_dir(dir.path())
        .env("OPENIAV_SANDBOX_MX_CLIENT_ID", MX_CLIENT_ID)
        .env("OPENIAV_SANDBOX_MX_API_KEY", MX_API_KEY)
        .env("OPENIAV_SANDBOX_DWOLLA_KEY", DWOLLA_KEY)
        .env("OPENIAV_SANDBOX_DWOLLA_SECRET", DWOLLA_SECRET)
        .args(["serve", "--aggregation-listen", "127.0.0.1:0", "--payments-listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    let listening = loop {
        assert!(Instant::now() < deadline, "the server did not announce its listeners");
        let line = lines.next().expect("the server's output").unwrap();
        if line.contains("is listening") {
            break line;
        }
    };
    // Keep reading so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
    let addrs: Vec<String> =
        listening.split("http://").skip(1).map(|s| s.split([',', ' ']).next().unwrap().to_owned()).collect();
    Server { child, mx: format!("http://{}", addrs[0]), dwolla: format!("http://{}", addrs[1]), _dir: dir }
}

/// Runs `openiav sandbox …` with MX credentials against the aggregation listener.
fn sandbox_mx(server: &Server, args: &[&str]) -> Output {
    openiav()
        .env("OPENIAV_URL", &server.mx)
        .env("OPENIAV_MX_CLIENT_ID", MX_CLIENT_ID)
        .env("OPENIAV_MX_API_KEY", MX_API_KEY)
        .arg("sandbox")
        .args(args)
        .output()
        .unwrap()
}

fn json_of(out: &Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn sandbox_faults_and_journal_verbs_drive_the_control_plane() {
    let server = serve();
    let added = json_of(&sandbox_mx(
        &server,
        &[
            "faults",
            "add",
            "--listener",
            "dwolla",
            "--method",
            "POST",
            "--path",
            "/token",
            "--effect",
            "status",
            "--status",
            "500",
            "--count",
            "1",
        ],
    ));
    let id = added["id"].as_str().unwrap().to_owned();
    assert_eq!((added["listener"].clone(), added["remaining"].clone()), ("dwolla".into(), 1.into()));

    // The Dwolla verbs fetch a token first: the rule fails that call once, as a client sees it.
    let dwolla = |args: &[&str]| {
        openiav()
            .env("OPENIAV_URL", &server.dwolla)
            .env("OPENIAV_DWOLLA_KEY", DWOLLA_KEY)
            .env("OPENIAV_DWOLLA_SECRET", DWOLLA_SECRET)
            .arg("sandbox")
            .args(args)
            .output()
            .unwrap()
    };
    let failed = dwolla(&["faults", "list"]);
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("500"), "{}", String::from_utf8_lossy(&failed.stderr));
    let listed = json_of(&dwolla(&["faults", "list"]));
    assert_eq!(listed["rules"][0]["applied"], 1);

    let journal = json_of(&sandbox_mx(&server, &["journal", "--limit", "2"]));
    let entries = journal["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{journal}");
    assert!(entries.iter().all(|e| e["route"] == "/token" && e["listener"] == "dwolla"), "{journal}");
    assert_eq!(entries[1]["fault"], id.as_str(), "the older token call was the faulted one");
    let only_500 = json_of(&sandbox_mx(&server, &["journal", "--status", "500"]));
    assert_eq!(only_500["total"], 1);

    let removed = json_of(&sandbox_mx(&server, &["faults", "remove", &id]));
    assert_eq!(removed["removed"], id.as_str());
    let missing = sandbox_mx(&server, &["faults", "remove", &id]);
    assert!(!missing.status.success(), "removing it twice fails");
    json_of(&sandbox_mx(&server, &["faults", "add", "--path", "/users", "--effect", "latency", "--latency-ms", "1"]));
    let cleared = json_of(&sandbox_mx(&server, &["faults", "clear"]));
    assert_eq!(cleared["removed"], 1);
    assert_eq!(json_of(&sandbox_mx(&server, &["faults", "list"]))["total"], 0);
}
