//! The `openiav` binary itself: zero-configuration serve, tenant create, migrate, SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn openiav() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_openiav"));
    for var in ["OPENIAV_DATABASE_URL", "OPENIAV_ENCRYPTION_KEY", "OPENIAV_KEY_FILE", "OPENIAV_LOG_FORMAT", "RUST_LOG"]
    {
        c.env_remove(var);
    }
    c
}

#[test]
fn migrate_then_tenant_create_prints_credentials_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/t.db", dir.path().display());
    let out = openiav().args(["--database", &db, "migrate"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = openiav().args(["--database", &db, "tenant", "create", "--name", "Acme", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["id"].is_string());
    for (k, f) in [("mx", "client_id"), ("mx", "api_key"), ("dwolla", "key"), ("dwolla", "secret")] {
        assert!(v[k][f].as_str().is_some_and(|s| s.len() >= 16), "{k}.{f}");
    }
    let bytes = std::fs::read(dir.path().join("t.db")).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains(v["mx"]["api_key"].as_str().unwrap()), "API keys are stored hashed");
}

#[test]
fn serve_with_zero_configuration_bootstraps_prints_credentials_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = openiav()
        .current_dir(dir.path())
        .args(["serve", "--aggregation-listen", "127.0.0.1:0", "--payments-listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut listening = None;
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        if line.contains("is listening") {
            listening = Some(line.clone());
            break;
        }
        printed.push(line);
    }
    let listening = listening.expect("the server announces its listeners");
    let banner = printed.join("\n");
    let api_key =
        banner.lines().find(|l| l.contains("api_key:")).and_then(|l| l.split_whitespace().last()).unwrap().to_owned();
    let client_id =
        banner.lines().find(|l| l.contains("client_id:")).and_then(|l| l.split_whitespace().last()).unwrap().to_owned();
    let addr = listening.split("http://").nth(1).unwrap().split(',').next().unwrap().trim().to_owned();
    assert!(dir.path().join("openiav.db").exists(), "the SQLite file is in the working directory");
    assert!(dir.path().join("openiav.key").exists(), "the generated key sits beside the database");

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let http = reqwest::Client::new();
        assert_eq!(http.get(format!("http://{addr}/health")).send().await.unwrap().status(), 200);
        let r = http
            .get(format!("http://{addr}/institutions/mxbank"))
            .basic_auth(&client_id, Some(&api_key))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    });

    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(exit) = child.try_wait().unwrap() {
            assert!(exit.success(), "openiav exits 0 after SIGTERM, got {exit:?}");
            break;
        }
        assert!(Instant::now() < deadline, "openiav did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }

    // A second start finds the tenant and does not print credentials again.
    let out = openiav()
        .current_dir(dir.path())
        .args(["serve", "--aggregation-listen", "127.0.0.1:0", "--payments-listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = out;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.contains("is listening"), "{first}");
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
}

#[test]
fn demo_walks_seed_000_to_a_verified_funding_source_then_a_processed_transfer_and_their_signed_webhooks() {
    let dir = tempfile::tempdir().unwrap();
    let out = openiav().current_dir(dir.path()).arg("demo").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for step in
        ["Step 1  exchange session", "Step 2  MX Connect widget", "Step 3  widget completed", "Step 4  exchange"]
    {
        assert!(stdout.contains(step), "{step} in {stdout}");
    }
    let source = stdout.lines().find(|l| l.starts_with("Step 5  funding source")).expect("step 5");
    assert!(source.contains("/funding-sources/") && source.contains("(verified, MX Bank"), "{source}");
    for topic in ["customer_funding_source_added", "customer_funding_source_verified"] {
        assert!(stdout.contains(&format!("webhook received        {topic}  (signature valid)")), "{topic} in {stdout}");
    }
    // Then $1.00 from that bank to the account's balance, processed by one simulation.
    let transfer = stdout.lines().find(|l| l.starts_with("Step 6  transfer")).expect("step 6");
    assert!(transfer.contains("/transfers/") && transfer.ends_with("to the account's balance, pending)"), "{transfer}");
    let id = transfer.split("/transfers/").nth(1).unwrap().split_whitespace().next().unwrap();
    let processed = stdout.lines().find(|l| l.starts_with("Step 7  sandbox simulation")).expect("step 7");
    assert!(processed.ends_with(&format!("transfer {id} processed")), "{processed}");
    let after: &str = stdout.split("Step 7").nth(1).unwrap();
    for topic in ["customer_transfer_completed", "transfer_completed"] {
        assert!(after.contains(&format!("webhook received        {topic}  (signature valid)")), "{topic} in {stdout}");
    }
    assert!(!stdout.contains("INVALID"), "{stdout}");
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "the demo leaves no files behind");
}

#[test]
fn tenant_settings_change_redirect_urls_and_open_banking() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/t.db", dir.path().display());
    let out = openiav().args(["--database", &db, "tenant", "create", "--name", "Acme", "--json"]).output().unwrap();
    let id = serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["id"].as_str().unwrap().to_owned();
    let args = ["--database", &db, "tenant", "settings", "--id", &id, "--redirect-url", "https://a.example/cb"];
    let out = openiav()
        .args(args)
        .args(["--redirect-url", "https://b.example/cb", "--open-banking", "false"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains("open banking: false; redirect URLs: https://a.example/cb, https://b.example/cb"),
        "{printed}"
    );
    let unknown = [
        "--database",
        &db,
        "tenant",
        "settings",
        "--id",
        "00000000-0000-4000-8000-000000000000",
        "--open-banking",
        "true",
    ];
    assert!(!openiav().args(unknown).output().unwrap().status.success(), "an unknown tenant is refused");
}

#[test]
fn tenant_settings_configure_mx_webhooks_without_showing_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/t.db", dir.path().display());
    let out = openiav().args(["--database", &db, "tenant", "create", "--name", "Acme", "--json"]).output().unwrap();
    let id = serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["id"].as_str().unwrap().to_owned();
    let settings = |extra: &[&str]| {
        openiav().args(["--database", &db, "tenant", "settings", "--id", &id]).args(extra).output().unwrap()
    };
    let password = "cli-pw-0b7e4d2a-secret";
    let out = settings(&["--mx-webhook-url", "https://hooks.example/all"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let basic = format!("hooks:{password}");
    let out = settings(&[
        "--mx-webhook-url",
        "https://hooks.example/members",
        "--mx-webhook-type",
        "MEMBER",
        "--mx-webhook-basic-auth",
        &basic,
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        printed.contains("MX webhooks: ALL -> https://hooks.example/all; MEMBER -> https://hooks.example/members (basic auth user hooks)"),
        "{printed}"
    );
    assert!(!printed.contains(password), "the password is never printed");
    let bytes = std::fs::read(dir.path().join("t.db")).unwrap();
    assert!(!String::from_utf8_lossy(&bytes).contains(password), "the password is stored encrypted");

    // An empty URL removes one; --clear-mx-webhooks removes them all.
    let out = settings(&["--mx-webhook-url", "", "--mx-webhook-type", "MEMBER"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("MX webhooks: ALL -> https://hooks.example/all\n"));
    let out = settings(&["--clear-mx-webhooks"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("MX webhooks: none"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // Refused: an unknown type, a URL that is not http(s), credentials without a colon.
    for bad in [
        &["--mx-webhook-url", "https://hooks.example/x", "--mx-webhook-type", "NOPE"][..],
        &["--mx-webhook-url", "ftp://hooks.example/x"],
        &["--mx-webhook-url", "https://hooks.example/x", "--mx-webhook-basic-auth", "nocolon"],
    ] {
        let out = settings(bad);
        assert!(!out.status.success(), "{bad:?} should be refused");
    }
}

/// Starts `serve` with `extra` arguments and its stdout on a pipe, collects stdout until the
/// server logs that it is serving, then stops it with SIGTERM.
fn serve_output(extra: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut child = openiav()
        .current_dir(dir.path())
        .args(extra)
        .args(["serve", "--aggregation-listen", "127.0.0.1:0", "--payments-listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        let serving = line.contains("openiav is serving");
        printed.push(line);
        if serving {
            break;
        }
    }
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    printed.extend(lines.map_while(Result::ok));
    let _ = child.wait();
    assert!(printed.iter().any(|l| l.contains("openiav is serving")), "{printed:#?}");
    printed
}

#[test]
fn logs_on_a_pipe_carry_no_colour_escapes() {
    let printed = serve_output(&[]);
    for line in &printed {
        assert!(!line.contains("\x1b["), "an ANSI escape in piped output: {line:?}");
    }
}

#[test]
fn json_log_format_writes_one_object_a_line() {
    let printed = serve_output(&["--log-format", "json"]);
    let logs: Vec<serde_json::Value> = printed
        .iter()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(logs.iter().all(|v| v.is_object() && v["level"].is_string()), "{logs:#?}");
    assert!(logs.iter().any(|v| v["fields"]["message"] == "openiav is serving"), "{printed:#?}");
    assert!(logs.iter().any(|v| v["fields"]["message"] == "openiav stopped cleanly"), "{printed:#?}");
    // Everything else on stdout is the banner the binary prints itself.
    for line in printed.iter().filter(|l| !l.starts_with('{')) {
        assert!(!line.contains("INFO") && !line.contains("WARN"), "a text log line in JSON mode: {line}");
    }
}
