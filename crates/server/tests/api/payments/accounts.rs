//! The application's own account through the real server: `GET /accounts/{id}` (the id is the
//! tenant id), its funding sources (a verified bank and a balance, opened by the first call,
//! once whatever races), balance funding sources (a verified customer's too) and their
//! `/balance`, the refusals a balance answers, and on-demand authorizations bound to a bank.

use openiav_core::ids::TenantId;
use openiav_store::repo::{funding_sources, tenants};
use serde_json::{json, Value};

use super::support::{
    assert_error, assert_field_error, assert_link, assert_timestamp, personal, sandbox_tenant, Dwolla, HalResp,
    DWOLLA_SANDBOX, ROUTING,
};
use crate::helpers::TestApp;

/// The name the tenant's account goes by.
async fn tenant_name(app: &TestApp, tenant: TenantId) -> String {
    app.store.read(|mut c| async move { tenants::get(&mut c, tenant).await }).await.unwrap().name
}

/// The account's funding sources as answered, by type.
fn by_type<'a>(list: &'a HalResp, kind: &str) -> Vec<&'a Value> {
    list.body["_embedded"]["funding-sources"].as_array().unwrap().iter().filter(|f| f["type"] == kind).collect()
}

/// The keys of a JSON object, sorted.
fn keys(v: &Value) -> Vec<String> {
    v.as_object().unwrap_or_else(|| panic!("not an object: {v}")).keys().cloned().collect()
}

/// Creates a verified personal customer; returns its id.
async fn verified_customer(d: &Dwolla, first: &str, email: &str) -> String {
    let r = d.post("/customers", personal(first, email)).await;
    let id = r.created_id();
    assert_eq!(d.get(&format!("/customers/{id}")).await.body["status"], "verified");
    id
}

