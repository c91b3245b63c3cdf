//! `/_openiav/reset`, `/_openiav/snapshot`, `/_openiav/restore` and `--load-snapshot` through the
//! real server: rich state built through both APIs, reset to nothing, restored to answer exactly
//! what it answered before; credentials, settings and other tenants untouched.

use std::sync::Arc;

use openiav_core::clock::SystemClock;
use openiav_server::app::App;
use openiav_server::config::ServeArgs;
use serde_json::{json, Value};

use crate::helpers::{Client, TestApp};
use crate::payments::support::{mx_flow, sandbox_tenant, send_raw, set_payment_settings, Dwolla, HAL};
use crate::payments::transfers::{body as transfer_body, fund, pair};

/// What the APIs answer about the state [`build_state`] made.
struct Reads {
    mx: Vec<String>,
    dwolla: Vec<String>,
    /// The two customers' balances (the first funded).
    balances: (String, String),
}

/// An MX user with a connected member (accounts, transactions, numbers), and on the Dwolla side
/// a customer through the MX exchange flow (session, exchange, verified funding source), two
/// customers with banks verified by micro-deposits, a transfer between their balances, and the
/// events of all of it.
async fn build_state(app: &TestApp) -> Reads {
    let mx = app.client();
    let user = mx.create_user().await;
    let member = mx.member_guid(&user, "mxuser", "password", false).await;
    assert_eq!(mx.settle(&user, &member).await["connection_status"], "CONNECTED");
    let d = Dwolla::sandbox(app).await;
    let flow = mx_flow(app, &d, "flow@example.com").await;
    let p = pair(&d).await;
    fund(app, &p.a_balance, 10_000).await;
    let transfer = d.post("/transfers", transfer_body(&p.a_balance, &p.b_balance, "12.34")).await;
    assert_eq!(transfer.status, 201, "{}", transfer.text);
    let transfer = transfer.location();
    let tenant = sandbox_tenant(app);
    let m = format!("/users/{user}/members/{member}");
    Reads {
        mx: vec![
            format!("/users/{user}"),
            "/users".to_owned(),
            m.clone(),
            format!("{m}/status"),
            format!("{m}/accounts"),
            format!("{m}/transactions"),
            format!("{m}/account_numbers"),
            format!("/users/{user}/accounts"),
        ],
        dwolla: vec![
            format!("/customers/{}", flow.customer),
            "/customers".to_owned(),
            format!("/customers/{}/funding-sources", flow.customer),
            format!("/customers/{}/exchanges", flow.customer),
            format!("/exchanges/{}", flow.exchange),
            format!("/funding-sources/{}", flow.funding_source),
            format!("/funding-sources/{}/balance", p.b_balance),
            format!("/funding-sources/{}/micro-deposits", p.a_bank),
            format!("/customers/{}/transfers", p.a),
            format!("/transfers/{}", transfer.rsplit('/').next().unwrap()),
            "/events?limit=200".to_owned(),
            format!("/accounts/{tenant}/funding-sources"),
        ],
        balances: (p.a_balance, p.b_balance),
    }
}

/// Every read's status and body.
async fn read_all(app: &TestApp, reads: &Reads) -> Vec<(String, u16, Value)> {
    let dwolla = (&app.payments_base, &app.sandbox.dwolla.key, &app.sandbox.dwolla.secret);
    read_from(&app.client(), dwolla, reads).await
}

/// Every read's status and body from the server at `mx`'s base and `payments` (base, key, secret).
async fn read_from(mx: &Client, payments: (&String, &String, &String), reads: &Reads) -> Vec<(String, u16, Value)> {
    let http = reqwest::Client::new();
    let (base, key, secret) = payments;
    let token: Value = http
        .post(format!("{base}/token"))
        .basic_auth(key, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap();
    // Links name the listener's own address, which differs between two servers.
    let neutral = |v: Value| -> Value {
        serde_json::from_str(&v.to_string().replace(mx.base.as_str(), "MX").replace(base.as_str(), "DWOLLA")).unwrap()
    };
    let mut out = Vec::new();
    for path in &reads.mx {
        let r = mx.get(path).await;
        out.push((path.clone(), r.status, neutral(r.body)));
    }
    for path in &reads.dwolla {
        let r = http.get(format!("{base}{path}")).bearer_auth(token).header("accept", HAL).send().await.unwrap();
        let status = r.status().as_u16();
        out.push((path.clone(), status, neutral(r.json().await.unwrap_or(Value::Null))));
    }
    out
}

async fn snapshot(client: &Client) -> Value {
    let r = client.get("/_openiav/snapshot").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.content_type.starts_with("application/json"), "{}", r.content_type);
    r.body
}

