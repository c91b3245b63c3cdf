//! `/exchange-partners`.

use super::support::{assert_error, assert_link, assert_timestamp, Dwolla, FINICITY, MX, VISA};
use crate::helpers::{Options, TestApp};

#[tokio::test]
async fn exchange_partners_are_listed_oldest_first_without_visa() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let base = &app.payments_base;
    let r = d.get("/exchange-partners").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_link(&r.body["_links"]["self"], &format!("{base}/exchange-partners"), "exchange-partner");
    let list = r.body["_embedded"]["exchange-partners"].as_array().unwrap();
    let names: Vec<&str> = list.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Finicity", "MX", "Flinks", "Plaid", "Checkout.com"]);
    assert_eq!(r.body["total"], 5);
    let mut created = Vec::new();
    for p in list {
        let id = p["id"].as_str().unwrap();
        assert_eq!(id.len(), 36, "{p}");
        assert_link(&p["_links"]["self"], &format!("{base}/exchange-partners/{id}"), "exchange-partner");
        assert_eq!(p["status"], "active");
        assert_timestamp(&p["created"]);
        created.push(p["created"].as_str().unwrap().to_owned());
    }
    let mut sorted = created.clone();
    sorted.sort();
    assert_eq!(created, sorted, "oldest first");
    let mx = list.iter().find(|p| p["name"] == "MX").unwrap();
    assert_eq!(mx["id"], MX);

    // The list is the same for every tenant and every request.
    let (other, _) = Dwolla::other_tenant(&app).await;
    assert_eq!(other.get("/exchange-partners").await.body, r.body);
}

#[tokio::test]
async fn an_exchange_partner_is_retrieved_by_id() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let list = d.get("/exchange-partners").await.body;
    for p in list["_embedded"]["exchange-partners"].as_array().unwrap() {
        let r = d.get(p["_links"]["self"]["href"].as_str().unwrap()).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(&r.body, p);
    }
    assert_eq!(d.get(&format!("/exchange-partners/{}", FINICITY.to_uppercase())).await.body["name"], "Finicity");

    for id in ["00000000-0000-4000-8000-000000000000", "mx", VISA] {
        let r = d.get(&format!("/exchange-partners/{id}")).await;
        assert_error(&r, 404, "NotFound", Some("The requested resource was not found. Check Exchange Partner ID."));
    }
}

#[tokio::test]
async fn visa_is_offered_only_when_switched_on() {
    let app = TestApp::spawn_with(Options { visa_partner: true, ..Options::default() }).await;
    let d = Dwolla::sandbox(&app).await;
    let r = d.get("/exchange-partners").await;
    let names: Vec<&str> = r.body["_embedded"]["exchange-partners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Finicity", "MX", "Flinks", "Plaid", "Visa", "Checkout.com"]);
    assert_eq!(r.body["total"], 6);
    let visa = d.get(&format!("/exchange-partners/{VISA}")).await;
    assert_eq!(visa.status, 200, "{}", visa.text);
    assert_eq!(visa.body["name"], "Visa");
}
