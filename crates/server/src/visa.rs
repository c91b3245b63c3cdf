//! The in-process adapter that plugs openiav's own Visa bank page (`openiav-visa`) into the
//! payments side's `VisaProvider` port.

use openiav_core::ids::TenantId;
use openiav_payments::port::{BoxFuture, VerifierError, VisaAccount, VisaProvider};
use openiav_store::StoreError;
use openiav_visa::{link, AppState as Visa};

/// Visa's bank page, served by this process on the aggregation listener.
pub struct InProcessVisa(pub Visa);

fn unavailable(e: StoreError) -> VerifierError {
    VerifierError::Unavailable(e.to_string())
}

impl VisaProvider for InProcessVisa {
    fn bank_page_url(
        &self,
        tenant: TenantId,
        session: &str,
        callback_url: &str,
        state: &str,
    ) -> BoxFuture<'_, Result<String, VerifierError>> {
        let (session, callback_url, state) = (session.to_owned(), callback_url.to_owned(), state.to_owned());
        Box::pin(async move { link::mint(&self.0, tenant, &session, &callback_url, &state).await.map_err(unavailable) })
    }

    fn redeem_code(
        &self,
        tenant: TenantId,
        session: &str,
        code: &str,
    ) -> BoxFuture<'_, Result<Option<VisaAccount>, VerifierError>> {
        let (session, code) = (session.to_owned(), code.to_owned());
        Box::pin(async move {
            let chosen = link::redeem(&self.0, tenant, &session, &code).await.map_err(unavailable)?;
            Ok(chosen.map(|a| VisaAccount {
                id: a.id,
                name: a.name,
                account_type: a.kind,
                institution_name: a.institution_name,
                routing_number: a.routing_number,
                account_number: a.account_number,
                available_cents: Some(a.available_cents),
                balance_cents: Some(a.balance_cents),
            }))
        })
    }
}