#[tokio::test]
async fn reset_then_restore_of_a_snapshot_answers_exactly_as_before() {
    let app = TestApp::spawn().await;
    let reads = build_state(&app).await;
    let before = read_all(&app, &reads).await;
    assert!(before.iter().all(|(path, status, _)| *status == 200 || panic!("{path}: {status}")));
    let mx = app.client();
    let taken = snapshot(&mx).await;
    assert_eq!(taken["format"], "openiav-snapshot");
    assert_eq!(taken["version"], 1);
    assert_eq!(taken["tenant"], sandbox_tenant(&app).to_string());
    assert_eq!(taken["tables"]["transfers"]["rows"].as_array().unwrap().len(), 1);
    assert!(!taken.to_string().contains(&app.sandbox.mx.api_key), "no secret in a snapshot");

    let reset = mx.post_empty("/_openiav/reset").await;
    assert_eq!(reset.status, 200, "{}", reset.text);
    let deleted = &reset.body["deleted"];
    assert_eq!(deleted["members"], 2, "the MX user's member and the flow's: {deleted}");
    assert_eq!(deleted["customers"], 3);
    assert!(deleted["events"].as_u64().unwrap() > 0 && deleted["transfers"].as_u64().unwrap() >= 1);
    let gone = read_all(&app, &reads).await;
    assert_eq!(gone[0].1, 404, "the user is gone: {:?}", gone[0]);
    let customers = gone.iter().find(|(p, _, _)| p == "/customers").unwrap();
    assert_eq!(customers.2["total"], 0);

    let restored = mx.post("/_openiav/restore", taken.clone()).await;
    assert_eq!(restored.status, 200, "{}", restored.text);
    assert_eq!(restored.body["restored"]["customers"], 3);
    let after = read_all(&app, &reads).await;
    for ((path, status, body), (_, status_after, body_after)) in before.iter().zip(&after) {
        assert_eq!((status, body), (status_after, body_after), "{path} answers as before");
    }
    let again = snapshot(&mx).await;
    assert_eq!(again["tables"], taken["tables"], "snapshot(restore(snapshot)) == snapshot");

    // The restored state goes on working: another transfer between the restored balances.
    let d = Dwolla::sandbox(&app).await;
    let (a, b) = &reads.balances;
    let next = d.post("/transfers", transfer_body(a, b, "0.66")).await;
    assert_eq!(next.status, 201, "{}", next.text);
    let balance = d.get(&format!("/funding-sources/{b}/balance")).await;
    assert_eq!(balance.body["balance"]["value"], "13.00", "{}", balance.text);
}

#[tokio::test]
async fn reset_keeps_the_callers_token_settings_and_account_and_other_tenants() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let customer = d.post("/customers", json!({ "firstName": "A", "lastName": "B", "email": "a@example.com" })).await;
    assert_eq!(customer.status, 201, "{}", customer.text);
    set_payment_settings(&app, sandbox_tenant(&app), false, &["https://example.com/return"]).await;
    let (other, _) = Dwolla::other_tenant(&app).await;
    let theirs = other.post("/customers", json!({ "firstName": "C", "lastName": "D", "email": "c@example.com" })).await;
    assert_eq!(theirs.status, 201, "{}", theirs.text);
    let tenant = sandbox_tenant(&app);
    let account_before = d.get(&format!("/accounts/{tenant}/funding-sources")).await;
    assert_eq!(account_before.status, 200, "{}", account_before.text);

    // The control plane takes the Dwolla bearer token as well as MX Basic.
    let r = send_raw(d.request(reqwest::Method::POST, "/_openiav/reset")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["deleted"]["customers"], 1);
    assert_eq!(r.body["deleted"]["payment_tokens"], Value::Null, "credentials are not data");

    let list = d.get("/customers").await;
    assert_eq!((list.status, list.body["total"].clone()), (200, json!(0)), "the same token still works");
    assert_eq!(other.get(&theirs.location()).await.status, 200, "the other tenant keeps its customer");
    let account = d.get(&format!("/accounts/{tenant}/funding-sources")).await;
    assert_eq!(account.status, 200, "the account opens its bank and balance again: {}", account.text);
    let names = |v: &Value| -> Vec<Value> {
        v["_embedded"]["funding-sources"].as_array().unwrap().iter().map(|f| f["type"].clone()).collect()
    };
    assert_eq!(names(&account.body), names(&account_before.body));
    let settings = app
        .store
        .read(|mut c| async move { openiav_store::repo::tenants::payment_settings(&mut c, tenant).await })
        .await
        .unwrap();
    assert_eq!(settings.redirect_urls, vec!["https://example.com/return".to_owned()], "settings are kept");
    assert!(!settings.open_banking);
    // A second reset finds only the account's bank and balance, opened again above.
    let r = app.client().post_empty("/_openiav/reset").await;
    let left: Vec<_> = r.body["deleted"].as_object().unwrap().iter().filter(|(_, n)| *n != 0).collect();
    assert_eq!(left, vec![(&"funding_sources".to_owned(), &json!(2))], "{}", r.text);
}

