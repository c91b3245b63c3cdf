//! Member operations shared by the Platform API and the Connect widget: creating a member with
//! credentials or through OAuth, replacing its credentials, starting a job and answering its
//! challenges, each in one write transaction with its follow-up job.

use openiav_core::aggregation::UseCase;
use openiav_core::clock::Timestamp;
use openiav_core::crypto::{hash_token, random_url_token};
use openiav_core::ids::{MemberGuid, TenantId, UserGuid};
use openiav_store::records::{MemberRecord, UserRecord};
use openiav_store::repo::members as repo;
use openiav_store::StoreError;
use serde::Deserialize;

use crate::catalog::Institution;
use crate::engine::{self, CredentialValue, JobKind, JobRequest, OauthState, ResumeError, StartError};
use crate::forced::{self, ForcedStatus};
use crate::status::ConnectionStatus;
use crate::webhooks::{self, Action};
use crate::{AppState, MxError};
use openiav_core::aggregation::MxWebhookType;

/// One credential (or challenge) answer as a client sends it.
#[derive(Deserialize)]
pub struct CredentialInput {
    pub guid: Option<String>,
    pub value: Option<String>,
}

/// A disabled user's connections do not connect or aggregate.
pub fn refuse_disabled(user: &UserRecord) -> Result<(), MxError> {
    if user.is_disabled {
        return Err(MxError::Forbidden(
            "This user is disabled; enable it before connecting or aggregating members.".into(),
        ));
    }
    Ok(())
}

/// Checks credential answers against the institution's fields; returns them in field order.
pub fn check_credentials(inst: &Institution, given: Vec<CredentialInput>) -> Result<Vec<CredentialValue>, MxError> {
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

/// Encrypts the answers onto the member, with the keyed fingerprint duplicates are found by.
pub fn store_credentials(state: &AppState, m: &mut MemberRecord, inst: &Institution, values: &[CredentialValue]) {
    let plain = serde_json::to_vec(values).expect("credentials serialise");
    m.credentials = Some(state.keyring.encrypt(&engine::credentials_context(m), &plain));
    let mut parts: Vec<&str> = vec!["credentials", &inst.code];
    parts.extend(values.iter().flat_map(|v| [v.guid.as_str(), v.value.as_str()]));
    m.credentials_fingerprint = Some(state.keyring.fingerprint(&parts));
}

/// The member's stored credential answers.
pub fn stored_credentials(state: &AppState, m: &MemberRecord) -> Result<Vec<CredentialValue>, MxError> {
    let Some(blob) = &m.credentials else { return Ok(Vec::new()) };
    let plain = state
        .keyring
        .decrypt(&engine::credentials_context(m), blob)
        .map_err(|e| MxError::Internal(format!("decrypting member credentials: {e}")))?;
    serde_json::from_slice(&plain).map_err(|e| MxError::Internal(format!("decoding member credentials: {e}")))
}

/// Mints a single-use OAuth window URI for the member, valid for the configured time.
pub fn mint_oauth_window(state: &AppState, m: &mut MemberRecord, now: Timestamp) -> String {
    let token = random_url_token();
    m.oauth_token_hash = Some(hash_token(&token));
    m.oauth_expires_at = Some(now.plus_millis(state.config.oauth_window_ttl_ms));
    format!("{}/oauth/authorize/{token}", state.config.public_base_url.trim_end_matches('/'))
}

pub fn job_error(e: StartError, kind: JobKind) -> MxError {
    match e {
        StartError::OtherJobRunning => MxError::Conflict(format!(
            "Another job is already running on this member; {} cannot start until it finishes.",
            kind.with_article()
        )),
        StartError::Store(s) => s.into(),
    }
}

fn id_conflict(e: StoreError) -> MxError {
    match e {
        StoreError::Conflict(_) => MxError::Conflict("A member with this id already exists for this user.".into()),
        other => other.into(),
    }
}

/// A member to create.
pub struct NewMember<'a> {
    pub institution: &'a Institution,
    /// Checked answers; empty for OAuth members.
    pub credentials: Vec<CredentialValue>,
    /// Present for a member that connects through OAuth.
    pub oauth: Option<OauthState>,
    pub id: Option<String>,
    pub metadata: Option<String>,
    /// JSON list of use cases.
    pub use_cases: Option<String>,
    pub background_aggregation_is_disabled: bool,
    /// The `X-CALLBACK-PAYLOAD` of the request, echoed in the MEMBER webhook.
    pub callback_payload: Option<String>,
    /// The job to start right away (none for OAuth members, which wait for consent).
    pub job: Option<JobRequest>,
}

