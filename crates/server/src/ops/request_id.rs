//! Request ids: every request carries one (the caller's `X-Request-Id` when it is sane, else a
//! fresh one), echoed in the answer's `X-Request-Id` and named in every log line of the request.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

pub static HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest incoming id honoured.
const MAX_LEN: usize = 128;

/// The id of the request being served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(pub String);

/// Whether a caller's id can be kept as is: short, and only characters that cannot break a log
/// line or a header.
fn sane(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/' | b'+' | b'='))
}

/// The id for a request with this incoming header value.
pub fn choose(incoming: Option<&HeaderValue>) -> String {
    incoming
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| sane(v))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

/// The outermost layer: picks the id, hands it to everything inside, and echoes it.
pub async fn assign(mut req: Request, next: Next) -> Response {
    let id = choose(req.headers().get(&HEADER));
    let value = HeaderValue::from_str(&id).expect("a sane or generated id is a valid header value");
    req.headers_mut().insert(HEADER.clone(), value.clone());
    req.extensions_mut().insert(RequestId(id));
    let mut resp = next.run(req).await;
    resp.headers_mut().insert(HEADER.clone(), value);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_incoming_ids_are_kept_and_others_replaced() {
        assert_eq!(choose(Some(&HeaderValue::from_static("abc-123_x.y"))), "abc-123_x.y");
        let replaced = choose(Some(&HeaderValue::from_static("has space")));
        assert_ne!(replaced, "has space");
        assert_eq!(replaced.len(), 36, "a uuid");
        let long = "a".repeat(MAX_LEN + 1);
        assert_ne!(choose(Some(&HeaderValue::from_str(&long).unwrap())), long);
        assert_eq!(choose(None).len(), 36);
        assert_ne!(choose(None), choose(None));
    }
}
