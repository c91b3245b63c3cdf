//! The in-process adapter that plugs the aggregation side into the payments side's
//! `AccountVerifier` port.

use openiav_aggregation::processor::{self, Refusal};
use openiav_aggregation::verification::{self, ReleasedAccount};
use openiav_aggregation::{AppState as Aggregation, MxError};
use openiav_core::bank::RoutingNumber;
use openiav_core::ids::{TenantId, UserGuid};
use openiav_payments::port::{
    AccountVerifier, BoxFuture, ProcessorGrant, VerifiedAccount, VerifiedNumbers, VerifierError,
};

/// Verifies accounts with openiav's own MX-compatible aggregation.
pub struct InProcessVerifier(pub Aggregation);

fn unavailable(e: MxError) -> VerifierError {
    match e {
        MxError::NotFound => VerifierError::NotFound,
        other => VerifierError::Unavailable(other.to_string()),
    }
}

/// What payments reads of an account whose numbers were released: its numbers, unless its
/// member needs the end user to sign in again.
fn numbers_of(released: ReleasedAccount) -> Result<VerifiedNumbers, VerifierError> {
    if released.needs_reauthentication() {
        return Err(VerifierError::ReauthRequired);
    }
    Ok(VerifiedNumbers {
        routing_number: released.routing_number,
        account_number: released.account_number,
        account_type: released.kind.as_str().to_owned(),
        institution_name: released.institution_name,
        available_cents: released.available_balance_cents,
        balance_cents: Some(released.balance_cents),
    })
}

fn user_guid(user: &str) -> Result<UserGuid, VerifierError> {
    UserGuid::parse(user).ok_or(VerifierError::NotFound)
}

impl AccountVerifier for InProcessVerifier {
    fn create_user(&self, tenant: TenantId, customer_id: &str) -> BoxFuture<'_, Result<String, VerifierError>> {
        let customer_id = customer_id.to_owned();
        Box::pin(async move {
            let guid = verification::user_for_customer(&self.0, tenant, &customer_id).await.map_err(unavailable)?;
            Ok(guid.into_string())
        })
    }

    fn verification_widget_url(&self, tenant: TenantId, user: &str) -> BoxFuture<'_, Result<String, VerifierError>> {
        let user = user.to_owned();
        Box::pin(async move {
            verification::verification_widget_url(&self.0, tenant, &user_guid(&user)?).await.map_err(unavailable)
        })
    }

    fn verified_accounts(
        &self,
        tenant: TenantId,
        user: &str,
    ) -> BoxFuture<'_, Result<Vec<VerifiedAccount>, VerifierError>> {
        let user = user.to_owned();
        Box::pin(async move {
            let accounts =
                verification::verified_accounts(&self.0, tenant, &user_guid(&user)?).await.map_err(unavailable)?;
            Ok(accounts
                .into_iter()
                .map(|a| VerifiedAccount {
                    member: a.member_guid.to_string(),
                    account: a.guid.to_string(),
                    name: a.name,
                })
                .collect())
        })
    }

    fn reauth_widget_url(
        &self,
        tenant: TenantId,
        user: &str,
        member: &str,
    ) -> BoxFuture<'_, Result<String, VerifierError>> {
        let (user, member) = (user.to_owned(), member.to_owned());
        Box::pin(async move {
            verification::update_credentials_widget_url(&self.0, tenant, &user_guid(&user)?, &member)
                .await
                .map_err(unavailable)
        })
    }

    fn simulate_lost_connection(
        &self,
        tenant: TenantId,
        user: &str,
        member: &str,
    ) -> BoxFuture<'_, Result<(), VerifierError>> {
        let (user, member) = (user.to_owned(), member.to_owned());
        Box::pin(async move {
            verification::simulate_lost_connection(&self.0, tenant, &user_guid(&user)?, &member)
                .await
                .map_err(unavailable)
        })
    }

    fn account_numbers(
        &self,
        tenant: TenantId,
        user: &str,
        account: &VerifiedAccount,
    ) -> BoxFuture<'_, Result<VerifiedNumbers, VerifierError>> {
        let (user, account) = (user.to_owned(), account.clone());
        Box::pin(async move {
            let released =
                verification::released_account(&self.0, tenant, &user_guid(&user)?, &account.member, &account.account)
                    .await
                    .map_err(unavailable)?
                    .ok_or(VerifierError::NotFound)?;
            numbers_of(released)
        })
    }

    fn bank_name(&self, routing: &RoutingNumber) -> Option<String> {
        verification::bank_name(routing)
    }

    fn redeem_authorization_code(
        &self,
        tenant: TenantId,
        code: &str,
    ) -> BoxFuture<'_, Result<ProcessorGrant, VerifierError>> {
        let code = code.to_owned();
        Box::pin(async move {
            let grant = match processor::redeem(&self.0, tenant, &code).await.map_err(unavailable)? {
                Ok(grant) => grant,
                Err(Refusal::Expired) => return Err(VerifierError::Expired),
                Err(Refusal::Unknown | Refusal::Used) => return Err(VerifierError::NotFound),
            };
            Ok(ProcessorGrant {
                access_token: grant.access_token,
                member: grant.token.member_guid.into_string(),
                account: grant.token.account_guid.into_string(),
            })
        })
    }

    fn processor_account(
        &self,
        tenant: TenantId,
        access_token: &str,
    ) -> BoxFuture<'_, Result<VerifiedNumbers, VerifierError>> {
        let access_token = access_token.to_owned();
        Box::pin(async move {
            let token = processor::token_of(&self.0, &access_token)
                .await
                .map_err(unavailable)?
                .filter(|t| t.tenant_id == tenant)
                .ok_or(VerifierError::NotFound)?;
            let (user, member, account) = processor::granted(&self.0, &token).await.map_err(unavailable)?;
            let released = verification::released_account(
                &self.0,
                tenant,
                &user.guid,
                member.guid.as_str(),
                account.guid.as_str(),
            )
            .await
            .map_err(unavailable)?
            .ok_or(VerifierError::NotFound)?;
            numbers_of(released)
        })
    }
}
