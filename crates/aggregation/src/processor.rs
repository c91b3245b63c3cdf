//! MX processor tokens: a client asks for a single-use authorization code scoped to one
//! verified account (`/authorization_code`), hands it to a payment processor, and the processor
//! redeems it (`POST /token`) for an access token that reads that one account and nothing else
//! (`/account/*`). Codes live ten minutes, tokens sixty days; both are stored only as SHA-256
//! hashes, and a code is consumed by one conditional UPDATE, so of any number of racing
//! redemptions exactly one wins.

use std::fmt;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use openiav_core::crypto::{hash_token, random_url_token};
use openiav_core::ids::{AccountGuid, MemberGuid, TenantId, UserGuid};
use openiav_store::records::{AccountRecord, MemberRecord, ProcessorCodeRecord, ProcessorTokenRecord, UserRecord};
use openiav_store::repo::{accounts, members, processor_tokens as repo, users};

use crate::{AppState, MxError};

/// How long an authorization code can be redeemed.
pub const CODE_TTL_MS: i64 = 10 * 60 * 1000;
/// How long an access token reads its account (MX: sixty days).
pub const TOKEN_TTL_MS: i64 = 60 * 24 * 3_600 * 1000;
/// The one feature a scope may grant: reading the account's protected data (its numbers).
pub const READ_PROTECTED: &str = "read-protected";

/// What an authorization code (and the token it becomes) may read: one account of one member
/// of one user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    pub user: UserGuid,
    pub member: MemberGuid,
    pub account: AccountGuid,
}

/// Why a scope string is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("authorization_code.scope is required.")]
    Empty,
    #[error("authorization_code.scope must name a {0}.")]
    Missing(&'static str),
    #[error("authorization_code.scope names more than one {0}.")]
    Repeated(&'static str),
    #[error("`{0}` in authorization_code.scope is not a valid guid.")]
    Malformed(String),
    #[error("`{0}` in authorization_code.scope is not a scope openiav grants; use user-guid:, member-guid:, account-guid: and read-protected.")]
    Unknown(String),
}

impl Scope {
    /// Parses MX's scope (`user-guid:USR-… member-guid:MBR-… account-guid:ACT-… read-protected`):
    /// space-separated words in any order, each guid exactly once; `read-protected` is the only
    /// feature and is implied.
    pub fn parse(raw: &str) -> Result<Self, ScopeError> {
        let (mut user, mut member, mut account) = (None, None, None);
        let mut words = 0;
        for word in raw.split_whitespace() {
            words += 1;
            if word == READ_PROTECTED {
                continue;
            }
            let (name, value) = word.split_once(':').ok_or_else(|| ScopeError::Unknown(word.to_owned()))?;
            let malformed = || ScopeError::Malformed(value.to_owned());
            match name {
                "user-guid" => set(&mut user, UserGuid::parse(value).ok_or_else(malformed)?, "user-guid")?,
                "member-guid" => set(&mut member, MemberGuid::parse(value).ok_or_else(malformed)?, "member-guid")?,
                "account-guid" => set(&mut account, AccountGuid::parse(value).ok_or_else(malformed)?, "account-guid")?,
                _ => return Err(ScopeError::Unknown(word.to_owned())),
            }
        }
        if words == 0 {
            return Err(ScopeError::Empty);
        }
        Ok(Self {
            user: user.ok_or(ScopeError::Missing("user-guid"))?,
            member: member.ok_or(ScopeError::Missing("member-guid"))?,
            account: account.ok_or(ScopeError::Missing("account-guid"))?,
        })
    }
}

fn set<T>(slot: &mut Option<T>, value: T, name: &'static str) -> Result<(), ScopeError> {
    if slot.replace(value).is_some() {
        return Err(ScopeError::Repeated(name));
    }
    Ok(())
}

impl fmt::Display for Scope {
    /// The scope as MX writes it back (in the token response).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "user-guid:{} member-guid:{} account-guid:{} {READ_PROTECTED}",
            self.user.as_str(),
            self.member.as_str(),
            self.account.as_str()
        )
    }
}

/// The message for an account whose numbers no verification released.
pub const NOT_VERIFIED: &str =
    "The member has not been verified for this account: run a verification and choose the account before requesting an authorization code.";

/// Whether a verification released `account`'s numbers.
pub fn is_verified(account: &AccountRecord) -> bool {
    account.numbers_verified && account.account_number.is_some() && account.routing_number.is_some()
}

