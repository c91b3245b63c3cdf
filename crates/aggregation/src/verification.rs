//! Account verification as the rest of openiav uses it in-process (the payments side's
//! `AccountVerifier` port is wired to these): an aggregator user per payments customer, a
//! verification-mode widget URL, the accounts whose numbers the end user released, and those
//! numbers; and re-authentication: which connection statuses need the end user to sign in
//! again, a widget URL that opens straight at a member's credentials, and the sandbox's way to
//! make a member lose its connection.

use openiav_core::aggregation::{AccountKind, ConnectionStatus};
use openiav_core::bank::{AccountNumber, RoutingNumber};
use openiav_core::ids::{TenantId, UserGuid};
use openiav_store::records::{AccountRecord, UserRecord};
use openiav_store::repo::{accounts, members, users};
use openiav_store::StoreError;

use crate::catalog::Catalog;
use crate::sandbox::data::routing_number_for;
use crate::widget_url::{self, WidgetRequest};
use crate::{engine, members as member_ops};
use crate::{AppState, MxError};

/// A verified deposit account and its numbers.
#[derive(Clone, Debug)]
pub struct ReleasedAccount {
    pub member_guid: String,
    pub account_guid: String,
    pub name: String,
    /// Checking or savings (only deposit accounts are released).
    pub kind: AccountKind,
    pub routing_number: RoutingNumber,
    pub account_number: AccountNumber,
    pub institution_name: String,
    pub balance_cents: i64,
    pub available_balance_cents: Option<i64>,
    /// The member's connection status, when the member is still there.
    pub member_status: Option<ConnectionStatus>,
}

impl ReleasedAccount {
    /// Whether the account's member needs the end user to sign in again before its data may be
    /// read ([`needs_reauthentication`]).
    pub fn needs_reauthentication(&self) -> bool {
        self.member_status.is_some_and(needs_reauthentication)
    }
}

/// Whether a member in `status` needs the end user before its data can be read again: the
/// states MX calls end-user-actionable (those its Connection Status webhook fires for:
/// CHALLENGED, DENIED, EXPIRED, IMPAIRED, IMPEDED, LOCKED, PREVENTED, REJECTED). Processing
/// states (CREATED, UPDATED, RESUMED, RECONNECTED, PENDING) and failures that are not the end
/// user's to fix (FAILED, DEGRADED, DELAYED, …) keep the numbers last released readable.
pub fn needs_reauthentication(status: ConnectionStatus) -> bool {
    use ConnectionStatus::*;
    matches!(status, Challenged | Denied | Expired | Impaired | Impeded | Locked | Prevented | Rejected)
}

/// Creates the user that verifies one payments customer's accounts (its partner id names the
/// customer, so a second call for the same customer finds the first user).
pub async fn user_for_customer(state: &AppState, tenant: TenantId, customer_id: &str) -> Result<UserGuid, MxError> {
    let now = state.now(tenant).await?;
    let partner_id = format!("payments-customer-{customer_id}");
    let user = UserRecord {
        guid: UserGuid::generate(),
        tenant_id: tenant,
        id: Some(partner_id.clone()),
        email: None,
        is_disabled: false,
        metadata: Some("openiav payments customer".into()),
        created_at: now,
        updated_at: now,
    };
    let lookup = partner_id.clone();
    let agg = state.clone();
    let created = state
        .store
        .write(move |c| {
            Box::pin(async move {
                if let Some(existing) = users::find(c, tenant, &partner_id, true).await? {
                    return Ok(existing.guid);
                }
                users::insert(c, &user).await?;
                let body = crate::webhooks::payload::user(crate::webhooks::Action::Created, &user);
                let kind = openiav_core::aggregation::MxWebhookType::User;
                let at = agg.now_in(c, tenant).await?;
                crate::webhooks::emit(c, &agg, tenant, kind, &body, at).await?;
                Ok(user.guid)
            })
        })
        .await;
    match created {
        // A concurrent call for the same customer created it first.
        Err(StoreError::Conflict(_)) => state
            .store
            .read(|mut c| async move { users::find(&mut c, tenant, &lookup, true).await })
            .await?
            .map(|u| u.guid)
            .ok_or(MxError::NotFound),
        other => Ok(other?),
    }
}

/// A single-use Connect widget URL in verification mode for `user`.
pub async fn verification_widget_url(state: &AppState, tenant: TenantId, user: &UserGuid) -> Result<String, MxError> {
    let request: WidgetRequest =
        serde_json::from_value(serde_json::json!({ "widget_type": "connect_widget", "mode": "verification" }))
            .expect("a fixed widget request parses");
    widget_url::mint(state, tenant, user, &request.into_config()?).await
}

