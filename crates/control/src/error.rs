//! The control plane's one error type: `{"code": …, "message": …}` as JSON, its code deciding
//! the status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use openiav_store::StoreError;
use serde::Serialize;

/// Every `code` a control route answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ControlCode {
    /// 400: the request is malformed or names something that cannot be done.
    BadRequest,
    /// 401: no valid MX Basic credentials or Dwolla bearer token.
    Unauthorized,
    /// 404: nothing of the tenant's by that id.
    NotFound,
    /// 409: the resource's state does not allow this.
    Conflict,
    /// 500: an internal failure, logged and answered opaquely.
    ServerError,
}

impl ControlCode {
    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict => StatusCode::CONFLICT,
            Self::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

#[derive(Debug, thiserror::Error, Serialize)]
#[error("{code:?}: {message}")]
pub struct ControlError {
    pub code: ControlCode,
    pub message: String,
}

impl ControlError {
    pub fn new(code: ControlCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ControlCode::BadRequest, message)
    }

    pub fn unauthorized() -> Self {
        Self::new(ControlCode::Unauthorized, "Send the tenant's MX Basic credentials or a Dwolla bearer token.")
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ControlCode::NotFound, format!("No {what} of this tenant has that id."))
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ControlCode::Conflict, message)
    }
}

impl From<StoreError> for ControlError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::not_found("record"),
            other => {
                tracing::error!(error = %other, "control plane store failure");
                Self::new(ControlCode::ServerError, "An internal error occurred.")
            }
        }
    }
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        (self.code.status(), axum::Json(self)).into_response()
    }
}
