//! `/users/{user}/members`: create, read, list, update, delete, and their validation.

use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn creating_a_member_starts_an_aggregation_that_connects() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let r = c.create_member(&user, "mxuser", "password", false).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let m = &r.body["member"];
    assert_eq!(m["connection_status"], "CREATED");
    assert_eq!(m["is_being_aggregated"], true);
    assert_eq!(m["institution_code"], "mxbank");
    assert_eq!(m["name"], "MX Bank");
    assert_eq!(m["is_oauth"], false);
    assert_eq!(m["most_recent_job_guid"], serde_json::Value::Null);
    assert_eq!(m["most_recent_job_detail_text"], serde_json::Value::Null);
    assert_eq!(m["aggregated_at"], serde_json::Value::Null);
    let guid = m["guid"].as_str().unwrap();
    let s = c.settle(&user, guid).await;
    assert_eq!(s["connection_status"], "CONNECTED");
    assert_eq!(s["is_authenticated"], true);
    assert_eq!(s["has_processed_accounts"], true);
    assert_eq!(s["has_processed_transactions"], true);
    assert!(s["aggregated_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(s["aggregated_at"], s["successfully_aggregated_at"]);
}

#[tokio::test]
async fn skip_aggregation_leaves_the_member_created_and_idle() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let r = c.create_member(&user, "mxuser", "password", true).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["member"]["connection_status"], "CREATED");
    assert_eq!(r.body["member"]["is_being_aggregated"], false);
    let guid = r.body["member"]["guid"].as_str().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(c.status(&user, guid).await["connection_status"], "CREATED");
}

#[tokio::test]
async fn invalid_member_requests_are_400_with_reasons() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let (login, pass) = c.credential_guids("mxbank").await;
    let path = format!("/users/{user}/members");
    let cases = [
        (json!({}), "member"),
        (json!({ "member": { "credentials": [] } }), "institution_code"),
        (json!({ "member": { "institution_code": "nope", "credentials": [] } }), "institution_code"),
        (json!({ "member": { "institution_code": "mxbank" } }), "credentials"),
        (
            json!({ "member": { "institution_code": "mxbank", "credentials": [{ "guid": login, "value": "mxuser" }] } }),
            "required",
        ),
        (
            json!({ "member": { "institution_code": "mxbank", "credentials": [{ "guid": "CRD-nope", "value": "x" }, { "guid": pass, "value": "p" }] } }),
            "CRD-nope",
        ),
        (
            json!({ "member": { "institution_code": "mxbank", "use_cases": ["FOO"], "credentials": [{ "guid": login, "value": "mxuser" }, { "guid": pass, "value": "p" }] } }),
            "use case",
        ),
        (
            json!({ "member": { "institution_code": "mxbank", "credentials": [{ "guid": login, "value": 5 }] } }),
            "`member.credentials[0].value` must be a string.",
        ),
    ];
    for (body, needle) in cases {
        let r = c.post(&path, body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert!(r.error_message().contains(needle), "{body}: {}", r.text);
    }
    assert_eq!(c.get(&format!("/users/{user}/members")).await.body["members"], json!([]), "nothing was stored");
}

#[tokio::test]
async fn the_same_credentials_twice_are_a_conflict() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let first = c.create_member(&user, "mxuser", "password", true).await;
    assert_eq!(first.status, 200);
    let again = c.create_member(&user, "mxuser", "password", true).await;
    assert_eq!(again.status, 409);
    assert!(again.error_message().contains(first.body["member"]["guid"].as_str().unwrap()));
    assert_eq!(c.create_member(&user, "mxuser", "other", true).await.status, 200);
}

