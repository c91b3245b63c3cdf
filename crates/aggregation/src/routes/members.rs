//! `/users/{user}/members`: CRUD, the five jobs, status, challenges, resume, credentials and
//! OAuth windows.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, MethodRouter};
use openiav_core::aggregation::{MxWebhookType, ReferralSource};
use openiav_store::repo::members as repo;
use serde::Deserialize;
use serde_json::json;

use super::{load_member, load_member_status, load_user};
use crate::auth::Tenant;
use crate::catalog::{Catalog, Product};
use crate::engine::{self, JobKind, OauthState};
use crate::members::{self, Creation, CredentialInput, MemberChanges, NewMember};
use crate::params::{paginate, MxJson, Pagination, QueryParams};
use crate::status::ConnectionStatus;
use crate::version::ApiVersion;
use crate::webhooks;
use crate::wire::{Credential, Member, MemberStatus};
use crate::{AppState, MxError};

/// The request's `X-CALLBACK-PAYLOAD`, which MX echoes in the member's MEMBER webhook.
fn callback_payload(headers: &HeaderMap) -> Option<String> {
    headers.get("x-callback-payload").and_then(|v| v.to_str().ok()).map(str::to_owned)
}

#[derive(Deserialize)]
pub struct CreateBody {
    member: Option<MemberFields>,
    client_redirect_url: Option<String>,
    referral_source: Option<ReferralSource>,
    ui_message_webview_url_scheme: Option<String>,
    /// v20250224: the products the member's first job gathers.
    data_request: Option<DataRequest>,
}

#[derive(Deserialize)]
pub struct DataRequest {
    products: Option<Vec<String>>,
}