#[tokio::test]
async fn the_account_is_the_tenant_and_the_root_links_it() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let tenant = sandbox_tenant(&app);
    let base = &app.payments_base;

    let root = d.get("/").await;
    assert_link(&root.body["_links"]["account"], &format!("{base}/accounts/{tenant}"), "account");
    let r = d.get(root.body["_links"]["account"]["href"].as_str().unwrap()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let link = |path: &str, rt: &str| {
        format!(r#"{{"href":"{base}{path}","resource-type":"{rt}","type":"application/vnd.dwolla.v1.hal+json"}}"#)
    };
    let expected = format!(
        r#"{{"_links":{{"customers":{},"funding-sources":{},"receive":{},"self":{},"send":{},"transfers":{}}},"id":"{tenant}","name":{}}}"#,
        link("/customers", "customer"),
        link(&format!("/accounts/{tenant}/funding-sources"), "funding-source"),
        link("/transfers", "transfer"),
        link(&format!("/accounts/{tenant}"), "account"),
        link("/transfers", "transfer"),
        link(&format!("/accounts/{tenant}/transfers"), "transfer"),
        serde_json::to_string(&tenant_name(&app, tenant).await).unwrap(),
    );
    assert_eq!(r.text, expected);
    // Upper case names it too; hosts in an absolute URL do not matter to the id.
    assert_eq!(d.get(&format!("/accounts/{}", tenant.to_string().to_ascii_uppercase())).await.status, 200);

    for other in [TenantId::generate().to_string(), "not-an-id".to_owned()] {
        let r = d.get(&format!("/accounts/{other}")).await;
        assert_error(&r, 404, "NotFound", Some("Account not found."));
        let r = d.get(&format!("/accounts/{other}/funding-sources")).await;
        assert_error(&r, 404, "NotFound", Some("Account not found."));
    }
}

#[tokio::test]
async fn the_first_list_opens_a_verified_bank_and_a_balance_that_later_lists_keep() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let tenant = sandbox_tenant(&app);
    let base = &app.payments_base;
    let path = format!("/accounts/{tenant}/funding-sources");

    let first = d.get(&path).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(keys(&first.body), ["_embedded", "_links", "total"]);
    assert_eq!(first.body["total"], 2);
    assert_eq!(keys(&first.body["_links"]), ["self"]);
    assert_link(&first.body["_links"]["self"], &format!("{base}{path}"), "funding-source");

    let bank = by_type(&first, "bank")[0];
    let bank_id = bank["id"].as_str().unwrap();
    assert_eq!(bank["status"], "verified");
    assert_eq!(bank["name"], "Account checking");
    assert_eq!(bank["bankAccountType"], "checking");
    assert_eq!(bank["channels"], json!(["ach"]));
    assert_eq!(bank["removed"], false);
    assert!(bank["bankName"].is_string() && bank["fingerprint"].is_string(), "{bank}");
    assert_timestamp(&bank["created"]);
    assert_link(&bank["_links"]["account"], &format!("{base}/accounts/{tenant}"), "account");
    assert!(bank["_links"].get("customer").is_none(), "{bank}");

    let balance = by_type(&first, "balance")[0];
    let balance_id = balance["id"].as_str().unwrap();
    assert_eq!(
        keys(balance),
        ["_links", "channels", "created", "id", "name", "removed", "status", "type"],
        "a balance has no bank fields: {balance}"
    );
    assert_eq!(balance["name"], "Balance");
    assert_eq!(balance["status"], "verified");
    assert_eq!(balance["channels"], json!([]));
    assert_timestamp(&balance["created"]);
    let fs = format!("{base}/funding-sources/{balance_id}");
    assert_eq!(keys(&balance["_links"]), ["account", "balance", "self", "with-available-balance"]);
    assert_link(&balance["_links"]["self"], &fs, "funding-source");
    assert_link(&balance["_links"]["with-available-balance"], &fs, "funding-source");
    assert_link(&balance["_links"]["balance"], &format!("{fs}/balance"), "balance");
    assert_link(&balance["_links"]["account"], &format!("{base}/accounts/{tenant}"), "account");

    // Read alone, each renders as in the list.
    let one = d.get(&format!("/funding-sources/{balance_id}")).await;
    assert_eq!(one.status, 200, "{}", one.text);
    assert_eq!(&one.body, balance);
    assert_eq!(&d.get(&format!("/funding-sources/{bank_id}")).await.body, bank);

    let again = d.get(&path).await;
    assert_eq!(again.text, first.text, "later lists answer the same sources");
    assert_eq!(d.get(&format!("{path}?removed=false")).await.body["total"], 2);
    let removed = d.get(&format!("{path}?removed=true")).await;
    assert_eq!(removed.body["total"], 0, "{}", removed.text);
    assert_field_error(&d.get(&format!("{path}?removed=maybe")).await, "/removed", "Invalid");

    // The account's bank can be removed (Dwolla's account topic), and is never opened again.
    let r = d.post(&format!("/funding-sources/{bank_id}"), json!({ "removed": true })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(d.topics_about(bank_id).await, ["funding_source_removed"]);
    let after = d.get(&path).await;
    assert_eq!(by_type(&after, "bank").len(), 1, "{}", after.text);
    assert_eq!(d.get(&format!("{path}?removed=false")).await.body["total"], 1);
    assert_eq!(d.get(&format!("{path}?removed=true")).await.body["_embedded"]["funding-sources"][0]["id"], bank_id);
}

#[tokio::test]
async fn a_balance_answers_what_it_holds_with_every_field_the_typescript_sdk_requires() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let tenant = sandbox_tenant(&app);
    let base = &app.payments_base;
    let list = d.get(&format!("/accounts/{tenant}/funding-sources")).await;
    let balance_id = by_type(&list, "balance")[0]["id"].as_str().unwrap().to_owned();

    let r = d.get(&format!("/funding-sources/{balance_id}/balance")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(keys(&r.body), ["_links", "balance", "lastUpdated", "total"]);
    let amounts =
        r#"},"balance":{"currency":"USD","value":"0.00"},"total":{"currency":"USD","value":"0.00"},"lastUpdated":""#;
    assert!(r.text.contains(amounts), "{}", r.text);
    assert_timestamp(&r.body["lastUpdated"]);
    let fs = format!("{base}/funding-sources/{balance_id}");
    assert_link(&r.body["_links"]["self"], &format!("{fs}/balance"), "balance");
    assert_link(&r.body["_links"]["funding-source"], &fs, "funding-source");

    // What the balance holds is what its row holds.
    let id = balance_id.clone();
    let tenant_id = tenant;
    app.store
        .write(move |c| {
            Box::pin(async move {
                let mut f = funding_sources::find(c, tenant_id, &id).await?.unwrap();
                f.balance = openiav_core::money::Cents(123_456);
                funding_sources::save(c, &f).await
            })
        })
        .await
        .unwrap();
    let r = d.get(&format!("/funding-sources/{balance_id}/balance")).await;
    assert_eq!(r.body["balance"], json!({ "currency": "USD", "value": "1234.56" }), "{}", r.text);
    assert_eq!(r.body["total"], json!({ "currency": "USD", "value": "1234.56" }), "{}", r.text);
}

#[tokio::test]
async fn a_verified_customer_lists_its_balance_and_a_balance_refuses_updates_and_micro_deposits() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let base = &app.payments_base;

    let customer = verified_customer(&d, "Vera", "vera@example.com").await;
    let bank = d.bank_from_numbers(&customer, "123456789", "Vera's checking").await;
    let list = d.get(&format!("/customers/{customer}/funding-sources")).await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.body["total"], 2, "{}", list.text);
    assert_eq!(by_type(&list, "bank")[0]["id"], bank.as_str());
    let balance = by_type(&list, "balance")[0].clone();
    let id = balance["id"].as_str().unwrap().to_owned();
    assert_eq!(balance["name"], "Balance");
    assert_eq!(balance["status"], "verified");
    assert_link(&balance["_links"]["customer"], &format!("{base}/customers/{customer}"), "customer");
    assert!(balance["_links"].get("account").is_none() && balance.get("bankName").is_none(), "{balance}");
    assert_eq!(d.get(&format!("/funding-sources/{id}")).await.body, balance);
    assert_eq!(d.get(&format!("/customers/{customer}/funding-sources?removed=false")).await.body["total"], 2);

    let r = d.get(&format!("/funding-sources/{id}/balance")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["balance"]["value"], "0.00");

    // A balance is neither renamed nor removed, and takes no micro-deposits.
    for body in [json!({ "removed": true }), json!({ "name": "Savings jar" })] {
        let r = d.post(&format!("/funding-sources/{id}"), body).await;
        assert_error(&r, 400, "ValidationError", Some("Only funding sources of type='bank' can be updated."));
    }
    let r = d.post(&format!("/funding-sources/{id}/micro-deposits"), json!({})).await;
    assert_error(
        &r,
        403,
        "InvalidResourceState",
        Some("Micro-deposits are not supported for this type of funding source."),
    );
    let r = d.get(&format!("/funding-sources/{id}/micro-deposits")).await;
    assert_error(&r, 404, "NotFound", None);
    let after = d.get(&format!("/funding-sources/{id}")).await;
    assert_eq!(after.body, balance, "the refusals changed nothing");
    assert_eq!(d.topics_about(&id).await, Vec::<String>::new());

    // An unverified customer holds no balance.
    let plain = d.customer("Una", "una@example.com").await;
    d.bank_from_numbers(&plain, "223456789", "Una's checking").await;
    let list = d.get(&format!("/customers/{plain}/funding-sources")).await;
    assert!(by_type(&list, "balance").is_empty(), "{}", list.text);
}

