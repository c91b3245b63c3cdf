//! MX processor tokens through the real server: authorization codes for verified accounts
//! only, redeemed once within ten minutes by the tenant's own client, into a sixty-day bearer
//! token that reads one account; `/tokens` lists them without their secrets; codes and tokens
//! are stored only as hashes.

use std::sync::Arc;

use openiav_core::clock::{Clock, ManualClock, SystemClock};
use openiav_core::crypto::hash_token;
use openiav_core::ids::UserGuid;
use openiav_store::repo::processor_tokens;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{Client, Resp, TestApp};

pub(crate) const TEN_MINUTES_MS: i64 = 10 * 60 * 1000;
const SIXTY_DAYS_MS: i64 = 60 * 24 * 3_600 * 1000;

/// A member verified with MX Bank: the user, the member, the account the end user chose, and
/// the account left unverified.
pub(crate) struct Verified {
    pub user: String,
    pub member: String,
    pub chosen: String,
    pub other: String,
}

pub(crate) async fn verified(c: &Client) -> Verified {
    let user = c.create_user().await;
    let member = c.member_guid(&user, "mxuser", "password", true).await;
    let r = c.post_empty(&format!("/users/{user}/members/{member}/verify")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let s = c.settle(&user, &member).await;
    let ch = &s["challenges"][0];
    let options = ch["options"].as_array().unwrap();
    let chosen = options[0]["value"].as_str().unwrap().to_owned();
    let other = options[1]["value"].as_str().unwrap().to_owned();
    let r = c.resume(&user, &member, ch["guid"].as_str().unwrap(), &chosen).await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(c.settle(&user, &member).await["connection_status"], "CONNECTED");
    Verified { user, member, chosen, other }
}

pub(crate) fn scope(user: &str, member: &str, account: &str) -> String {
    format!("user-guid:{user} member-guid:{member} account-guid:{account} read-protected")
}

async fn request_code(c: &Client, scope: &str) -> Resp {
    c.post("/authorization_code", json!({ "authorization_code": { "scope": scope } })).await
}

pub(crate) async fn code_for(c: &Client, v: &Verified) -> String {
    let r = request_code(c, &scope(&v.user, &v.member, &v.chosen)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["authorization_code"]["code"].as_str().unwrap().to_owned()
}

/// `POST /token?grant_type=authorization_code&code=…` as the client `c` authenticates.
async fn redeem(c: &Client, code: &str) -> Resp {
    let code: String = url::form_urlencoded::byte_serialize(code.as_bytes()).collect();
    c.post_empty(&format!("/token?grant_type=authorization_code&code={code}")).await
}

async fn token_for(c: &Client, v: &Verified) -> String {
    let code = code_for(c, v).await;
    let r = redeem(c, &code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["access_token"].as_str().unwrap().to_owned()
}

/// A processor's request with `Authorization: Bearer <token>`.
async fn bearer(app: &TestApp, method: Method, path: &str, token: &str) -> Resp {
    let resp = reqwest::Client::new()
        .request(method, format!("{}{path}", app.base))
        .header("accept", "application/json")
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let www = resp.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp { status, content_type: www, text, body }
}

#[tokio::test]
async fn a_code_for_a_verified_account_becomes_a_token_that_reads_that_account() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let v = verified(&c).await;
    let r = request_code(&c, &scope(&v.user, &v.member, &v.chosen)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.content_type, "application/vnd.mx.api.v1+json");
    let code = r.body["authorization_code"]["code"].as_str().unwrap().to_owned();
    assert!(code.len() >= 40, "{code}");

    let r = redeem(&c, &code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_at"], Value::Null);
    assert_eq!(r.body["scope"], scope(&v.user, &v.member, &v.chosen));
    let token = r.body["access_token"].as_str().unwrap().to_owned();
    assert_ne!(token, code);

    // The account's numbers, as the member's own listing has them, typed as the spec types them.
    let listed = c.get(&format!("/users/{}/members/{}/account_numbers", v.user, v.member)).await;
    let expected = &listed.body["account_numbers"][0];
    let r = bearer(&app, Method::GET, "/account/account_numbers", &token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let numbers = r.body["account_numbers"].as_array().unwrap();
    assert_eq!(numbers.len(), 1, "{}", r.text);
    let n = &numbers[0];
    assert_eq!(n["account_guid"], v.chosen.as_str());
    assert_eq!(n["member_guid"], v.member.as_str());
    assert_eq!(n["user_guid"], v.user.as_str());
    assert_eq!(n["guid"], expected["guid"]);
    assert_eq!(n["passed_validation"], true);
    let as_int = |s: &Value| s.as_str().unwrap().parse::<u64>().unwrap();
    assert_eq!(n["account_number"].as_u64(), Some(as_int(&expected["account_number"])), "{}", r.text);
    assert_eq!(n["routing_number"].as_u64(), Some(as_int(&expected["routing_number"])), "{}", r.text);

    let r = bearer(&app, Method::GET, "/payment_account", &token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let p = &r.body["payment_account"];
    assert_eq!(p["account_guid"], v.chosen.as_str());
    assert_eq!(p["account_number"], n["account_number"]);
    assert_eq!(p["account_type"], "CHECKING");
    assert!(p["balance"].is_number() && p["account_name"].is_string(), "{}", r.text);

    let r = bearer(&app, Method::POST, "/account/check_balance", &token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["member"]["guid"], v.member.as_str());
    assert_eq!(r.body["member"]["is_being_aggregated"], true, "a balance check started: {}", r.text);
    c.settle(&v.user, &v.member).await;

    // Owners once an identification has processed them.
    let r = bearer(&app, Method::GET, "/account/transactions", &token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["account_owners"], json!([]));
    assert_eq!(r.body["pagination"]["total_entries"], 0);
    let r = c.post_empty(&format!("/users/{}/members/{}/identify", v.user, v.member)).await;
    assert_eq!(r.status, 202, "{}", r.text);
    c.settle(&v.user, &v.member).await;
    let r = bearer(&app, Method::GET, "/account/transactions", &token).await;
    let owners = r.body["account_owners"].as_array().unwrap();
    assert_eq!(owners.len(), 1, "{}", r.text);
    assert_eq!(owners[0]["account_guid"], v.chosen.as_str());
    assert!(owners[0]["owner_name"].is_string() && owners[0]["guid"].as_str().unwrap().starts_with("ACO-"));

    // v20250224 speaks the same shapes.
    let r = c
        .v2025()
        .post("/authorization_code", json!({ "authorization_code": { "scope": scope(&v.user, &v.member, &v.chosen) } }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.content_type, "application/json");
}

#[tokio::test]
async fn the_deprecated_endpoint_mints_codes_by_guids() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let v = verified(&c).await;
    let body = json!({ "payment_processor_authorization_code": {
        "user_guid": v.user, "member_guid": v.member, "account_guid": v.chosen } });
    let r = c.post("/payment_processor_authorization_code", body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let code = r.body["payment_processor_authorization_code"]["authorization_code"].as_str().unwrap();
    assert_eq!(redeem(&c, code).await.status, 200);

    let r = c
        .post(
            "/payment_processor_authorization_code",
            json!({ "payment_processor_authorization_code": { "user_guid": v.user, "member_guid": v.member } }),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.error_message().contains("account_guid"), "{}", r.text);
}

#[tokio::test]
async fn codes_are_only_for_verified_accounts_of_the_named_member_and_user() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let v = verified(&c).await;

    // The account the end user did not choose: its numbers were never released.
    let r = request_code(&c, &scope(&v.user, &v.member, &v.other)).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["error"]["status"], 422);
    assert!(r.error_message().contains("has not been verified"), "{}", r.text);

    // A member that was aggregated but never verified.
    let user = c.create_user().await;
    let member = c.member_guid(&user, "mxuser", "password", false).await;
    c.settle(&user, &member).await;
    let accounts = c.get(&format!("/users/{user}/members/{member}/accounts")).await;
    let account = accounts.body["accounts"][0]["guid"].as_str().unwrap().to_owned();
    let r = request_code(&c, &scope(&user, &member, &account)).await;
    assert_eq!(r.status, 422, "{}", r.text);

    // Wrong user, member or account: MX's not-found.
    let stranger = verified(&c).await;
    for (u, m, a) in [
        (&stranger.user, &v.member, &v.chosen),
        (&v.user, &stranger.member, &v.chosen),
        (&v.user, &v.member, &stranger.chosen),
        (&v.user, &member, &v.chosen),
    ] {
        let r = request_code(&c, &scope(u, m, a)).await;
        assert_eq!(r.status, 404, "{u} {m} {a}: {}", r.text);
        assert_eq!(r.body["error"]["status"], 404);
    }
    let ghost = UserGuid::generate();
    assert_eq!(request_code(&c, &scope(ghost.as_str(), &v.member, &v.chosen)).await.status, 404);

    // A scope that does not parse.
    for bad in ["", "read-protected", &format!("user-guid:{} member-guid:{}", v.user, v.member), "write-all"] {
        let r = request_code(&c, bad).await;
        assert_eq!(r.status, 400, "{bad:?}: {}", r.text);
        assert!(r.error_message().contains("scope"), "{}", r.text);
    }
    let r = c.post("/authorization_code", json!({})).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = c.post("/authorization_code", json!([])).await;
    assert_eq!(r.status, 400, "{}", r.text);
}

#[tokio::test]
async fn a_code_redeems_once() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let v = verified(&c).await;
    let code = code_for(&c, &v).await;
    assert_eq!(redeem(&c, &code).await.status, 200);
    let r = redeem(&c, &code).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.error_message(), "The authorization code has already been used.");
    let r = redeem(&c, "not-a-code").await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.error_message(), "The authorization code is invalid.");

    // The request itself: grant type and code, and the client's own credentials.
    let r = c.post_empty(&format!("/token?grant_type=client_credentials&code={code}")).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = c.post_empty("/token?grant_type=authorization_code").await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = c
        .with_credentials(&app.sandbox.mx.client_id, "wrong")
        .post_empty("/token?grant_type=authorization_code&code=x")
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
}

#[tokio::test]
async fn codes_expire_after_ten_minutes_and_tokens_after_sixty_days() {
    let clock = ManualClock::new(SystemClock.now());
    let app = TestApp::spawn_with_clock(Arc::new(clock.clone())).await;
    let c = app.client();
    let v = verified(&c).await;
    let early = code_for(&c, &v).await;
    let late = code_for(&c, &v).await;
    clock.advance_millis(TEN_MINUTES_MS - 1);
    let r = redeem(&c, &early).await;
    assert_eq!(r.status, 200, "one millisecond before the end: {}", r.text);
    let token = r.body["access_token"].as_str().unwrap().to_owned();
    clock.advance_millis(1);
    let r = redeem(&c, &late).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.error_message(), "The authorization code has expired.");

    // The token was issued a millisecond ago.
    clock.advance_millis(SIXTY_DAYS_MS - 2);
    assert_eq!(bearer(&app, Method::GET, "/account/account_numbers", &token).await.status, 200);
    let listed = c.get(&format!("/tokens?user_guid={}", v.user)).await;
    assert_eq!(listed.body["tokens"][0]["active"], true, "{}", listed.text);
    clock.advance_millis(1);
    let r = bearer(&app, Method::GET, "/account/account_numbers", &token).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.body["error"]["status"], 401);
    let listed = c.get(&format!("/tokens?user_guid={}", v.user)).await;
    assert_eq!(listed.body["tokens"][0]["active"], false, "{}", listed.text);
}

