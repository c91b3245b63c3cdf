//! Statements: the fetch_statements job, listing and reading statements in both API versions,
//! and downloading one as a real PDF whose text tells the account's month.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use openiav_core::clock::{ManualClock, Timestamp};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::{Client, Options, TestApp};

/// A PDF download as it went over the wire.
struct Download {
    status: u16,
    content_type: String,
    bytes: Vec<u8>,
}

async fn download(base: &str, client_id: &str, api_key: &str, path: &str, headers: &[(&str, &str)]) -> Download {
    let mut req = reqwest::Client::new().get(format!("{base}{path}")).basic_auth(client_id, Some(api_key));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    Download { status, content_type, bytes: resp.bytes().await.unwrap().to_vec() }
}

async fn pdf(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Download {
    download(&app.base, &app.sandbox.mx.client_id, &app.sandbox.mx.api_key, path, headers).await
}

/// The text of every page of a PDF.
fn pdf_text(bytes: &[u8]) -> String {
    let doc = lopdf::Document::load_mem(bytes).expect("a PDF lopdf can read");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    assert!(!pages.is_empty());
    doc.extract_text(&pages).expect("extractable text")
}

/// The line after `label` in extracted text (each text run is its own line).
fn value_after(text: &str, label: &str) -> String {
    let mut lines = text.lines().map(str::trim);
    lines.find(|l| *l == label).unwrap_or_else(|| panic!("{label} missing from {text}"));
    lines.next().unwrap_or_else(|| panic!("nothing after {label}")).to_owned()
}

/// `$1,234.56` / `-$12.00` as cents.
fn cents(money: &str) -> i64 {
    let negative = money.starts_with('-');
    let digits: String = money.chars().filter(char::is_ascii_digit).collect();
    let n: i64 = digits.parse().unwrap_or_else(|_| panic!("not money: {money}"));
    if negative {
        -n
    } else {
        n
    }
}

/// A connected MX Bank member (aggregated, so its transactions show).
async fn connected_member(c: &Client, user: &str) -> String {
    let guid = c.member_guid(user, "mxuser", "password", false).await;
    assert_eq!(c.settle(user, &guid).await["connection_status"], "CONNECTED");
    guid
}

/// Fetches the member's statements and waits for the job to finish.
async fn fetch(c: &Client, user: &str, member: &str) -> Value {
    let r = c.post_empty(&format!("/users/{user}/members/{member}/fetch_statements")).await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body["member"]["guid"], member);
    assert_eq!(r.body["member"]["is_being_aggregated"], true);
    let s = c.settle(user, member).await;
    assert_eq!(s["connection_status"], "CONNECTED", "{s}");
    s
}

