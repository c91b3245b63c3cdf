//! The MX pages: the tenant's users, and a user's members (connection status, running job, open
//! MFA challenges), accounts and micro-deposits, with the force-status and fire-webhook forms of
//! each member and micro-deposit (the same operations as `POST /_openiav/force/members/{guid}`,
//! `POST /_openiav/force/mx-micro-deposits/{guid}` and `POST /_openiav/fire/mx`).

use axum::extract::{Path, Query, State};
use axum::response::Response;
use openiav_aggregation::forced::ForcedStatus;
use openiav_aggregation::routes::micro_deposits::effective_status;
use openiav_aggregation::webhooks::fired::{subject_of, Subject};
use openiav_core::aggregation::{MicroDepositStatus, MxWebhookType};
use openiav_core::clock::Timestamp;
use openiav_store::records::{AccountRecord, MemberRecord, MicroDepositRecord, UserRecord};
use openiav_store::repo::users::UserFilter;
use openiav_store::repo::{accounts, members, micro_deposits, users, PageRequest};
use serde_json::Value;

use super::render::{self, cell, code, escape, Action};
use super::session::{after, failure, Posted, Session};
use super::{PageQuery, MAX_ROWS, ROOT};
use crate::fire::MxFire;
use crate::{force, AppState, ControlError};

/// A page of the users, newest first, and how many there are.
async fn users_page(
    state: &AppState,
    session: &Session,
    page: PageQuery,
) -> Result<(Vec<UserRecord>, i64), ControlError> {
    let tenant = session.tenant;
    Ok(state
        .store
        .read(|mut c| async move {
            let f = UserFilter::default();
            let total = users::list(&mut c, tenant, &f, PageRequest { page: 1, per_page: 1 }).await?.total;
            let (start, len) = page.oldest_first_window(total);
            if len == 0 {
                return Ok((Vec::new(), total));
            }
            // The store pages by MAX_ROWS from the oldest: the window spans at most two of them.
            let (first, last) = (start / MAX_ROWS + 1, (start + len - 1) / MAX_ROWS + 1);
            let mut rows = Vec::new();
            for page in first..=last {
                rows.extend(users::list(&mut c, tenant, &f, PageRequest { page, per_page: MAX_ROWS }).await?.items);
            }
            let skip = (start - (first - 1) * MAX_ROWS) as usize;
            let mut rows: Vec<UserRecord> = rows.into_iter().skip(skip).take(len as usize).collect();
            rows.reverse();
            Ok((rows, total))
        })
        .await?)
}

/// `GET /_openiav/dashboard/mx/users`.
pub async fn users(State(state): State<AppState>, session: Session, Query(page): Query<PageQuery>) -> Response {
    let (rows, total) = match users_page(&state, &session, page).await {
        Ok(found) => found,
        Err(e) => return failure(e),
    };
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|u| {
            vec![
                render::link(&format!("/mx/users/{}", u.guid.as_str()), u.guid.as_str()),
                cell(u.id.as_deref()),
                cell(u.email.as_deref()),
                escape(if u.is_disabled { "yes" } else { "no" }),
                escape(&u.created_at.to_rfc3339_seconds()),
            ]
        })
        .collect();
    let body = format!(
        "{}{}",
        render::pager("/mx/users", "users", page, total),
        render::table("Users", &["Guid", "Id", "Email", "Disabled", "Created"], &rows)
    );
    render::page(&session, "/mx/users", "MX users", &body)
}

/// The running job of a member, as `kind stage`.
fn job_summary(job: Option<&str>) -> String {
    let Some(job) = job else { return cell(None) };
    match serde_json::from_str::<Value>(job) {
        Ok(v) => {
            let part = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
            let text = format!("{} {}", part("kind"), part("stage"));
            cell(Some(text.trim()))
        }
        Err(_) => cell(None),
    }
}