/// The deposit accounts of `user` whose numbers a verification released.
pub async fn verified_accounts(
    state: &AppState,
    tenant: TenantId,
    user: &UserGuid,
) -> Result<Vec<AccountRecord>, MxError> {
    let user = user.clone();
    let all = state.store.read(|mut c| async move { accounts::all(&mut c, tenant, &user, None).await }).await?;
    Ok(all.into_iter().filter(|a| a.numbers_verified && a.account_number.is_some()).collect())
}

/// The numbers of a verified account of `user` at `member`, or `None` if it is not one.
pub async fn released_account(
    state: &AppState,
    tenant: TenantId,
    user: &UserGuid,
    member_guid: &str,
    account_guid: &str,
) -> Result<Option<ReleasedAccount>, MxError> {
    let (u, a) = (user.clone(), account_guid.to_owned());
    let Some(account) = state.store.read(|mut c| async move { accounts::find(&mut c, tenant, &u, &a).await }).await?
    else {
        return Ok(None);
    };
    if account.member_guid.as_str() != member_guid || !account.numbers_verified {
        return Ok(None);
    }
    let (Some(blob), Some(routing)) = (&account.account_number, &account.routing_number) else { return Ok(None) };
    let plain = state
        .keyring
        .decrypt(&engine::account_number_context(&account), blob)
        .map_err(|e| StoreError::Corrupt(format!("decrypting an account number: {e}")))?;
    let number = AccountNumber::parse(&String::from_utf8_lossy(&plain))
        .ok_or_else(|| StoreError::Corrupt("a stored account number is malformed".into()))?;
    let routing = RoutingNumber::parse(routing)
        .ok_or_else(|| StoreError::Corrupt("a stored routing number is malformed".into()))?;
    let (u, m) = (user.clone(), member_guid.to_owned());
    let member = state.store.read(|mut c| async move { members::find(&mut c, tenant, &u, &m, false).await }).await?;
    let member_status = member.as_ref().map(|m| m.connection_status);
    let institution_name =
        member.map(|m| m.name).or_else(|| bank_name(&routing)).unwrap_or_else(|| "SANDBOX TEST BANK".to_owned());
    Ok(Some(ReleasedAccount {
        member_guid: account.member_guid.to_string(),
        account_guid: account.guid.to_string(),
        name: account.name.clone(),
        kind: account.kind,
        routing_number: routing,
        account_number: number,
        institution_name,
        balance_cents: account.balance_cents,
        available_balance_cents: account.available_balance_cents,
        member_status,
    }))
}

/// A single-use Connect widget URL that opens straight at the credentials of `user`'s member
/// `member_guid` (`current_member_guid` + `update_credentials`, in verification mode), for the
/// end user to sign in again.
pub async fn update_credentials_widget_url(
    state: &AppState,
    tenant: TenantId,
    user: &UserGuid,
    member_guid: &str,
) -> Result<String, MxError> {
    let (u, m) = (user.clone(), member_guid.to_owned());
    if state.store.read(|mut c| async move { members::find(&mut c, tenant, &u, &m, false).await }).await?.is_none() {
        return Err(MxError::NotFound);
    }
    let request: WidgetRequest = serde_json::from_value(serde_json::json!({
        "widget_type": "connect_widget",
        "mode": "verification",
        "current_member_guid": member_guid,
        "update_credentials": true,
        "disable_institution_search": true,
    }))
    .expect("a fixed widget request parses");
    widget_url::mint(state, tenant, user, &request.into_config()?).await
}

/// Sandbox: `user`'s member `member_guid` loses its connection as if the bank stopped taking
/// its credentials (DENIED, as MX's own reads then show).
pub async fn simulate_lost_connection(
    state: &AppState,
    tenant: TenantId,
    user: &UserGuid,
    member_guid: &str,
) -> Result<(), MxError> {
    member_ops::lose_connection(state, tenant, user, member_guid).await.map(|_| ())
}

/// The catalog institution a routing number belongs to.
pub fn bank_name(routing: &RoutingNumber) -> Option<String> {
    Catalog::get()
        .search(&Default::default())
        .into_iter()
        .find(|i| routing_number_for(&i.code) == *routing)
        .map(|i| i.name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_end_user_actionable_statuses_need_reauthentication() {
        use ConnectionStatus::*;
        let actionable = [Challenged, Denied, Expired, Impaired, Impeded, Locked, Prevented, Rejected];
        for &status in ConnectionStatus::ALL {
            assert_eq!(needs_reauthentication(status), actionable.contains(&status), "{status}");
        }
        assert!(
            !needs_reauthentication(Connected) && !needs_reauthentication(Updated) && !needs_reauthentication(Failed)
        );
    }
}
