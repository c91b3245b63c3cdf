//! The API the widget page calls, bound to its session's tenant and user: institutions the
//! widget offers, connecting a member, following it, answering its challenges, reopening an
//! OAuth window, and starting micro-deposits.

use axum::extract::{Path, State};
use axum::Json;
use openiav_aggregation::catalog::{Catalog, Institution, Product};
use openiav_aggregation::engine::OauthState;
use openiav_aggregation::members::{self, Creation, CredentialInput, MemberChanges, NewMember};
use openiav_aggregation::params::{MxJson, QueryParams};
use openiav_aggregation::routes::micro_deposits::{self, CreateFields};
use openiav_aggregation::{AppState, MxError};
use openiav_core::ids::MemberGuid;
use openiav_store::records::MemberRecord;
use openiav_store::repo::{members as member_repo, users as user_repo};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::session::WidgetSession;
use crate::view::{self, WidgetInstitution, WidgetMember};

/// How many institutions one search lists.
const SEARCH_LIMIT: usize = 50;

pub async fn institutions(session: WidgetSession, q: QueryParams) -> Json<Value> {
    let name = q.get("search").map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty());
    let popular_only = name.is_none();
    let found = Catalog::get().search_for(session.tenant, &view::offered(&session.config, name, popular_only));
    let list: Vec<_> = found.into_iter().take(SEARCH_LIMIT).map(WidgetInstitution::summary).collect();
    Json(json!({ "institutions": list }))
}

/// The institution by code or guid, if this widget offers it.
fn offered_institution(session: &WidgetSession, code: &str) -> Result<&'static Institution, MxError> {
    let inst = Catalog::get().find_for(session.tenant, code).ok_or(MxError::NotFound)?;
    let filter = view::offered(&session.config, None, false);
    filter.matches(inst, None).then_some(inst).ok_or(MxError::NotFound)
}

pub async fn institution(session: WidgetSession, Path(code): Path<String>) -> Result<Json<Value>, MxError> {
    let inst = offered_institution(&session, &code)?;
    Ok(Json(json!({ "institution": WidgetInstitution::with_credentials(inst) })))
}

/// A member of the session's user.
async fn session_member(state: &AppState, session: &WidgetSession, guid: &str) -> Result<MemberRecord, MxError> {
    let (tenant, user, guid) = (session.tenant, session.user.clone(), guid.to_owned());
    state
        .store
        .read(|mut c| async move { member_repo::find(&mut c, tenant, &user, &guid, false).await })
        .await?
        .ok_or(MxError::NotFound)
}

fn member_json(m: &MemberRecord, oauth_window_uri: Option<String>) -> Result<Json<Value>, MxError> {
    let inst_guid =
        Catalog::get().find_for(m.tenant_id, &m.institution_code).map(|i| i.guid.as_str()).unwrap_or_default();
    Ok(Json(json!({ "member": WidgetMember::new(m, inst_guid, oauth_window_uri)? })))
}

#[derive(Deserialize)]
pub struct ConnectBody {
    institution_code: String,
    #[serde(default)]
    credentials: Vec<CredentialInput>,
    /// A member of this session to connect again (new credentials, or a new OAuth window).
    member_guid: Option<String>,
}