/// The open challenges of a member: their types and labels.
fn challenges_summary(challenges: Option<&str>) -> String {
    let list: Vec<Value> = challenges.and_then(|c| serde_json::from_str(c).ok()).unwrap_or_default();
    if list.is_empty() {
        return "none".to_owned();
    }
    let items: String = list
        .iter()
        .map(|c| {
            let kind = c.get("type").and_then(Value::as_str).unwrap_or("challenge");
            let label = c.get("label").and_then(Value::as_str).unwrap_or_default();
            format!("<li>{}: {}</li>", escape(kind), escape(label))
        })
        .collect();
    format!("<ul class=\"challenges\">{items}</ul>")
}

fn webhook_types(subject: Subject) -> Vec<&'static str> {
    MxWebhookType::ALL.iter().filter(|t| subject_of(**t) == subject).map(|t| t.as_str()).collect()
}

fn member_row(session: &Session, back: &str, m: &MemberRecord) -> Vec<String> {
    let guid = m.guid.as_str();
    let force = Action {
        path: format!("/mx/members/{guid}/force"),
        back,
        selects: vec![(
            "connection_status",
            format!("Connection status to force member {guid} into"),
            ForcedStatus::ALL.iter().map(|s| s.as_str()).collect(),
        )],
        extra: vec![],
        button: "Force status",
    };
    let fire = Action {
        path: "/mx/fire".into(),
        back,
        selects: vec![("type", format!("Webhook type to fire about member {guid}"), webhook_types(Subject::Member))],
        extra: vec![("member_guid", guid.to_owned())],
        button: "Fire webhook",
    };
    vec![
        code(guid),
        escape(&m.name),
        escape(&m.institution_code),
        format!("<span class=\"status\">{}</span>", escape(m.connection_status.as_str())),
        cell(m.connection_status_message.as_deref()),
        escape(if m.is_being_aggregated { "yes" } else { "no" }),
        job_summary(m.job.as_deref()),
        challenges_summary(m.challenges.as_deref()),
        format!("{}{}", force.render(session), fire.render(session)),
    ]
}

fn account_row(a: &AccountRecord) -> Vec<String> {
    vec![
        code(a.guid.as_str()),
        escape(&a.name),
        escape(a.account_type.as_str()),
        code(a.member_guid.as_str()),
        escape(&format!("{:.2}", a.balance_cents as f64 / 100.0)),
        cell(a.account_number_last4.as_deref()),
    ]
}

fn micro_deposit_row(session: &Session, back: &str, d: &MicroDepositRecord, now: Timestamp) -> Vec<String> {
    let guid = d.guid.as_str();
    let force = Action {
        path: format!("/mx/micro-deposits/{guid}/force"),
        back,
        selects: vec![(
            "status",
            format!("Status to force micro-deposit {guid} into"),
            MicroDepositStatus::ALL.iter().map(|s| s.as_str()).collect(),
        )],
        extra: vec![],
        button: "Force status",
    };
    let fire = Action {
        path: "/mx/fire".into(),
        back,
        selects: vec![(
            "type",
            format!("Webhook type to fire about micro-deposit {guid}"),
            webhook_types(Subject::MicroDeposit),
        )],
        extra: vec![("micro_deposit_guid", guid.to_owned())],
        button: "Fire webhook",
    };
    vec![
        code(guid),
        cell(d.account_name.as_deref()),
        format!("<span class=\"deposit-status\">{}</span>", escape(effective_status(d, now).as_str())),
        cell(d.error_message.as_deref()),
        format!("{}{}", force.render(session), fire.render(session)),
    ]
}

