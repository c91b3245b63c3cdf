//! `/customers`: create, list and search, retrieve and update, each parsing the request, calling
//! one [`crate::customers`] operation and rendering its view.

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};

use super::{paging, query_pairs};
use crate::auth::AppToken;
use crate::body::{DwollaJson, Named};
use crate::customers::view::{self, CustomerList, CustomerView};
use crate::customers::{self, Customer, CustomerBody, ListFilter, CUSTOMER_NOT_FOUND};
use crate::hal;
use crate::idempotency::{self, Answer, Idempotency};
use crate::lookup::customer_of;
use crate::{AppState, DwollaError};

/// The list parameters that carry into its paging links.
const LIST_FILTERS: [&str; 3] = ["search", "email", "status"];

pub async fn create(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    idempotency: Idempotency,
    DwollaJson(body): DwollaJson<CustomerBody>,
) -> Result<Response, DwollaError> {
    let draft = customers::draft(tenant, &body, state.now(tenant).await?)?;
    let base = state.base().to_owned();
    let answer = idempotency::write(&state, idempotency, move |conn| {
        Box::pin(async move {
            let created = customers::create(conn, &base, draft).await?;
            Ok(created.map(|c| Answer::created(&base, &view::path(&c.record.id))))
        })
    })
    .await
    .map_err(customers::lost_race)??;
    Ok(answer.into_response())
}

pub async fn list(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    RawQuery(query): RawQuery,
) -> Result<Response, DwollaError> {
    let params = query_pairs(query.as_deref());
    let (limit, offset) = paging(&params, 25, 200)?;
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).filter(|v| !v.is_empty());
    let filter = ListFilter {
        search: get("search"),
        email: get("email"),
        statuses: params.iter().filter(|(n, _)| n == "status").map(|(_, v)| Named::parse(v.clone())).collect(),
    };
    let kept = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().filter(|(k, _)| LIST_FILTERS.contains(&k.as_str())))
        .finish();
    let page = customers::list(&state.store, tenant, &filter, limit, offset).await?;
    Ok(hal::ok(&CustomerList::of(state.base(), &kept, &page, limit, offset)))
}

pub async fn retrieve(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(id): Path<String>,
) -> Result<Response, DwollaError> {
    let customer = Customer::decode(customer_of(&state, tenant, &id, CUSTOMER_NOT_FOUND).await?)?;
    Ok(hal::ok(&CustomerView::of(state.base(), &customer)))
}

pub async fn update(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    idempotency: Idempotency,
    Path(id): Path<String>,
    DwollaJson(body): DwollaJson<CustomerBody>,
) -> Result<Response, DwollaError> {
    let id = id.to_ascii_lowercase();
    let now = state.now(tenant).await?;
    let base = state.base().to_owned();
    let answer = idempotency::write(&state, idempotency, move |conn| {
        Box::pin(async move {
            let updated = customers::update(conn, &base, tenant, &id, &body, now).await?;
            Ok(updated.map(|c| Answer::ok(&CustomerView::of(&base, &c))))
        })
    })
    .await
    .map_err(customers::lost_race)??;
    Ok(answer.into_response())
}
