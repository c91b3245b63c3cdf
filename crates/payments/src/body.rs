//! Request bodies at the edge: JSON whatever the content type (HAL or plain JSON), pretty or
//! compact, and an empty body read as `{}` (some SDK calls send none).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::DwollaError;

/// A JSON body parsed into `T`; malformed JSON is Dwolla's 400 `BadRequest`.
pub struct DwollaJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for DwollaJson<T> {
    type Rejection = DwollaError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| DwollaError::bad_request("The request body could not be read."))?;
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &bytes };
        serde_json::from_slice(text).map(DwollaJson).map_err(|e| {
            DwollaError::bad_request(format!("The request body contains bad syntax or is incomplete: {e}."))
        })
    }
}

/// Whether `s` is an absolute `http`/`https` URL with a host (redirect and webhook URLs).
pub fn is_http_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}