/// Mints a single-use authorization code for `scope`: the member must belong to the user, the
/// account to the member, and a verification must have released the account's numbers.
/// Returns the code (only its hash is stored).
pub async fn request_code(state: &AppState, tenant: TenantId, scope: Scope) -> Result<String, MxError> {
    let code = random_url_token();
    let now = state.now(tenant).await?;
    let record = ProcessorCodeRecord {
        code_hash: hash_token(&code),
        tenant_id: tenant,
        user_guid: scope.user.clone(),
        member_guid: scope.member.clone(),
        account_guid: scope.account.clone(),
        scope: scope.to_string(),
        expires_at: now.plus_millis(CODE_TTL_MS),
        used_at: None,
        created_at: now,
    };
    state
        .store
        .write(move |c| {
            Box::pin(async move {
                let Some(user) = users::find(c, tenant, scope.user.as_str(), false).await? else {
                    return Ok(Err(MxError::NotFound));
                };
                if user.is_disabled {
                    return Ok(Err(MxError::Forbidden("This user is disabled.".into())));
                }
                if members::find(c, tenant, &user.guid, scope.member.as_str(), false).await?.is_none() {
                    return Ok(Err(MxError::NotFound));
                }
                match accounts::find(c, tenant, &user.guid, scope.account.as_str()).await? {
                    Some(a) if a.member_guid != scope.member => return Ok(Err(MxError::NotFound)),
                    Some(a) if !is_verified(&a) => return Ok(Err(MxError::Unprocessable(NOT_VERIFIED.into()))),
                    Some(_) => {}
                    None => return Ok(Err(MxError::NotFound)),
                }
                repo::insert_code(c, &record).await?;
                Ok(Ok(()))
            })
        })
        .await??;
    Ok(code)
}

/// Why an authorization code did not redeem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No such code for this tenant (another tenant's code reads the same).
    Unknown,
    /// Redeemed before.
    Used,
    /// Past its ten minutes.
    Expired,
}

impl Refusal {
    /// What the processor is told.
    pub fn message(self) -> &'static str {
        match self {
            Self::Unknown => "The authorization code is invalid.",
            Self::Used => "The authorization code has already been used.",
            Self::Expired => "The authorization code has expired.",
        }
    }
}

/// A redeemed code: the access token (shown once) and its stored record.
pub struct Grant {
    pub access_token: String,
    pub token: ProcessorTokenRecord,
}

impl fmt::Debug for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grant").field("access_token", &"<redacted>").field("scope", &self.token.scope).finish()
    }
}

/// Redeems the tenant's authorization `code` into an access token, consuming the code in one
/// conditional statement within the write that stores the token.
pub async fn redeem(state: &AppState, tenant: TenantId, code: &str) -> Result<Result<Grant, Refusal>, MxError> {
    let code_hash = hash_token(code.trim());
    let access_token = random_url_token();
    let token_hash = hash_token(&access_token);
    let now = state.now(tenant).await?;
    let outcome = state
        .store
        .write(move |c| {
            Box::pin(async move {
                let Some(used) = repo::redeem_code(c, tenant, &code_hash, now).await? else {
                    let refusal = match repo::find_code(c, tenant, &code_hash).await? {
                        Some(found) if found.used_at.is_some() => Refusal::Used,
                        Some(_) => Refusal::Expired,
                        None => Refusal::Unknown,
                    };
                    return Ok(Err(refusal));
                };
                let token = ProcessorTokenRecord {
                    token_hash,
                    tenant_id: tenant,
                    user_guid: used.user_guid,
                    member_guid: used.member_guid,
                    account_guid: used.account_guid,
                    scope: used.scope,
                    expires_at: now.plus_millis(TOKEN_TTL_MS),
                    created_at: now,
                };
                repo::insert_token(c, &token).await?;
                Ok(Ok(token))
            })
        })
        .await?;
    Ok(outcome.map(|token| Grant { access_token, token }))
}

/// The live token `access_token` names, if any.
pub async fn token_of(state: &AppState, access_token: &str) -> Result<Option<ProcessorTokenRecord>, MxError> {
    // Real time: the store compares it with the tenant's clock in SQL.
    let (hash, now) = (hash_token(access_token.trim()), state.clock.now());
    Ok(state.store.read(|mut c| async move { repo::find_live_token(&mut c, &hash, now).await }).await?)
}

/// The user, member and account a token reads, as they stand now; an account whose numbers are
/// no longer released reads as gone.
pub async fn granted(
    state: &AppState,
    token: &ProcessorTokenRecord,
) -> Result<(UserRecord, MemberRecord, AccountRecord), MxError> {
    let (tenant, user, member, account) =
        (token.tenant_id, token.user_guid.clone(), token.member_guid.clone(), token.account_guid.clone());
    let found = state
        .store
        .read(|mut c| async move {
            let Some(u) = users::find(&mut c, tenant, user.as_str(), false).await? else { return Ok(None) };
            let Some(m) = members::find(&mut c, tenant, &u.guid, member.as_str(), false).await? else {
                return Ok(None);
            };
            let a = accounts::find(&mut c, tenant, &u.guid, account.as_str()).await?;
            Ok(a.filter(|a| a.member_guid == m.guid).map(|a| (u, m, a)))
        })
        .await?;
    found.filter(|(_, _, a)| is_verified(a)).ok_or(MxError::NotFound)
}

