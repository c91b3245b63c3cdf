//! The in-process adapter that plugs openiav's Plaid Link stand-in into the payments side's
//! `LinkProvider` port. Dwolla customers are Link's `client_user_id`s.

use openiav_core::ids::TenantId;
use openiav_payments::port::{BoxFuture, LinkProvider, LinkProviderError, LinkedAccount};
use openiav_plaid::{link, AppState as Plaid, LinkError};

/// Links accounts with openiav's own Plaid Link.
pub struct InProcessLink(pub Plaid);

fn refusal(e: LinkError) -> LinkProviderError {
    match e {
        LinkError::InvalidToken => LinkProviderError::InvalidToken,
        LinkError::ExpiredToken => LinkProviderError::ExpiredToken,
        LinkError::LoginRequired => LinkProviderError::LoginRequired,
        LinkError::ItemNotFound => LinkProviderError::NotFound,
        LinkError::Store(e) => LinkProviderError::Unavailable(e.to_string()),
    }
}

fn account(a: openiav_plaid::LinkedAccount) -> LinkedAccount {
    LinkedAccount {
        item_id: a.item_id,
        account_id: a.account_id,
        name: a.name,
        mask: a.mask,
        subtype: a.subtype.as_str().to_owned(),
        institution_name: a.institution_name,
        routing_number: a.routing_number,
        account_number: a.account_number,
    }
}

impl LinkProvider for InProcessLink {
    fn require_login(&self, tenant: TenantId, item_id: &str) -> BoxFuture<'_, Result<(), LinkProviderError>> {
        let item_id = item_id.to_owned();
        Box::pin(async move { link::require_login(&self.0, tenant, &item_id).await.map_err(refusal) })
    }

    fn create_link_token(
        &self,
        tenant: TenantId,
        customer_id: &str,
        update_item: Option<&str>,
    ) -> BoxFuture<'_, Result<String, LinkProviderError>> {
        let (customer, item) = (customer_id.to_owned(), update_item.map(str::to_owned));
        Box::pin(async move {
            let issued = link::create_link_token(&self.0, tenant, &customer, item.as_deref()).await.map_err(refusal)?;
            Ok(issued.link_token)
        })
    }

    fn redeem_public_token(
        &self,
        tenant: TenantId,
        customer_id: &str,
        public_token: &str,
    ) -> BoxFuture<'_, Result<LinkedAccount, LinkProviderError>> {
        let (customer, token) = (customer_id.to_owned(), public_token.to_owned());
        Box::pin(async move {
            link::redeem_public_token(&self.0, tenant, &customer, &token).await.map(account).map_err(refusal)
        })
    }

    fn linked_account(
        &self,
        tenant: TenantId,
        item_id: &str,
        account_id: &str,
    ) -> BoxFuture<'_, Result<LinkedAccount, LinkProviderError>> {
        let (item, account_id) = (item_id.to_owned(), account_id.to_owned());
        Box::pin(async move {
            link::linked_account(&self.0, tenant, &item, &account_id).await.map(account).map_err(refusal)
        })
    }

    fn redeem_processor_token(
        &self,
        tenant: TenantId,
        processor_token: &str,
    ) -> BoxFuture<'_, Result<LinkedAccount, LinkProviderError>> {
        let token = processor_token.to_owned();
        Box::pin(async move {
            link::redeem_processor_token(&self.0, tenant, "dwolla", &token).await.map(account).map_err(refusal)
        })
    }
}
