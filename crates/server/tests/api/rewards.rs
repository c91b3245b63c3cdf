//! Rewards: the fetch_rewards job through the member engine (running-job rules, unsupported
//! institutions), listing and reading a member's rewards in both API versions.

use serde_json::{json, Value};

use crate::helpers::{Client, Options, TestApp};

fn rewards(r: &crate::helpers::Resp) -> Vec<Value> {
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["rewards"].as_array().unwrap().clone()
}

async fn member_of(c: &Client) -> (String, String) {
    let user = c.create_user().await;
    let member = c.member_guid(&user, "mxuser", "password", true).await;
    (user, member)
}

#[tokio::test]
async fn fetch_rewards_gathers_card_points_and_travel_miles() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let (user, member) = member_of(&c).await;
    assert!(rewards(&c.get(&format!("/users/{user}/members/{member}/rewards")).await).is_empty());
    let r = c.post_empty(&format!("/users/{user}/members/{member}/fetch_rewards")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["member"]["guid"], member.as_str());
    assert_eq!(r.body["member"]["is_being_aggregated"], true);
    assert_eq!(c.settle(&user, &member).await["connection_status"], "CONNECTED");

    let list = rewards(&c.get(&format!("/users/{user}/members/{member}/rewards")).await);
    let kinds: Vec<(&str, &str)> =
        list.iter().map(|r| (r["unit_type"].as_str().unwrap(), r["balance_type"].as_str().unwrap())).collect();
    assert_eq!(
        kinds,
        [("POINTS", "AVAILABLE_BALANCE"), ("POINTS", "EXPIRING_BALANCE"), ("MILES", "AVAILABLE_BALANCE")]
    );
    let accounts = c.get(&format!("/users/{user}/members/{member}/accounts")).await.body["accounts"].clone();
    let card = accounts.as_array().unwrap().iter().find(|a| a["type"] == "CREDIT_CARD").unwrap()["guid"].clone();
    for r in &list {
        assert!(r["guid"].as_str().unwrap().starts_with("RWD-"));
        assert!(r["balance"].is_i64() && r["balance"].as_i64().unwrap() > 0);
        assert_eq!((r["member_guid"].as_str(), r["user_guid"].as_str()), (Some(member.as_str()), Some(user.as_str())));
        assert!(r["description"].is_string() && r["created_at"].is_string() && r["updated_at"].is_string());
    }
    assert_eq!((&list[0]["account_guid"], &list[1]["account_guid"]), (&card, &card));
    assert!(list[2]["account_guid"].is_null());
    assert!(list[1]["expires_on"].as_str().unwrap().len() == 10 && list[0]["expires_on"].is_null());

    let guid = list[2]["guid"].as_str().unwrap();
    let read = c.get(&format!("/users/{user}/members/{member}/rewards/{guid}")).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["reward"], list[2]);

    // A second fetch keeps the same rewards.
    assert_eq!(c.post_empty(&format!("/users/{user}/members/{member}/fetch_rewards")).await.status, 200);
    c.settle(&user, &member).await;
    let again = rewards(&c.get(&format!("/users/{user}/members/{member}/rewards")).await);
    assert_eq!(
        again.iter().map(|r| &r["guid"]).collect::<Vec<_>>(),
        list.iter().map(|r| &r["guid"]).collect::<Vec<_>>()
    );

    // Pagination.
    let r = c.get(&format!("/users/{user}/members/{member}/rewards?page=2&records_per_page=10")).await;
    assert!(rewards(&r).is_empty());
    assert_eq!(r.body["pagination"]["total_entries"], 3);
    assert_eq!(c.get(&format!("/users/{user}/members/{member}/rewards?records_per_page=x")).await.status, 400);
}