/// The guid that names the processor a tenant's tokens were issued to: in openiav the processor
/// authenticates as the tenant's own client, so one per tenant.
pub fn processor_guid(tenant: TenantId) -> String {
    format!("PPR-{tenant}")
}

/// A request a processor makes with `Authorization: Bearer <access token>`: the live token.
pub struct ProcessorAuth(pub ProcessorTokenRecord);

impl FromRequestParts<AppState> for ProcessorAuth {
    type Rejection = MxError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let value = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let token = value
            .split_once(' ')
            .filter(|(scheme, t)| scheme.eq_ignore_ascii_case("bearer") && !t.trim().is_empty())
            .map(|(_, t)| t.trim())
            .ok_or(MxError::InvalidAccessToken)?;
        token_of(state, token).await?.map(ProcessorAuth).ok_or(MxError::InvalidAccessToken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: &str = "USR-101ad774-288b-44ed-ad16-da87d522ea20";
    const M: &str = "MBR-54feffb9-8474-47bd-8442-de003910113a";
    const A: &str = "ACT-32a64160-582a-4f00-ab34-5f49cc35ed35";

    fn scope() -> Scope {
        Scope {
            user: UserGuid::parse(U).unwrap(),
            member: MemberGuid::parse(M).unwrap(),
            account: AccountGuid::parse(A).unwrap(),
        }
    }

    #[test]
    fn mx_example_scope_parses_and_prints_back_the_same() {
        let raw = format!("user-guid:{U} member-guid:{M} account-guid:{A} read-protected");
        let parsed = Scope::parse(&raw).unwrap();
        assert_eq!(parsed, scope());
        assert_eq!(parsed.to_string(), raw);
    }

    #[test]
    fn words_come_in_any_order_and_read_protected_is_implied() {
        assert_eq!(Scope::parse(&format!("  account-guid:{A}\tuser-guid:{U} member-guid:{M} ")), Ok(scope()));
    }

    #[test]
    fn every_guid_is_required_once() {
        assert_eq!(Scope::parse(""), Err(ScopeError::Empty));
        assert_eq!(Scope::parse("   "), Err(ScopeError::Empty));
        assert_eq!(Scope::parse("read-protected"), Err(ScopeError::Missing("user-guid")));
        assert_eq!(Scope::parse(&format!("user-guid:{U} account-guid:{A}")), Err(ScopeError::Missing("member-guid")));
        assert_eq!(Scope::parse(&format!("user-guid:{U} member-guid:{M}")), Err(ScopeError::Missing("account-guid")));
        assert_eq!(
            Scope::parse(&format!("user-guid:{U} member-guid:{M} member-guid:{M} account-guid:{A}")),
            Err(ScopeError::Repeated("member-guid"))
        );
    }

    #[test]
    fn malformed_guids_and_unknown_words_are_refused() {
        assert_eq!(
            Scope::parse(&format!("user-guid:{M} member-guid:{M} account-guid:{A}")),
            Err(ScopeError::Malformed(M.into())),
            "a member guid is no user guid"
        );
        assert_eq!(
            Scope::parse(&format!("user-guid:USR-% member-guid:{M} account-guid:{A}")),
            Err(ScopeError::Malformed("USR-%".into()))
        );
        assert_eq!(
            Scope::parse(&format!("user-guid:{U} member-guid:{M} account-guid:{A} write-all")),
            Err(ScopeError::Unknown("write-all".into()))
        );
        assert_eq!(Scope::parse(&format!("user_guid:{U}")), Err(ScopeError::Unknown(format!("user_guid:{U}"))));
    }

    #[test]
    fn processor_guids_name_the_tenant() {
        let tenant = TenantId::generate();
        assert_eq!(processor_guid(tenant), format!("PPR-{tenant}"));
    }

    #[test]
    fn a_grant_never_prints_its_token() {
        let token = ProcessorTokenRecord {
            token_hash: "h".into(),
            tenant_id: TenantId::generate(),
            user_guid: UserGuid::parse(U).unwrap(),
            member_guid: MemberGuid::parse(M).unwrap(),
            account_guid: AccountGuid::parse(A).unwrap(),
            scope: "read-protected".into(),
            expires_at: openiav_core::clock::Timestamp::from_millis(1),
            created_at: openiav_core::clock::Timestamp::from_millis(0),
        };
        let grant = Grant { access_token: "secret-token-value".into(), token };
        assert!(!format!("{grant:?}").contains("secret-token-value"));
    }
}
