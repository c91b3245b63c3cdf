//! The answers a fault gives, in the listener's vendor's own words: MX's
//! `{"error": {"message", "status"}}` envelope and Dwolla's `{"code", "message"}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use openiav_core::ops::Listener;
use openiav_payments::error::{DwollaCode, DwollaError};

/// MX's words for each status (its Platform API "Errors" page), the aggregation API's own
/// envelope around them.
fn mx_message(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "A required parameter was missing.",
        401 => "The client_id and api_key pair is missing or invalid.",
        403 => "The request was made from a non-whitelisted address or the feature is not available to the client.",
        404 => openiav_aggregation::error::NOT_FOUND_MESSAGE,
        405 => "A constraint on the requested endpoint wasn't met.",
        406 => "The request didn't specify a valid API version.",
        409 => "An object with the given attributes already exists.",
        422 => "The data provided cannot be processed.",
        429 => "Too many requests: the rate limit or the maximum number of concurrent connections was exceeded.",
        503 => "The MX Platform is being updated.",
        s if s >= 500 => "Something went wrong with MX's servers.",
        _ => "The request could not be completed.",
    }
}

/// Dwolla's code and message for each status; a 500 names an error id as Dwolla's do.
fn dwolla_error(status: StatusCode, request_id: &str) -> DwollaError {
    match status.as_u16() {
        400 => DwollaError::bad_request("The request body contains bad syntax or is incomplete."),
        401 => DwollaError::invalid_credentials(),
        403 => DwollaError::forbidden("Not authorized to perform this action."),
        404 => DwollaError::not_found("The requested resource was not found."),
        429 => DwollaError::new(
            DwollaCode::TooManyRequests,
            "Please wait a short period of time before re-attempting the request.",
        ),
        503 => DwollaError::new(
            DwollaCode::ServiceUnavailable,
            "The service is temporarily unavailable; try again shortly.",
        ),
        s if s >= 500 => {
            DwollaError::new(DwollaCode::ServerError, format!("A server error occurred. Error ID: {request_id}"))
        }
        _ => DwollaError::bad_request("The request could not be completed."),
    }
}

/// The vendor's error answer with `status` on `listener`.
pub fn status_answer(listener: Listener, status: StatusCode, request_id: &str) -> Response {
    let mut resp = match listener {
        Listener::Mx => {
            let body = serde_json::json!({ "error": { "message": mx_message(status), "status": status.as_u16() } });
            let mut r = axum::Json(body).into_response();
            if status == StatusCode::UNAUTHORIZED {
                r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"MX\""));
            }
            r
        }
        Listener::Dwolla => dwolla_error(status, request_id).into_response(),
    };
    *resp.status_mut() = status;
    resp
}

/// A 429 with `Retry-After`.
pub fn rate_limited(listener: Listener, retry_after_secs: u64, request_id: &str) -> Response {
    let mut resp = status_answer(listener, StatusCode::TOO_MANY_REQUESTS, request_id);
    resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_listener_answers_in_its_vendors_envelope() {
        let body = |r: Response| async move {
            String::from_utf8(axum::body::to_bytes(r.into_body(), 4096).await.unwrap().to_vec()).unwrap()
        };
        let r = status_answer(Listener::Mx, StatusCode::SERVICE_UNAVAILABLE, "rid");
        assert_eq!(r.status(), 503);
        assert_eq!(body(r).await, r#"{"error":{"message":"The MX Platform is being updated.","status":503}}"#);
        let r = rate_limited(Listener::Dwolla, 7, "rid");
        assert_eq!(r.headers()[header::RETRY_AFTER], "7");
        assert_eq!(
            body(r).await,
            r#"{"code":"TooManyRequests","message":"Please wait a short period of time before re-attempting the request."}"#
        );
        let r = status_answer(Listener::Dwolla, StatusCode::INTERNAL_SERVER_ERROR, "rid-1");
        assert_eq!(body(r).await, r#"{"code":"ServerError","message":"A server error occurred. Error ID: rid-1"}"#);
        let r = status_answer(Listener::Dwolla, StatusCode::BAD_GATEWAY, "x");
        assert_eq!(r.status(), 502);
    }
}
