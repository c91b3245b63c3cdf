//! Typed identifiers: MX-style prefixed guids (`USR-…`, `MBR-…`) and tenant ids.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A string that is not an id of the kind it was read as.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a valid {kind}")]
pub struct InvalidId {
    /// The id type's name, e.g. `UserGuid`.
    pub kind: &'static str,
    pub value: String,
}

/// Declares a prefixed guid type such as `USR-1a2b…`, minted from a random UUID.
macro_rules! guid_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The prefix every guid of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// Mints a fresh random guid.
            pub fn generate() -> Self {
                Self(format!("{}-{}", $prefix, uuid::Uuid::new_v4()))
            }

            /// Accepts a string that carries this kind's prefix; anything else is not such a guid.
            pub fn parse(s: &str) -> Option<Self> {
                Self::is_valid(s).then(|| Self(s.to_owned()))
            }

            fn is_valid(s: &str) -> bool {
                let Some(rest) = s.strip_prefix($prefix).and_then(|r| r.strip_prefix('-')) else { return false };
                !rest.is_empty() && rest.len() <= 64 && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            }

            /// Wraps a value read back from storage, where it was validated on the way in.
            pub fn from_stored(s: String) -> Self {
                Self(s)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        /// Accepts what [`Self::parse`] accepts (the store reads ids back through this).
        impl TryFrom<String> for $name {
            type Error = InvalidId;

            fn try_from(s: String) -> Result<Self, InvalidId> {
                if Self::is_valid(&s) {
                    Ok(Self(s))
                } else {
                    Err(InvalidId { kind: stringify!($name), value: s })
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

guid_type!(
    /// An MX user (`USR-…`).
    UserGuid, "USR");
guid_type!(
    /// An MX member: one user's connection to one institution (`MBR-…`).
    MemberGuid, "MBR");
guid_type!(
    /// An account discovered on a member (`ACT-…`).
    AccountGuid, "ACT");
guid_type!(
    /// An account-number record (`ACN-…`).
    AccountNumberGuid, "ACN");
guid_type!(
    /// An account owner record (`ACO-…`).
    AccountOwnerGuid, "ACO");
guid_type!(
    /// A transaction (`TRN-…`).
    TransactionGuid, "TRN");
guid_type!(
    /// A credential field or an MFA challenge (`CRD-…`).
    CredentialGuid, "CRD");
guid_type!(
    /// An institution (`INS-…`).
    InstitutionGuid, "INS");
guid_type!(
    /// A Connect widget session (`SES-…`), the `session_guid` of the widget's post messages.
    WidgetSessionGuid, "SES");

/// A tenant: one organisation using openiav. Every stored row belongs to exactly one.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TenantId(uuid::Uuid);

impl TenantId {
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4())
    }

    pub fn parse(s: &str) -> Option<Self> {
        uuid::Uuid::parse_str(s).ok().map(Self)
    }
}

impl TryFrom<String> for TenantId {
    type Error = InvalidId;

    fn try_from(s: String) -> Result<Self, InvalidId> {
        Self::parse(&s).ok_or(InvalidId { kind: "TenantId", value: s })
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A stable guid `PREFIX-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` derived from `parts`, for records
/// that must keep the same guid every time they are computed (catalog credentials, sandbox data).
pub fn derived_guid(prefix: &str, parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    let hex = hex::encode(&h.finalize()[..16]);
    format!("{prefix}-{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_parse_requires_its_own_prefix() {
        let user = UserGuid::generate();
        assert!(UserGuid::parse(user.as_str()).is_some());
        assert!(MemberGuid::parse(user.as_str()).is_none());
        assert!(UserGuid::parse("USR-").is_none());
        assert!(UserGuid::parse("USR-a b").is_none());
        assert!(UserGuid::parse("partner-2345").is_none());
        assert_eq!(UserGuid::try_from(user.as_str().to_owned()), Ok(user.clone()));
        let err = MemberGuid::try_from(user.into_string()).unwrap_err();
        assert!(err.to_string().ends_with("is not a valid MemberGuid"), "{err}");
        let tenant = TenantId::generate();
        assert_eq!(TenantId::try_from(tenant.to_string()), Ok(tenant));
        assert_eq!(TenantId::try_from("t".to_owned()).unwrap_err().to_string(), "\"t\" is not a valid TenantId");
    }

    #[test]
    fn derived_guids_are_stable_and_unambiguous() {
        let g = derived_guid("CRD", &["a", "b"]);
        assert_eq!(g, derived_guid("CRD", &["a", "b"]));
        assert_ne!(g, derived_guid("CRD", &["ab", ""]));
        assert!(CredentialGuid::parse(&g).is_some());
    }
}