/// What creating a member came to.
pub enum Creation {
    Created {
        member: MemberRecord,
        /// Whether a job started (MX answers 202 then).
        started: bool,
        oauth_window_uri: Option<String>,
    },
    /// The user already has a member at this institution with these credentials.
    Duplicate(MemberRecord),
}

/// Creates a member for `user` and starts its first job, in one transaction.
pub async fn create(
    state: &AppState,
    tenant: TenantId,
    user: &UserGuid,
    new: NewMember<'_>,
) -> Result<Creation, MxError> {
    let inst = new.institution;
    let mut member = engine::new_member(tenant, user.clone(), &inst.code, &inst.name, state.now(tenant).await?);
    member.id = new.id;
    member.metadata = new.metadata;
    member.use_cases = new.use_cases;
    member.background_aggregation_is_disabled = new.background_aggregation_is_disabled;
    let callback = new.callback_payload;
    let mut window = None;
    let job = match new.oauth {
        Some(oauth) => {
            member.is_oauth = true;
            member.connection_status = ConnectionStatus::Pending;
            member.oauth_options = Some(serde_json::to_string(&oauth).expect("oauth state serialises"));
            let now = member.created_at;
            window = Some(mint_oauth_window(state, &mut member, now));
            None
        }
        None => {
            store_credentials(state, &mut member, inst, &new.credentials);
            new.job
        }
    };
    let agg = state.clone();
    let creation = state
        .store
        .write(move |c| {
            Box::pin(async move {
                if let Some(fp) = &member.credentials_fingerprint {
                    if let Some(dup) =
                        repo::find_duplicate(c, tenant, &member.user_guid, &member.institution_code, fp).await?
                    {
                        return Ok(Creation::Duplicate(dup));
                    }
                }
                repo::insert(c, &member).await?;
                let mut started = false;
                if let Some(request) = job {
                    // A member created in this transaction runs no other job yet.
                    started = engine::start_job(c, &agg, &mut member, request).await.map_err(|e| match e {
                        StartError::Store(e) => e,
                        StartError::OtherJobRunning => StoreError::Corrupt("a new member already runs a job".into()),
                    })?;
                    if started {
                        webhooks::save_member(c, &agg, &member).await?;
                    }
                }
                let user_id = webhooks::user_id_of(c, &member).await?;
                let body = webhooks::payload::member(Action::Created, &member, user_id.as_deref(), callback.as_deref());
                let at = agg.now_in(c, tenant).await?;
                webhooks::emit(c, &agg, tenant, MxWebhookType::Member, &body, at).await?;
                Ok(Creation::Created { member, started, oauth_window_uri: window })
            })
        })
        .await
        .map_err(id_conflict)?;
    Ok(creation)
}

/// Starts the job on the member; returns the member and whether a new job started.
pub async fn start_job(
    state: &AppState,
    tenant: TenantId,
    user: &UserGuid,
    member: &MemberGuid,
    request: impl Into<JobRequest>,
) -> Result<(MemberRecord, bool), MxError> {
    let request = request.into();
    let agg = state.clone();
    let (user, member) = (user.clone(), member.clone());
    let (member, started) = state
        .store
        .write(move |c| {
            Box::pin(async move {
                // Read inside the transaction: the member may have changed since the caller looked.
                let Some(mut member) = repo::find_for_update(c, tenant, &user, member.as_str()).await? else {
                    return Ok(Err(MxError::NotFound));
                };
                match engine::start_job(c, &agg, &mut member, request).await {
                    Ok(true) => {
                        webhooks::save_member(c, &agg, &member).await?;
                        Ok(Ok((member, true)))
                    }
                    Ok(false) => Ok(Ok((member, false))),
                    Err(e) => Ok(Err(job_error(e, request.kind))),
                }
            })
        })
        .await??;
    Ok((member, started))
}

