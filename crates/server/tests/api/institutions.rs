//! `/institutions`.

use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn search_by_name_finds_both_test_banks() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let r = c.get("/institutions?name=MX%20Bank").await;
    assert_eq!(r.status, 200);
    let codes: Vec<&str> =
        r.body["institutions"].as_array().unwrap().iter().map(|i| i["code"].as_str().unwrap()).collect();
    assert_eq!(codes, vec!["mxbank", "mx_bank_oauth"]);
    assert_eq!(r.body["pagination"]["total_entries"], 2);
}

#[tokio::test]
async fn the_catalog_is_large_and_pages_within_mx_bounds() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let r = c.get("/institutions?records_per_page=100").await;
    let total = r.body["pagination"]["total_entries"].as_i64().unwrap();
    assert!(total >= 200, "{total}");
    assert_eq!(r.body["institutions"].as_array().unwrap().len(), 100);
    let r = c.get("/institutions?records_per_page=101").await;
    assert_eq!(r.body["pagination"]["per_page"], 25, "above 100 falls back to 25");
    let last = (total + 99) / 100;
    let r = c.get(&format!("/institutions?records_per_page=100&page={last}")).await;
    assert_eq!(r.body["institutions"].as_array().unwrap().len() as i64, total - (last - 1) * 100);
    assert_eq!(c.get("/institutions?page=-2").await.status, 400);
}

#[tokio::test]
async fn product_filters_restrict_results() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let all = c.get("/institutions?records_per_page=10").await.body["pagination"]["total_entries"].as_i64().unwrap();
    let r = c.get("/institutions?supports_account_verification=true&records_per_page=100").await;
    let verif = r.body["pagination"]["total_entries"].as_i64().unwrap();
    assert!(verif < all && verif > 0);
    assert!(r.body["institutions"].as_array().unwrap().iter().all(|i| i["supports_account_verification"] == true));
    let r = c.v2025().get("/institutions?supported_products[]=account_verification&supported_products[]=statements&records_per_page=100").await;
    assert_eq!(r.status, 200);
    for i in r.body["institutions"].as_array().unwrap() {
        let p = i["supported_products"].as_array().unwrap();
        assert!(p.contains(&json!("account_verification")) && p.contains(&json!("statements")));
    }
    assert_eq!(c.v2025().get("/institutions?supported_products[]=teleportation").await.status, 400);
    let r = c.get("/institutions?iso_country_code[]=CA&records_per_page=100").await;
    assert!(r.body["institutions"].as_array().unwrap().iter().all(|i| i["iso_country_code"] == "CA"));
    assert!(r.body["pagination"]["total_entries"].as_i64().unwrap() > 0);
}

#[tokio::test]
async fn favorites_read_and_credentials() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let r = c.get("/institutions/favorites").await;
    assert_eq!(r.status, 200);
    let favs = r.body["institutions"].as_array().unwrap();
    assert!(favs.iter().any(|i| i["code"] == "mxbank"));
    assert!(favs.len() < 25);

    let r = c.get("/institutions/mxbank").await;
    assert_eq!(r.body["institution"]["name"], "MX Bank");
    assert_eq!(c.get("/institutions/nope").await.status, 404);

    let r = c.get("/institutions/mxbank/credentials").await;
    let creds = r.body["credentials"].as_array().unwrap();
    assert_eq!(creds.len(), 2);
    assert_eq!(creds[0]["field_name"], "LOGIN");
    assert_eq!(creds[0]["label"], "Username");
    assert_eq!(creds[1]["field_type"], "PASSWORD");
    assert_eq!(creds[0]["display_order"], 1);
    assert!(creds[0]["guid"].as_str().unwrap().starts_with("CRD-"));
    let again = c.get("/institutions/mxbank/credentials").await;
    assert_eq!(again.body["credentials"][0]["guid"], creds[0]["guid"], "credential guids are stable");
    let r = c.get("/institutions/mx_bank_oauth/credentials").await;
    assert_eq!(r.body["credentials"], json!([]));
}
