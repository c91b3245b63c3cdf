//! Investments: the brokerage account an aggregation gathers at MX Bank, its holdings by user,
//! member and account, reading one, deactivating and reactivating the user, both API versions
//! with partner ids, and the `investments` product in `/institutions` and member create.

use serde_json::{json, Value};

use crate::helpers::{Client, TestApp};

/// An MX Bank member of a new user, connected by its first aggregation.
async fn connected(c: &Client) -> (String, String) {
    let user = c.create_user().await;
    let member = c.member_guid(&user, "mxuser", "password", false).await;
    assert_eq!(c.settle(&user, &member).await["connection_status"], "CONNECTED");
    (user, member)
}

fn holdings(r: &crate::helpers::Resp) -> Vec<Value> {
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["investment_holdings"].as_array().unwrap().clone()
}

fn cents(v: &Value) -> i64 {
    (v.as_f64().unwrap() * 100.0).round() as i64
}

#[tokio::test]
async fn aggregation_gathers_a_brokerage_account_whose_holdings_add_up_to_its_balance() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let (user, member) = connected(&c).await;
    let accounts = c.get(&format!("/users/{user}/members/{member}/accounts")).await.body["accounts"].clone();
    let brokerage: Vec<&Value> = accounts.as_array().unwrap().iter().filter(|a| a["type"] == "INVESTMENT").collect();
    assert_eq!(brokerage.len(), 1, "{accounts}");
    let acct = brokerage[0];
    assert_eq!(acct["subtype"], "BROKERAGE");
    let acct_guid = acct["guid"].as_str().unwrap();

    let by_user = holdings(&c.get(&format!("/users/{user}/investment_holdings")).await);
    let by_member = holdings(&c.get(&format!("/users/{user}/members/{member}/investment_holdings")).await);
    let by_account = holdings(&c.get(&format!("/users/{user}/accounts/{acct_guid}/investment_holdings")).await);
    assert!((3..=5).contains(&by_user.len()));
    assert_eq!(by_user, by_member);
    assert_eq!(by_user, by_account);
    let mut total = 0;
    for h in &by_user {
        assert!(h["guid"].as_str().unwrap().starts_with("HOL-"));
        assert_eq!((h["account_guid"].as_str(), h["member_guid"].as_str()), (Some(acct_guid), Some(member.as_str())));
        assert_eq!(h["user_guid"], user.as_str());
        assert_eq!(h["currency_code"], "USD");
        let shares: i64 = h["quantity"].as_str().unwrap().strip_suffix(".0").unwrap().parse().unwrap();
        assert_eq!(h["shares"].as_f64().unwrap(), shares as f64);
        assert_eq!(cents(&h["market_value"]), shares * cents(&h["current_price"]), "{h}");
        assert_eq!(cents(&h["cost_basis"]), shares * cents(&h["purchase_price"]), "{h}");
        assert!(h["symbol"].is_string() && h["description"].is_string() && h["holding_type"].is_string());
        assert!(h["holding_type_id"].is_i64() && h["created_at"].is_string());
        total += cents(&h["market_value"]);
    }
    assert_eq!(total, cents(&acct["balance"]), "market values add up to the balance");

    let one = &by_user[1];
    let read = c.get(&format!("/users/{user}/investment_holdings/{}", one["guid"].as_str().unwrap())).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(&read.body["investment_holding"], one);

    // A second aggregation refreshes the same holdings (same guids).
    assert_eq!(c.post_empty(&format!("/users/{user}/members/{member}/aggregate")).await.status, 202);
    c.settle(&user, &member).await;
    let again = holdings(&c.get(&format!("/users/{user}/investment_holdings")).await);
    let guids = |l: &[Value]| l.iter().map(|h| h["guid"].clone()).collect::<Vec<_>>();
    assert_eq!(guids(&again), guids(&by_user));
}

#[tokio::test]
async fn holdings_paginate_and_unknown_or_foreign_ones_are_404() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let (user, member) = connected(&c).await;
    let all = holdings(&c.get(&format!("/users/{user}/investment_holdings")).await);
    let r = c.get(&format!("/users/{user}/investment_holdings?page=1&records_per_page=1")).await;
    // Page sizes below 10 are raised to 10, as everywhere in MX.
    assert_eq!(r.body["pagination"]["per_page"], 10);
    assert_eq!(r.body["pagination"]["total_entries"], all.len());
    assert_eq!(holdings(&r), all);
    let r = c.get(&format!("/users/{user}/investment_holdings?page=2&records_per_page=10")).await;
    assert!(holdings(&r).is_empty());
    assert_eq!(r.body["pagination"]["current_page"], 2);
    assert_eq!(c.get(&format!("/users/{user}/investment_holdings?page=0")).await.status, 400);

    let guid = all[0]["guid"].as_str().unwrap();
    assert_eq!(c.get(&format!("/users/{user}/investment_holdings/HOL-nope")).await.status, 404);
    assert_eq!(c.get("/users/USR-nope/investment_holdings").await.status, 404);
    assert_eq!(c.get(&format!("/users/{user}/accounts/ACT-nope/investment_holdings")).await.status, 404);
    assert_eq!(c.get(&format!("/users/{user}/members/MBR-nope/investment_holdings")).await.status, 404);

    let other = app.other_tenant().await;
    for path in [
        format!("/users/{user}/investment_holdings"),
        format!("/users/{user}/investment_holdings/{guid}"),
        format!("/users/{user}/members/{member}/investment_holdings"),
        format!("/users/{user}/accounts/{}/investment_holdings", all[0]["account_guid"].as_str().unwrap()),
        format!("/users/{user}/investment_holdings_deactivate"),
    ] {
        assert_eq!(other.get(&path).await.status, 404, "{path}");
    }
    // Another user of the same tenant cannot read this user's holding either.
    let stranger = c.create_user().await;
    assert_eq!(c.get(&format!("/users/{stranger}/investment_holdings/{guid}")).await.status, 404);
}

