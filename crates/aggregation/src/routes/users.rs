//! `/users`: create, read, list with filters, update, delete.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use openiav_core::ids::UserGuid;
use openiav_store::records::UserRecord;
use openiav_store::repo::users::{self as repo, UserFilter};
use serde::Deserialize;
use serde_json::json;

use super::load_user;
use crate::auth::Tenant;
use crate::params::{MxJson, Pagination, QueryParams};
use crate::version::ApiVersion;
use crate::webhooks::{self, Action};
use crate::wire::User;
use crate::{AppState, MxError};
use openiav_core::aggregation::MxWebhookType;

#[derive(Deserialize)]
pub struct UserBody {
    user: Option<UserFields>,
}

#[derive(Deserialize, Default)]
pub struct UserFields {
    email: Option<String>,
    id: Option<String>,
    is_disabled: Option<bool>,
    metadata: Option<String>,
}

fn check_fields(f: &UserFields) -> Result<(), MxError> {
    if f.id.as_deref().is_some_and(|id| id.is_empty() || id.len() > 255) {
        return Err(MxError::bad_request("user.id must be between 1 and 255 characters."));
    }
    if let Some(email) = f.email.as_deref() {
        if email.len() > 255 {
            return Err(MxError::bad_request("user.email must be at most 255 characters."));
        }
        let (local, domain) = email.split_once('@').unwrap_or_default();
        if local.is_empty() || !domain.contains('.') || email.chars().any(char::is_whitespace) {
            return Err(MxError::Unprocessable(format!("user.email `{email}` is not a valid email address.")));
        }
    }
    if f.metadata.as_deref().is_some_and(|m| m.len() > 8192) {
        return Err(MxError::bad_request("user.metadata must be at most 8192 characters."));
    }
    Ok(())
}

fn duplicate_id(e: openiav_store::StoreError) -> MxError {
    match e {
        openiav_store::StoreError::Conflict(_) => MxError::Conflict("A user with this id already exists.".into()),
        other => other.into(),
    }
}

/// Inserts, updates or deletes the user with its USER webhook, in one transaction.
async fn write_user(state: &AppState, user: UserRecord, action: Action) -> Result<(), MxError> {
    let agg = state.clone();
    state
        .store
        .write(move |c| {
            Box::pin(async move {
                match action {
                    Action::Created => repo::insert(c, &user).await?,
                    Action::Updated => repo::update(c, &user).await?,
                    Action::Deleted => repo::delete(c, user.tenant_id, &user.guid).await?,
                }
                let body = webhooks::payload::user(action, &user);
                let at = agg.now_in(c, user.tenant_id).await?;
                webhooks::emit(c, &agg, user.tenant_id, MxWebhookType::User, &body, at).await
            })
        })
        .await
        .map_err(duplicate_id)
}

pub async fn create(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    MxJson(body): MxJson<UserBody>,
) -> Result<Response, MxError> {
    let fields = body.user.ok_or_else(|| MxError::bad_request("The request body must contain a `user` object."))?;
    check_fields(&fields)?;
    let now = state.now(tenant).await?;
    let user = UserRecord {
        guid: UserGuid::generate(),
        tenant_id: tenant,
        id: fields.id,
        email: fields.email,
        is_disabled: fields.is_disabled.unwrap_or(false),
        metadata: fields.metadata,
        created_at: now,
        updated_at: now,
    };
    write_user(&state, user.clone(), Action::Created).await?;
    Ok(v.wrapped(StatusCode::OK, "user", &User::from(&user)))
}

pub async fn read(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path(ident): Path<String>,
) -> Result<Response, MxError> {
    let user = load_user(&state, tenant, v, &ident).await?;
    Ok(v.wrapped(StatusCode::OK, "user", &User::from(&user)))
}

pub async fn list(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    q: QueryParams,
) -> Result<Response, MxError> {
    let page = q.page(1000)?;
    let filter = UserFilter {
        id: q.get("id").map(str::to_owned),
        email: q.get("email").map(str::to_owned),
        is_disabled: q.get_bool("is_disabled")?,
    };
    let found = state.store.read(|mut c| async move { repo::list(&mut c, tenant, &filter, page).await }).await?;
    let users: Vec<User> = found.items.iter().map(User::from).collect();
    Ok(v.json(StatusCode::OK, &json!({ "users": users, "pagination": Pagination::new(page, found.total) })))
}

pub async fn update(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path(ident): Path<String>,
    MxJson(body): MxJson<UserBody>,
) -> Result<Response, MxError> {
    let fields = body.user.ok_or_else(|| MxError::bad_request("The request body must contain a `user` object."))?;
    check_fields(&fields)?;
    let mut user = load_user(&state, tenant, v, &ident).await?;
    if fields.id.is_some() {
        user.id = fields.id;
    }
    if fields.email.is_some() {
        user.email = fields.email;
    }
    if let Some(d) = fields.is_disabled {
        user.is_disabled = d;
    }
    if fields.metadata.is_some() {
        user.metadata = fields.metadata;
    }
    user.updated_at = state.now(user.tenant_id).await?;
    write_user(&state, user.clone(), Action::Updated).await?;
    Ok(v.wrapped(StatusCode::OK, "user", &User::from(&user)))
}

pub async fn delete(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path(ident): Path<String>,
) -> Result<StatusCode, MxError> {
    let user = load_user(&state, tenant, v, &ident).await?;
    write_user(&state, user, Action::Deleted).await?;
    Ok(StatusCode::NO_CONTENT)
}