/// Field edits of a member update; `None` keeps the stored value.
#[derive(Default)]
pub struct MemberChanges {
    pub id: Option<String>,
    pub metadata: Option<String>,
    /// JSON list of use cases.
    pub use_cases: Option<String>,
    pub background_aggregation_is_disabled: Option<bool>,
    /// The `X-CALLBACK-PAYLOAD` of the request, echoed in the MEMBER webhook.
    pub callback_payload: Option<String>,
}

/// Applies `changes` to the member `read` names, as it stands inside the write that saves
/// them. With new `credentials` the member is UPDATED and whatever job it ran stops; with `job`
/// it then connects again.
pub async fn save_changes(
    state: &AppState,
    read: &MemberRecord,
    changes: MemberChanges,
    credentials: Option<(&Institution, Vec<CredentialValue>)>,
    job: Option<JobRequest>,
) -> Result<MemberRecord, MxError> {
    let now = state.now(read.tenant_id).await?;
    // The ciphertext is bound to the member's tenant and guid, which never change.
    let sealed = credentials.map(|(inst, values)| {
        let mut scratch = read.clone();
        store_credentials(state, &mut scratch, inst, &values);
        (scratch.credentials, scratch.credentials_fingerprint)
    });
    let (tenant, user, guid) = (read.tenant_id, read.user_guid.clone(), read.guid.clone());
    let agg = state.clone();
    let member = state
        .store
        .write(move |c| {
            Box::pin(async move {
                let Some(mut member) = repo::find_for_update(c, tenant, &user, guid.as_str()).await? else {
                    return Ok(Err(MxError::NotFound));
                };
                member.updated_at = now;
                if let Some(id) = changes.id {
                    member.id = Some(id);
                }
                if changes.metadata.is_some() {
                    member.metadata = changes.metadata;
                }
                if changes.use_cases.is_some() {
                    member.use_cases = changes.use_cases;
                }
                let callback = changes.callback_payload;
                if let Some(disabled) = changes.background_aggregation_is_disabled {
                    member.background_aggregation_is_disabled = disabled;
                }
                if let Some((credentials, fingerprint)) = sealed {
                    member.credentials = credentials;
                    member.credentials_fingerprint = fingerprint;
                    engine::cancel_job(c, &mut member).await?;
                    member.connection_status = ConnectionStatus::Updated;
                    member.connection_status_message = None;
                }
                if let Some(request) = job {
                    // Another kind of job still running means nothing new starts, as on MX.
                    let _ = engine::start_job(c, &agg, &mut member, request).await;
                }
                webhooks::save_member(c, &agg, &member).await?;
                let user_id = webhooks::user_id_of(c, &member).await?;
                let body = webhooks::payload::member(Action::Updated, &member, user_id.as_deref(), callback.as_deref());
                webhooks::emit(c, &agg, tenant, MxWebhookType::Member, &body, now).await?;
                Ok(Ok(member))
            })
        })
        .await
        .map_err(id_conflict)??;
    Ok(member)
}

/// Makes the member of `user` lose its connection ([`engine::lose_connection`]), in one write;
/// returns it as saved.
pub async fn lose_connection(
    state: &AppState,
    tenant: TenantId,
    user: &UserGuid,
    member: &str,
) -> Result<MemberRecord, MxError> {
    let agg = state.clone();
    let (user, member) = (user.clone(), member.to_owned());
    let lost = state
        .store
        .write(move |c| {
            Box::pin(async move {
                let Some(mut member) = repo::find_for_update(c, tenant, &user, &member).await? else {
                    return Ok(Err(MxError::NotFound));
                };
                engine::lose_connection(c, &agg, &mut member).await?;
                webhooks::save_member(c, &agg, &member).await?;
                Ok(Ok(member))
            })
        })
        .await??;
    Ok(lost)
}