#[tokio::test]
async fn processor_endpoints_need_a_live_bearer_token() {
    let app = TestApp::spawn().await;
    let c = app.client();
    for (method, path) in [
        (Method::GET, "/account/account_numbers"),
        (Method::POST, "/account/check_balance"),
        (Method::GET, "/payment_account"),
        (Method::GET, "/account/transactions"),
    ] {
        let r = bearer(&app, method.clone(), path, "no-such-token").await;
        assert_eq!(r.status, 401, "{path}: {}", r.text);
        assert_eq!(r.error_message(), "The access token is missing, invalid or expired.");
        assert!(r.content_type.starts_with("Bearer"), "WWW-Authenticate: {}", r.content_type);
        // The client's Basic credentials are no bearer token.
        let r = c.send(method, path, None).await;
        assert_eq!(r.status, 401, "{path}: {}", r.text);
    }
}

#[tokio::test]
async fn a_token_reads_only_the_account_it_was_issued_for() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let v = verified(&c).await;
    let token = token_for(&c, &v).await;
    // The member has two accounts; the token sees only the chosen one.
    let all = c.get(&format!("/users/{}/members/{}/accounts", v.user, v.member)).await;
    assert_eq!(all.body["accounts"].as_array().unwrap().len(), 2);
    let r = bearer(&app, Method::GET, "/account/account_numbers", &token).await;
    let guids: Vec<&str> =
        r.body["account_numbers"].as_array().unwrap().iter().map(|n| n["account_guid"].as_str().unwrap()).collect();
    assert_eq!(guids, [v.chosen.as_str()]);
    assert!(!r.text.contains(&v.other), "{}", r.text);
    let r = bearer(&app, Method::GET, "/payment_account", &token).await;
    assert_eq!(r.body["payment_account"]["account_guid"], v.chosen.as_str());

    // Once the member is gone, so is what the token read.
    let r = c.delete(&format!("/users/{}/members/{}", v.user, v.member)).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(bearer(&app, Method::GET, "/account/account_numbers", &token).await.status, 401);
}

