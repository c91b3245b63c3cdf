//! The HTTP client of the `sandbox` verbs: one base URL, one `Authorization` value, JSON in and
//! out, and the control plane's `{"code","message"}` errors turned into readable failures.

use anyhow::Context;
use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::Connection;

pub struct ControlClient {
    http: reqwest::Client,
    base: String,
    authorization: String,
}

impl ControlClient {
    /// MX credentials are sent as Basic; Dwolla credentials are first exchanged for a token.
    pub async fn connect(connection: &Connection) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder().build().context("building the HTTP client")?;
        let base = connection.url.trim_end_matches('/').to_owned();
        let basic = |user: &str, pass: &str| {
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}")))
        };
        let authorization = match (
            &connection.mx_client_id,
            &connection.mx_api_key,
            &connection.dwolla_key,
            &connection.dwolla_secret,
        ) {
            (Some(id), Some(key), _, _) => basic(id, key),
            (_, _, Some(key), Some(secret)) => {
                let answer = http
                    .post(format!("{base}/token"))
                    .header("Authorization", basic(key, secret))
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body("grant_type=client_credentials")
                    .send()
                    .await
                    .with_context(|| format!("asking {base}/token for an access token"))?;
                let status = answer.status();
                let body: Value = answer.json().await.context("reading the token answer")?;
                let token = body["access_token"].as_str().with_context(|| format!("{base}/token answered {status}: {body}"))?;
                format!("Bearer {token}")
            }
            _ => anyhow::bail!(
                "give the tenant's credentials: --mx-client-id and --mx-api-key (OPENIAV_MX_CLIENT_ID, OPENIAV_MX_API_KEY) or --dwolla-key and --dwolla-secret (OPENIAV_DWOLLA_KEY, OPENIAV_DWOLLA_SECRET)"
            ),
        };
        Ok(Self { http, base, authorization })
    }

    /// Calls `method path` with an optional JSON body; `None` for an empty answer.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> anyhow::Result<Option<Value>> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method.clone(), &url).header("Authorization", &self.authorization);
        if let Some(body) = body {
            request = request.json(body);
        }
        let answer = request.send().await.with_context(|| format!("calling {method} {url}"))?;
        let status = answer.status();
        let text = answer.text().await.context("reading the answer")?;
        if !status.is_success() {
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["message"].as_str().map(str::to_owned))
                .unwrap_or(text);
            anyhow::bail!("{method} {path} answered {status}: {message}");
        }
        if status == StatusCode::NO_CONTENT || text.is_empty() {
            return Ok(None);
        }
        Ok(Some(serde_json::from_str(&text).with_context(|| format!("{method} {path} answered no JSON"))?))
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Option<Value>> {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Option<Value>> {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> anyhow::Result<Option<Value>> {
        self.call(Method::DELETE, path, None).await
    }
}