async fn all_statements(c: &Client, user: &str, member: &str) -> Vec<Value> {
    let r = c.get(&format!("/users/{user}/members/{member}/statements?records_per_page=1000")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["statements"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_fetch_makes_twelve_monthly_statements_per_deposit_account() {
    // 2026-03-15T12:00:00Z: the statements are March 2025 to February 2026.
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_773_576_000_000)));
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let c = app.client();
    let user = c.create_user().await;
    let member = connected_member(&c, &user).await;
    assert!(all_statements(&c, &user, &member).await.is_empty(), "none before a fetch");
    fetch(&c, &user, &member).await;

    let accounts = c.get(&format!("/users/{user}/members/{member}/accounts")).await.body["accounts"].clone();
    let deposit: HashSet<String> = accounts
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["type"] == "CHECKING" || a["type"] == "SAVINGS")
        .map(|a| a["guid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(deposit.len(), 2, "{accounts}");
    assert_eq!(accounts.as_array().unwrap().len(), 4, "the credit card and the brokerage account have none");

    let r = c.get(&format!("/users/{user}/members/{member}/statements")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.content_type, "application/vnd.mx.api.v1+json");
    assert_eq!(
        r.body["pagination"],
        json!({ "current_page": 1, "per_page": 25, "total_entries": 24, "total_pages": 1 })
    );
    let statements = r.body["statements"].as_array().unwrap();
    let mut per_account: HashMap<&str, Vec<&str>> = HashMap::new();
    for s in statements {
        let guid = s["guid"].as_str().unwrap();
        assert!(guid.starts_with("STA-"), "{s}");
        assert_eq!(s["user_guid"], user.as_str());
        assert_eq!(s["member_guid"], member.as_str());
        assert_eq!(s["uri"], format!("/users/{user}/members/{member}/statements/{guid}.pdf"));
        let hash = s["content_hash"].as_str().unwrap();
        assert!(hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()), "{s}");
        assert!(s["created_at"].as_str().unwrap().ends_with('Z'));
        assert_eq!(s["created_at"], s["updated_at"]);
        let keys: Vec<&str> = s.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["account_guid", "content_hash", "created_at", "guid", "member_guid", "updated_at", "uri", "user_guid"]
        );
        per_account.entry(s["account_guid"].as_str().unwrap()).or_default().push(guid);
    }
    assert_eq!(per_account.keys().map(|k| k.to_string()).collect::<HashSet<_>>(), deposit);
    assert!(per_account.values().all(|v| v.len() == 12), "{per_account:?}");
    assert_eq!(statements.iter().map(|s| &s["guid"]).collect::<HashSet<_>>().len(), 24, "unique guids");

    // Pagination as on every MX list.
    let page = |n: i64| format!("/users/{user}/members/{member}/statements?page={n}&records_per_page=10");
    let (p1, p3, p4) = (c.get(&page(1)).await, c.get(&page(3)).await, c.get(&page(4)).await);
    assert_eq!(
        p1.body["pagination"],
        json!({ "current_page": 1, "per_page": 10, "total_entries": 24, "total_pages": 3 })
    );
    assert_eq!(p1.body["statements"].as_array().unwrap().len(), 10);
    assert_eq!(p3.body["statements"].as_array().unwrap().len(), 4);
    assert_eq!(p4.body["statements"], json!([]));
    assert_eq!(p1.body["statements"][0], statements[0]);
    let bad = c.get(&format!("/users/{user}/members/{member}/statements?page=0")).await;
    assert_eq!(bad.status, 400, "{}", bad.text);

    // A second fetch the same month refreshes the same statements: same guids, none added.
    clock.advance_millis(86_400_000);
    fetch(&c, &user, &member).await;
    let again = all_statements(&c, &user, &member).await;
    assert_eq!(again.len(), 24);
    let before: HashMap<&Value, &Value> = statements.iter().map(|s| (&s["guid"], s)).collect();
    for s in &again {
        let old = before.get(&s["guid"]).unwrap_or_else(|| panic!("new statement {s}"));
        assert_eq!(s["created_at"], old["created_at"]);
        assert_eq!(s["account_guid"], old["account_guid"]);
        assert_ne!(s["updated_at"], old["updated_at"], "refreshed");
    }

    // Once March is over, a fetch adds its statement to each account and keeps the older ones.
    clock.advance_millis(20 * 86_400_000);
    fetch(&c, &user, &member).await;
    let later = all_statements(&c, &user, &member).await;
    assert_eq!(later.len(), 26);
    let new: Vec<&Value> = later.iter().filter(|s| !before.contains_key(&s["guid"])).collect();
    assert_eq!(new.len(), 2);
    assert_eq!(new.iter().map(|s| s["account_guid"].as_str().unwrap().to_owned()).collect::<HashSet<_>>(), deposit);
    assert_eq!(&later[..2], &new.into_iter().cloned().collect::<Vec<_>>()[..], "newest period first");
}

#[tokio::test]
async fn a_statement_reads_as_json_and_unknown_or_foreign_ones_are_404() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let member = connected_member(&c, &user).await;
    fetch(&c, &user, &member).await;
    let listed = all_statements(&c, &user, &member).await;
    let first = &listed[0];
    let guid = first["guid"].as_str().unwrap();

    let r = c.get(&format!("/users/{user}/members/{member}/statements/{guid}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.content_type, "application/vnd.mx.api.v1+json");
    assert_eq!(r.body, json!({ "statement": first }));

    let missing = [
        format!("/users/{user}/members/{member}/statements/STA-nope"),
        format!("/users/{user}/members/{member}/statements/STA-nope.pdf"),
        format!("/users/{user}/members/MBR-nope/statements"),
        format!("/users/{user}/members/MBR-nope/statements/{guid}"),
        format!("/users/USR-nope/members/{member}/statements/{guid}"),
    ];
    for path in &missing {
        let r = c.get(path).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text);
        assert!(!r.error_message().is_empty(), "{path}: MX's error envelope");
    }

    // Another member of the same user does not hold this statement.
    let other_member = c.member_guid(&user, "mxuser", "second", true).await;
    let r = c.get(&format!("/users/{user}/members/{other_member}/statements/{guid}")).await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(c.get(&format!("/users/{user}/members/{other_member}/statements")).await.body["statements"], json!([]));

    // Another tenant sees none of it.
    let other = app.other_tenant_credentials().await;
    let theirs = Client::new(&app.base, &other.mx.client_id, &other.mx.api_key);
    for path in [
        format!("/users/{user}/members/{member}/statements"),
        format!("/users/{user}/members/{member}/statements/{guid}"),
        format!("/users/{user}/members/{member}/statements/{guid}.pdf"),
    ] {
        assert_eq!(theirs.get(&path).await.status, 404, "{path}");
    }
    let r = theirs.post_empty(&format!("/users/{user}/members/{member}/fetch_statements")).await;
    assert_eq!(r.status, 404, "{}", r.text);
    let foreign = download(
        &app.base,
        &other.mx.client_id,
        &other.mx.api_key,
        &format!("/users/{user}/members/{member}/statements/{guid}.pdf"),
        &[("accept", "application/pdf")],
    )
    .await;
    assert_eq!(foreign.status, 404);
    assert!(!foreign.bytes.starts_with(b"%PDF"));
}