#[tokio::test]
async fn another_tenant_can_neither_mint_redeem_nor_list() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let other = app.other_tenant().await;
    let v = verified(&c).await;
    let code = code_for(&c, &v).await;

    let r = redeem(&other, &code).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.error_message(), "The authorization code is invalid.", "like an unknown code");
    assert_eq!(redeem(&c, &code).await.status, 200, "and the code is still the owner's to redeem");

    let r = request_code(&other, &scope(&v.user, &v.member, &v.chosen)).await;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = other.get(&format!("/tokens?user_guid={}", v.user)).await;
    assert_eq!(r.status, 404, "{}", r.text);
}

#[tokio::test]
async fn tokens_lists_what_was_issued_without_the_secrets() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let v = verified(&c).await;
    assert_eq!(c.get(&format!("/tokens?user_guid={}", v.user)).await.body, json!({ "tokens": [] }));
    let first = token_for(&c, &v).await;
    let second = token_for(&c, &v).await;

    // The spec sends the scope as a JSON body on GET.
    let body = json!({ "scope": { "user_guid": v.user, "member_guid": v.member, "account_guid": v.chosen } });
    let r = c.send(Method::GET, "/tokens", Some(body)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let tokens = r.body["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 2, "{}", r.text);
    for t in tokens {
        assert_eq!(t["active"], true);
        assert!(t["payment_processor_guid"].as_str().unwrap().starts_with("PPR-"));
        assert!(t["expires_at"].is_string());
        assert_eq!(t["account_guid"], v.chosen.as_str());
        assert!(t.get("access_token").is_none(), "{}", r.text);
    }
    assert!(!r.text.contains(&first) && !r.text.contains(&second));
    // v20250224 names the user by its partner id as well.
    let r = c.put(&format!("/users/{}", v.user), json!({ "user": { "id": "processor-partner-1" } })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = c.v2025().get("/tokens?user_guid=processor-partner-1").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.content_type, "application/json");
    assert_eq!(r.body["tokens"].as_array().unwrap().len(), 2, "{}", r.text);
    assert_eq!(c.get("/tokens?user_guid=processor-partner-1").await.status, 404, "v20111101 takes guids only");
    let r = c.get(&format!("/tokens?user_guid={}&account_guid={}", v.user, v.other)).await;
    assert_eq!(r.body["tokens"], json!([]));
    let r = c.get("/tokens").await;
    assert_eq!(r.body["tokens"].as_array().unwrap().len(), 2, "without a scope, every token: {}", r.text);
    let r = c.get(&format!("/tokens?account_guid={}", v.chosen)).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = c.get(&format!("/tokens?user_guid={}", UserGuid::generate().as_str())).await;
    assert_eq!(r.status, 404, "{}", r.text);
}

#[tokio::test]
async fn codes_and_tokens_are_stored_only_as_hashes() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let v = verified(&c).await;
    let code = code_for(&c, &v).await;
    let r = redeem(&c, &code).await;
    let token = r.body["access_token"].as_str().unwrap().to_owned();

    let tenant = openiav_core::ids::TenantId::parse(&app.sandbox.id).unwrap();
    let (code_hash, user) = (hash_token(&code), UserGuid::parse(&v.user).unwrap());
    let (stored_code, stored_tokens) = app
        .store
        .read(|mut conn| async move {
            let found = processor_tokens::find_code(&mut conn, tenant, &code_hash).await?;
            Ok((found, processor_tokens::list_tokens(&mut conn, tenant, Some(&user), None, None).await?))
        })
        .await
        .unwrap();
    let stored_code = stored_code.expect("the code is found by its hash");
    assert!(stored_code.used_at.is_some());
    assert_eq!(stored_tokens.len(), 1);
    assert_eq!(stored_tokens[0].token_hash, hash_token(&token));
    let rows = format!("{stored_code:?} {stored_tokens:?}");
    assert!(!rows.contains(&code) && !rows.contains(&token), "{rows}");

    if app.database_url.starts_with("sqlite:") {
        let mut bytes = Vec::new();
        for entry in std::fs::read_dir(app.dir.path()).unwrap() {
            bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
        }
        let haystack = String::from_utf8_lossy(&bytes);
        assert!(haystack.contains(&hash_token(&token)), "the scan reads the database files");
        assert!(!haystack.contains(&code) && !haystack.contains(&token), "a secret is stored in the clear");
    }
    let logs = crate::helpers::captured_logs();
    assert!(!logs.contains(&code) && !logs.contains(&token), "a secret reached the logs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_redemptions_of_one_code_give_exactly_one_token() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let v = verified(&c).await;
    for round in 0..3 {
        let code = code_for(&c, &v).await;
        let running: Vec<_> = (0..12)
            .map(|_| {
                let (c, code) = (c.clone(), code.clone());
                tokio::spawn(async move { redeem(&c, &code).await })
            })
            .collect();
        let mut answers = Vec::new();
        for r in running {
            answers.push(r.await.unwrap());
        }
        let won: Vec<&Resp> = answers.iter().filter(|r| r.status == 200).collect();
        assert_eq!(won.len(), 1, "round {round}: {:?}", answers.iter().map(|r| &r.text).collect::<Vec<_>>());
        for r in answers.iter().filter(|r| r.status != 200) {
            assert_eq!(r.status, 400, "round {round}: {}", r.text);
            assert_eq!(r.error_message(), "The authorization code has already been used.");
        }
    }
    let listed = c.get(&format!("/tokens?user_guid={}", v.user)).await;
    assert_eq!(listed.body["tokens"].as_array().unwrap().len(), 3, "one token per code: {}", listed.text);
}
