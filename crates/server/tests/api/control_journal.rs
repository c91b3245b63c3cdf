//! The request journal: each tenant's recent requests, newest first, by route template, with
//! statuses, request ids and the ids they touched; never paths with tokens, bodies or secrets.

use serde_json::{json, Value};

use crate::helpers::{Client, TestApp};
use crate::payments::support::Dwolla;

async fn journal(control: &Client, query: &str) -> Vec<Value> {
    let r = control.get(&format!("/_openiav/journal{query}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["entries"].as_array().unwrap().clone()
}

#[tokio::test]
async fn requests_are_journalled_newest_first_by_route_template_with_their_ids() {
    let app = TestApp::spawn().await;
    let control = app.client();
    let user = control.create_user().await;
    let http = reqwest::Client::new();
    let (id, key) = (&app.sandbox.mx.client_id, &app.sandbox.mx.api_key);
    let read = http
        .get(format!("{}/users/{user}", app.base))
        .basic_auth(id, Some(key))
        .header("x-request-id", "journal-test-1")
        .send()
        .await
        .unwrap();
    assert_eq!(read.headers()["x-request-id"], "journal-test-1");
    let missing = control.get("/users/USR-00000000-0000-0000-0000-000000000000").await;
    assert_eq!(missing.status, 404);

    let entries = journal(&control, "").await;
    assert_eq!(entries.len(), 3, "{entries:#?}");
    let routes: Vec<&str> = entries.iter().map(|e| e["route"].as_str().unwrap()).collect();
    assert_eq!(routes, ["/users/{user}", "/users/{user}", "/users"]);
    assert_eq!(entries[0]["status"], 404);
    assert_eq!(entries[1]["status"], 200);
    assert_eq!(entries[1]["request_id"], "journal-test-1");
    assert_eq!(entries[1]["resource_ids"], json!([user]));
    assert_eq!(entries[2]["method"], "POST");
    for e in &entries {
        assert_eq!(e["listener"], "mx");
        assert!(e["latency_ms"].as_i64().unwrap() >= 0);
        assert!(e["fault"].is_null());
        assert!(e["at"].as_str().unwrap().ends_with('Z'));
    }
    let only_404 = journal(&control, "?status=404").await;
    assert_eq!(only_404.len(), 1);
    let by_route = journal(&control, "?route=/users&limit=5").await;
    assert_eq!(by_route.len(), 1);
    assert_eq!(journal(&control, "?limit=1").await.len(), 1);
    assert_eq!(control.get("/_openiav/journal?limit=0").await.status, 400);
    assert_eq!(control.get("/_openiav/journal?colour=red").await.status, 400);
}

#[tokio::test]
async fn a_created_resource_is_named_by_its_location_and_a_fault_by_its_rule() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let customer = d.customer("Jane", "jane@example.com").await;
    let rule = json!({ "path": "/customers/*", "effect": "status", "status": 500, "count": 1 });
    let rule = d.request(reqwest::Method::POST, "/_openiav/faults").json(&rule).send().await.unwrap();
    assert_eq!(rule.status(), 201);
    let rule: Value = rule.json().await.unwrap();
    assert_eq!(d.get(&format!("/customers/{customer}")).await.status, 500);

    let r = d.request(reqwest::Method::GET, "/_openiav/journal").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    let entries = body["entries"].as_array().unwrap();
    let routes: Vec<&str> = entries.iter().map(|e| e["route"].as_str().unwrap()).collect();
    assert_eq!(routes, ["/customers/{id}", "/customers", "/token"], "{entries:#?}");
    assert_eq!(entries[0]["fault"], rule["id"]);
    assert_eq!(entries[0]["resource_ids"], json!([customer]));
    assert_eq!(entries[1]["status"], 201);
    assert_eq!(entries[1]["resource_ids"], json!([customer]), "the id the Location points at");
    assert!(entries.iter().all(|e| e["listener"] == "dwolla"));
    // Secrets never reach it: not the token, not the application secret.
    assert!(!text.contains(&d.token) && !text.contains(&app.sandbox.dwolla.secret), "{text}");
}

#[tokio::test]
async fn the_journal_belongs_to_its_tenant_and_keeps_only_the_newest() {
    let app = TestApp::spawn_with_args(|args| args.journal_size = 4).await;
    let control = app.client();
    let other = app.other_tenant().await;
    for _ in 0..6 {
        assert_eq!(control.get("/users").await.status, 200);
    }
    control.create_user().await;
    let mine = journal(&control, "?limit=4").await;
    assert_eq!(mine.len(), 4);
    assert_eq!(mine[0]["method"], "POST", "the newest first");
    assert!(journal(&other, "").await.is_empty(), "another tenant sees none of them");
    assert_eq!(control.get("/_openiav/journal?limit=5").await.status, 400, "no more than it keeps");
    let tenant = openiav_core::ids::TenantId::parse(&app.sandbox.id).unwrap();
    let rows = app
        .store
        .read(|mut c| async move {
            openiav_store::repo::journal::list(
                &mut c,
                tenant,
                &openiav_store::repo::journal::JournalFilter { limit: 100, status: None, route: None },
            )
            .await
        })
        .await
        .unwrap();
    assert_eq!(rows.len(), 4, "trimmed in the store, not only in the answer");
}