#[tokio::test]
async fn institutions_without_statements_refuse_the_fetch() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let inst = c.get("/institutions/chase").await;
    assert_eq!(inst.body["institution"]["supports_account_statement"], false, "{}", inst.text);
    let user = c.create_user().await;
    let (login, pass) = c.credential_guids("chase").await;
    let r = c
        .post(
            &format!("/users/{user}/members"),
            json!({ "member": { "institution_code": "chase", "credentials": [
                { "guid": login, "value": "mxuser" }, { "guid": pass, "value": "password" }
            ] } }),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let member = r.body["member"]["guid"].as_str().unwrap().to_owned();
    assert_eq!(c.settle(&user, &member).await["connection_status"], "CONNECTED");

    let r = c.post_empty(&format!("/users/{user}/members/{member}/fetch_statements")).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.error_message(), "Chase does not support this premium feature.");
    assert_eq!(c.status(&user, &member).await["is_being_aggregated"], false, "no job started");
    assert_eq!(all_statements(&c, &user, &member).await, Vec::<Value>::new());
}

#[tokio::test]
async fn a_running_job_answers_a_fetch_as_mx_does() {
    let app = TestApp::spawn_with(Options { sandbox_delay_ms: 60_000, ..Options::default() }).await;
    let c = app.client().v2025();
    let user = c.create_user().await;
    let member = c.member_guid(&user, "mxuser", "password", true).await;
    let path = format!("/users/{user}/members/{member}/fetch_statements");

    let first = c.post_empty(&path).await;
    assert_eq!(first.status, 202, "{}", first.text);
    let job = first.body["member"]["most_recent_job_guid"].clone();
    assert!(job.as_str().is_some_and(|j| j.starts_with("JOB-")), "{}", first.text);
    // The same kind again: no new job, the running one answers.
    let again = c.post_empty(&path).await;
    assert_eq!(again.status, 202, "{}", again.text);
    assert_eq!(again.body["member"]["most_recent_job_guid"], job);
    // Another kind: the conflict MX answers.
    let other = c.post_empty(&format!("/users/{user}/members/{member}/aggregate")).await;
    assert_eq!(other.status, 409, "{}", other.text);
    assert!(other.error_message().contains("an aggregate job"), "{}", other.text);

    // And the other way round: a running aggregation refuses a fetch, naming it.
    let busy = c.member_guid(&user, "mxuser", "other", false).await;
    let r = c.post_empty(&format!("/users/{user}/members/{busy}/fetch_statements")).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert!(r.error_message().contains("a fetch_statements job"), "{}", r.text);
}

#[tokio::test]
async fn a_fetch_signs_in_at_the_bank_and_answers_its_mfa_first() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let member = c.member_guid(&user, "mxuser", "challenge", true).await;
    let r = c.post_empty(&format!("/users/{user}/members/{member}/fetch_statements")).await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(c.settle(&user, &member).await["connection_status"], "CHALLENGED");
    assert!(all_statements(&c, &user, &member).await.is_empty(), "nothing until the challenge is answered");
    let challenges = c.get(&format!("/users/{user}/members/{member}/challenges")).await;
    let challenge = challenges.body["challenges"][0]["guid"].as_str().unwrap().to_owned();
    assert_eq!(c.resume(&user, &member, &challenge, "correct").await.status, 202);
    assert_eq!(c.settle(&user, &member).await["connection_status"], "CONNECTED");
    assert_eq!(all_statements(&c, &user, &member).await.len(), 24);

    // A bank that refuses the login makes no statements.
    let denied = c.member_guid(&user, "mxuser", "INVALID", true).await;
    assert_eq!(c.post_empty(&format!("/users/{user}/members/{denied}/fetch_statements")).await.status, 202);
    assert_ne!(c.settle(&user, &denied).await["connection_status"], "CONNECTED");
    assert!(all_statements(&c, &user, &denied).await.is_empty());
}

