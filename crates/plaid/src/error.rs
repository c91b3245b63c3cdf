//! The Plaid wire surface's one error type, answered in Plaid's envelope
//! `{"error_type","error_code","error_message","display_message","request_id"}`.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use openiav_store::StoreError;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::rules::{ErrorType, LinkFailure};

/// An error of the Link session API or the Plaid API.
#[derive(Debug)]
pub struct PlaidError {
    status: StatusCode,
    error_type: ErrorType,
    error_code: &'static str,
    error_message: String,
    display_message: Option<String>,
    /// What went wrong inside, for the log only (internal errors).
    detail: Option<String>,
}

impl PlaidError {
    /// A 400 of `error_type` with Plaid's code and message.
    pub fn new(error_type: ErrorType, error_code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error_type,
            error_code,
            error_message: message.into(),
            display_message: None,
            detail: None,
        }
    }

    /// A request body or field that cannot be used.
    pub fn invalid_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorType::InvalidRequest, code, message)
    }

    /// A value that names nothing usable (a token, an id).
    pub fn invalid_input(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorType::InvalidInput, code, message)
    }

    /// The Link session token is missing, unknown or expired.
    pub fn session_expired() -> Self {
        let mut e = Self::invalid_input("INVALID_LINK_SESSION", "the link session is missing, invalid or expired");
        e.status = StatusCode::UNAUTHORIZED;
        e
    }

    /// A failure at the institution, as Link reports it.
    pub fn failure(f: &LinkFailure) -> Self {
        let mut e = Self::new(f.error_type, f.error_code, f.error_message);
        e.display_message = f.display_message.map(str::to_owned);
        e
    }

    /// An opaque 500; `detail` goes to the log only.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error_type: ErrorType::ApiError,
            error_code: "INTERNAL_SERVER_ERROR",
            error_message: "an unexpected error occurred".into(),
            display_message: None,
            detail: Some(detail.into()),
        }
    }

    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &'static str {
        self.error_code
    }
}

impl From<StoreError> for PlaidError {
    fn from(e: StoreError) -> Self {
        Self::internal(format!("store: {e}"))
    }
}

impl IntoResponse for PlaidError {
    fn into_response(self) -> Response {
        if let Some(detail) = &self.detail {
            tracing::error!(error = %detail, "plaid request failed");
        }
        let body = json!({
            "error_type": self.error_type,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "display_message": self.display_message,
            "request_id": crate::request_id(),
        });
        (self.status, axum::Json(body)).into_response()
    }
}

/// A JSON body whose rejection is a Plaid error, never axum's plain text.
pub struct PlaidJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for PlaidJson<T> {
    type Rejection = PlaidError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(JsonRejection::JsonDataError(e)) => Err(PlaidError::invalid_request(
                "INVALID_FIELD",
                format!("the request body is not valid: {}", e.body_text()),
            )),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(PlaidError::invalid_request(
                "INVALID_HEADERS",
                "the request must have a Content-Type of application/json",
            )),
            Err(_) => Err(PlaidError::invalid_request("INVALID_BODY", "body could not be parsed as JSON")),
        }
    }
}