/// `GET /_openiav/dashboard/mx/users/{guid}`.
pub async fn user(State(state): State<AppState>, session: Session, Path(guid): Path<String>) -> Response {
    let tenant = session.tenant;
    let ident = guid.clone();
    let found = state
        .store
        .read(|mut c| async move {
            let Some(user) = users::find(&mut c, tenant, &ident, false).await? else { return Ok(None) };
            let all = PageRequest { page: 1, per_page: MAX_ROWS };
            let ms = members::list(&mut c, tenant, &user.guid, None, all).await?.items;
            let accs = accounts::list(&mut c, tenant, &user.guid, None, all).await?.items;
            let deposits = micro_deposits::list(&mut c, tenant, &user.guid, all).await?.items;
            Ok(Some((user, ms, accs, deposits)))
        })
        .await;
    let now = match state.aggregation.now(tenant).await {
        Ok(now) => now,
        Err(e) => return failure(e.into()),
    };
    let (user, mut ms, accs, deposits) = match found {
        Ok(Some(found)) => found,
        Ok(None) => return failure(ControlError::not_found("user")),
        Err(e) => return failure(e.into()),
    };
    ms.reverse();
    let back = format!("{ROOT}/mx/users/{}", user.guid.as_str());
    let member_rows: Vec<Vec<String>> = ms.iter().map(|m| member_row(&session, &back, m)).collect();
    let account_rows: Vec<Vec<String>> = accs.iter().map(account_row).collect();
    let deposit_rows: Vec<Vec<String>> =
        deposits.iter().rev().map(|d| micro_deposit_row(&session, &back, d, now)).collect();
    let fire_user = Action {
        path: "/mx/fire".into(),
        back: &back,
        selects: vec![("type", "Webhook type to fire about this user".into(), webhook_types(Subject::User))],
        extra: vec![("user_guid", user.guid.as_str().to_owned())],
        button: "Fire user webhook",
    };
    let body = format!(
        "<dl class=\"facts\"><dt>Guid</dt><dd><code>{guid}</code></dd><dt>Id</dt><dd>{id}</dd>\
         <dt>Email</dt><dd>{email}</dd></dl>{fire}{members}{accounts}{deposits}",
        guid = escape(user.guid.as_str()),
        id = cell(user.id.as_deref()),
        email = cell(user.email.as_deref()),
        fire = fire_user.render(&session),
        members = render::table(
            "Members",
            &["Guid", "Name", "Institution", "Status", "Message", "Aggregating", "Job", "Open challenges", "Actions"],
            &member_rows
        ),
        accounts = render::table("Accounts", &["Guid", "Name", "Type", "Member", "Balance", "Number"], &account_rows),
        deposits = render::table("Micro-deposits", &["Guid", "Account", "Status", "Message", "Actions"], &deposit_rows),
    );
    render::page(&session, "/mx/users", &format!("MX user {}", user.guid.as_str()), &body)
}

/// `POST /_openiav/dashboard/mx/members/{guid}/force`.
pub async fn force_member(State(state): State<AppState>, Path(guid): Path<String>, posted: Posted) -> Response {
    let target = posted.get("connection_status").unwrap_or_default().to_owned();
    let outcome = force::force_member(&state, posted.session.tenant, &guid, &target)
        .await
        .map(|m| format!("Member {} is now {}.", m.guid.as_str(), m.connection_status.as_str()));
    after(&posted.back(), outcome)
}

/// `POST /_openiav/dashboard/mx/micro-deposits/{guid}/force`.
pub async fn force_micro_deposit(State(state): State<AppState>, Path(guid): Path<String>, posted: Posted) -> Response {
    let target = posted.get("status").unwrap_or_default().to_owned();
    let outcome = force::force_mx_micro_deposit(&state, posted.session.tenant, &guid, &target)
        .await
        .map(|(d, status)| format!("Micro-deposit {} is now {}.", d.guid, status.as_str()));
    after(&posted.back(), outcome)
}

/// `POST /_openiav/dashboard/mx/fire`.
pub async fn fire(State(state): State<AppState>, posted: Posted) -> Response {
    let field = |name: &str| posted.get(name).filter(|v| !v.is_empty()).map(str::to_owned);
    let request = MxFire {
        kind: field("type").unwrap_or_default(),
        member_guid: field("member_guid"),
        user_guid: field("user_guid"),
        micro_deposit_guid: field("micro_deposit_guid"),
    };
    let outcome = crate::fire::fire_mx(&state, posted.session.tenant, &request)
        .await
        .map(|w| format!("Fired a {} webhook ({}).", w.webhook_type.as_str(), w.guid));
    after(&posted.back(), outcome)
}