#[tokio::test]
async fn another_tenants_account_and_balances_are_not_found() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let (other, other_tenant) = Dwolla::other_tenant(&app).await;
    let tenant = sandbox_tenant(&app);

    let mine = d.get(&format!("/accounts/{tenant}/funding-sources")).await;
    let my_balance = by_type(&mine, "balance")[0]["id"].as_str().unwrap().to_owned();
    let customer = verified_customer(&d, "Ivy", "ivy@example.com").await;
    let list = d.get(&format!("/customers/{customer}/funding-sources")).await;
    let customer_balance = by_type(&list, "balance")[0]["id"].as_str().unwrap().to_owned();

    let r = other.get(&format!("/accounts/{tenant}")).await;
    assert_error(&r, 404, "NotFound", Some("Account not found."));
    let r = other.get(&format!("/accounts/{tenant}/funding-sources")).await;
    assert_error(&r, 404, "NotFound", Some("Account not found."));
    for id in [&my_balance, &customer_balance] {
        for path in [format!("/funding-sources/{id}"), format!("/funding-sources/{id}/balance")] {
            assert_error(&other.get(&path).await, 404, "NotFound", Some("Funding source not found."));
        }
        let r = other.post(&format!("/funding-sources/{id}"), json!({ "removed": true })).await;
        assert_error(&r, 404, "NotFound", Some("Funding source not found."));
    }
    // The other tenant's own account is its own, with sources of its own.
    let theirs = other.get(&format!("/accounts/{other_tenant}/funding-sources")).await;
    assert_eq!(theirs.status, 200, "{}", theirs.text);
    let their_ids: Vec<&Value> =
        theirs.body["_embedded"]["funding-sources"].as_array().unwrap().iter().map(|f| &f["id"]).collect();
    assert_eq!(their_ids.len(), 2);
    assert!(!their_ids.contains(&&json!(my_balance)), "{}", theirs.text);
    assert_eq!(
        other.get(&format!("/accounts/{other_tenant}")).await.body["name"],
        tenant_name(&app, other_tenant).await
    );
}

