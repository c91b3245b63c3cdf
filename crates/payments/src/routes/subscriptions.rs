//! `/webhook-subscriptions` (create, list, retrieve, pause/unpause, delete, its webhooks) and
//! `/webhooks/{id}` with its retries.

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use openiav_core::ids::TenantId;
use openiav_store::records::{WebhookRecord, WebhookSubscriptionRecord};
use openiav_store::repo::webhooks as repo;

use super::{paging, query_pairs};
use crate::auth::AppToken;
use crate::body::DwollaJson;
use crate::hal::{self, Paging};
use crate::idempotency::{self, Answer, Idempotency};
use crate::lookup::find_or_404;
use crate::webhooks::subscriptions::{
    self, CreateSubscription, UpdateSubscription, SUBSCRIPTION_NOT_FOUND, WEBHOOK_NOT_FOUND,
};
use crate::webhooks::view;
use crate::{AppState, DwollaError};

async fn subscription_of(
    state: &AppState,
    tenant: TenantId,
    id: &str,
) -> Result<WebhookSubscriptionRecord, DwollaError> {
    find_or_404(state, id, SUBSCRIPTION_NOT_FOUND, |mut c, id| async move {
        repo::find_subscription(&mut c, tenant, &id).await
    })
    .await
}

async fn webhook_of(state: &AppState, tenant: TenantId, id: &str) -> Result<WebhookRecord, DwollaError> {
    find_or_404(state, id, WEBHOOK_NOT_FOUND, |mut c, id| async move { repo::find_webhook(&mut c, tenant, &id).await })
        .await
}

pub async fn create(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    idempotency: Idempotency,
    DwollaJson(request): DwollaJson<CreateSubscription>,
) -> Result<Response, DwollaError> {
    let subscription = subscriptions::prepare(&state, tenant, request).await?;
    let base = state.base().to_owned();
    let answer = idempotency::answer(
        &state,
        idempotency,
        move |c| Box::pin(subscriptions::create(c, subscription)),
        move |s| Answer::created(&base, &view::subscription_path(&s.id)),
    )
    .await?;
    Ok(answer.into_response())
}

pub async fn list(State(state): State<AppState>, AppToken(tenant): AppToken) -> Result<Response, DwollaError> {
    let found = state.store.read(|mut c| async move { repo::list_subscriptions(&mut c, tenant).await }).await?;
    Ok(hal::ok(&view::subscriptions(state.base(), &found)))
}

pub async fn retrieve(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(id): Path<String>,
) -> Result<Response, DwollaError> {
    Ok(hal::ok(&view::subscription(state.base(), &subscription_of(&state, tenant, &id).await?)))
}

pub async fn update(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    idempotency: Idempotency,
    Path(id): Path<String>,
    DwollaJson(request): DwollaJson<UpdateSubscription>,
) -> Result<Response, DwollaError> {
    let paused = request.paused()?;
    let base = state.base().to_owned();
    let answer = idempotency::answer(
        &state,
        idempotency,
        move |c| Box::pin(async move { subscriptions::set_paused(c, tenant, &id, paused).await }),
        move |s| Answer::ok(&view::subscription(&base, &s)),
    )
    .await?;
    Ok(answer.into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(id): Path<String>,
) -> Result<Response, DwollaError> {
    let deleted =
        state.store.write(move |c| Box::pin(async move { subscriptions::delete(c, tenant, &id).await })).await??;
    Ok(hal::ok(&view::subscription(state.base(), &deleted)))
}

pub async fn list_webhooks(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, DwollaError> {
    let sub = subscription_of(&state, tenant, &id).await?;
    let params = query_pairs(query.as_deref());
    let (limit, offset) = paging(&params, 25, 200)?;
    let (filter, kept) = subscriptions::webhook_filter(&params)?;
    let sid = sub.id.clone();
    let page = state
        .store
        .read(|mut c| async move { repo::list_webhooks(&mut c, tenant, &sid, &filter, limit, offset).await })
        .await?;
    let paging = Paging { limit, offset, total: page.total };
    Ok(hal::ok(&view::webhooks(state.base(), &sub.id, &kept, &page.items, paging)?))
}

pub async fn retrieve_webhook(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(id): Path<String>,
) -> Result<Response, DwollaError> {
    Ok(hal::ok(&view::webhook(state.base(), &webhook_of(&state, tenant, &id).await?)?))
}

pub async fn list_retries(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(id): Path<String>,
) -> Result<Response, DwollaError> {
    let webhook = webhook_of(&state, tenant, &id).await?;
    let wid = webhook.id.clone();
    let retries = state.store.read(|mut c| async move { repo::list_retries(&mut c, tenant, &wid).await }).await?;
    Ok(hal::ok(&view::retries(state.base(), &webhook.id, &retries)))
}

pub async fn retry(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    idempotency: Idempotency,
    Path(id): Path<String>,
) -> Result<Response, DwollaError> {
    let now = state.now(tenant).await?;
    let base = state.base().to_owned();
    let answer = idempotency::answer(
        &state,
        idempotency,
        move |c| Box::pin(async move { subscriptions::retry(c, tenant, &id, now).await }),
        move |r| Answer::created(&base, &view::retry_path(&r)),
    )
    .await?;
    Ok(answer.into_response())
}