#[tokio::test]
async fn read_list_update_and_delete_members() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let r = c.post("/users", json!({ "user": { "id": "u-77" } })).await;
    let user = r.body["user"]["guid"].as_str().unwrap().to_owned();
    let guid = c.member_guid(&user, "mxuser", "password", true).await;
    let m = c.read_member(&user, &guid).await;
    assert_eq!(m["user_guid"], user.as_str());
    assert_eq!(m["user_id"], "u-77");

    let r = c
        .put(
            &format!("/users/{user}/members/{guid}"),
            json!({ "member": { "metadata": "meta", "id": "mine", "use_cases": ["MONEY_MOVEMENT"] } }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["member"]["metadata"], "meta");
    assert_eq!(r.body["member"]["use_cases"], json!(["MONEY_MOVEMENT"]));
    assert_eq!(r.body["member"]["connection_status"], "CREATED", "no credential change, no aggregation");
    assert_eq!(c.v2025().get("/users/u-77/members/mine").await.body["member"]["guid"], guid.as_str());

    c.member_guid(&user, "mxuser", "second", true).await;
    let r = c.get(&format!("/users/{user}/members?records_per_page=10")).await;
    assert_eq!(r.body["pagination"]["total_entries"], 2);
    let r = c.get(&format!("/users/{user}/members?use_case=MONEY_MOVEMENT")).await;
    assert_eq!(r.body["pagination"]["total_entries"], 1);
    assert_eq!(r.body["members"][0]["guid"], guid.as_str());
    assert_eq!(c.get(&format!("/users/{user}/members?use_case=PFM")).await.body["members"], json!([]));
    assert_eq!(c.get(&format!("/users/{user}/members?use_case=GAMBLING")).await.status, 400);

    assert_eq!(c.delete(&format!("/users/{user}/members/{guid}")).await.status, 204);
    assert_eq!(c.get(&format!("/users/{user}/members/{guid}")).await.status, 404);
    assert_eq!(c.get(&format!("/users/{user}/members")).await.body["pagination"]["total_entries"], 1);
}

#[tokio::test]
async fn updating_credentials_reaggregates_with_the_new_password() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let guid = c.member_guid(&user, "mxuser", "UNAUTHORIZED", false).await;
    assert_eq!(c.settle(&user, &guid).await["connection_status"], "DENIED");
    assert_eq!(c.read_member(&user, &guid).await["needs_updated_credentials"], true);
    let (_, pass) = c.credential_guids("mxbank").await;
    let r = c
        .put(
            &format!("/users/{user}/members/{guid}"),
            json!({ "member": { "credentials": [{ "guid": pass, "value": "password" }] } }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["member"]["is_being_aggregated"], true);
    let s = c.settle(&user, &guid).await;
    assert_eq!(s["connection_status"], "CONNECTED");
    let m = c.read_member(&user, &guid).await;
    assert_eq!(m["connection_status_message"], serde_json::Value::Null);
    assert_eq!(m["needs_updated_credentials"], false);
}

#[tokio::test]
async fn member_credentials_lists_the_fields_never_the_values() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let guid = c.member_guid(&user, "mxuser", "s3cret-canary", true).await;
    let r = c.get(&format!("/users/{user}/members/{guid}/credentials")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["credentials"].as_array().unwrap().len(), 2);
    assert!(!r.text.contains("s3cret-canary") && !r.text.contains("mxuser"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_updates_of_one_member_keep_every_change() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let guid = c.member_guid(&user, "mxuser", "password", true).await;
    let path = format!("/users/{user}/members/{guid}");
    for round in 0..8 {
        let (metadata, id) = (format!("meta-{round}"), format!("partner-id-{round}"));
        let (a, b) = tokio::join!(
            c.put(&path, json!({ "member": { "metadata": metadata } })),
            c.put(&path, json!({ "member": { "id": id } })),
        );
        assert_eq!((a.status, b.status), (200, 200), "{} {}", a.text, b.text);
        let m = c.read_member(&user, &guid).await;
        assert_eq!(
            (m["metadata"].as_str(), m["id"].as_str()),
            (Some(metadata.as_str()), Some(id.as_str())),
            "round {round}"
        );
    }
}
