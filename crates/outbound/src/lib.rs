//! Durable outbound webhook delivery, shared by the Dwolla and MX surfaces: one job queue with
//! leased claims, deliveries as independent tasks bounded in all, per tenant and per subject
//! (a subscription or endpoint), SSRF-safe POSTs to a vetted address, and attempt records. What
//! differs per surface (headers, signature or Basic auth, retry schedule, what is recorded,
//! pausing) is supplied by a [`worker::Kind`].

use std::net::SocketAddr;
use std::time::Duration;

use openiav_core::clock::Timestamp;

pub mod address;
pub mod attempts;
pub mod http;
mod scheduler;
pub mod worker;

pub use address::{address_allowed, DeliveryConfig};
use attempts::{Attempt, AttemptRequest, AttemptResponse, Header};

/// The queue every delivery runs on.
pub const QUEUE: &str = "webhooks";
/// How long a receiver has to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The most of a receiver's answer that is kept.
pub const KEPT_RESPONSE_BYTES: usize = 4096;

/// Counter of delivery attempts by `vendor` and `outcome` (`delivered`: a 2xx answer;
/// `rejected`: another answer; `unreachable`: no answer).
pub const DELIVERIES: &str = "openiav_webhook_deliveries_total";

tokio::task_local! {
    /// The vendor of the delivery being run, set by the worker around its kind's `deliver`.
    pub(crate) static VENDOR: &'static str;
}

/// What one attempt came to.
pub struct Outcome {
    /// Any 2xx answer.
    pub success: bool,
    pub attempt: Attempt,
}

/// Sends one POST (no redirects, 10-second timeout) to an address checked against the rules and
/// returns the attempt. `recorded` maps each header to the value the record keeps (so a secret
/// sent on the wire, such as an `Authorization` value, can be kept redacted).
pub async fn send(
    url: &str,
    sandbox: bool,
    config: &DeliveryConfig,
    headers: &[(&str, String)],
    recorded: impl Fn(&str, &str) -> String,
    body: &str,
    now: Timestamp,
) -> Outcome {
    let outcome = send_once(url, sandbox, config, headers, recorded, body, now).await;
    let result = match (outcome.success, outcome.attempt.response.status_code) {
        (true, _) => "delivered",
        (false, 0) => "unreachable",
        (false, _) => "rejected",
    };
    let vendor = VENDOR.try_with(|v| *v).unwrap_or("unknown");
    metrics::counter!(DELIVERIES, "vendor" => vendor, "outcome" => result).increment(1);
    outcome
}

async fn send_once(
    url: &str,
    sandbox: bool,
    config: &DeliveryConfig,
    headers: &[(&str, String)],
    recorded: impl Fn(&str, &str) -> String,
    body: &str,
    now: Timestamp,
) -> Outcome {
    let timestamp = now.to_rfc3339_millis();
    let request = AttemptRequest {
        body: body.to_owned(),
        headers: headers.iter().map(|(n, v)| Header::new(*n, recorded(n, v))).collect(),
        timestamp: timestamp.clone(),
        url: url.to_owned(),
    };
    let attempt = |response: AttemptResponse| Attempt {
        id: uuid::Uuid::new_v4().to_string(),
        request: request.clone(),
        response,
    };
    let failed = |reason: String| Outcome {
        success: false,
        attempt: attempt(AttemptResponse {
            body: reason,
            headers: Vec::new(),
            status_code: 0,
            timestamp: timestamp.clone(),
        }),
    };
    let Ok(parsed) = url::Url::parse(url) else { return failed("invalid URL".into()) };
    if !matches!(parsed.scheme(), "http" | "https") {
        return failed("invalid URL".into());
    }
    let (Some(host), Some(port)) = (parsed.host_str().map(str::to_owned), parsed.port_or_known_default()) else {
        return failed("invalid URL".into());
    };
    let bare_host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
    let addresses: Vec<SocketAddr> = match tokio::net::lookup_host((bare_host.as_str(), port)).await {
        Ok(found) => found.collect(),
        Err(e) => return failed(format!("could not resolve {host}: {e}")),
    };
    let Some(addr) = addresses.into_iter().find(|a| address_allowed(a.ip(), &bare_host, sandbox, config)) else {
        return failed(format!("{host} resolves only to addresses webhooks may not reach"));
    };
    // The vetted address is the one connected to, so a second DNS answer cannot redirect the request.
    let sent = tokio::time::timeout(TIMEOUT, http::post(&parsed, addr, headers, body.as_bytes(), KEPT_RESPONSE_BYTES));
    let resp = match sent.await {
        Ok(Ok(resp)) => resp,
        Ok(Err(e)) => return failed(e.to_string()),
        Err(_) => return failed("timed out after 10 seconds".into()),
    };
    let response = AttemptResponse {
        body: kept_text(resp.body),
        headers: resp.headers.iter().map(|(n, v)| Header::new(n.as_str(), v.as_str())).collect(),
        status_code: resp.status,
        timestamp: timestamp.clone(),
    };
    Outcome { success: (200..300).contains(&resp.status), attempt: attempt(response) }
}

/// The body as text, cut to at most `KEPT_RESPONSE_BYTES` on a character boundary.
fn kept_text(mut body: Vec<u8>) -> String {
    body.truncate(KEPT_RESPONSE_BYTES);
    // A character cut off at the end of what was read is dropped, not replaced.
    if let Err(e) = std::str::from_utf8(&body) {
        if e.error_len().is_none() {
            body.truncate(e.valid_up_to());
        }
    }
    let mut text = String::from_utf8_lossy(&body).into_owned();
    let mut cut = text.len().min(KEPT_RESPONSE_BYTES);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_text_cuts_on_a_character_boundary() {
        let mut body = vec![b'a'; KEPT_RESPONSE_BYTES - 1];
        body.extend_from_slice("é".as_bytes());
        assert_eq!(kept_text(body).len(), KEPT_RESPONSE_BYTES - 1);
        assert_eq!(kept_text(b"ok".to_vec()), "ok");
    }

    #[tokio::test]
    async fn refused_addresses_are_recorded_as_failed_attempts_with_redacted_headers() {
        let headers = [("Authorization", "Basic c2VjcmV0".to_owned())];
        let out = send(
            "http://127.0.0.1:9/hook",
            false,
            &DeliveryConfig::default(),
            &headers,
            |n, v| if n == "Authorization" { "[REDACTED]".into() } else { v.into() },
            "{}",
            Timestamp::from_millis(0),
        )
        .await;
        assert!(!out.success);
        assert_eq!(out.attempt.response.status_code, 0);
        assert!(out.attempt.response.body.contains("may not reach"), "{}", out.attempt.response.body);
        assert_eq!(out.attempt.request.headers, [Header::new("Authorization", "[REDACTED]")]);
    }
}