/// The first job of a new member, gathering the products `data_request` names.
fn first_job(data_request: Option<DataRequest>) -> Result<engine::JobRequest, MxError> {
    let mut request = engine::JobRequest::from(JobKind::Aggregate);
    for name in data_request.and_then(|d| d.products).unwrap_or_default() {
        match Product::parse(&name) {
            Some(Product::Investments) => request.with_investments = true,
            Some(Product::Rewards) => request.with_rewards = true,
            Some(_) => {}
            None => {
                return Err(MxError::bad_request(format!("`{name}` is not a valid product in data_request.products.")))
            }
        }
    }
    Ok(request)
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
pub struct UpdateBody {
    member: Option<MemberFields>,
}

/// The use cases a request names, as the member's `use_cases` column stores them.
fn check_use_cases(use_cases: &Option<Vec<String>>) -> Result<Option<String>, MxError> {
    let Some(list) = use_cases else { return Ok(None) };
    let list = members::parse_use_cases(list)?;
    Ok(Some(serde_json::to_string(&list).expect("use cases serialise")))
}

pub async fn create(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    headers: HeaderMap,
    Path(user_ident): Path<String>,
    MxJson(body): MxJson<CreateBody>,
) -> Result<Response, MxError> {
    let fields = body.member.ok_or_else(|| MxError::bad_request("The request body must contain a `member` object."))?;
    let code =
        fields.institution_code.clone().ok_or_else(|| MxError::bad_request("member.institution_code is required."))?;
    let inst = Catalog::get()
        .find_for(tenant, &code)
        .ok_or_else(|| MxError::bad_request(format!("`{code}` is not a valid institution_code.")))?;
    let use_cases = check_use_cases(&fields.use_cases)?;
    let job = first_job(body.data_request)?;
    let is_oauth = inst.supports_oauth && (inst.credentials.is_empty() || fields.is_oauth.unwrap_or(false));
    let values = if is_oauth {
        Vec::new()
    } else {
        let given = fields.credentials.ok_or_else(|| MxError::bad_request("member.credentials is required."))?;
        members::check_credentials(inst, given)?
    };
    if fields.id.as_deref().is_some_and(|id| id.is_empty() || id.len() > 255) {
        return Err(MxError::bad_request("member.id must be between 1 and 255 characters."));
    }
    let user = load_user(&state, tenant, v, &user_ident).await?;
    members::refuse_disabled(&user)?;
    let skip = fields.skip_aggregation.unwrap_or(false);
    let oauth = is_oauth.then(|| OauthState {
        skip_aggregation: skip,
        client_redirect_url: body.client_redirect_url,
        referral_source: body.referral_source,
        ui_message_webview_url_scheme: body.ui_message_webview_url_scheme,
        after_consent: Some(job),
        ..OauthState::default()
    });
    let new = NewMember {
        institution: inst,
        credentials: values,
        oauth,
        id: fields.id,
        metadata: fields.metadata,
        use_cases,
        background_aggregation_is_disabled: fields.background_aggregation_is_disabled.unwrap_or(false),
        job: (!skip).then_some(job),
        callback_payload: callback_payload(&headers),
    };
    match members::create(&state, tenant, &user.guid, new).await? {
        Creation::Created { member, started, oauth_window_uri } => {
            let code = if started { StatusCode::ACCEPTED } else { StatusCode::OK };
            Ok(v.wrapped(code, "member", &Member::new(&member, user.id.as_deref(), oauth_window_uri, v)?))
        }
        Creation::Duplicate(dup) => Err(MxError::Conflict(format!(
            "A member with these credentials already exists for this user at this institution ({}).",
            dup.guid
        ))),
    }
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
    let members: Vec<Member> =
        found.items.iter().map(|m| Member::new(m, user.id.as_deref(), None, v)).collect::<Result<_, _>>()?;
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
    Ok(v.wrapped(StatusCode::OK, "member", &Member::new(&member, user.id.as_deref(), None, v)?))
}

pub async fn update(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    headers: HeaderMap,
    Path((u, m)): Path<(String, String)>,
    MxJson(body): MxJson<UpdateBody>,
) -> Result<Response, MxError> {
    let fields = body.member.ok_or_else(|| MxError::bad_request("The request body must contain a `member` object."))?;
    let use_cases = check_use_cases(&fields.use_cases)?;
    let user = load_user(&state, tenant, v, &u).await?;
    let member = load_member(&state, tenant, v, user.guid.as_str(), &m).await?;
    let inst = Catalog::get().find_for(member.tenant_id, &member.institution_code).ok_or(MxError::NotFound)?;
    let new_credentials = match fields.credentials {
        Some(given) if !member.is_oauth => {
            // Fields left out keep their stored answers.
            let mut merged: Vec<CredentialInput> = members::stored_credentials(&state, &member)?
                .into_iter()
                .map(|v| CredentialInput { guid: Some(v.guid), value: Some(v.value) })
                .collect();
            for c in given {
                let guid = c.guid.ok_or_else(|| MxError::bad_request("Every credential needs a `guid`."))?;
                let value =
                    c.value.ok_or_else(|| MxError::bad_request(format!("Credential {guid} needs a `value`.")))?;
                merged.retain(|v| v.guid.as_deref() != Some(guid.as_str()));
                merged.push(CredentialInput { guid: Some(guid), value: Some(value) });
            }
            Some(members::check_credentials(inst, merged)?)
        }
        _ => None,
    };
    let changes = MemberChanges {
        id: fields.id,
        metadata: fields.metadata,
        use_cases,
        background_aggregation_is_disabled: fields.background_aggregation_is_disabled,
        callback_payload: callback_payload(&headers),
    };
    let reaggregate = new_credentials.is_some() && !fields.skip_aggregation.unwrap_or(false);
    let credentials = new_credentials.map(|values| (inst, values));
    let job = reaggregate.then_some(JobKind::Aggregate.into());
    let member = members::save_changes(&state, &member, changes, credentials, job).await?;
    Ok(v.wrapped(StatusCode::OK, "member", &Member::new(&member, user.id.as_deref(), None, v)?))
}

pub async fn delete(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path((u, m)): Path<(String, String)>,
) -> Result<StatusCode, MxError> {
    let member = load_member(&state, tenant, v, &u, &m).await?;
    let agg = state.clone();
    state
        .store
        .write(move |c| {
            Box::pin(async move {
                let user_id = webhooks::user_id_of(c, &member).await?;
                repo::delete(c, tenant, &member.guid).await?;
                let body = webhooks::payload::member(webhooks::Action::Deleted, &member, user_id.as_deref(), None);
                let at = agg.now_in(c, tenant).await?;
                webhooks::emit(c, &agg, tenant, MxWebhookType::Member, &body, at).await
            })
        })
        .await?;
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
    q: QueryParams,
) -> Result<Response, MxError> {
    // `include_holdings=false` keeps an aggregation from gathering holdings (default true).
    let skip_holdings = kind == JobKind::Aggregate && q.get_bool("include_holdings")? == Some(false);
    let request = engine::JobRequest { kind, skip_holdings, ..engine::JobRequest::default() };
    let user = load_user(&state, tenant, v, &u).await?;
    members::refuse_disabled(&user)?;
    let member = load_member(&state, tenant, v, user.guid.as_str(), &m).await?;
    let inst = Catalog::get().find_for(member.tenant_id, &member.institution_code).ok_or(MxError::NotFound)?;
    let unsupported = match kind {
        JobKind::Verify => !inst.supports_account_verification,
        JobKind::Identify => !inst.supports_account_identification,
        JobKind::ExtendHistory => !inst.supports_transaction_history,
        JobKind::FetchStatements => !inst.supports(Product::Statements),
        JobKind::FetchRewards => !inst.supports(Product::Rewards),
        JobKind::Aggregate | JobKind::CheckBalance => false,
    };
    if unsupported {
        return Err(MxError::bad_request(format!("{} does not support this premium feature.", inst.name)));
    }
    let (member, _) = members::start_job(&state, tenant, &user.guid, &member.guid, request).await?;
    Ok(v.wrapped(kind.success_status(), "member", &Member::new(&member, user.id.as_deref(), None, v)?))
}

/// The route of one job endpoint (`aggregate`, `verify`, …).
pub fn job_route(kind: JobKind) -> MethodRouter<AppState> {
    post(
        move |State(s): State<AppState>,
              Tenant(t): Tenant,
              v: ApiVersion,
              Path((u, m)): Path<(String, String)>,
              q: QueryParams| { run_job(s, t, v, u, m, kind, q) },
    )
}

pub async fn status(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path((u, m)): Path<(String, String)>,
) -> Result<Response, MxError> {
    let member = load_member_status(&state, tenant, v, &u, &m).await?;
    Ok(v.wrapped(StatusCode::OK, "member", &MemberStatus::try_from(&member)?))
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
    if member.connection_status != ConnectionStatus::Challenged {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let (challenges, pagination) = paginate(&engine::open_challenges(&member)?, page);
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
    let member = members::resume(&state, tenant, &user.guid, &member.guid, answers).await?;
    Ok(v.wrapped(StatusCode::ACCEPTED, "member", &Member::new(&member, user.id.as_deref(), None, v)?))
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
    let inst = Catalog::get().find_for(member.tenant_id, &member.institution_code).ok_or(MxError::NotFound)?;
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
    let referral = q
        .get("referral_source")
        .map(str::parse::<ReferralSource>)
        .transpose()
        .map_err(|_| MxError::bad_request("referral_source must be BROWSER or APP."))?;
    let skip = q.get_bool("skip_aggregation")?;
    let redirect = q.get("client_redirect_url").map(str::to_owned);
    let scheme = q.get("ui_message_webview_url_scheme").map(str::to_owned);
    let agg = state.clone();
    let (guid, uri) = state
        .store
        .write(move |c| {
            Box::pin(async move {
                let Some(mut member) = repo::find_in_tenant_for_update(c, tenant, member.guid.as_str()).await? else {
                    return Ok(Err(MxError::NotFound));
                };
                let mut oauth = engine::oauth_state(&member)?;
                if let Some(s) = skip {
                    oauth.skip_aggregation = s;
                }
                oauth.client_redirect_url = redirect.or(oauth.client_redirect_url);
                oauth.referral_source = referral.or(oauth.referral_source);
                oauth.ui_message_webview_url_scheme = scheme.or(oauth.ui_message_webview_url_scheme);
                member.oauth_options = Some(serde_json::to_string(&oauth).expect("oauth state serialises"));
                let now = agg.now_in(c, member.tenant_id).await?;
                let uri = members::mint_oauth_window(&agg, &mut member, now);
                repo::save(c, &member).await?;
                Ok(Ok((member.guid.to_string(), uri)))
            })
        })
        .await??;
    Ok(v.wrapped(StatusCode::OK, "member", &json!({ "guid": guid, "oauth_window_uri": uri })))
}
