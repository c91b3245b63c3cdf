//! The MX wire surface's one error type and its JSON envelope `{"error": {"message": …}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use openiav_store::StoreError;

/// The message MX gives for an unknown record.
pub const NOT_FOUND_MESSAGE: &str = "We were unable to find the record you requested.";

/// Every error the aggregation API answers with.
#[derive(Debug, thiserror::Error)]
pub enum MxError {
    #[error("{0}")]
    BadRequest(String),
    #[error("The client_id and api_key pair is missing or invalid.")]
    Unauthorized,
    /// A processor's bearer token is missing, unknown or expired.
    #[error("The access token is missing, invalid or expired.")]
    InvalidAccessToken,
    #[error("{0}")]
    Forbidden(String),
    #[error("{}", NOT_FOUND_MESSAGE)]
    NotFound,
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("No valid API version was requested. Use `Accept: application/vnd.mx.api.v1+json` or `Accept-Version: v20250224`.")]
    NotAcceptable,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("The service is temporarily unavailable; try again shortly.")]
    Unavailable,
    #[error("An internal error occurred.")]
    Internal(String),
}

impl MxError {
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::BadRequest(msg.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized | Self::InvalidAccessToken => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<StoreError> for MxError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound,
            StoreError::Conflict(what) => {
                Self::Conflict(format!("A record with the same identifier already exists ({what})."))
            }
            StoreError::Unavailable(_) => Self::Unavailable,
            StoreError::InvalidInput(_) => {
                Self::BadRequest("The request contains a value that cannot be stored.".into())
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for MxError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let Self::Internal(detail) = &self {
            tracing::error!(error = %detail, "aggregation request failed");
        }
        let body = serde_json::json!({ "error": { "message": self.to_string(), "status": status.as_u16() } });
        let mut resp = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            let challenge = match self {
                Self::InvalidAccessToken => "Bearer realm=\"MX\"",
                _ => "Basic realm=\"MX\"",
            };
            resp.headers_mut()
                .insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static(challenge));
        }
        resp
    }
}
