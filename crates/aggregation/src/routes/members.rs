//! `/users/{user}/members`: CRUD, the five jobs, status, challenges, resume, credentials and
//! OAuth windows.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{post, MethodRouter};
use openiav_core::crypto::{hash_token, random_url_token};
use openiav_store::records::MemberRecord;
use openiav_store::repo::members as repo;
use serde::Deserialize;
use serde_json::json;

use super::{load_member, load_member_status, load_user};
use crate::auth::Tenant;
use crate::catalog::{Catalog, Institution};
use crate::engine::{self, CredentialValue, JobKind, OauthState, ResumeError, StartError};
use crate::params::{paginate, MxJson, Pagination, QueryParams};
use crate::status::ConnectionStatus;
use crate::version::ApiVersion;
use crate::wire::{Credential, Member, MemberStatus};
use crate::{AppState, MxError};

#[derive(Deserialize)]
pub struct CreateBody {
    member: Option<MemberFields>,
    client_redirect_url: Option<String>,
    referral_source: Option<String>,
    ui_message_webview_url_scheme: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct MemberFields {
    background_aggregation_is_disabled: Option<bool>,
    credentials: Option<Vec<CredentialInput>>,
    id: Option<String>,
    institution_code: Option<String>,
    is_oauth: Option<bool>,
    metadata: Option<String>,
    skip_aggregation: Option<bool>,
    use_cases: Option<Vec<String>>,
}

#[derive(Deserialize)]
pub struct CredentialInput {
    guid: Option<String>,
    value: Option<String>,
}

#[derive(Deserialize)]
pub struct UpdateBody {
    member: Option<MemberFields>,
}

fn check_use_cases(use_cases: &Option<Vec<String>>) -> Result<Option<String>, MxError> {
    let Some(list) = use_cases else { return Ok(None) };
    if let Some(bad) = list.iter().find(|u| *u != "MONEY_MOVEMENT" && *u != "PFM") {
        return Err(MxError::bad_request(format!("`{bad}` is not a valid use case; use MONEY_MOVEMENT or PFM.")));
    }
    Ok(Some(serde_json::to_string(list).expect("strings serialise")))
}

/// Checks credential answers against the institution's fields; returns them in field order.
fn check_credentials(inst: &Institution, given: Vec<CredentialInput>) -> Result<Vec<CredentialValue>, MxError> {
    let mut values = Vec::with_capacity(given.len());
    for c in given {
        let guid = c.guid.ok_or_else(|| MxError::bad_request("Every credential needs a `guid`."))?;
        let value = c.value.ok_or_else(|| MxError::bad_request(format!("Credential {guid} needs a `value`.")))?;
        if inst.credential(&guid).is_none() {
            return Err(MxError::bad_request(format!("Credential {guid} is not a credential of {}.", inst.name)));
        }
        values.retain(|v: &CredentialValue| v.guid != guid);
        values.push(CredentialValue { guid, value });
    }
    for field in &inst.credentials {
        match values.iter().find(|v| v.guid == field.guid) {
            Some(v) if !v.value.is_empty() => {}
            _ => {
                return Err(MxError::bad_request(format!(
                    "The `{}` credential ({}) is required.",
                    field.label, field.guid
                )))
            }
        }
    }
    values.sort_by_key(|v| inst.credentials.iter().position(|f| f.guid == v.guid));
    Ok(values)
}

fn store_credentials(state: &AppState, m: &mut MemberRecord, inst: &Institution, values: &[CredentialValue]) {
    let plain = serde_json::to_vec(values).expect("credentials serialise");
    m.credentials = Some(state.keyring.encrypt(&engine::credentials_context(m), &plain));
    let mut parts: Vec<&str> = vec!["credentials", &inst.code];
    parts.extend(values.iter().flat_map(|v| [v.guid.as_str(), v.value.as_str()]));
    m.credentials_fingerprint = Some(state.keyring.fingerprint(&parts));
}

/// Mints a single-use OAuth window URI for the member, valid for the configured time.
fn mint_oauth_window(state: &AppState, m: &mut MemberRecord) -> String {
    let token = random_url_token();
    m.oauth_token_hash = Some(hash_token(&token));
    m.oauth_expires_at = Some(state.clock.now().plus_millis(state.config.oauth_window_ttl_ms));
    format!("{}/oauth/authorize/{token}", state.config.public_base_url.trim_end_matches('/'))
}

/// A disabled user's connections do not aggregate.
fn refuse_disabled(user: &openiav_store::records::UserRecord) -> Result<(), MxError> {
    if user.is_disabled {
        return Err(MxError::Forbidden(
            "This user is disabled; enable it before connecting or aggregating members.".into(),
        ));
    }
    Ok(())
}

fn job_error(e: StartError, kind: JobKind) -> MxError {
    match e {
        StartError::OtherJobRunning => MxError::Conflict(format!(
            "Another job is already running on this member; a {} job cannot start until it finishes.",
            serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
        )),
        StartError::Store(s) => s.into(),
    }
}

pub async fn create(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path(user_ident): Path<String>,
    MxJson(body): MxJson<CreateBody>,
) -> Result<Response, MxError> {
    let fields = body.member.ok_or_else(|| MxError::bad_request("The request body must contain a `member` object."))?;
    let code =
        fields.institution_code.clone().ok_or_else(|| MxError::bad_request("member.institution_code is required."))?;
    let inst = Catalog::get()
        .find(&code)
        .ok_or_else(|| MxError::bad_request(format!("`{code}` is not a valid institution_code.")))?;
    let use_cases = check_use_cases(&fields.use_cases)?;
    let is_oauth = inst.supports_oauth && (inst.credentials.is_empty() || fields.is_oauth.unwrap_or(false));
    let values = if is_oauth {
        Vec::new()
    } else {
        let given = fields.credentials.ok_or_else(|| MxError::bad_request("member.credentials is required."))?;
        check_credentials(inst, given)?
    };
    if fields.id.as_deref().is_some_and(|id| id.is_empty() || id.len() > 255) {
        return Err(MxError::bad_request("member.id must be between 1 and 255 characters."));
    }
    let user = load_user(&state, tenant, v, &user_ident).await?;
    refuse_disabled(&user)?;
    let now = state.clock.now();
    let mut member = engine::new_member(tenant, user.guid.clone(), &inst.code, &inst.name, now);
    member.id = fields.id;
    member.metadata = fields.metadata;
    member.use_cases = use_cases;
    member.background_aggregation_is_disabled = fields.background_aggregation_is_disabled.unwrap_or(false);
    member.is_oauth = is_oauth;
    let skip = fields.skip_aggregation.unwrap_or(false);
    let mut window = None;
    if is_oauth {
        member.connection_status = ConnectionStatus::Pending.as_str().to_owned();
        let oauth = OauthState {
            skip_aggregation: skip,
            client_redirect_url: body.client_redirect_url,
            referral_source: body.referral_source,
            ui_message_webview_url_scheme: body.ui_message_webview_url_scheme,
            ..OauthState::default()
        };
        member.oauth_options = Some(serde_json::to_string(&oauth).expect("oauth state serialises"));
        window = Some(mint_oauth_window(&state, &mut member));
    } else {
        store_credentials(&state, &mut member, inst, &values);
    }
    let agg = state.clone();
    let result = state
        .store
        .write(move |c| {
            Box::pin(async move {
                if let Some(fp) = &member.credentials_fingerprint {
                    if let Some(dup) =
                        repo::find_duplicate(c, tenant, &member.user_guid, &member.institution_code, fp).await?
                    {
                        return Ok(Err(MxError::Conflict(format!(
                            "A member with these credentials already exists for this user at this institution ({}).",
                            dup.guid
                        ))));
                    }
                }
                repo::insert(c, &member).await?;
                let started = if !is_oauth && !skip {
                    match engine::start_job(c, &agg, &mut member, JobKind::Aggregate).await {
                        Ok(started) => started,
                        Err(StartError::Store(e)) => return Err(e),
                        // A member created in this transaction has no job yet.
                        Err(other) => return Ok(Err(job_error(other, JobKind::Aggregate))),
                    }
                } else {
                    false
                };
                if started {
                    repo::save(c, &member).await?;
                }
                Ok(Ok((member, started)))
            })
        })
        .await
        .map_err(|e| match e {
            openiav_store::StoreError::Conflict(_) => {
                MxError::Conflict("A member with this id already exists for this user.".into())
            }
            other => other.into(),
        })?;
    let (member, started) = result?;
    if started {
        state.store.jobs_enqueued();
    }
    let code = if started { StatusCode::ACCEPTED } else { StatusCode::OK };
    Ok(v.wrapped(code, "member", &Member::new(&member, user.id.as_deref(), window, v)))
}

pub async fn list(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path(user_ident): Path<String>,
    q: QueryParams,
) -> Result<Response, MxError> {
    let page = q.page(1000)?;
    let user = load_user(&state, tenant, v, &user_ident).await?;
    let guid = user.guid.clone();
    let use_case = match q.get("use_case") {
        None | Some("") => None,
        Some(u @ ("MONEY_MOVEMENT" | "PFM")) => Some(u.to_owned()),
        Some(other) => {
            return Err(MxError::bad_request(format!("`{other}` is not a valid use case; use MONEY_MOVEMENT or PFM.")))
        }
    };
    let found = state
        .store
        .read(|mut c| async move { repo::list(&mut c, tenant, &guid, use_case.as_deref(), page).await })
        .await?;
    let members: Vec<Member> = found.items.iter().map(|m| Member::new(m, user.id.as_deref(), None, v)).collect();
    Ok(v.json(StatusCode::OK, &json!({ "members": members, "pagination": Pagination::new(page, found.total) })))
}

pub async fn read(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path((u, m)): Path<(String, String)>,
) -> Result<Response, MxError> {
    let user = load_user(&state, tenant, v, &u).await?;
    let member = load_member(&state, tenant, v, user.guid.as_str(), &m).await?;
    Ok(v.wrapped(StatusCode::OK, "member", &Member::new(&member, user.id.as_deref(), None, v)))
}

pub async fn update(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path((u, m)): Path<(String, String)>,
    MxJson(body): MxJson<UpdateBody>,
) -> Result<Response, MxError> {
    let fields = body.member.ok_or_else(|| MxError::bad_request("The request body must contain a `member` object."))?;
    let use_cases = check_use_cases(&fields.use_cases)?;
    let user = load_user(&state, tenant, v, &u).await?;
    let mut member = load_member(&state, tenant, v, user.guid.as_str(), &m).await?;
    let inst = Catalog::get().find(&member.institution_code).ok_or(MxError::NotFound)?;
    let new_credentials = match fields.credentials {
        Some(given) if !member.is_oauth => {
            // Fields left out keep their stored answers.
            let mut merged = stored_credentials(&state, &member)?;
            for c in given {
                let guid = c.guid.ok_or_else(|| MxError::bad_request("Every credential needs a `guid`."))?;
                let value =
                    c.value.ok_or_else(|| MxError::bad_request(format!("Credential {guid} needs a `value`.")))?;
                merged.retain(|v| v.guid.as_deref() != Some(guid.as_str()));
                merged.push(CredentialInput { guid: Some(guid), value: Some(value) });
            }
            Some(check_credentials(inst, merged)?)
        }
        _ => None,
    };
    if let Some(id) = fields.id {
        member.id = Some(id);
    }
    if fields.metadata.is_some() {
        member.metadata = fields.metadata;
    }
    if use_cases.is_some() {
        member.use_cases = use_cases;
    }
    if let Some(b) = fields.background_aggregation_is_disabled {
        member.background_aggregation_is_disabled = b;
    }
    member.updated_at = state.clock.now();
    let reaggregate = new_credentials.is_some() && !fields.skip_aggregation.unwrap_or(false);
    if let Some(values) = &new_credentials {
        store_credentials(&state, &mut member, inst, values);
    }
    let agg = state.clone();
    let credentials_changed = new_credentials.is_some();
    let member = state
        .store
        .write(move |c| {
            Box::pin(async move {
                if credentials_changed {
                    engine::cancel_job(c, &mut member).await?;
                    member.connection_status = ConnectionStatus::Updated.as_str().to_owned();
                    member.connection_status_message = None;
                }
                if reaggregate {
                    let _ = engine::start_job(c, &agg, &mut member, JobKind::Aggregate).await;
                }
                repo::save(c, &member).await?;
                Ok(member)
            })
        })
        .await
        .map_err(|e| match e {
            openiav_store::StoreError::Conflict(_) => {
                MxError::Conflict("A member with this id already exists for this user.".into())
            }
            other => other.into(),
        })?;
    if reaggregate {
        state.store.jobs_enqueued();
    }
    Ok(v.wrapped(StatusCode::OK, "member", &Member::new(&member, user.id.as_deref(), None, v)))
}

/// The member's stored credential answers, as inputs to merge an update into.
fn stored_credentials(state: &AppState, m: &MemberRecord) -> Result<Vec<CredentialInput>, MxError> {
    let Some(blob) = &m.credentials else { return Ok(Vec::new()) };
    let plain = state
        .keyring
        .decrypt(&engine::credentials_context(m), blob)
        .map_err(|e| MxError::Internal(format!("decrypting member credentials: {e}")))?;
    let values: Vec<CredentialValue> =
        serde_json::from_slice(&plain).map_err(|e| MxError::Internal(format!("decoding member credentials: {e}")))?;
    Ok(values.into_iter().map(|v| CredentialInput { guid: Some(v.guid), value: Some(v.value) }).collect())
}

pub async fn delete(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path((u, m)): Path<(String, String)>,
) -> Result<StatusCode, MxError> {
    let member = load_member(&state, tenant, v, &u, &m).await?;
    state.store.write(move |c| Box::pin(async move { repo::delete(c, tenant, &member.guid).await })).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts `kind` on the member and answers with the member and `code`.
async fn run_job(
    state: AppState,
    tenant: openiav_core::ids::TenantId,
    v: ApiVersion,
    u: String,
    m: String,
    kind: JobKind,
) -> Result<Response, MxError> {
    let user = load_user(&state, tenant, v, &u).await?;
    refuse_disabled(&user)?;
    let member = load_member(&state, tenant, v, user.guid.as_str(), &m).await?;
    let inst = Catalog::get().find(&member.institution_code).ok_or(MxError::NotFound)?;
    let unsupported = match kind {
        JobKind::Verify => !inst.supports_account_verification,
        JobKind::Identify => !inst.supports_account_identification,
        JobKind::ExtendHistory => !inst.supports_transaction_history,
        JobKind::Aggregate | JobKind::CheckBalance => false,
    };
    if unsupported {
        return Err(MxError::bad_request(format!("{} does not support this premium feature.", inst.name)));
    }
    let agg = state.clone();
    let guid = member.guid.clone();
    let user_guid = user.guid.clone();
    let (member, started) = state
        .store
        .write(move |c| {
            Box::pin(async move {
                // Re-read inside the transaction: the member may have changed since.
                let Some(mut member) = repo::find(c, tenant, &user_guid, guid.as_str(), false).await? else {
                    return Ok(Err(MxError::NotFound));
                };
                match engine::start_job(c, &agg, &mut member, kind).await {
                    Ok(true) => {
                        repo::save(c, &member).await?;
                        Ok(Ok((member, true)))
                    }
                    Ok(false) => Ok(Ok((member, false))),
                    Err(e) => Ok(Err(job_error(e, kind))),
                }
            })
        })
        .await??;
    if started {
        state.store.jobs_enqueued();
    }
    Ok(v.wrapped(kind.success_status(), "member", &Member::new(&member, user.id.as_deref(), None, v)))
}

/// The route of one job endpoint (`aggregate`, `verify`, …).
pub fn job_route(kind: JobKind) -> MethodRouter<AppState> {
    post(move |State(s): State<AppState>, Tenant(t): Tenant, v: ApiVersion, Path((u, m)): Path<(String, String)>| {
        run_job(s, t, v, u, m, kind)
    })
}

pub async fn status(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path((u, m)): Path<(String, String)>,
) -> Result<Response, MxError> {
    let member = load_member_status(&state, tenant, v, &u, &m).await?;
    Ok(v.wrapped(StatusCode::OK, "member", &MemberStatus::from(&member)))
}

pub async fn challenges(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path((u, m)): Path<(String, String)>,
    q: QueryParams,
) -> Result<Response, MxError> {
    let page = q.page(1000)?;
    let member = load_member(&state, tenant, v, &u, &m).await?;
    if engine::status_of(&member) != ConnectionStatus::Challenged {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let (challenges, pagination) = paginate(&engine::open_challenges(&member), page);
    Ok(v.json(StatusCode::OK, &json!({ "challenges": challenges, "pagination": pagination })))
}

#[derive(Deserialize)]
pub struct ResumeBody {
    member: Option<ResumeMember>,
}

#[derive(Deserialize)]
pub struct ResumeMember {
    challenges: Option<Vec<CredentialInput>>,
}

pub async fn resume(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path((u, m)): Path<(String, String)>,
    MxJson(body): MxJson<ResumeBody>,
) -> Result<Response, MxError> {
    let answers = body
        .member
        .and_then(|m| m.challenges)
        .ok_or_else(|| MxError::bad_request("The request body must contain `member.challenges`."))?;
    let answers: Vec<(String, String)> = answers
        .into_iter()
        .map(|c| match (c.guid, c.value) {
            (Some(g), Some(v)) => Ok((g, v)),
            _ => Err(MxError::bad_request("Every challenge answer needs a `guid` and a `value`.")),
        })
        .collect::<Result<_, _>>()?;
    let user = load_user(&state, tenant, v, &u).await?;
    let member = load_member(&state, tenant, v, user.guid.as_str(), &m).await?;
    let agg = state.clone();
    let user_guid = user.guid.clone();
    let member = state
        .store
        .write(move |c| {
            Box::pin(async move {
                let Some(mut member) = repo::find(c, tenant, &user_guid, member.guid.as_str(), false).await? else {
                    return Ok(Err(MxError::NotFound));
                };
                match engine::resume(c, &agg, &mut member, &answers).await {
                    Ok(()) => {
                        repo::save(c, &member).await?;
                        Ok(Ok(member))
                    }
                    Err(ResumeError::NotChallenged) => Ok(Err(MxError::MethodNotAllowed(
                        "This member is not waiting for a challenge answer; resume is only allowed when connection_status is CHALLENGED.".into(),
                    ))),
                    Err(ResumeError::MissingAnswer(guid)) => Ok(Err(MxError::bad_request(format!("An answer for challenge {guid} is required.")))),
                    Err(ResumeError::Store(e)) => Err(e),
                }
            })
        })
        .await??;
    state.store.jobs_enqueued();
    Ok(v.wrapped(StatusCode::ACCEPTED, "member", &Member::new(&member, user.id.as_deref(), None, v)))
}

pub async fn credentials(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path((u, m)): Path<(String, String)>,
    q: QueryParams,
) -> Result<Response, MxError> {
    let page = q.page(1000)?;
    let member = load_member(&state, tenant, v, &u, &m).await?;
    let inst = Catalog::get().find(&member.institution_code).ok_or(MxError::NotFound)?;
    let (items, pagination) = paginate(&inst.credentials, page);
    let credentials: Vec<Credential> = items.iter().map(Credential::from).collect();
    Ok(v.json(StatusCode::OK, &json!({ "credentials": credentials, "pagination": pagination })))
}

pub async fn oauth_window_uri(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path((u, m)): Path<(String, String)>,
    q: QueryParams,
) -> Result<Response, MxError> {
    let member = load_member(&state, tenant, v, &u, &m).await?;
    if !member.is_oauth {
        return Err(MxError::bad_request("This member does not connect through OAuth."));
    }
    if let Some(source) = q.get("referral_source") {
        if source != "BROWSER" && source != "APP" {
            return Err(MxError::bad_request("referral_source must be BROWSER or APP."));
        }
    }
    let skip = q.get_bool("skip_aggregation")?;
    let redirect = q.get("client_redirect_url").map(str::to_owned);
    let referral = q.get("referral_source").map(str::to_owned);
    let scheme = q.get("ui_message_webview_url_scheme").map(str::to_owned);
    let agg = state.clone();
    let (guid, uri) = state
        .store
        .write(move |c| {
            Box::pin(async move {
                let Some(mut member) = repo::find_in_tenant(c, tenant, member.guid.as_str()).await? else {
                    return Ok(Err(MxError::NotFound));
                };
                let mut oauth = engine::oauth_state(&member);
                if let Some(s) = skip {
                    oauth.skip_aggregation = s;
                }
                oauth.client_redirect_url = redirect.or(oauth.client_redirect_url);
                oauth.referral_source = referral.or(oauth.referral_source);
                oauth.ui_message_webview_url_scheme = scheme.or(oauth.ui_message_webview_url_scheme);
                member.oauth_options = Some(serde_json::to_string(&oauth).expect("oauth state serialises"));
                let uri = mint_oauth_window(&agg, &mut member);
                repo::save(c, &member).await?;
                Ok(Ok((member.guid.to_string(), uri)))
            })
        })
        .await??;
    Ok(v.wrapped(StatusCode::OK, "member", &json!({ "guid": guid, "oauth_window_uri": uri })))
}