#[tokio::test]
async fn unknown_and_foreign_rewards_are_404() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let (user, member) = member_of(&c).await;
    c.post_empty(&format!("/users/{user}/members/{member}/fetch_rewards")).await;
    c.settle(&user, &member).await;
    let guid = rewards(&c.get(&format!("/users/{user}/members/{member}/rewards")).await)[0]["guid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(c.get(&format!("/users/{user}/members/{member}/rewards/RWD-nope")).await.status, 404);
    assert_eq!(c.get(&format!("/users/{user}/members/MBR-nope/rewards")).await.status, 404);
    assert_eq!(c.post_empty(&format!("/users/{user}/members/MBR-nope/fetch_rewards")).await.status, 404);
    // Another member of the same user does not hold this reward.
    let other_member = c.member_guid(&user, "mxuser2", "password", true).await;
    assert_eq!(c.get(&format!("/users/{user}/members/{other_member}/rewards/{guid}")).await.status, 404);
    let other = app.other_tenant().await;
    for path in
        [format!("/users/{user}/members/{member}/rewards"), format!("/users/{user}/members/{member}/rewards/{guid}")]
    {
        assert_eq!(other.get(&path).await.status, 404, "{path}");
    }
    assert_eq!(other.post_empty(&format!("/users/{user}/members/{member}/fetch_rewards")).await.status, 404);
}

#[tokio::test]
async fn an_institution_without_rewards_refuses_fetch_rewards() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    // us_bank has no rewards program in the catalog.
    let inst = c.get("/institutions/us_bank").await;
    assert_eq!(inst.body["institution"]["code"], "us_bank", "{}", inst.text);
    let (login, pass) = c.credential_guids("us_bank").await;
    let r = c
        .post(
            &format!("/users/{user}/members"),
            json!({ "member": { "institution_code": "us_bank", "skip_aggregation": true,
                "credentials": [{ "guid": login, "value": "mxuser" }, { "guid": pass, "value": "password" }] } }),
        )
        .await;
    let member = r.body["member"]["guid"].as_str().unwrap().to_owned();
    let r = c.post_empty(&format!("/users/{user}/members/{member}/fetch_rewards")).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.error_message().contains("does not support this premium feature"), "{}", r.text);
}

#[tokio::test]
async fn fetch_rewards_follows_the_running_job_rules() {
    // Slow sandbox: the first job is still running when the next request arrives.
    let app = TestApp::spawn_with(Options { sandbox_delay_ms: 60_000, ..Options::default() }).await;
    let c = app.client();
    let (user, member) = member_of(&c).await;
    let path = format!("/users/{user}/members/{member}/fetch_rewards");
    assert_eq!(c.post_empty(&path).await.status, 200);
    // The same job again is fine (nothing new starts); another kind of job is refused.
    assert_eq!(c.post_empty(&path).await.status, 200);
    let r = c.post_empty(&format!("/users/{user}/members/{member}/aggregate")).await;
    assert_eq!(r.status, 409, "{}", r.text);
}

#[tokio::test]
async fn v20250224_fetches_lists_and_reads_rewards_by_partner_ids() {
    let app = TestApp::spawn().await;
    let c = app.client().v2025();
    let r = c.post("/users", json!({ "user": { "id": "rwd-user-1" } })).await;
    let user = r.body["user"]["guid"].as_str().unwrap().to_owned();
    let (login, pass) = c.credential_guids("mxbank").await;
    let r = c
        .post(
            "/users/rwd-user-1/members",
            json!({ "member": { "institution_code": "mxbank", "id": "rwd-member-1",
                "credentials": [{ "guid": login, "value": "mxuser" }, { "guid": pass, "value": "password" }] },
                "data_request": { "products": ["rewards"] } }),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let member = r.body["member"]["guid"].as_str().unwrap().to_owned();
    c.settle(&user, &member).await;
    // Requested at creation: the first aggregation already gathered them.
    let list = rewards(&c.get("/users/rwd-user-1/members/rwd-member-1/rewards").await);
    assert_eq!(list.len(), 3);
    let r = c.post_empty("/users/rwd-user-1/members/rwd-member-1/fetch_rewards").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["member"]["id"], "rwd-member-1");
    c.settle(&user, &member).await;
    let guid = list[0]["guid"].as_str().unwrap();
    let read = c.get(&format!("/users/rwd-user-1/members/rwd-member-1/rewards/{guid}")).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["reward"]["guid"], guid);
}
