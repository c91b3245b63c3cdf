//! API version negotiation: `Accept: application/vnd.mx.api.v1+json` selects v20111101,
//! `Accept-Version: v20250224` selects v20250224; a missing or generic `Accept` is tolerated.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::MxError;

/// Which MX API version a request speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiVersion {
    V20111101,
    V20250224,
}

impl ApiVersion {
    /// Whether path identifiers may be the partner-defined `id` as well as the guid.
    pub fn accepts_partner_ids(self) -> bool {
        self == Self::V20250224
    }

    fn content_type(self) -> HeaderValue {
        match self {
            Self::V20111101 => HeaderValue::from_static("application/vnd.mx.api.v1+json"),
            Self::V20250224 => HeaderValue::from_static("application/json"),
        }
    }

    /// A JSON response in this version's content type.
    pub fn json<T: Serialize>(self, status: StatusCode, body: &T) -> Response {
        match serde_json::to_vec(body) {
            Ok(bytes) => self.bytes(status, bytes),
            Err(e) => MxError::Internal(format!("serialising a response: {e}")).into_response(),
        }
    }

    /// `{"<key>": body}` written straight from `body`, without building an intermediate value.
    pub fn wrapped<T: Serialize>(self, status: StatusCode, key: &'static str, body: &T) -> Response {
        let mut bytes = Vec::with_capacity(512);
        bytes.extend_from_slice(b"{\"");
        bytes.extend_from_slice(key.as_bytes());
        bytes.extend_from_slice(b"\":");
        match serde_json::to_writer(&mut bytes, body) {
            Ok(()) => {
                bytes.push(b'}');
                self.bytes(status, bytes)
            }
            Err(e) => MxError::Internal(format!("serialising a response: {e}")).into_response(),
        }
    }

    fn bytes(self, status: StatusCode, bytes: Vec<u8>) -> Response {
        json_bytes(status, self.content_type(), bytes)
    }

    fn negotiate(parts: &Parts) -> Result<Self, MxError> {
        if let Some(v) = parts.headers.get("accept-version") {
            return match v.to_str().map(str::trim) {
                Ok("v20250224") => Ok(Self::V20250224),
                Ok("v20111101") => Ok(Self::V20111101),
                _ => Err(MxError::NotAcceptable),
            };
        }
        let accept = match parts.headers.get(header::ACCEPT).map(|v| v.to_str()) {
            None => return Ok(Self::V20111101),
            Some(Ok(a)) => a.to_ascii_lowercase(),
            Some(Err(_)) => return Err(MxError::NotAcceptable),
        };
        let acceptable = accept.trim().is_empty()
            || accept.split(',').any(|m| {
                let m = m.split(';').next().unwrap_or("").trim();
                m == "*/*" || m == "application/*" || m.ends_with("json")
            });
        if acceptable {
            Ok(Self::V20111101)
        } else {
            Err(MxError::NotAcceptable)
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ApiVersion {
    type Rejection = MxError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Self::negotiate(parts)
    }
}

fn json_bytes(status: StatusCode, content_type: HeaderValue, bytes: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, content_type)], bytes).into_response()
}

/// Whether `Accept` names `application/json` itself (not only a wildcard or MX's vendor type).
fn asks_for_plain_json(parts: &Parts) -> bool {
    parts.headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).any(|accept| {
        accept.split(',').any(|m| m.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json"))
    })
}

/// The negotiated version of an endpoint MX answers in `application/json` in every version
/// (micro-deposits): a client that asks for `application/json` gets it; one that asks for MX's
/// vendor type, or for nothing in particular, gets the version's usual type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlainJsonVersion {
    pub version: ApiVersion,
    plain_json: bool,
}

impl PlainJsonVersion {
    /// A JSON response in the content type the client asked for.
    pub fn json<T: Serialize>(self, status: StatusCode, body: &T) -> Response {
        if !self.plain_json {
            return self.version.json(status, body);
        }
        match serde_json::to_vec(body) {
            Ok(bytes) => json_bytes(status, HeaderValue::from_static("application/json"), bytes),
            Err(e) => MxError::Internal(format!("serialising a response: {e}")).into_response(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PlainJsonVersion {
    type Rejection = MxError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self { version: ApiVersion::negotiate(parts)?, plain_json: asks_for_plain_json(parts) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn negotiate(headers: &[(&str, &str)]) -> Result<ApiVersion, MxError> {
        let mut b = Request::builder();
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let (parts, _) = b.body(()).unwrap().into_parts();
        ApiVersion::negotiate(&parts)
    }

    #[test]
    fn accepts_both_conventions_and_generic_accepts() {
        assert_eq!(negotiate(&[("accept", "application/vnd.mx.api.v1+json")]).unwrap(), ApiVersion::V20111101);
        assert_eq!(
            negotiate(&[("accept", "application/json"), ("accept-version", "v20250224")]).unwrap(),
            ApiVersion::V20250224
        );
        assert_eq!(negotiate(&[]).unwrap(), ApiVersion::V20111101);
        assert_eq!(negotiate(&[("accept", "application/json, text/plain, */*")]).unwrap(), ApiVersion::V20111101);
        assert_eq!(negotiate(&[("accept", "application/vnd.mx.api.v2beta+json")]).unwrap(), ApiVersion::V20111101);
    }

    #[test]
    fn plain_json_is_answered_only_when_asked_for() {
        let asks = |accept: &str| {
            let (parts, _) = Request::builder().header("accept", accept).body(()).unwrap().into_parts();
            asks_for_plain_json(&parts)
        };
        assert!(asks("application/json"));
        assert!(asks("application/json, text/plain, */*"));
        assert!(asks("Application/JSON; charset=utf-8"));
        assert!(!asks("application/vnd.mx.api.v1+json"));
        assert!(!asks("*/*"));
    }

    #[test]
    fn refuses_unknown_versions() {
        assert!(matches!(negotiate(&[("accept", "text/html")]), Err(MxError::NotAcceptable)));
        assert!(matches!(negotiate(&[("accept-version", "v1999")]), Err(MxError::NotAcceptable)));
    }
}