#[tokio::test]
async fn restore_refuses_other_formats_versions_and_tenants_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let mx = app.client();
    let user = mx.create_user().await;
    let taken = snapshot(&mx).await;
    let refused = |r: crate::helpers::Resp| {
        assert_eq!(r.status, 400, "{}", r.text);
        assert_eq!(r.body["code"], "BadRequest");
        r.body["message"].as_str().unwrap().to_owned()
    };
    let mut v2 = taken.clone();
    v2["version"] = json!(2);
    assert_eq!(
        refused(mx.post("/_openiav/restore", v2).await),
        "Snapshot version 2 is not supported; this server reads version 1."
    );
    assert!(
        refused(mx.post("/_openiav/restore", json!({ "format": "other" })).await).contains("Not an openiav snapshot")
    );
    let mut bad = taken.clone();
    bad["tables"]["users"]["rows"][0] = json!("x");
    assert!(refused(mx.post("/_openiav/restore", bad).await).starts_with("Invalid snapshot at `tables.users.rows[0]`"));
    let mut unknown = taken.clone();
    unknown["tables"]["tenants"] = json!({ "columns": [], "rows": [] });
    assert!(refused(mx.post("/_openiav/restore", unknown).await).contains("`tenants` is not a table of tenant data"));

    // Another tenant cannot load this tenant's snapshot, and its own data stays.
    let other = app.other_tenant().await;
    let their_user = other.create_user().await;
    assert!(refused(other.post("/_openiav/restore", taken.clone()).await).contains("restores only into the tenant"));
    let theirs = snapshot(&other).await;
    let rows: Vec<(String, usize)> = theirs["tables"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(t, r)| (t.clone(), r["rows"].as_array().unwrap().len()))
        .filter(|(_, n)| *n > 0)
        .collect();
    assert_eq!(rows, [("users".to_owned(), 1)], "a tenant's snapshot holds only its own rows");
    assert_eq!(theirs["tables"]["users"]["rows"][0][0], their_user.as_str());
    assert_eq!(other.get(&format!("/users/{their_user}")).await.status, 200);
    assert_eq!(mx.get(&format!("/users/{user}")).await.status, 200);
    // And without credentials there is no control plane.
    let anonymous = mx.with_credentials("nobody", "nothing");
    assert_eq!(anonymous.get("/_openiav/snapshot").await.status, 401);
    assert_eq!(anonymous.post_empty("/_openiav/reset").await.status, 401);
    assert_eq!(mx.get(&format!("/users/{user}")).await.status, 200);
}

#[tokio::test]
async fn load_snapshot_at_start_brings_a_fresh_database_to_the_snapshot() {
    let app = TestApp::spawn().await;
    let reads = build_state(&app).await;
    let before = read_all(&app, &reads).await;
    let taken = snapshot(&app.client()).await;
    let file = app.dir.path().join("state.json");
    std::fs::write(&file, taken.to_string()).unwrap();

    // A new database, the same encryption key and credentials, and the snapshot.
    let database_url = match openiav_store::testing::postgres_test_url() {
        Some(admin) => openiav_store::testing::scratch_postgres_url(&admin).await.unwrap(),
        None => format!("sqlite://{}/fresh.db", app.dir.path().display()),
    };
    let mut args = ServeArgs::ephemeral();
    args.load_snapshot = Some(file.clone());
    args.sandbox_mx_client_id = Some(app.sandbox.mx.client_id.clone());
    args.sandbox_mx_api_key = Some(app.sandbox.mx.api_key.clone());
    args.sandbox_dwolla_key = Some(app.sandbox.dwolla.key.clone());
    args.sandbox_dwolla_secret = Some(app.sandbox.dwolla.secret.clone());
    let fresh = App::build(&database_url, &app.key, args, Arc::new(SystemClock)).await.unwrap();
    assert_eq!(fresh.sandbox.as_ref().unwrap().id, app.sandbox.id, "created with the snapshot's tenant id");
    let mx = Client::new(
        &format!("http://{}", fresh.aggregation_addr()),
        &app.sandbox.mx.client_id,
        &app.sandbox.mx.api_key,
    );
    let payments_base = format!("http://{}", fresh.payments_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(fresh.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    let after = read_from(&mx, (&payments_base, &app.sandbox.dwolla.key, &app.sandbox.dwolla.secret), &reads).await;
    for ((path, status, body), (_, status_after, body_after)) in before.iter().zip(&after) {
        assert_eq!((status, body), (status_after, body_after), "{path} answers as before");
    }
    let again = snapshot(&mx).await;
    assert_eq!(again["tables"], taken["tables"]);
    let _ = stop.send(());
    server.await.unwrap().unwrap();

    // A database whose sandbox tenant is another one refuses the snapshot at start.
    let mut args = ServeArgs::ephemeral();
    args.load_snapshot = Some(file);
    let other_key = openiav_core::crypto::MasterKey::generate();
    let other_db = format!("sqlite://{}/other.db", app.dir.path().display());
    let first = App::build(&other_db, &other_key, ServeArgs::ephemeral(), Arc::new(SystemClock)).await.unwrap();
    first.store().close().await;
    drop(first);
    let refused = App::build(&other_db, &other_key, args, Arc::new(SystemClock)).await;
    let message = format!("{:#}", refused.err().expect("refused"));
    assert!(message.contains("loads only into the tenant it was taken of"), "{message}");
    if let Some(admin) = openiav_store::testing::postgres_test_url() {
        openiav_store::testing::drop_scratch_postgres(&admin, &database_url).await.unwrap();
    }
}
