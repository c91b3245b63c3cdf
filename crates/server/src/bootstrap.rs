//! Tenants and their credentials: creation (secrets shown once, stored only as hashes) and the
//! sandbox tenant bootstrapped on first start.

use openiav_core::clock::Clock;
use openiav_core::crypto::{hash_token, random_hex};
use openiav_core::ids::TenantId;
use openiav_store::records::TenantRecord;
use openiav_store::repo::tenants;
use openiav_store::{Store, StoreError};
use serde::Serialize;

/// A tenant's credentials in the clear, as printed once at creation.
#[derive(Clone, Serialize)]
pub struct IssuedTenant {
    pub id: String,
    pub mx: MxCredentials,
    pub dwolla: DwollaCredentials,
}

#[derive(Clone, Serialize)]
pub struct MxCredentials {
    pub client_id: String,
    pub api_key: String,
}

#[derive(Clone, Serialize)]
pub struct DwollaCredentials {
    pub key: String,
    pub secret: String,
}

/// Credentials to use instead of random ones (the `OPENIAV_SANDBOX_*` variables).
#[derive(Default)]
pub struct PresetCredentials {
    pub mx_client_id: Option<String>,
    pub mx_api_key: Option<String>,
    pub dwolla_key: Option<String>,
    pub dwolla_secret: Option<String>,
    /// The id to create the tenant with (a snapshot's tenant, so the snapshot loads into it).
    pub tenant_id: Option<TenantId>,
}

/// Creates a tenant and returns its credentials in the clear (the only time they exist so).
pub async fn create_tenant(
    store: &Store,
    clock: &dyn Clock,
    name: &str,
    is_sandbox: bool,
    preset: PresetCredentials,
) -> Result<IssuedTenant, StoreError> {
    let issued = IssuedTenant {
        id: preset.tenant_id.unwrap_or_else(TenantId::generate).to_string(),
        mx: MxCredentials {
            client_id: preset.mx_client_id.unwrap_or_else(|| uuid_like(&random_hex(16))),
            api_key: preset.mx_api_key.unwrap_or_else(|| random_hex(20)),
        },
        dwolla: DwollaCredentials {
            key: preset.dwolla_key.unwrap_or_else(|| random_hex(25)),
            secret: preset.dwolla_secret.unwrap_or_else(|| random_hex(25)),
        },
    };
    let record = TenantRecord {
        id: TenantId::parse(&issued.id).expect("generated id parses"),
        name: name.to_owned(),
        mx_client_id: issued.mx.client_id.clone(),
        mx_api_key_hash: hash_token(&issued.mx.api_key),
        dwolla_key: issued.dwolla.key.clone(),
        dwolla_secret_hash: hash_token(&issued.dwolla.secret),
        is_sandbox,
        created_at: clock.now(),
    };
    store.write(move |c| Box::pin(async move { tenants::insert(c, &record).await })).await?;
    Ok(issued)
}

fn uuid_like(hex: &str) -> String {
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// Creates the sandbox tenant unless one exists. Returns its credentials only when created.
pub async fn ensure_sandbox_tenant(
    store: &Store,
    clock: &dyn Clock,
    preset: PresetCredentials,
) -> Result<Option<IssuedTenant>, StoreError> {
    let existing = store.read(|mut c| async move { tenants::find_sandbox(&mut c).await }).await?;
    if existing.is_some() {
        return Ok(None);
    }
    create_tenant(store, clock, "Sandbox", true, preset).await.map(Some)
}

/// Sets the sandbox tenant's all-types MX webhook URL (no Basic credentials).
pub async fn set_sandbox_mx_webhook_url(
    store: &Store,
    keyring: &openiav_core::crypto::Keyring,
    clock: &dyn Clock,
    url: &str,
) -> anyhow::Result<()> {
    let Some(tenant) = store.read(|mut c| async move { tenants::find_sandbox(&mut c).await }).await? else {
        return Ok(());
    };
    openiav_aggregation::webhooks::settings::configure(store, keyring, clock.now(), tenant.id, None, url, None).await?;
    Ok(())
}

/// Replaces the sandbox tenant's redirect URLs (keeping its other payments settings).
pub async fn set_sandbox_redirect_urls(store: &Store, urls: Vec<String>) -> Result<(), StoreError> {
    store
        .write(move |c| {
            Box::pin(async move {
                let Some(tenant) = tenants::find_sandbox(c).await? else { return Ok(()) };
                let mut settings = tenants::payment_settings(c, tenant.id).await?;
                settings.redirect_urls = urls;
                tenants::set_payment_settings(c, tenant.id, &settings).await
            })
        })
        .await
}

/// The banner printed when the sandbox tenant is created.
pub fn sandbox_banner(t: &IssuedTenant) -> String {
    format!(
        "openiav created a sandbox tenant. Its credentials are shown only now; keep them:\n\
         \x20 MX (aggregation API)  client_id: {}\n\
         \x20                       api_key:   {}\n\
         \x20 Dwolla (payments API) key:       {}\n\
         \x20                       secret:    {}\n",
        t.mx.client_id, t.mx.api_key, t.dwolla.key, t.dwolla.secret
    )
}