#[tokio::test]
async fn on_demand_authorizations_name_the_account_and_bind_to_the_banks_that_cite_them() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let (other, _) = Dwolla::other_tenant(&app).await;
    let tenant = sandbox_tenant(&app);
    let name = tenant_name(&app, tenant).await;

    // No body, an empty one or a HAL one: all the SDKs' ways of posting nothing.
    let r = d.post_raw("/on-demand-authorizations", None, "").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.location.is_none());
    assert_eq!(keys(&r.body), ["_links", "bodyText", "buttonText"]);
    assert_eq!(r.body["buttonText"], "Agree & Continue");
    assert_eq!(
        r.body["bodyText"],
        format!(
            "I agree that future payments to {name} will be processed by the Dwolla payment system from the selected \
             account above. In order to cancel this authorization, I will change my payment settings within my \
             {name} account."
        )
    );
    let href = r.body["_links"]["self"]["href"].as_str().unwrap().to_owned();
    assert!(href.starts_with(&format!("{}/on-demand-authorizations/", app.payments_base)), "{href}");
    assert_eq!(d.post("/on-demand-authorizations", json!({})).await.status, 200);
    let again = d.post_raw("/on-demand-authorizations", Some("application/vnd.dwolla.v1.hal+json"), "").await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_ne!(again.body["_links"]["self"]["href"], href.as_str(), "each call authorizes anew");

    let customer = d.customer("Otto", "otto@example.com").await;
    let body = |account: &str, href: &str| {
        json!({
            "routingNumber": ROUTING, "accountNumber": account, "bankAccountType": "checking", "name": "On demand",
            "_links": { "on-demand-authorization": { "href": href } },
        })
    };
    // Dwolla's own host in the href is read by its path.
    let id = href.rsplit('/').next().unwrap().to_owned();
    let r = d
        .post(
            &format!("/customers/{customer}/funding-sources"),
            body("123456789", &format!("{DWOLLA_SANDBOX}/on-demand-authorizations/{id}")),
        )
        .await;
    let bank = r.created_id();
    let stored = app
        .store
        .read(|mut c| {
            let bank = bank.clone();
            async move { funding_sources::find(&mut c, tenant, &bank).await }
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.on_demand_authorization_id.as_deref(), Some(id.as_str()));

    // Unknown, malformed, empty and another tenant's authorizations are refused at the href.
    let theirs = other.post("/on-demand-authorizations", json!({})).await;
    let theirs = theirs.body["_links"]["self"]["href"].as_str().unwrap().to_owned();
    let unknown = format!("{}/on-demand-authorizations/{}", app.payments_base, TenantId::generate());
    for (i, bad) in [theirs.as_str(), unknown.as_str(), "https://example.com/customers/1", ""].into_iter().enumerate() {
        let r = d.post(&format!("/customers/{customer}/funding-sources"), body(&format!("22345678{i}"), bad)).await;
        assert_field_error(&r, "/_links/on-demand-authorization/href", "Invalid");
    }
    // An authorization binds one bank.
    let r = d.post(&format!("/customers/{customer}/funding-sources"), body("323456789", &href)).await;
    assert_error(
        &r,
        400,
        "ValidationError",
        Some("Duplicate funding source or validation error. Authorization already associated to a funding source."),
    );
    let list = d.get(&format!("/customers/{customer}/funding-sources")).await;
    assert_eq!(list.body["total"], 1, "the refused banks were not added: {}", list.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_banks_citing_one_authorization_bind_it_once() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    // Different customers: creates for one customer already take turns on the customer.
    let mut customers = Vec::new();
    for i in 0..3 {
        customers.push(d.customer("Cleo", &format!("cleo{i}@example.com")).await);
    }
    for round in 0..4 {
        let r = d.post("/on-demand-authorizations", json!({})).await;
        let href = r.body["_links"]["self"]["href"].as_str().unwrap().to_owned();
        let running: Vec<_> = (0..3)
            .map(|i| {
                let (d, href) = (d.clone(), href.clone());
                let path = format!("/customers/{}/funding-sources", customers[i]);
                let body = json!({
                    "routingNumber": ROUTING, "accountNumber": format!("4{round}{i}456789"), "bankAccountType": "checking",
                    "name": format!("Race {round} {i}"), "_links": { "on-demand-authorization": { "href": href } },
                });
                tokio::spawn(async move { d.post(&path, body).await })
            })
            .collect();
        let mut created = 0;
        for r in running {
            let r = r.await.unwrap();
            match r.status {
                201 => created += 1,
                _ => assert_error(&r, 400, "ValidationError", None),
            }
        }
        assert_eq!(created, 1, "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_lists_open_one_bank_and_one_balance() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let (other, other_tenant) = Dwolla::other_tenant(&app).await;
    let tenant = sandbox_tenant(&app);
    // A fresh tenant each round: every round is a first call.
    for (round, (client, tenant)) in [(d.clone(), tenant), (other.clone(), other_tenant)].into_iter().enumerate() {
        let path = format!("/accounts/{tenant}/funding-sources");
        let running: Vec<_> = (0..4)
            .map(|_| {
                let (client, path) = (client.clone(), path.clone());
                tokio::spawn(async move { client.get(&path).await })
            })
            .collect();
        let mut answers = Vec::new();
        for r in running {
            answers.push(r.await.unwrap());
        }
        for r in &answers {
            assert_eq!(r.status, 200, "round {round}: {}", r.text);
            assert_eq!(r.body["total"], 2, "round {round}: {}", r.text);
            assert_eq!(r.body, answers[0].body, "round {round}: every caller sees the same two sources");
        }
        let stored = app
            .store
            .read(|mut c| async move { funding_sources::list_for_account(&mut c, tenant, None).await })
            .await
            .unwrap();
        assert_eq!(stored.len(), 2, "round {round}: {stored:?}");
        assert_eq!(stored.iter().filter(|f| f.kind.as_str() == "bank").count(), 1);
        assert_eq!(stored.iter().filter(|f| f.kind.as_str() == "balance").count(), 1);
    }
}
