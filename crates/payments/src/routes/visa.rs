//! Dwolla's Visa redirect endpoint, `GET /redirect/tink`: no Dwolla credentials (the browser
//! brings it), bound to its exchange session by `state`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::visa::{self, Callback};
use crate::{AppState, DwollaError};

pub async fn redirect(
    State(state): State<AppState>,
    query: Result<Query<Callback>, QueryRejection>,
) -> Result<Response, DwollaError> {
    let Query(callback) = query.map_err(|_| DwollaError::bad_request("The redirect's query is malformed."))?;
    let landing = visa::complete(&state, callback).await?;
    Ok((StatusCode::FOUND, [(header::LOCATION, landing)]).into_response())
}