#[tokio::test]
async fn a_deactivated_user_gathers_no_holdings_until_a_holdings_endpoint_reactivates_it() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let r = c.get(&format!("/users/{user}/investment_holdings_deactivate")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({ "message": "Successfully deactivated user from billing", "status": 200 }));
    let member = c.member_guid(&user, "mxuser", "password", false).await;
    c.settle(&user, &member).await;
    let accounts = c.get(&format!("/users/{user}/accounts")).await.body["accounts"].clone();
    assert!(accounts.as_array().unwrap().iter().all(|a| a["type"] != "INVESTMENT"), "{accounts}");
    // Listing reactivates the user (and finds nothing yet); the next aggregation gathers holdings.
    assert!(holdings(&c.get(&format!("/users/{user}/investment_holdings")).await).is_empty());
    assert_eq!(c.post_empty(&format!("/users/{user}/members/{member}/aggregate")).await.status, 202);
    c.settle(&user, &member).await;
    assert!(!holdings(&c.get(&format!("/users/{user}/investment_holdings")).await).is_empty());
}

#[tokio::test]
async fn include_holdings_false_keeps_an_aggregation_from_gathering_them() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let member = c.member_guid(&user, "mxuser", "password", true).await;
    let r = c.post_empty(&format!("/users/{user}/members/{member}/aggregate?include_holdings=false")).await;
    assert_eq!(r.status, 202, "{}", r.text);
    c.settle(&user, &member).await;
    assert!(holdings(&c.get(&format!("/users/{user}/investment_holdings")).await).is_empty());
    let bad = c.post_empty(&format!("/users/{user}/members/{member}/aggregate?include_holdings=maybe")).await;
    assert_eq!(bad.status, 400, "{}", bad.text);
}

#[tokio::test]
async fn v20250224_lists_and_reads_holdings_by_partner_ids() {
    let app = TestApp::spawn().await;
    let c = app.client().v2025();
    let r = c.post("/users", json!({ "user": { "id": "inv-user-1" } })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let user = r.body["user"]["guid"].as_str().unwrap().to_owned();
    let (login, pass) = c.credential_guids("mxbank").await;
    let r = c
        .post(
            "/users/inv-user-1/members",
            json!({ "member": { "institution_code": "mxbank", "id": "inv-member-1",
                "credentials": [{ "guid": login, "value": "mxuser" }, { "guid": pass, "value": "password" }] },
                "data_request": { "products": ["investments"] } }),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let member = r.body["member"]["guid"].as_str().unwrap().to_owned();
    c.settle(&user, &member).await;
    assert_eq!(r.content_type, "application/json");
    let by_id = holdings(&c.get("/users/inv-user-1/members/inv-member-1/investment_holdings").await);
    assert!(!by_id.is_empty());
    assert_eq!(by_id, holdings(&c.get(&format!("/users/{user}/investment_holdings")).await));
    let guid = by_id[0]["guid"].as_str().unwrap();
    let read = c.get(&format!("/users/inv-user-1/investment_holdings/{guid}")).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["investment_holding"]["guid"], guid);
    // v20111101 knows no partner ids in paths.
    assert_eq!(app.client().get("/users/inv-user-1/investment_holdings").await.status, 404);
    let bad = c
        .post(
            "/users/inv-user-1/members",
            json!({ "member": { "institution_code": "mxbank",
                "credentials": [{ "guid": login, "value": "mxuser" }, { "guid": pass, "value": "other" }] },
                "data_request": { "products": ["stocks"] } }),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
}

#[tokio::test]
async fn a_verification_gathers_holdings_only_when_investments_are_requested() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let member = c.member_guid(&user, "mxuser", "password", true).await;
    assert_eq!(c.post_empty(&format!("/users/{user}/members/{member}/identify")).await.status, 202);
    c.settle(&user, &member).await;
    assert!(holdings(&c.get(&format!("/users/{user}/investment_holdings")).await).is_empty());
}

#[tokio::test]
async fn institutions_filter_on_investments_and_rewards_in_v20250224() {
    let app = TestApp::spawn().await;
    let c = app.client().v2025();
    for product in ["investments", "rewards"] {
        let r = c.get(&format!("/institutions?supported_products[]={product}&records_per_page=1000")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let list = r.body["institutions"].as_array().unwrap();
        let codes: Vec<&str> = list.iter().map(|i| i["code"].as_str().unwrap()).collect();
        assert!(codes.contains(&"mxbank") && codes.contains(&"mx_bank_oauth"), "{product}");
        assert!(list.iter().all(|i| i["supported_products"].as_array().unwrap().contains(&json!(product))));
        let total = r.body["pagination"]["total_entries"].as_i64().unwrap();
        assert!(total > 2 && total < 150, "{product}: {total}");
    }
    let r = c.get("/institutions?supported_products[]=investments&name=chase").await;
    assert!(r.body["institutions"].as_array().unwrap().iter().all(|i| i["code"] != "chase"), "{}", r.text);
    let chase = c.get("/institutions/chase").await;
    let products = chase.body["institution"]["supported_products"].as_array().unwrap().clone();
    assert!(products.contains(&json!("rewards")) && !products.contains(&json!("investments")), "{products:?}");
}
