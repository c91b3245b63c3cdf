//! The operations behind `/webhook-subscriptions` and `/webhooks/{id}/retries`: subscribing
//! within the tenant's limit, pausing and unpausing, unsubscribing, and retrying a webhook by
//! hand. Each decides on the rows it loads in its own write.

use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use openiav_store::records::{WebhookRetryRecord, WebhookSubscriptionRecord};
use openiav_store::repo::webhooks::WebhookFilter;
use openiav_store::repo::{tenants, webhooks as repo};
use openiav_store::{Conn, StoreError};
use serde::Deserialize;

use super::{rules, seal_secret};
use crate::body::{valid, Lenient};
use crate::error::DwollaCode;
use crate::{AppState, DwollaError};

pub const SUBSCRIPTION_NOT_FOUND: &str = "Webhook subscription not found.";
pub const WEBHOOK_NOT_FOUND: &str = "Webhook not found.";

/// `POST /webhook-subscriptions`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CreateSubscription {
    #[serde(default)]
    pub url: Option<Lenient<String>>,
    #[serde(default)]
    pub secret: Option<Lenient<String>>,
}

/// `POST /webhook-subscriptions/{id}`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct UpdateSubscription {
    #[serde(default)]
    pub paused: Option<Lenient<bool>>,
}

impl UpdateSubscription {
    /// Whether the request pauses (or unpauses) the subscription.
    pub fn paused(self) -> Result<bool, DwollaError> {
        valid(&self.paused).copied().ok_or_else(|| DwollaError::invalid("/paused", "Paused must be true or false."))
    }
}

/// The subscription `request` asks for, its secret sealed (not yet saved).
pub async fn prepare(
    state: &AppState,
    tenant: TenantId,
    request: CreateSubscription,
) -> Result<WebhookSubscriptionRecord, DwollaError> {
    let (url, secret) =
        rules::subscription_fields(valid(&request.url).map(String::as_str), valid(&request.secret).map(String::as_str))
            .map_err(DwollaError::validation)?;
    let mut subscription = WebhookSubscriptionRecord {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant,
        url,
        secret: Vec::new(),
        paused: false,
        consecutive_failures: 0,
        last_success_at: None,
        created_at: state.now(tenant).await?,
    };
    subscription.secret = seal_secret(state, &subscription, &secret);
    Ok(subscription)
}

/// Saves a prepared subscription if the tenant holds fewer than its limit.
pub async fn create(
    conn: &mut Conn,
    subscription: WebhookSubscriptionRecord,
) -> Result<Result<WebhookSubscriptionRecord, DwollaError>, StoreError> {
    let tenant = subscription.tenant_id;
    // Concurrent creates take turns on the tenant's row, so the count stays true.
    let is_sandbox = tenants::get_for_update(conn, tenant).await?.is_sandbox;
    if !rules::may_subscribe(repo::list_subscriptions(conn, tenant).await?.len(), is_sandbox) {
        return Ok(Err(DwollaError::new(
            DwollaCode::MaxNumberOfResources,
            "The maximum number of subscriptions has been reached.",
        )));
    }
    repo::insert_subscription(conn, &subscription).await?;
    Ok(Ok(subscription))
}

/// Pauses or unpauses the tenant's subscription `id`.
pub async fn set_paused(
    conn: &mut Conn,
    tenant: TenantId,
    id: &str,
    paused: bool,
) -> Result<Result<WebhookSubscriptionRecord, DwollaError>, StoreError> {
    let Some(mut subscription) = repo::find_subscription_for_update(conn, tenant, &id.to_ascii_lowercase()).await?
    else {
        return Ok(Err(DwollaError::not_found(SUBSCRIPTION_NOT_FOUND)));
    };
    rules::set_paused(&mut subscription, paused);
    repo::save_subscription(conn, &subscription).await?;
    Ok(Ok(subscription))
}

/// Deletes the tenant's subscription `id`; answers it as it was.
pub async fn delete(
    conn: &mut Conn,
    tenant: TenantId,
    id: &str,
) -> Result<Result<WebhookSubscriptionRecord, DwollaError>, StoreError> {
    let Some(subscription) = repo::find_subscription_for_update(conn, tenant, &id.to_ascii_lowercase()).await? else {
        return Ok(Err(DwollaError::not_found(SUBSCRIPTION_NOT_FOUND)));
    };
    repo::delete_subscription(conn, tenant, &subscription.id).await?;
    Ok(Ok(subscription))
}

/// Records a manual retry of the tenant's webhook `id` and queues its one delivery.
pub async fn retry(
    conn: &mut Conn,
    tenant: TenantId,
    id: &str,
    now: Timestamp,
) -> Result<Result<WebhookRetryRecord, DwollaError>, StoreError> {
    let Some(webhook) = repo::find_webhook(conn, tenant, &id.to_ascii_lowercase()).await? else {
        return Ok(Err(DwollaError::not_found(WEBHOOK_NOT_FOUND)));
    };
    let retry = WebhookRetryRecord {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant,
        webhook_id: webhook.id.clone(),
        created_at: now,
    };
    repo::insert_retry(conn, &retry).await?;
    super::retry(conn, &webhook, now).await?;
    Ok(Ok(retry))
}

/// The filter of `GET /webhook-subscriptions/{id}/webhooks` (`startDate`, `endDate`,
/// `resourceId`), and those parameters re-encoded for its paging links.
pub fn webhook_filter(params: &[(String, String)]) -> Result<(WebhookFilter, String), DwollaError> {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim()).filter(|v| !v.is_empty());
    let bound = |name: &str, end_of_day: bool| {
        get(name)
            .map(|value| {
                rules::date_bound(value, end_of_day).ok_or_else(|| {
                    DwollaError::invalid(
                        &format!("/{name}"),
                        format!("{name} must be a date (YYYY-MM-DD) or an ISO-8601 time."),
                    )
                })
            })
            .transpose()
    };
    let filter = WebhookFilter {
        since: bound("startDate", false)?,
        until: bound("endDate", true)?,
        resource_id: get("resourceId").map(str::to_ascii_lowercase),
    };
    let mut kept = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params.iter().filter(|(k, _)| matches!(k.as_str(), "startDate" | "endDate" | "resourceId")) {
        kept.append_pair(k, v);
    }
    Ok((filter, kept.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn the_webhook_filter_keeps_its_own_parameters_for_paging() {
        let (filter, kept) = webhook_filter(&params(&[
            ("limit", "5"),
            ("startDate", "1970-01-02"),
            ("resourceId", "ABC"),
            ("endDate", " "),
        ]))
        .expect("valid");
        assert_eq!(filter.since, Some(Timestamp::from_millis(86_400_000)));
        assert_eq!(filter.until, None);
        assert_eq!(filter.resource_id.as_deref(), Some("abc"));
        assert_eq!(kept, "startDate=1970-01-02&resourceId=ABC&endDate=+");
        let e = webhook_filter(&params(&[("endDate", "soon")])).expect_err("refused");
        assert!(e.body().contains("\"/endDate\""), "{}", e.body());
    }
}
