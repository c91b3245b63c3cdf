//! What every request passes before a handler: a deadline, and the refusal of NUL characters
//! (which PostgreSQL cannot store in text), each answered in the listener's vendor envelope.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use openiav_aggregation::MxError;
use openiav_payments::error::DwollaError;
use openiav_store::StoreError;

/// Bodies longer than this are refused before they are scanned (axum's default body limit).
const MAX_BODY: usize = 2 * 1024 * 1024;

/// Which API a listener speaks, and so which envelope its edge errors use.
#[derive(Clone, Copy, Debug)]
pub enum Vendor {
    Mx,
    Dwolla,
}

impl Vendor {
    fn bad_request(self, message: &str) -> Response {
        match self {
            Vendor::Mx => MxError::BadRequest(message.to_owned()).into_response(),
            Vendor::Dwolla => DwollaError::bad_request(message).into_response(),
        }
    }

    fn unavailable(self) -> Response {
        let cause = || StoreError::Unavailable("the request ran past its deadline".into());
        match self {
            Vendor::Mx => MxError::from(cause()).into_response(),
            Vendor::Dwolla => DwollaError::from(cause()).into_response(),
        }
    }
}

/// The edge's settings for one listener.
#[derive(Clone, Copy, Debug)]
pub struct Edge {
    pub vendor: Vendor,
    pub deadline: Duration,
}

const NUL_MESSAGE: &str = "The request contains a NUL character, which is not allowed.";

/// The one layer every request passes: refuses a NUL anywhere a handler or the database could
/// see it (the decoded path or query, a Basic login, the body), then runs the handler within the
/// deadline, answering 503 past it (the handler future is dropped; writes run in tasks of their
/// own and are bounded by the store).
pub async fn guard(State(edge): State<Edge>, req: Request, next: Next) -> Response {
    let uri = req.uri();
    // A URI cannot hold a raw NUL; only `%00` decodes to one.
    if uri.path().contains("%00") || uri.query().is_some_and(|q| q.contains("%00")) {
        return edge.vendor.bad_request(NUL_MESSAGE);
    }
    if basic_login_has_nul(req.headers()) {
        return edge.vendor.bad_request(NUL_MESSAGE);
    }
    let req = if has_body(req.headers()) {
        let (parts, body) = req.into_parts();
        // A snapshot document may be larger than any API body.
        let limit = if parts.uri.path() == "/_openiav/restore" {
            openiav_control::snapshot::MAX_SNAPSHOT_BYTES
        } else {
            MAX_BODY
        };
        let bytes = match axum::body::to_bytes(body, limit).await {
            Ok(b) => b,
            Err(_) => return edge.vendor.bad_request("The request body is too large or could not be read."),
        };
        let form =
            parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| {
                ct.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded")
            });
        if body_has_nul(&bytes, form) {
            return edge.vendor.bad_request(NUL_MESSAGE);
        }
        Request::from_parts(parts, Body::from(bytes))
    } else {
        req
    };
    match tokio::time::timeout(edge.deadline, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => {
            tracing::warn!(deadline_ms = edge.deadline.as_millis() as u64, "request ran past its deadline");
            edge.vendor.unavailable()
        }
    }
}

fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|n| n > 0)
}

fn basic_login_has_nul(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some((scheme, rest)) = value.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    base64::engine::general_purpose::STANDARD.decode(rest.trim()).is_ok_and(|login| login.contains(&0))
}

/// A raw NUL byte; in a form, `%00`; otherwise a JSON `\u0000` escape (one whose backslash is not
/// itself escaped).
fn body_has_nul(body: &[u8], form: bool) -> bool {
    if body.contains(&0) {
        return true;
    }
    if form {
        return body.windows(3).any(|w| w == b"%00");
    }
    let needle = b"\\u0000";
    body.windows(needle.len()).enumerate().any(|(at, w)| {
        w.eq_ignore_ascii_case(needle) && body[..at].iter().rev().take_while(|b| **b == b'\\').count() % 2 == 0
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn finds_nul_in_bodies() {
        assert!(body_has_nul(b"{\"a\":\"\\u0000\"}", false));
        assert!(body_has_nul(b"{\"a\":\"x\\\\\\u0000\"}", false), "an escaped backslash, then the escape");
        assert!(!body_has_nul(b"{\"a\":\"\\\\u0000\"}", false), "a literal backslash-u");
        assert!(!body_has_nul(b"{\"a\":\"%00\"}", false), "percent text in JSON is just text");
        assert!(body_has_nul(b"a\0b", false));
        assert!(body_has_nul(b"client_id=a%00", true));
        assert!(!body_has_nul(b"client_id=a%2500", true));
    }

    #[test]
    fn finds_nul_in_basic_logins() {
        let mut h = HeaderMap::new();
        let login = base64::engine::general_purpose::STANDARD.encode(b"key\0:secret");
        h.insert(header::AUTHORIZATION, format!("Basic {login}").parse().unwrap());
        assert!(basic_login_has_nul(&h));
        h.insert(header::AUTHORIZATION, "Basic a2V5OnNlY3JldA==".parse().unwrap());
        assert!(!basic_login_has_nul(&h));
        h.insert(header::AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert!(!basic_login_has_nul(&h));
    }

    #[test]
    fn each_vendor_answers_in_its_envelope() {
        assert_eq!(Vendor::Mx.bad_request("x").status(), StatusCode::BAD_REQUEST);
        let d = Vendor::Dwolla.unavailable();
        assert_eq!(d.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(d.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("application/vnd.dwolla.v1.hal+json"));
    }
}
