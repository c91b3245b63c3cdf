//! MX micro-deposits: create, list, read, verify (right and wrong amounts), delete, isolation.

use serde_json::json;

use crate::helpers::TestApp;

fn create_body(routing: &str) -> serde_json::Value {
    json!({ "micro_deposit": {
        "account_name": "My test account", "account_number": "3331261", "account_type": "CHECKING",
        "email": "a@example.com", "first_name": "Joshy", "last_name": "Grobanne", "routing_number": routing
    }})
}

#[tokio::test]
async fn a_micro_deposit_verifies_with_the_sandbox_amounts() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let r = c.post(&format!("/users/{user}/micro_deposits"), create_body("068899994")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let d = &r.body["micro_deposit"][0];
    assert_eq!(d["status"], "INITIATED");
    assert_eq!(d["institution_code"], "mxbank");
    assert_eq!(d["account_number"], "3331261");
    let guid = d["guid"].as_str().unwrap().to_owned();
    assert!(guid.starts_with("MIC-"));

    let read = c.get(&format!("/users/{user}/micro_deposits/{guid}")).await;
    assert_eq!(read.body["micro_deposit"][0]["status"], "DEPOSITED", "the deposits land (sandbox delay 0)");
    let list = c.get(&format!("/users/{user}/micro_deposits")).await;
    assert_eq!(list.body["pagination"]["total_entries"], 1);

    let wrong = c
        .put(
            &format!("/micro_deposits/{guid}/verify"),
            json!({ "micro_deposit": { "deposit_amount_1": 0.05, "deposit_amount_2": 0.09 } }),
        )
        .await;
    assert_eq!(wrong.status, 200);
    assert_eq!(wrong.body["micro_deposit"][0]["status"], "DEPOSITED");
    assert!(wrong.body["micro_deposit"][0]["error_message"].as_str().unwrap().contains("do not match"));

    let right = c
        .put(
            &format!("/micro_deposits/{guid}/verify"),
            json!({ "micro_deposit": { "deposit_amount_1": 0.09, "deposit_amount_2": 0.09 } }),
        )
        .await;
    assert_eq!(right.body["micro_deposit"][0]["status"], "VERIFIED");
    assert!(right.body["micro_deposit"][0]["verified_at"].is_string());

    assert_eq!(c.delete(&format!("/users/{user}/micro_deposits/{guid}")).await.status, 204);
    assert_eq!(c.get(&format!("/users/{user}/micro_deposits/{guid}")).await.status, 404);
}

#[tokio::test]
async fn three_wrong_answers_deny_the_verification() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let r = c.post(&format!("/users/{user}/micro_deposits"), create_body("021000021")).await;
    let guid = r.body["micro_deposit"][0]["guid"].as_str().unwrap().to_owned();
    assert_eq!(r.body["micro_deposit"][0]["institution_code"], serde_json::Value::Null, "not a catalog routing number");
    let wrong = json!({ "micro_deposit": { "deposit_amount_1": 0.01, "deposit_amount_2": 0.02 } });
    for _ in 0..3 {
        c.put(&format!("/micro_deposits/{guid}/verify"), wrong.clone()).await;
    }
    let r = c.get(&format!("/users/{user}/micro_deposits/{guid}")).await;
    assert_eq!(r.body["micro_deposit"][0]["status"], "DENIED");
    let r = c
        .put(
            &format!("/micro_deposits/{guid}/verify"),
            json!({ "micro_deposit": { "deposit_amount_1": 0.09, "deposit_amount_2": 0.09 } }),
        )
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn invalid_micro_deposits_are_refused_and_other_tenants_see_nothing() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let path = format!("/users/{user}/micro_deposits");
    for (field, value) in [("routing_number", "123456789"), ("account_number", "12a"), ("account_type", "BROKERAGE")] {
        let mut body = create_body("068899994");
        body["micro_deposit"][field] = json!(value);
        let r = c.post(&path, body).await;
        assert_eq!(r.status, 400, "{field}");
        assert!(r.error_message().contains(field), "{}", r.text);
    }
    let r = c.post(&path, create_body("068899994")).await;
    let guid = r.body["micro_deposit"][0]["guid"].as_str().unwrap().to_owned();
    let bad =
        c.put(&format!("/micro_deposits/{guid}/verify"), json!({ "micro_deposit": { "deposit_amount_1": 5 } })).await;
    assert_eq!(bad.status, 400);

    let b = app.other_tenant().await;
    assert_eq!(b.get(&format!("/users/{user}/micro_deposits/{guid}")).await.status, 404);
    assert_eq!(
        b.put(
            &format!("/micro_deposits/{guid}/verify"),
            json!({ "micro_deposit": { "deposit_amount_1": 0.09, "deposit_amount_2": 0.09 } })
        )
        .await
        .status,
        404
    );
    assert_eq!(b.delete(&format!("/users/{user}/micro_deposits/{guid}")).await.status, 404);
    assert_eq!(
        c.get(&format!("/users/{user}/micro_deposits/{guid}")).await.body["micro_deposit"][0]["status"],
        "DEPOSITED"
    );
}

#[tokio::test]
async fn micro_deposits_answer_application_json_to_a_client_that_asks_for_it() {
    let app = TestApp::spawn().await;
    let vendor = app.client();
    let mut plain = vendor.clone();
    plain.accept = Some("application/json");
    let user = vendor.create_user().await;
    let r = plain.post(&format!("/users/{user}/micro_deposits"), create_body("068899994")).await;
    assert_eq!((r.status, r.content_type.as_str()), (200, "application/json"), "{}", r.text);
    let guid = r.body["micro_deposit"][0]["guid"].as_str().unwrap().to_owned();
    let r = plain.get(&format!("/users/{user}/micro_deposits")).await;
    assert_eq!((r.status, r.content_type.as_str()), (200, "application/json"));
    let r = plain.get(&format!("/users/{user}/micro_deposits/{guid}")).await;
    assert_eq!((r.status, r.content_type.as_str()), (200, "application/json"));
    let body = json!({ "micro_deposit": { "deposit_amount_1": 0.09, "deposit_amount_2": 0.09 } });
    let r = plain.put(&format!("/micro_deposits/{guid}/verify"), body).await;
    assert_eq!((r.status, r.content_type.as_str()), (200, "application/json"));
    assert_eq!(r.body["micro_deposit"][0]["status"], "VERIFIED");

    let r = vendor.get(&format!("/users/{user}/micro_deposits")).await;
    assert_eq!(r.content_type, "application/vnd.mx.api.v1+json", "the vendor type when asked for");
    let r = plain.get(&format!("/users/{user}")).await;
    assert_eq!(r.content_type, "application/vnd.mx.api.v1+json", "other v20111101 endpoints are unchanged");
}