#[tokio::test]
async fn v20250224_fetches_lists_reads_and_downloads_by_partner_ids() {
    let app = TestApp::spawn().await;
    let c = app.client().v2025();
    let r = c.post("/users", json!({ "user": { "id": "stmt-user" } })).await;
    let user = r.body["user"]["guid"].as_str().unwrap().to_owned();
    let member = c.member_guid(&user, "mxuser", "password", true).await;
    let r = c.put(&format!("/users/{user}/members/{member}"), json!({ "member": { "id": "stmt-member" } })).await;
    assert_eq!(r.status, 200, "{}", r.text);

    let r = c.post_empty("/users/stmt-user/members/stmt-member/fetch_statements").await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.content_type, "application/json");
    assert_eq!(r.body["member"]["guid"], member.as_str());
    assert_eq!(c.settle(&user, &member).await["connection_status"], "CONNECTED");

    let r = c.get("/users/stmt-user/members/stmt-member/statements?records_per_page=12").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.content_type, "application/json");
    assert_eq!(r.body["pagination"]["total_entries"], 24);
    assert_eq!(r.body["pagination"]["total_pages"], 2);
    let s = r.body["statements"][0].clone();
    assert_eq!(s["user_guid"], user.as_str());
    assert_eq!(s["member_guid"], member.as_str());
    let guid = s["guid"].as_str().unwrap();
    let read = c.get(&format!("/users/stmt-user/members/stmt-member/statements/{guid}")).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["statement"], s);
    // The same statement by guids, in v20111101, reads the same; v20111101 takes guids only.
    let v1 = app.client();
    assert_eq!(v1.get(&format!("/users/{user}/members/{member}/statements/{guid}")).await.body["statement"], s);
    assert_eq!(v1.get(&format!("/users/stmt-user/members/stmt-member/statements/{guid}")).await.status, 404);
    assert_eq!(v1.post_empty("/users/stmt-user/members/stmt-member/fetch_statements").await.status, 404);

    let path = format!("/users/stmt-user/members/stmt-member/statements/{guid}.pdf");
    let d = pdf(&app, &path, &[("accept", "application/json"), ("accept-version", "v20250224")]).await;
    assert_eq!(d.status, 200);
    assert_eq!(d.content_type, "application/pdf");
    assert!(d.bytes.starts_with(b"%PDF-"));
    let d = pdf(&app, &path, &[("accept", "application/pdf")]).await;
    assert_eq!(d.status, 404, "partner ids need v20250224");
}

