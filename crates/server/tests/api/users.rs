//! `/users`.

use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn create_read_update_delete_a_user() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let r = c.post("/users", json!({ "user": { "id": "partner-2345", "email": "a@example.com", "metadata": "m", "is_disabled": false } })).await;
    assert_eq!(r.status, 200);
    let user = &r.body["user"];
    let guid = user["guid"].as_str().unwrap();
    assert!(guid.starts_with("USR-"));
    assert_eq!(user["id"], "partner-2345");
    assert_eq!(user["email"], "a@example.com");
    assert_eq!(user["is_disabled"], false);

    let r = c.get(&format!("/users/{guid}")).await;
    assert_eq!(r.body["user"]["metadata"], "m");

    let r = c.put(&format!("/users/{guid}"), json!({ "user": { "is_disabled": true, "metadata": "n" } })).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["user"]["is_disabled"], true);
    assert_eq!(r.body["user"]["email"], "a@example.com");
    assert_eq!(c.get(&format!("/users/{guid}")).await.body["user"]["metadata"], "n");

    let r = c.delete(&format!("/users/{guid}")).await;
    assert_eq!(r.status, 204);
    assert_eq!(r.text, "");
    assert_eq!(c.get(&format!("/users/{guid}")).await.status, 404);
    assert_eq!(c.delete(&format!("/users/{guid}")).await.status, 404);
}

#[tokio::test]
async fn a_duplicate_partner_id_is_a_conflict() {
    let app = TestApp::spawn().await;
    let c = app.client();
    assert_eq!(c.post("/users", json!({ "user": { "id": "same" } })).await.status, 200);
    let r = c.post("/users", json!({ "user": { "id": "same" } })).await;
    assert_eq!(r.status, 409);
    assert!(r.error_message().contains("already exists"));
}

#[tokio::test]
async fn list_filters_and_paginates_with_integer_fields() {
    let app = TestApp::spawn().await;
    let c = app.client();
    for i in 0..12 {
        let r = c
            .post(
                "/users",
                json!({ "user": { "id": format!("u{i}"), "email": format!("{}@x.io", i % 3), "is_disabled": i == 4 } }),
            )
            .await;
        assert_eq!(r.status, 200);
    }
    let r = c.get("/users?records_per_page=10&page=2").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["users"].as_array().unwrap().len(), 2);
    assert_eq!(
        r.body["pagination"],
        json!({ "current_page": 2, "per_page": 10, "total_entries": 12, "total_pages": 2 })
    );
    assert_eq!(r.body["users"][0]["id"], "u10");

    let r = c.get("/users?email=1@x.io").await;
    assert_eq!(r.body["pagination"]["total_entries"], 4);
    let r = c.get("/users?id=u7").await;
    assert_eq!(r.body["users"][0]["id"], "u7");
    let r = c.get("/users?is_disabled=true").await;
    assert_eq!(r.body["users"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["users"][0]["id"], "u4");

    for bad in ["page=0", "page=x", "records_per_page=-1", "is_disabled=maybe"] {
        let r = c.get(&format!("/users?{bad}")).await;
        assert_eq!(r.status, 400, "{bad}");
    }
    let r = c.get("/users?records_per_page=5000").await;
    assert_eq!(r.body["pagination"]["per_page"], 25);
}

#[tokio::test]
async fn v20250224_paths_accept_the_partner_id() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let r = c.post("/users", json!({ "user": { "id": "mine-1" } })).await;
    let guid = r.body["user"]["guid"].as_str().unwrap().to_owned();
    let v2 = c.v2025();
    let r = v2.get("/users/mine-1").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["user"]["guid"], guid);
    assert_eq!(c.get("/users/mine-1").await.status, 404, "v20111101 paths take guids only");
}

#[tokio::test]
async fn an_invalid_email_is_unprocessable() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let r = c.post("/users", json!({ "user": { "email": "not-an-email" } })).await;
    assert_eq!(r.status, 422);
    assert!(r.error_message().contains("not a valid email"));
    assert_eq!(c.get("/users").await.body["users"], json!([]));
}

