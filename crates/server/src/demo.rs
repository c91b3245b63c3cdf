//! `openiav demo`: seed 000's five steps, run as the application against an embedded server (or
//! a running one), with the Connect widget completed as the end user would, through the
//! widget's own HTTP endpoints (MX Bank, `mxuser`), to the verified funding source and the two
//! webhooks a local receiver got, their signatures checked; then $1.00 from that bank to the
//! account's balance, processed by one sandbox simulation, with the transfer's webhooks.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::post;
use hmac::{Hmac, Mac};
use openiav_core::payments::{EventTopic, FundingSourceStatus};
use reqwest::header::{ACCEPT, AUTHORIZATION, LOCATION};
use serde_json::{json, Value};
use sha2::Sha256;

const HAL: &str = "application/vnd.dwolla.v1.hal+json";

/// Where the demo talks to.
pub struct Target {
    pub payments: String,
    pub key: String,
    pub secret: String,
}

type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A local webhook receiver; returns its URL and what it received.
async fn receiver() -> anyhow::Result<(String, Received)> {
    let received: Received = Arc::default();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/webhooks",
        post(move |headers: HeaderMap, body: Bytes| {
            let sink = sink.clone();
            async move {
                sink.lock().expect("receiver lock").push((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/webhooks", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, received))
}

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn send(&self, method: reqwest::Method, url: &str, body: Option<Value>) -> anyhow::Result<reqwest::Response> {
        let url = if url.starts_with("http") { url.to_owned() } else { format!("{}{url}", self.base) };
        let mut req =
            self.http.request(method, &url).header(ACCEPT, HAL).header(AUTHORIZATION, format!("Bearer {}", self.token));
        if let Some(body) = body {
            req = req.header(reqwest::header::CONTENT_TYPE, HAL).body(body.to_string());
        }
        let resp = req.send().await.with_context(|| format!("calling {url}"))?;
        if !resp.status().is_success() {
            let status = resp.status();
            bail!("{url} answered {status}: {}", resp.text().await.unwrap_or_default());
        }
        Ok(resp)
    }

    async fn create(&self, url: &str, body: Value) -> anyhow::Result<String> {
        let resp = self.send(reqwest::Method::POST, url, Some(body)).await?;
        Ok(resp
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| anyhow!("no Location from {url}"))?
            .to_owned())
    }

    async fn get(&self, url: &str) -> anyhow::Result<Value> {
        Ok(self.send(reqwest::Method::GET, url, None).await?.json().await?)
    }
}

/// Completes the Connect widget at `url` as the end user: MX Bank, `mxuser`/`password`, the
/// first account offered.
async fn complete_widget(http: &reqwest::Client, url: &str) -> anyhow::Result<String> {
    let page = http.get(url).send().await?.text().await?;
    let marker = "name=\"mx-widget-session\" content=\"";
    let start = page.find(marker).ok_or_else(|| anyhow!("the widget page holds no session"))? + marker.len();
    let session = &page[start..start + page[start..].find('"').unwrap_or(0)];
    let api = format!("{}/md/connect/api", url.split("/md/connect/").next().unwrap_or_default());
    let call = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut req = http.request(method, format!("{api}{path}")).header("X-Widget-Session", session);
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let resp = req.send().await?;
            let status = resp.status();
            let value: Value = resp.json().await?;
            if !status.is_success() {
                bail!("the widget answered {status}: {value}");
            }
            Ok::<Value, anyhow::Error>(value)
        }
    };
    let institution = call(reqwest::Method::GET, "/institutions/mxbank", None).await?;
    let credentials: Vec<Value> = institution["institution"]["credentials"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let value = if c["field_type"] == "PASSWORD" { "password" } else { "mxuser" };
            json!({ "guid": c["guid"], "value": value })
        })
        .collect();
    let mut member = call(
        reqwest::Method::POST,
        "/members",
        Some(json!({ "institution_code": "mxbank", "credentials": credentials })),
    )
    .await?["member"]
        .clone();
    for _ in 0..200 {
        match member["outcome"].as_str() {
            Some("connected") => return Ok(member["guid"].as_str().unwrap_or_default().to_owned()),
            Some("select_account") => {
                let challenge = &member["challenges"][0];
                let answer =
                    json!({ "answers": [{ "guid": challenge["guid"], "value": challenge["options"][0]["value"] }] });
                let path = format!("/members/{}/answers", member["guid"].as_str().unwrap_or_default());
                member = call(reqwest::Method::PUT, &path, Some(answer)).await?["member"].clone();
                continue;
            }
            Some("working") => {}
            other => bail!("the widget stopped at {other:?}: {}", member["message"]),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let path = format!("/members/{}", member["guid"].as_str().unwrap_or_default());
        member = call(reqwest::Method::GET, &path, None).await?["member"].clone();
    }
    bail!("the member did not connect in time")
}

fn signed_by(secret: &str, headers: &HeaderMap, body: &[u8]) -> bool {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    let expected = hex::encode(mac.finalize().into_bytes());
    headers.get("x-request-signature-sha-256").and_then(|v| v.to_str().ok()) == Some(expected.as_str())
}

/// Walks the flow and prints each step.
pub async fn run(target: Target) -> anyhow::Result<()> {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let token: Value = http
        .post(format!("{}/token", target.payments))
        .form(&[
            ("client_id", target.key.as_str()),
            ("client_secret", target.secret.as_str()),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await?
        .json()
        .await?;
    let token = token["access_token"].as_str().ok_or_else(|| anyhow!("no access token: {token}"))?.to_owned();
    let api = Api { http: http.clone(), base: target.payments.clone(), token };

    let (hook_url, received) = receiver().await?;
    let secret = format!("demo-{}", openiav_core::crypto::random_hex(16));
    let subscription = api.create("/webhook-subscriptions", json!({ "url": hook_url, "secret": secret })).await?;
    println!("        webhook subscription    {subscription}");

    let email = format!("demo-{}@example.com", openiav_core::crypto::random_hex(4));
    let customer =
        api.create("/customers", json!({ "firstName": "Demo", "lastName": "Customer", "email": email })).await?;
    println!("        customer                {customer}");

    let partners = api.get("/exchange-partners").await?;
    let mx = partners["_embedded"]["exchange-partners"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case("MX")))
        .ok_or_else(|| anyhow!("no MX exchange partner"))?
        .clone();
    let mx_href = mx["_links"]["self"]["href"].as_str().unwrap_or_default().to_owned();
    let session = api
        .create(
            &format!("{customer}/exchange-sessions"),
            json!({ "_links": { "exchange-partner": { "href": mx_href } } }),
        )
        .await?;
    println!("Step 1  exchange session        {session}");

    let session_body = api.get(&session).await?;
    let widget = session_body["_links"]["external-provider-session"]["href"]
        .as_str()
        .ok_or_else(|| anyhow!("the session has no widget URL"))?
        .to_owned();
    println!("Step 2  MX Connect widget       {widget}");

    let member = complete_widget(&http, &widget).await?;
    println!("Step 3  widget completed        MX Bank, mxuser, member {member}");

    let connections = api.get(&format!("{customer}/available-exchange-connections")).await?;
    let connection = connections["_embedded"]["available-exchange-connections"][0].clone();
    let exchange = api
        .create(
            &format!("{customer}/exchanges"),
            json!({ "_links": { "exchange-partner": { "href": mx_href } },
                    "mx": { "availableConnectionToken": connection["availableConnectionToken"] } }),
        )
        .await?;
    println!("Step 4  exchange                {exchange}  ({})", connection["name"].as_str().unwrap_or_default());

    let source = api
        .create(
            &format!("{customer}/funding-sources"),
            json!({ "_links": { "exchange": { "href": exchange } }, "bankAccountType": "checking", "name": "Demo checking" }),
        )
        .await?;
    let body = api.get(&source).await?;
    println!(
        "Step 5  funding source          {source}  ({}, {}, {})",
        body["status"].as_str().unwrap_or_default(),
        body["bankName"].as_str().unwrap_or_default(),
        body["name"].as_str().unwrap_or_default()
    );
    if body["status"].as_str().and_then(|s| s.parse().ok()) != Some(FundingSourceStatus::Verified) {
        bail!("the funding source is not verified");
    }

    let source_id = source.rsplit('/').next().unwrap_or_default().to_owned();
    let wanted = [EventTopic::CustomerFundingSourceAdded.as_str(), EventTopic::CustomerFundingSourceVerified.as_str()];
    let got = wait_for(
        &received,
        &secret,
        "the two funding-source webhooks",
        |event| event["resourceId"] == source_id.as_str(),
        |got| wanted.iter().all(|w| got.iter().any(|(t, _, _)| t == w)),
    )
    .await?;
    let mut got: Vec<_> = got.into_iter().filter(|(t, _, _)| wanted.contains(&t.as_str())).collect();
    got.sort_by_key(|(t, _, _)| wanted.iter().position(|w| w == t));
    for (topic, _, signed) in got {
        print_webhook(&topic, signed);
    }

    transfer(&api, &source, &received, &secret).await
}

/// Step 6: $1.00 from the customer's verified bank to the account's balance, processed by one
/// sandbox simulation, and the transfer webhooks the receiver got.
async fn transfer(api: &Api, source: &str, received: &Received, secret: &str) -> anyhow::Result<()> {
    let root = api.get("/").await?;
    let account = root["_links"]["account"]["href"].as_str().ok_or_else(|| anyhow!("the root links no account"))?;
    let sources = api.get(&format!("{account}/funding-sources")).await?;
    let balance = sources["_embedded"]["funding-sources"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["type"] == "balance")
        .and_then(|f| f["_links"]["self"]["href"].as_str())
        .ok_or_else(|| anyhow!("the account has no balance: {sources}"))?
        .to_owned();
    let transfer = api
        .create(
            "/transfers",
            json!({ "_links": { "source": { "href": source }, "destination": { "href": balance } },
                    "amount": { "currency": "USD", "value": "1.00" } }),
        )
        .await?;
    let transfer_id = transfer.rsplit('/').next().unwrap_or_default().to_owned();
    let pending = api.get(&transfer).await?;
    println!(
        "Step 6  transfer                {transfer}  ($1.00 to the account's balance, {})",
        pending["status"].as_str().unwrap_or_default()
    );
    api.send(reqwest::Method::POST, "/sandbox-simulations", Some(json!({}))).await?;
    let done = api.get(&transfer).await?;
    let status = done["status"].as_str().unwrap_or_default();
    println!("Step 7  sandbox simulation      transfer {transfer_id} {status}");
    if status != "processed" {
        bail!("the transfer is {status}, not processed: {done}");
    }

    // The transfer's own events and its bank leg's (named by the transfer's links).
    let mut ids = vec![transfer_id.clone()];
    for rel in ["funding-transfer", "funded-transfer"] {
        if let Some(href) = done["_links"][rel]["href"].as_str() {
            ids.push(href.rsplit('/').next().unwrap_or_default().to_owned());
        }
    }
    let completed = [EventTopic::CustomerTransferCompleted.as_str(), EventTopic::TransferCompleted.as_str()];
    let got = wait_for(
        received,
        secret,
        "the transfer's completed webhooks",
        |event| event["resourceId"].as_str().is_some_and(|id| ids.iter().any(|i| i == id)),
        |got| completed.iter().all(|c| got.iter().any(|(t, id, _)| t == c && *id == transfer_id)),
    )
    .await?;
    for (topic, _, signed) in got {
        print_webhook(&topic, signed);
    }
    Ok(())
}

fn print_webhook(topic: &str, signed: bool) {
    println!("        webhook received        {topic}  (signature {})", if signed { "valid" } else { "INVALID" });
}

/// Waits (up to ten seconds) until the webhooks received about what `about` picks satisfy
/// `enough`; returns them in arrival order as (topic, resource id, signature valid).
async fn wait_for(
    received: &Received,
    secret: &str,
    what: &str,
    about: impl Fn(&Value) -> bool,
    enough: impl Fn(&[(String, String, bool)]) -> bool,
) -> anyhow::Result<Vec<(String, String, bool)>> {
    for _ in 0..200 {
        let got: Vec<(String, String, bool)> = received
            .lock()
            .expect("receiver lock")
            .iter()
            .filter_map(|(headers, body)| {
                let event: Value = serde_json::from_slice(body).ok()?;
                about(&event).then(|| {
                    (
                        event["topic"].as_str().unwrap_or_default().to_owned(),
                        event["resourceId"].as_str().unwrap_or_default().to_owned(),
                        signed_by(secret, headers, body),
                    )
                })
            })
            .collect();
        if enough(&got) {
            return Ok(got);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("{what} did not arrive")
}
