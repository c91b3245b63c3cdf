//! The application's own Dwolla account (the master account; its id is the tenant id): reading
//! it, and its funding sources, which the sandbox opens (a verified bank and a balance) the
//! first time they are asked for.

pub mod view;

use openiav_core::ids::TenantId;
use openiav_store::records::{FundingSourceRecord, TenantRecord};
use openiav_store::repo::{funding_sources as fs_repo, tenants};

use crate::funding_sources::owned;
use crate::{AppState, DwollaError};

/// How Dwolla words an account that is not the application's.
pub const ACCOUNT_NOT_FOUND: &str = "Account not found.";

/// The account `id` (from a path) is the tenant's own; any other id, another tenant's
/// included, is Dwolla's 404.
pub fn own_account(tenant: TenantId, id: &str) -> Result<(), DwollaError> {
    if id.eq_ignore_ascii_case(&tenant.to_string()) {
        Ok(())
    } else {
        Err(DwollaError::not_found(ACCOUNT_NOT_FOUND))
    }
}

/// The tenant's account `id`.
pub async fn find(state: &AppState, tenant: TenantId, id: &str) -> Result<TenantRecord, DwollaError> {
    own_account(tenant, id)?;
    Ok(state.store.read(|mut c| async move { tenants::get(&mut c, tenant).await }).await?)
}

/// The funding sources of the tenant's account `id` (only removed ones, or only live ones,
/// when `removed` says). The first call opens the account's bank and balance in one write;
/// concurrent first calls open each once.
pub async fn funding_sources(
    state: &AppState,
    tenant: TenantId,
    id: &str,
    removed: Option<bool>,
) -> Result<Vec<FundingSourceRecord>, DwollaError> {
    own_account(tenant, id)?;
    let all = state.store.read(|mut c| async move { fs_repo::list_for_account(&mut c, tenant, None).await }).await?;
    let all = if owned::account_is_open(&all) {
        all
    } else {
        let (context, now) = (state.clone(), state.now(tenant).await?);
        state
            .store
            .write(move |c| Box::pin(async move { owned::account_sources(c, &context, tenant, now).await }))
            .await?
    };
    Ok(all.into_iter().filter(|f| removed.is_none_or(|r| f.removed == r)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DwollaCode;

    #[test]
    fn only_the_tenants_own_id_names_its_account() {
        let tenant = TenantId::generate();
        assert!(own_account(tenant, &tenant.to_string()).is_ok());
        assert!(own_account(tenant, &tenant.to_string().to_ascii_uppercase()).is_ok());
        for other in [TenantId::generate().to_string(), String::new(), "me".into()] {
            let e = own_account(tenant, &other).unwrap_err();
            assert_eq!(e.code(), DwollaCode::NotFound);
            assert_eq!(e.body(), r#"{"code":"NotFound","message":"Account not found."}"#);
        }
    }
}
