//! The bodies of MX's webhooks, built from records (pure functions): field names and values as
//! MX documents them. Times MX gives as integers are Unix seconds; `completed_on` is the day.

use openiav_core::aggregation::{ConnectionStatus, MicroDepositStatus, MxWebhookType};
use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use openiav_store::records::{MemberRecord, MicroDepositRecord, UserRecord};
use serde_json::{json, Value};

use crate::catalog::Catalog;
use crate::engine::JobKind;

fn seconds(t: Timestamp) -> i64 {
    t.millis().div_euclid(1000)
}

fn institution_guid(tenant: TenantId, code: &str) -> Option<String> {
    Catalog::get().find_for(tenant, code).map(|i| i.guid.clone())
}

/// What a resource webhook (MEMBER, USER, MICRODEPOSIT) says happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Created,
    Updated,
    Deleted,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Deleted => "deleted",
        }
    }
}

/// CONNECTION_STATUS: the member's `connection_status` changed (MX's fields, plus the member's
/// and user's partner ids and its institution).
pub fn connection_status(m: &MemberRecord, user_id: Option<&str>, now: Timestamp) -> Value {
    json!({
        "action": "CHANGED",
        "aggregated_at": m.aggregated_at.map(seconds),
        "connection_status": m.connection_status,
        "connection_status_id": m.connection_status.id(),
        "connection_status_message": m.connection_status_message,
        "institution_code": m.institution_code,
        "institution_guid": institution_guid(m.tenant_id, &m.institution_code),
        // openiav runs every job in the foreground: it has no scheduled background aggregation.
        "is_background": false,
        "is_being_aggregated": m.is_being_aggregated,
        "is_oauth": m.is_oauth,
        "member_guid": m.guid.as_str(),
        "member_id": m.id,
        "successfully_aggregated_at": m.successfully_aggregated_at.map(seconds),
        "transmitted_at": seconds(now),
        "type": MxWebhookType::ConnectionStatus,
        "user_guid": m.user_guid.as_str(),
        "user_id": user_id,
    })
}

/// MEMBER: a member was created, updated or deleted; `callback_payload` echoes the request's
/// `X-CALLBACK-PAYLOAD` header.
pub fn member(action: Action, m: &MemberRecord, user_id: Option<&str>, callback_payload: Option<&str>) -> Value {
    let mut body = json!({
        "action": action.as_str(),
        "aggregated_at": m.aggregated_at.map(seconds),
        "connection_status": m.connection_status,
        "connection_status_id": m.connection_status.id(),
        "connection_status_message": m.connection_status_message,
        "created_at": seconds(m.created_at),
        "guid": m.guid.as_str(),
        "id": m.id,
        "institution_code": m.institution_code,
        "institution_guid": institution_guid(m.tenant_id, &m.institution_code),
        "is_being_aggregated": m.is_being_aggregated,
        "is_oauth": m.is_oauth,
        "metadata": m.metadata,
        "name": m.name,
        "successfully_aggregated_at": m.successfully_aggregated_at.map(seconds),
        "type": MxWebhookType::Member,
        "updated_at": seconds(m.updated_at),
        "user_guid": m.user_guid.as_str(),
        "user_id": user_id,
    });
    if let Some(p) = callback_payload {
        body["callback_payload"] = Value::from(p);
    }
    body
}

/// USER: a user was created, updated or deleted.
pub fn user(action: Action, u: &UserRecord) -> Value {
    json!({
        "action": action.as_str(),
        "type": MxWebhookType::User,
        "user": {
            "email": u.email,
            "guid": u.guid.as_str(),
            "id": u.id,
            "is_disabled": u.is_disabled,
            "metadata": u.metadata,
        },
    })
}