#[tokio::test]
async fn a_statement_downloads_as_a_pdf_of_its_account_and_month() {
    // 2026-03-15T12:00:00Z: the newest statement is February 2026's.
    let app = TestApp::spawn_with_clock(Arc::new(ManualClock::new(Timestamp::from_millis(1_773_576_000_000)))).await;
    let c = app.client();
    let user = c.create_user().await;
    let member = connected_member(&c, &user).await;
    fetch(&c, &user, &member).await;
    let accounts = c.get(&format!("/users/{user}/members/{member}/accounts")).await.body["accounts"].clone();
    let checking = accounts.as_array().unwrap().iter().find(|a| a["type"] == "CHECKING").unwrap().clone();
    let account_guid = checking["guid"].as_str().unwrap();
    // The newest statement of the checking account: last month's.
    let statement =
        all_statements(&c, &user, &member).await.into_iter().find(|s| s["account_guid"] == account_guid).unwrap();
    let guid = statement["guid"].as_str().unwrap();
    let path = format!("/users/{user}/members/{member}/statements/{guid}.pdf");

    // What goes on the wire, by what the client asks for.
    let d = pdf(&app, &path, &[("accept", "application/pdf")]).await;
    assert_eq!((d.status, d.content_type.as_str()), (200, "application/pdf"));
    assert!(d.bytes.starts_with(b"%PDF-"));
    let vendor = pdf(&app, &path, &[("accept", "application/vnd.mx.api.v1+pdf")]).await;
    assert_eq!((vendor.status, vendor.content_type.as_str()), (200, "application/vnd.mx.api.v1+pdf"));
    for headers in [&[("accept", "application/vnd.mx.api.v1+json")][..], &[("accept", "*/*")][..], &[][..]] {
        let other = pdf(&app, &path, headers).await;
        assert_eq!((other.status, other.content_type.as_str()), (200, "application/pdf"), "{headers:?}");
        assert_eq!(other.bytes, d.bytes, "the same document whatever the Accept");
    }
    assert_eq!(pdf(&app, &path, &[("accept", "text/html")]).await.status, 406);
    assert_eq!(vendor.bytes, d.bytes);
    let hash: String = Sha256::digest(&d.bytes).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(statement["content_hash"], hash.as_str(), "content_hash is the SHA-256 of the PDF");

    // What the PDF says.
    let text = pdf_text(&d.bytes);
    assert!(text.lines().next().unwrap().contains("MX Bank"), "{text}");
    let last4 = checking["account_number"].as_str().unwrap();
    assert_eq!(value_after(&text, "Account number:"), format!("******{last4}"));
    let period = value_after(&text, "Statement period:");
    assert_eq!(period, "February 2026 (2026-02-01 to 2026-02-28)");
    let (start, end, today) = ("2026-02-01", "2026-02-28", "2026-03-15");
    let opening = cents(&value_after(&text, "Opening balance:"));
    let closing = cents(&value_after(&text, "Closing balance:"));

    // The month's transactions as the transactions API shows them.
    let txns = c
        .get(&format!(
            "/users/{user}/accounts/{account_guid}/transactions?from_date={start}&to_date={end}&records_per_page=1000"
        ))
        .await
        .body["transactions"]
        .as_array()
        .unwrap()
        .clone();
    assert!(!txns.is_empty());
    let signed = |t: &Value| {
        let cents = (t["amount"].as_f64().unwrap() * 100.0).round() as i64;
        if t["type"] == "CREDIT" {
            cents
        } else {
            -cents
        }
    };
    let net: i64 = txns.iter().map(signed).sum();
    assert_eq!(opening + net, closing, "opening + the month's transactions = closing");
    let t = &txns[0];
    let description = t["description"].as_str().unwrap();
    let amount = signed(t);
    let shown = if amount > 0 {
        format!("+${}.{:02}", group(amount / 100), amount % 100)
    } else {
        format!("-${}.{:02}", group(-amount / 100), -amount % 100)
    };
    assert!(text.contains(description), "{description} missing from {text}");
    assert!(text.contains(&shown), "{shown} missing from {text}");
    assert!(text.contains(t["date"].as_str().unwrap()));

    // What posted since leads from the closing balance to the account's balance today.
    let since = c
        .get(&format!(
            "/users/{user}/accounts/{account_guid}/transactions?from_date={}&to_date={}&records_per_page=1000",
            next_day(end),
            today
        ))
        .await
        .body["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(signed)
        .sum::<i64>();
    let balance = (checking["balance"].as_f64().unwrap() * 100.0).round() as i64;
    assert_eq!(closing + since, balance);
}

fn group(n: i64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn next_day(date: &str) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(date, &fmt).unwrap();
    d.next_day().unwrap().format(&fmt).unwrap()
}

/// Eight fetches at once (the member is read and changed inside one write, locked on
/// PostgreSQL) all answer 202 and write each month once: no duplicate, no conflict as an error.
#[tokio::test]
async fn concurrent_fetches_all_answer_202_and_write_each_statement_once() {
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_773_576_000_000)));
    let app = TestApp::spawn_with_clock(clock).await;
    let c = app.client();
    let user = c.create_user().await;
    let member = connected_member(&c, &user).await;
    let path = format!("/users/{user}/members/{member}/fetch_statements");
    let answers = futures::future::join_all((0..8).map(|_| c.post_empty(&path))).await;
    for r in &answers {
        assert_eq!(r.status, 202, "{}", r.text);
    }
    assert_eq!(c.settle(&user, &member).await["connection_status"], "CONNECTED");
    let statements = all_statements(&c, &user, &member).await;
    let guids: HashSet<&str> = statements.iter().map(|s| s["guid"].as_str().unwrap()).collect();
    assert_eq!((statements.len(), guids.len()), (24, 24), "each month of each deposit account once");
}