/// Forces the tenant's member `guid` into `target` ([`forced::check`] decides on the row as it
/// stands inside the write), through [`engine::force_status`]; the save writes its
/// CONNECTION_STATUS webhook. Returns the member as saved, or why it cannot go there.
pub async fn force_status(
    state: &AppState,
    tenant: TenantId,
    guid: &str,
    target: ForcedStatus,
) -> Result<Result<MemberRecord, forced::Refusal>, MxError> {
    let agg = state.clone();
    let guid = guid.to_owned();
    state
        .store
        .write(move |c| {
            Box::pin(async move {
                let Some(mut member) = repo::find_in_tenant_for_update(c, tenant, &guid).await? else {
                    return Ok(Err(MxError::NotFound));
                };
                let has_connected = member.successfully_aggregated_at.is_some();
                if let Err(refused) = forced::check(member.connection_status, has_connected, target) {
                    return Ok(Ok(Err(refused)));
                }
                engine::force_status(c, &agg, &mut member, target.status(), target.message()).await?;
                webhooks::save_member(c, &agg, &member).await?;
                Ok(Ok(Ok(member)))
            })
        })
        .await?
}

/// Answers the member's open challenges.
pub async fn resume(
    state: &AppState,
    tenant: TenantId,
    user: &UserGuid,
    member: &MemberGuid,
    answers: Vec<(String, String)>,
) -> Result<MemberRecord, MxError> {
    let agg = state.clone();
    let (user, member) = (user.clone(), member.clone());
    let member = state
        .store
        .write(move |c| {
            Box::pin(async move {
                let Some(mut member) = repo::find_for_update(c, tenant, &user, member.as_str()).await? else {
                    return Ok(Err(MxError::NotFound));
                };
                match engine::resume(c, &agg, &mut member, &answers).await {
                    Ok(()) => {
                        webhooks::save_member(c, &agg, &member).await?;
                        Ok(Ok(member))
                    }
                    Err(ResumeError::NotChallenged) => Ok(Err(MxError::MethodNotAllowed(
                        "This member is not waiting for a challenge answer; resume is only allowed when connection_status is CHALLENGED.".into(),
                    ))),
                    Err(ResumeError::MissingAnswer(guid)) => {
                        Ok(Err(MxError::bad_request(format!("An answer for challenge {guid} is required."))))
                    }
                    Err(ResumeError::Store(e)) => Err(e),
                }
            })
        })
        .await??;
    Ok(member)
}

/// Mints a fresh OAuth window for an OAuth member the end user wants to try again, putting a
/// member that is not connected back to PENDING.
pub async fn reopen_oauth(
    state: &AppState,
    tenant: TenantId,
    user: &UserGuid,
    member: &MemberGuid,
) -> Result<(MemberRecord, String), MxError> {
    let agg = state.clone();
    let (user, member) = (user.clone(), member.clone());
    state
        .store
        .write(move |c| {
            Box::pin(async move {
                let Some(mut member) = repo::find_for_update(c, tenant, &user, member.as_str()).await? else {
                    return Ok(Err(MxError::NotFound));
                };
                if !member.is_oauth {
                    return Ok(Err(MxError::bad_request("This member does not connect through OAuth.")));
                }
                if member.connection_status != ConnectionStatus::Connected {
                    engine::cancel_job(c, &mut member).await?;
                    member.connection_status = ConnectionStatus::Pending;
                    member.connection_status_message = None;
                }
                member.updated_at = agg.now_in(c, member.tenant_id).await?;
                let now = member.updated_at;
                let uri = mint_oauth_window(&agg, &mut member, now);
                webhooks::save_member(c, &agg, &member).await?;
                Ok(Ok((member, uri)))
            })
        })
        .await?
}

/// The use cases a request names; a word outside MX's list is a 400 naming it.
pub fn parse_use_cases(list: &[String]) -> Result<Vec<UseCase>, MxError> {
    list.iter()
        .map(|u| {
            u.parse()
                .map_err(|_| MxError::bad_request(format!("`{u}` is not a valid use case; use MONEY_MOVEMENT or PFM.")))
        })
        .collect()
}