/// MICRODEPOSIT: a micro-deposit was created or its status changed. MX sends the account
/// number; openiav sends it masked, since it keeps account numbers only encrypted at rest and a
/// webhook's body is stored as sent.
pub fn micro_deposit(
    action: Action,
    d: &MicroDepositRecord,
    status: MicroDepositStatus,
    user_id: Option<&str>,
    at: Timestamp,
) -> Value {
    json!({
        "action": action.as_str(),
        "type": MxWebhookType::MicroDeposit,
        "version": 1,
        "micro_deposit": {
            "account_number": format!("XXXXXX{}", d.account_number_last4),
            "account_type": d.account_type,
            "created_at": d.created_at.to_rfc3339_seconds(),
            "guid": d.guid,
            "institution_guid": d.institution_code.as_deref().and_then(|code| institution_guid(d.tenant_id, code)),
            "routing_number": d.routing_number,
            // MX's numeric status: the position in INITIATED, DEPOSITED, VERIFIED, ERRORED, DENIED.
            "status": MicroDepositStatus::ALL.iter().position(|s| *s == status),
            "status_name": status,
            "updated_at": at.to_rfc3339_seconds(),
            "user_guid": d.user_guid.as_str(),
            "user_id": user_id,
            "verified_at": d.verified_at.map(|t| t.to_rfc3339_seconds()),
        },
    })
}

/// What a finished job gathered, for the counts its webhook carries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobData {
    pub transactions_created: usize,
    pub transactions_updated: usize,
    /// Accounts whose numbers the job verified.
    pub verified_accounts: Vec<String>,
    /// Statements a statement fetch created.
    pub statements_created: usize,
}

fn member_data_updated(
    kind: MxWebhookType,
    m: &MemberRecord,
    user_id: Option<&str>,
    job_guid: &str,
    now: Timestamp,
) -> Value {
    json!({
        "action": "member_data_updated",
        "completed_at": seconds(now),
        "completed_on": now.to_date_string(),
        "job_guid": job_guid,
        "member_guid": m.guid.as_str(),
        "type": kind,
        "user_guid": m.user_guid.as_str(),
        "user_id": user_id,
    })
}

/// The webhook a job that finished successfully sends, if its kind has one (identification has
/// none on MX).
pub fn job_finished(
    kind: JobKind,
    m: &MemberRecord,
    user_id: Option<&str>,
    job_guid: &str,
    data: &JobData,
    now: Timestamp,
) -> Option<(MxWebhookType, Value)> {
    let with_counts = |t: MxWebhookType| {
        let mut body = member_data_updated(t, m, user_id, job_guid, now);
        body["transactions_created_count"] = data.transactions_created.into();
        body["transactions_updated_count"] = data.transactions_updated.into();
        body
    };
    match kind {
        JobKind::Aggregate => {
            let mut body = with_counts(MxWebhookType::Aggregation);
            body["is_background"] = false.into();
            Some((MxWebhookType::Aggregation, body))
        }
        JobKind::ExtendHistory => Some((MxWebhookType::History, with_counts(MxWebhookType::History))),
        JobKind::CheckBalance => {
            Some((MxWebhookType::Balance, member_data_updated(MxWebhookType::Balance, m, user_id, job_guid, now)))
        }
        JobKind::Verify => {
            let mut body = member_data_updated(MxWebhookType::Verification, m, user_id, job_guid, now);
            body["accounts"] = json!(data.verified_accounts);
            Some((MxWebhookType::Verification, body))
        }
        JobKind::FetchStatements => {
            Some((MxWebhookType::Statement, statement(m, user_id, job_guid, data.statements_created, now)))
        }
        // MX sends no webhook for identification or rewards.
        JobKind::Identify | JobKind::FetchRewards => None,
    }
}

/// STATEMENT: a statement fetch finished with `statements_created` new statements.
pub fn statement(
    m: &MemberRecord,
    user_id: Option<&str>,
    job_guid: &str,
    statements_created: usize,
    now: Timestamp,
) -> Value {
    let mut body = member_data_updated(MxWebhookType::Statement, m, user_id, job_guid, now);
    body["statements_created_count"] = statements_created.into();
    body
}

/// Whether a status change sends CONNECTION_STATUS. MX documents the webhook for the statuses
/// an end user can act on; openiav sends it on every change, which is what a developer watching
/// a sandbox member wants to see (a superset of MX's).
pub fn sends_connection_status(before: ConnectionStatus, after: ConnectionStatus) -> bool {
    before != after
}

#[cfg(test)]
mod tests {
    use openiav_core::ids::{TenantId, UserGuid};

    use super::*;
    use crate::engine;

    const NOW: Timestamp = Timestamp::from_millis(1_700_000_123_456);

