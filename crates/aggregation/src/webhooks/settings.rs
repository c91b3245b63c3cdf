//! A tenant's MX webhook configuration, as MX's client dashboard keeps it: a URL per webhook type
//! or one for all types, each with optional HTTP Basic credentials. The password is encrypted with
//! the keyring (bound to tenant and type) and never shown again.

use openiav_core::aggregation::MxWebhookType;
use openiav_core::clock::Timestamp;
use openiav_core::crypto::Keyring;
use openiav_core::ids::TenantId;
use openiav_store::records::MxWebhookEndpointRecord;
use openiav_store::repo::mx_webhooks;
use openiav_store::{Store, StoreError};

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("the webhook URL must be an absolute http or https URL")]
    InvalidUrl,
    #[error("basic auth must be given as USER:PASS")]
    InvalidBasicAuth,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The endpoint a webhook of `kind` goes to: the one configured for its type, else the
/// all-types one.
pub fn endpoint_for(endpoints: &[MxWebhookEndpointRecord], kind: MxWebhookType) -> Option<&MxWebhookEndpointRecord> {
    endpoints
        .iter()
        .find(|e| e.webhook_type == Some(kind))
        .or_else(|| endpoints.iter().find(|e| e.webhook_type.is_none()))
}

fn password_context(tenant: TenantId, kind: Option<MxWebhookType>) -> String {
    format!("{tenant}/mx_webhook/{}/basic_password", kind.map_or("ALL", MxWebhookType::as_str))
}

/// The `Authorization` value of an endpoint with Basic credentials.
pub fn authorization(keyring: &Keyring, e: &MxWebhookEndpointRecord) -> Result<Option<String>, StoreError> {
    use base64::Engine as _;
    let (Some(user), Some(sealed)) = (&e.basic_username, &e.basic_password) else { return Ok(None) };
    let password = keyring
        .decrypt(&password_context(e.tenant_id, e.webhook_type), sealed)
        .map_err(|err| StoreError::Corrupt(format!("decrypting an MX webhook password: {err}")))?;
    let mut pair = format!("{user}:").into_bytes();
    pair.extend_from_slice(&password);
    Ok(Some(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))))
}

/// Splits `USER:PASS` (the password may hold colons; the user may not be empty).
pub fn parse_basic_auth(s: &str) -> Result<(String, String), SettingsError> {
    match s.split_once(':') {
        Some((user, pass)) if !user.is_empty() => Ok((user.to_owned(), pass.to_owned())),
        _ => Err(SettingsError::InvalidBasicAuth),
    }
}

fn valid_url(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

/// Sets the tenant's endpoint for `kind` (`None`: all types) to `url` with optional Basic
/// credentials; an empty `url` removes that endpoint. Returns whether an endpoint is now set.
pub async fn configure(
    store: &Store,
    keyring: &Keyring,
    now: Timestamp,
    tenant: TenantId,
    kind: Option<MxWebhookType>,
    url: &str,
    basic: Option<(String, String)>,
) -> Result<bool, SettingsError> {
    let url = url.trim().to_owned();
    if url.is_empty() {
        store.write(move |c| Box::pin(async move { mx_webhooks::delete_endpoint(c, tenant, kind).await })).await?;
        return Ok(false);
    }
    if !valid_url(&url) {
        return Err(SettingsError::InvalidUrl);
    }
    let (basic_username, basic_password) = match basic {
        Some((user, pass)) => (Some(user), Some(keyring.encrypt(&password_context(tenant, kind), pass.as_bytes()))),
        None => (None, None),
    };
    let record = MxWebhookEndpointRecord {
        tenant_id: tenant,
        webhook_type: kind,
        url,
        basic_username,
        basic_password,
        created_at: now,
        updated_at: now,
    };
    store.write(move |c| Box::pin(async move { mx_webhooks::set_endpoint(c, &record).await })).await?;
    Ok(true)
}

/// Removes every MX webhook endpoint of the tenant; returns how many there were.
pub async fn clear(store: &Store, tenant: TenantId) -> Result<u64, StoreError> {
    store.write(move |c| Box::pin(async move { mx_webhooks::clear_endpoints(c, tenant).await })).await
}

/// The tenant's endpoints, for display: type (or `ALL`), URL, and the Basic user if any (never
/// the password).
pub async fn describe(store: &Store, tenant: TenantId) -> Result<Vec<String>, StoreError> {
    let endpoints = store.read(|mut c| async move { mx_webhooks::list_endpoints(&mut c, tenant).await }).await?;
    Ok(endpoints
        .iter()
        .map(|e| {
            let kind = e.webhook_type.map_or("ALL", MxWebhookType::as_str);
            match &e.basic_username {
                Some(user) => format!("{kind} -> {} (basic auth user {user})", e.url),
                None => format!("{kind} -> {}", e.url),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(kind: Option<MxWebhookType>, url: &str) -> MxWebhookEndpointRecord {
        MxWebhookEndpointRecord {
            tenant_id: TenantId::generate(),
            webhook_type: kind,
            url: url.into(),
            basic_username: None,
            basic_password: None,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn a_type_of_its_own_wins_over_the_all_types_url() {
        let all = endpoint(None, "https://example.com/all");
        let member = endpoint(Some(MxWebhookType::Member), "https://example.com/member");
        let both = [all.clone(), member.clone()];
        assert_eq!(endpoint_for(&both, MxWebhookType::Member), Some(&member));
        assert_eq!(endpoint_for(&both, MxWebhookType::User), Some(&all));
        assert_eq!(endpoint_for(std::slice::from_ref(&member), MxWebhookType::User), None);
    }

    #[test]
    fn basic_auth_is_user_colon_password() {
        assert_eq!(parse_basic_auth("u:p:q").unwrap(), ("u".to_owned(), "p:q".to_owned()));
        assert!(parse_basic_auth(":p").is_err() && parse_basic_auth("nocolon").is_err());
    }

    #[test]
    fn the_authorization_header_decrypts_the_password() {
        let keyring = Keyring::new(&openiav_core::crypto::MasterKey::generate());
        let mut e = endpoint(None, "https://example.com/all");
        e.basic_username = Some("hooks".into());
        e.basic_password = Some(keyring.encrypt(&password_context(e.tenant_id, None), b"s3cret"));
        assert_eq!(authorization(&keyring, &e).unwrap().as_deref(), Some("Basic aG9va3M6czNjcmV0"));
        e.basic_username = None;
        assert_eq!(authorization(&keyring, &e).unwrap(), None);
    }
}
