//! MX webhooks fired on demand (the sandbox control plane's `fire`): which resource each type is
//! about, and the payload the real path builds for it, written for the endpoint that takes the
//! type and delivered by the shared worker like any other, marked as fired.

use openiav_core::aggregation::MxWebhookType;
use openiav_core::crypto::random_hex;
use openiav_core::ids::TenantId;
use openiav_store::records::MxWebhookRecord;
use openiav_store::repo::{accounts, members, micro_deposits, mx_webhooks, users};
use serde_json::Value;

use super::payload::{self, Action, JobData};
use crate::engine::JobKind;
use crate::routes::micro_deposits::effective_status;
use crate::{AppState, MxError};

/// What a webhook type is about, and so which id firing it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    Member,
    User,
    MicroDeposit,
}

impl Subject {
    /// The field of the fire request that names it.
    pub fn field(self) -> &'static str {
        match self {
            Self::Member => "member_guid",
            Self::User => "user_guid",
            Self::MicroDeposit => "micro_deposit_guid",
        }
    }
}

/// The resource a webhook of `kind` is about.
pub fn subject_of(kind: MxWebhookType) -> Subject {
    match kind {
        MxWebhookType::User => Subject::User,
        MxWebhookType::MicroDeposit => Subject::MicroDeposit,
        MxWebhookType::ConnectionStatus
        | MxWebhookType::Member
        | MxWebhookType::Verification
        | MxWebhookType::Aggregation
        | MxWebhookType::History
        | MxWebhookType::Balance
        | MxWebhookType::Statement => Subject::Member,
    }
}

/// The job whose finishing sends a webhook of `kind`, for the types a job sends.
fn job_of(kind: MxWebhookType) -> Option<JobKind> {
    Some(match kind {
        MxWebhookType::Aggregation => JobKind::Aggregate,
        MxWebhookType::Verification => JobKind::Verify,
        MxWebhookType::History => JobKind::ExtendHistory,
        MxWebhookType::Balance => JobKind::CheckBalance,
        MxWebhookType::Statement => JobKind::FetchStatements,
        _ => return None,
    })
}

/// Why a webhook cannot be fired.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No endpoint of the tenant takes the type.
    NoEndpoint(MxWebhookType),
}

/// Fires a webhook of `kind` about the tenant's resource `id` (of [`subject_of`] `kind`): the
/// payload the real path builds as the resource stands now, written and queued in one write and
/// marked as fired. `Ok(Err)` when no endpoint takes the type; 404 for an id of no resource of
/// the tenant's.
pub async fn fire(
    state: &AppState,
    tenant: TenantId,
    kind: MxWebhookType,
    id: &str,
) -> Result<Result<MxWebhookRecord, Refusal>, MxError> {
    let (agg, id) = (state.clone(), id.to_owned());
    state
        .store
        .write(move |c| {
            Box::pin(async move {
                let now = agg.now_in(c, tenant).await?;
                let body: Value = match subject_of(kind) {
                    Subject::User => {
                        let Some(user) = users::find(c, tenant, &id, false).await? else {
                            return Ok(Err(MxError::NotFound));
                        };
                        payload::user(Action::Updated, &user)
                    }
                    Subject::MicroDeposit => {
                        let Some(d) = micro_deposits::find(c, tenant, None, &id).await? else {
                            return Ok(Err(MxError::NotFound));
                        };
                        let user_id = users::find(c, tenant, d.user_guid.as_str(), false).await?.and_then(|u| u.id);
                        payload::micro_deposit(Action::Updated, &d, effective_status(&d, now), user_id.as_deref(), now)
                    }
                    Subject::Member => {
                        let Some(m) = members::find_in_tenant(c, tenant, &id).await? else {
                            return Ok(Err(MxError::NotFound));
                        };
                        let user_id = super::user_id_of(c, &m).await?;
                        match job_of(kind) {
                            None if kind == MxWebhookType::ConnectionStatus => {
                                payload::connection_status(&m, user_id.as_deref(), now)
                            }
                            None => payload::member(Action::Updated, &m, user_id.as_deref(), None),
                            Some(job) => {
                                let accts = accounts::all(c, tenant, &m.user_guid, Some(&m.guid)).await?;
                                let data = JobData {
                                    verified_accounts: accts
                                        .iter()
                                        .filter(|a| a.numbers_verified)
                                        .map(|a| a.guid.to_string())
                                        .collect(),
                                    ..JobData::default()
                                };
                                let guid = format!("JOB-{}", random_hex(16));
                                let built = payload::job_finished(job, &m, user_id.as_deref(), &guid, &data, now);
                                built.map(|(_, body)| body).expect("every job of a webhook type sends it")
                            }
                        }
                    }
                };
                let Some(record) = super::emit_record(c, &agg, tenant, kind, &body, now).await? else {
                    return Ok(Ok(Err(Refusal::NoEndpoint(kind))));
                };
                mx_webhooks::mark_webhook_fired(c, tenant, &record.guid, now).await?;
                Ok(Ok(Ok(record)))
            })
        })
        .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_names_its_resource_and_every_job_type_has_its_job() {
        assert_eq!(subject_of(MxWebhookType::User), Subject::User);
        assert_eq!(subject_of(MxWebhookType::MicroDeposit).field(), "micro_deposit_guid");
        for kind in MxWebhookType::ALL {
            if subject_of(*kind) != Subject::Member {
                continue;
            }
            match job_of(*kind) {
                Some(job) => {
                    assert_eq!(payload_kind(job), Some(*kind), "{kind}");
                }
                None => assert!(matches!(kind, MxWebhookType::ConnectionStatus | MxWebhookType::Member)),
            }
        }
    }

    /// The type the job's webhook has, as the real path sends it.
    fn payload_kind(job: JobKind) -> Option<MxWebhookType> {
        let m = crate::engine::new_member(
            TenantId::generate(),
            openiav_core::ids::UserGuid::generate(),
            "mxbank",
            "MX Bank",
            openiav_core::clock::Timestamp::from_millis(0),
        );
        let now = openiav_core::clock::Timestamp::from_millis(0);
        payload::job_finished(job, &m, None, "JOB-1", &JobData::default(), now).map(|(k, _)| k)
    }
}