/// Connects the session's user to an institution: creates the member (or, for a retry, gives
/// an existing one new credentials) and starts the job the widget's mode calls for.
pub async fn connect(
    State(state): State<AppState>,
    session: WidgetSession,
    MxJson(body): MxJson<ConnectBody>,
) -> Result<Json<Value>, MxError> {
    let inst = offered_institution(&session, &body.institution_code)?;
    let config = &session.config;
    if config.verification && !inst.supports(Product::AccountVerification) {
        return Err(MxError::bad_request(format!(
            "{} does not support instant account verification; connect with routing and account numbers instead.",
            inst.name
        )));
    }
    let job = config.job_request();
    let (tenant, user) = (session.tenant, session.user.clone());
    let user = state
        .store
        .read(|mut c| async move { user_repo::find(&mut c, tenant, user.as_str(), false).await })
        .await?
        .ok_or(MxError::NotFound)?;
    members::refuse_disabled(&user)?;
    if let Some(guid) = body.member_guid {
        let member = session_member(&state, &session, &guid).await?;
        if member.institution_code != inst.code {
            return Err(MxError::bad_request("That member belongs to another institution."));
        }
        if member.is_oauth {
            let (member, uri) = members::reopen_oauth(&state, session.tenant, &session.user, &member.guid).await?;
            return member_json(&member, Some(uri));
        }
        let values = members::check_credentials(inst, body.credentials)?;
        let member =
            members::save_changes(&state, &member, MemberChanges::default(), Some((inst, values)), Some(job)).await?;
        return member_json(&member, None);
    }
    let oauth = inst.supports_oauth.then(|| OauthState {
        referral_source: Some(config.oauth_referral_source),
        client_redirect_url: config.client_redirect_url.clone(),
        ui_message_webview_url_scheme: config.is_mobile_webview.then(|| config.webview_url_scheme.clone()),
        after_consent: Some(job),
        ..OauthState::default()
    });
    let credentials = if oauth.is_some() { Vec::new() } else { members::check_credentials(inst, body.credentials)? };
    let new = NewMember {
        institution: inst,
        credentials,
        oauth,
        id: None,
        metadata: None,
        use_cases: config.use_cases.as_ref().map(|u| serde_json::to_string(u).expect("strings serialise")),
        background_aggregation_is_disabled: config.verification,
        job: Some(job),
        callback_payload: None,
    };
    match members::create(&state, session.tenant, &session.user, new).await? {
        Creation::Created { member, oauth_window_uri, .. } => member_json(&member, oauth_window_uri),
        Creation::Duplicate(existing) => {
            // The same credentials again: connect the member the user already has.
            let member = match members::start_job(&state, session.tenant, &session.user, &existing.guid, job).await {
                Ok((member, _)) => member,
                Err(MxError::Conflict(_)) => existing,
                Err(e) => return Err(e),
            };
            member_json(&member, None)
        }
    }
}

pub async fn member(
    State(state): State<AppState>,
    session: WidgetSession,
    Path(guid): Path<String>,
) -> Result<Json<Value>, MxError> {
    member_json(&session_member(&state, &session, &guid).await?, None)
}

#[derive(Deserialize)]
pub struct AnswerBody {
    answers: Vec<CredentialInput>,
}

pub async fn answer(
    State(state): State<AppState>,
    session: WidgetSession,
    Path(guid): Path<String>,
    MxJson(body): MxJson<AnswerBody>,
) -> Result<Json<Value>, MxError> {
    let answers = body
        .answers
        .into_iter()
        .map(|a| match (a.guid, a.value) {
            (Some(g), Some(v)) if !v.is_empty() => Ok((g, v)),
            _ => Err(MxError::bad_request("Please answer every question.")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let guid = MemberGuid::parse(&guid).ok_or(MxError::NotFound)?;
    let member = members::resume(&state, session.tenant, &session.user, &guid, answers).await?;
    member_json(&member, None)
}

pub async fn oauth_window(
    State(state): State<AppState>,
    session: WidgetSession,
    Path(guid): Path<String>,
) -> Result<Json<Value>, MxError> {
    let guid = MemberGuid::parse(&guid).ok_or(MxError::NotFound)?;
    let (member, uri) = members::reopen_oauth(&state, session.tenant, &session.user, &guid).await?;
    member_json(&member, Some(uri))
}

pub async fn micro_deposit(
    State(state): State<AppState>,
    session: WidgetSession,
    MxJson(fields): MxJson<CreateFields>,
) -> Result<Json<Value>, MxError> {
    if !session.config.verification {
        return Err(MxError::Forbidden("Micro-deposits are offered in verification mode only.".into()));
    }
    let record = micro_deposits::initiate(&state, session.tenant, &session.user, fields).await?;
    Ok(Json(json!({ "micro_deposit": {
        "guid": record.guid,
        "status": record.status,
        "account_number_last4": record.account_number_last4,
        "routing_number": record.routing_number,
        "institution_name": record.institution_name,
    }})))
}