#[tokio::test]
async fn a_disabled_user_cannot_connect_or_aggregate() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let member = c.member_guid(&user, "mxuser", "password", true).await;
    c.put(&format!("/users/{user}"), json!({ "user": { "is_disabled": true } })).await;
    let r = c.create_member(&user, "mxuser", "other", true).await;
    assert_eq!(r.status, 403);
    assert!(r.error_message().contains("disabled"));
    assert_eq!(c.post_empty(&format!("/users/{user}/members/{member}/aggregate")).await.status, 403);
    c.put(&format!("/users/{user}"), json!({ "user": { "is_disabled": false } })).await;
    assert_eq!(c.post_empty(&format!("/users/{user}/members/{member}/aggregate")).await.status, 202);
}

#[tokio::test]
async fn any_page_beyond_the_data_is_an_empty_page() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let guid = c.member_guid(&user, "mxuser", "password", false).await;
    c.settle(&user, &guid).await;
    for page in ["100000", "1000001", "9223372036854775807", "99999999999999999999999"] {
        for (path, key) in [
            ("/users".to_owned(), "users"),
            ("/institutions".to_owned(), "institutions"),
            (format!("/users/{user}/members"), "members"),
            (format!("/users/{user}/accounts"), "accounts"),
            (format!("/users/{user}/transactions"), "transactions"),
        ] {
            let sep = if path.contains('?') { '&' } else { '?' };
            let r = c.get(&format!("{path}{sep}page={page}")).await;
            assert_eq!(r.status, 200, "{path} page={page}: {}", r.text);
            assert_eq!(r.body[key], json!([]), "{path} page={page}");
            assert!(r.body["pagination"]["current_page"].as_i64().unwrap() >= 100_000, "{path} page={page}");
        }
    }
    for bad in ["0", "-1", "1.5", "x", "-99999999999999999999999"] {
        let r = c.get(&format!("/users?page={bad}")).await;
        assert_eq!(r.status, 400, "page={bad}");
        assert!(r.error_message().contains("must be an integer greater than zero"), "page={bad}");
    }
}

#[tokio::test]
async fn wrong_typed_bodies_name_the_field_not_the_parser() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let cases: Vec<(reqwest::Method, String, serde_json::Value, &str)> = vec![
        (
            reqwest::Method::POST,
            "/users".into(),
            json!({ "user": { "is_disabled": "yes" } }),
            "`user.is_disabled` must be a boolean.",
        ),
        (reqwest::Method::POST, "/users".into(), json!({ "user": { "email": 5 } }), "`user.email` must be a string."),
        (reqwest::Method::POST, "/users".into(), json!({ "user": "x" }), "`user` must be an object."),
        (reqwest::Method::POST, "/users".into(), json!([1, 2]), "The request body must be a JSON object."),
        (
            reqwest::Method::PUT,
            format!("/users/{user}"),
            json!({ "user": { "metadata": { "a": 1 } } }),
            "`user.metadata` must be a string.",
        ),
        (
            reqwest::Method::PUT,
            format!("/users/{user}"),
            json!({ "user": { "is_disabled": 1 } }),
            "`user.is_disabled` must be a boolean.",
        ),
        (
            reqwest::Method::POST,
            format!("/users/{user}/members"),
            json!({ "member": { "institution_code": "mxbank", "skip_aggregation": "no", "credentials": [] } }),
            "`member.skip_aggregation` must be a boolean.",
        ),
        (
            reqwest::Method::POST,
            format!("/users/{user}/members"),
            json!({ "member": { "institution_code": "mxbank", "credentials": [{ "guid": 7, "value": "x" }] } }),
            "`member.credentials[0].guid` must be a string.",
        ),
        (
            reqwest::Method::POST,
            format!("/users/{user}/members"),
            json!({ "member": { "institution_code": "mxbank", "credentials": {} } }),
            "`member.credentials` must be an array.",
        ),
    ];
    for (method, path, body, expected) in cases {
        let r = c.send(method.clone(), &path, Some(body.clone())).await;
        assert_eq!(r.status, 400, "{method} {path} {body}: {}", r.text);
        let m = r.error_message();
        assert_eq!(m, expected, "{method} {path} {body}");
        assert!(!m.contains("line ") && !m.contains("column ") && !m.contains("invalid type"), "{m}");
        assert_eq!(r.body["error"]["status"], 400);
    }
    let r = c.send(reqwest::Method::POST, "/users", Some(json!("not an object"))).await;
    assert_eq!(r.error_message(), "The request body must be a JSON object.");
}