    fn member_record() -> MemberRecord {
        let mut m = engine::new_member(TenantId::generate(), UserGuid::generate(), "mxbank", "MX Bank", NOW);
        m.id = Some("member-1".into());
        m.connection_status = ConnectionStatus::Challenged;
        m.connection_status_message = Some("Answer the challenge.".into());
        m.aggregated_at = Some(NOW);
        m
    }

    #[test]
    fn connection_status_carries_mx_fields() {
        let m = member_record();
        let b = connection_status(&m, Some("user-1"), NOW);
        assert_eq!(b["action"], "CHANGED");
        assert_eq!(b["type"], "CONNECTION_STATUS");
        assert_eq!(b["connection_status"], "CHALLENGED");
        assert_eq!(b["connection_status_id"], 3);
        assert_eq!(b["connection_status_message"], "Answer the challenge.");
        assert_eq!(b["member_guid"], m.guid.as_str());
        assert_eq!(b["member_id"], "member-1");
        assert_eq!(b["user_guid"], m.user_guid.as_str());
        assert_eq!(b["user_id"], "user-1");
        assert_eq!(b["aggregated_at"], 1_700_000_123);
        assert_eq!(b["transmitted_at"], 1_700_000_123);
        assert_eq!(b["successfully_aggregated_at"], Value::Null);
        assert_eq!((b["is_background"].clone(), b["is_oauth"].clone()), (json!(false), json!(false)));
        assert_eq!(b["institution_code"], "mxbank");
    }

    #[test]
    fn member_echoes_the_callback_payload_only_when_given() {
        let m = member_record();
        let b = member(Action::Created, &m, None, Some("ctx-42"));
        assert_eq!((b["action"].clone(), b["type"].clone()), (json!("created"), json!("MEMBER")));
        assert_eq!(b["callback_payload"], "ctx-42");
        assert_eq!(b["guid"], m.guid.as_str());
        assert!(member(Action::Deleted, &m, None, None).get("callback_payload").is_none());
    }

    #[test]
    fn job_webhooks_map_one_kind_each_with_counts() {
        let m = member_record();
        let data = JobData {
            transactions_created: 5,
            transactions_updated: 2,
            verified_accounts: vec!["ACT-1".into()],
            ..JobData::default()
        };
        let (t, b) = job_finished(JobKind::Aggregate, &m, Some("u"), "JOB-1", &data, NOW).unwrap();
        assert_eq!(t, MxWebhookType::Aggregation);
        assert_eq!(b["action"], "member_data_updated");
        assert_eq!(b["transactions_created_count"], 5);
        assert_eq!(b["transactions_updated_count"], 2);
        assert_eq!(b["completed_at"], 1_700_000_123);
        assert_eq!(b["completed_on"], "2023-11-14");
        assert_eq!(b["is_background"], false);
        let (t, b) = job_finished(JobKind::ExtendHistory, &m, None, "JOB-2", &data, NOW).unwrap();
        assert_eq!(
            (t, b["type"].clone(), b["transactions_created_count"].clone()),
            (MxWebhookType::History, json!("HISTORY"), json!(5))
        );
        let (t, b) = job_finished(JobKind::CheckBalance, &m, None, "JOB-3", &data, NOW).unwrap();
        assert_eq!(t, MxWebhookType::Balance);
        assert!(b.get("transactions_created_count").is_none());
        let (t, b) = job_finished(JobKind::Verify, &m, None, "JOB-4", &data, NOW).unwrap();
        assert_eq!((t, b["accounts"].clone()), (MxWebhookType::Verification, json!(["ACT-1"])));
        assert_eq!(job_finished(JobKind::Identify, &m, None, "JOB-5", &data, NOW), None);
    }

    #[test]
    fn statement_counts_new_statements() {
        let m = member_record();
        let b = statement(&m, Some("u"), "JOB-6", 3, NOW);
        assert_eq!(b["type"], "STATEMENT");
        assert_eq!(b["statements_created_count"], 3);
        assert_eq!(b["action"], "member_data_updated");
        assert_eq!(b["member_guid"], m.guid.as_str());
    }

    #[test]
    fn every_status_change_sends_connection_status() {
        assert!(sends_connection_status(ConnectionStatus::Created, ConnectionStatus::Connected));
        assert!(!sends_connection_status(ConnectionStatus::Connected, ConnectionStatus::Connected));
    }
}
