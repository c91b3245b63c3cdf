//! The payments wire surface's one error type, answered in Dwolla's envelope
//! (`{"code","message","_embedded":{"errors":[…]}}`) with the HAL error media type.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use openiav_store::StoreError;
use serde_json::{json, Value};

/// The media type of every error body.
pub const ERROR_MEDIA_TYPE: &str =
    "application/vnd.dwolla.v1.hal+json; profile=\"http://nocarrier.co.uk/profiles/vnd.error/\"; charset=UTF-8";

/// One entry of a ValidationError's `_embedded.errors`.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    /// `Required`, `Invalid`, `InvalidFormat`, `Duplicate`, …
    pub code: &'static str,
    pub message: String,
    /// JSON pointer into the request body.
    pub path: String,
    /// `_links.about`, when the error points at a resource.
    pub about: Option<Value>,
}

impl FieldError {
    pub fn new(code: &'static str, path: &str, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), path: path.to_owned(), about: None }
    }

    pub fn required(path: &str, message: impl Into<String>) -> Self {
        Self::new("Required", path, message)
    }

    pub fn invalid(path: &str, message: impl Into<String>) -> Self {
        Self::new("Invalid", path, message)
    }
}

/// An error answer: status, Dwolla code, message, and optionally embedded field errors or a
/// link to the resource it is about. Boxed, so results stay small on the happy path.
#[derive(Debug, thiserror::Error)]
#[error("{}: {}", .0.code, .0.message)]
pub struct DwollaError(Box<Parts>);

#[derive(Debug)]
pub struct Parts {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub errors: Vec<FieldError>,
    pub about: Option<Value>,
    /// Logged, never answered.
    pub detail: Option<String>,
}

impl DwollaError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self(Box::new(Parts { status, code, message: message.into(), errors: Vec::new(), about: None, detail: None }))
    }

    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    pub fn code(&self) -> &'static str {
        self.0.code
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    /// A ValidationError carrying field errors.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut e = Self::new(
            StatusCode::BAD_REQUEST,
            "ValidationError",
            "Validation error(s) present. See embedded errors list for more details.",
        );
        e.0.errors = errors;
        e
    }

    pub fn invalid(path: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::invalid(path, message)])
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFound", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden", message)
    }

    pub fn invalid_resource_state(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "InvalidResourceState", message)
    }

    pub fn with_about(mut self, about: Value) -> Self {
        self.0.about = Some(about);
        self
    }

    pub fn internal(detail: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::INTERNAL_SERVER_ERROR, "ServerError", "A server error occurred.");
        e.0.detail = Some(detail.into());
        e
    }

    pub fn invalid_credentials() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "InvalidCredentials", "Missing or invalid Authorization header.")
    }

    pub fn invalid_access_token() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "InvalidAccessToken", "Invalid access token.")
    }

    pub fn expired_access_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "ExpiredAccessToken",
            "Generate a new access token using your client credentials.",
        )
    }
}

impl From<StoreError> for DwollaError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::not_found("The requested resource was not found."),
            StoreError::InvalidInput(_) => Self::bad_request("The request contains a value that cannot be stored."),
            StoreError::Unavailable(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "The service is temporarily unavailable; try again shortly.",
            ),
            other => Self::internal(other.to_string()),
        }
    }
}

impl DwollaError {
    /// The envelope this error is answered with.
    pub fn body(&self) -> String {
        let parts = &self.0;
        let mut body = json!({ "code": parts.code, "message": parts.message });
        if !parts.errors.is_empty() {
            let errors: Vec<Value> = parts
                .errors
                .iter()
                .map(|e| {
                    let links = e.about.as_ref().map_or_else(|| json!({}), |a| json!({ "about": a }));
                    json!({ "code": e.code, "message": e.message, "path": e.path, "_links": links })
                })
                .collect();
            body["_embedded"] = json!({ "errors": errors });
        }
        if let Some(about) = &parts.about {
            body["_links"] = json!({ "about": about });
        }
        body.to_string()
    }
}

impl IntoResponse for DwollaError {
    fn into_response(self) -> Response {
        if let Some(detail) = &self.0.detail {
            tracing::error!(error = %detail, "payments request failed");
        }
        let mut resp = (self.0.status, self.body()).into_response();
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(ERROR_MEDIA_TYPE));
        resp
    }
}
