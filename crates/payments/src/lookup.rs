//! Reading one resource by the id in a path, or Dwolla's 404: what handlers and operations share.

use std::future::Future;

use openiav_core::ids::TenantId;
use openiav_store::records::CustomerRecord;
use openiav_store::repo::customers as customer_repo;
use openiav_store::{ReadConn, StoreError};

use crate::{AppState, DwollaError};

/// The resource `find` reads for the id in a path (ids are lower-case UUIDs), or Dwolla's 404
/// saying `missing`.
pub(crate) async fn find_or_404<T, F, Fut>(state: &AppState, id: &str, missing: &str, find: F) -> Result<T, DwollaError>
where
    F: FnOnce(ReadConn, String) -> Fut,
    Fut: Future<Output = Result<Option<T>, StoreError>>,
{
    let id = id.to_ascii_lowercase();
    state.store.read(|c| find(c, id)).await?.ok_or_else(|| DwollaError::not_found(missing))
}

/// The tenant's customer `id`; an unknown one is a 404 saying `missing` (Dwolla words it
/// differently per endpoint).
pub(crate) async fn customer_of(
    state: &AppState,
    tenant: TenantId,
    id: &str,
    missing: &str,
) -> Result<CustomerRecord, DwollaError> {
    find_or_404(state, id, missing, |mut c, id| async move { customer_repo::find(&mut c, tenant, &id).await }).await
}
