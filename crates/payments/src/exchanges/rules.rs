//! What an exchange (and an exchange session) requires of its customer and its token.

use openiav_core::payments::CustomerStatus;

/// Whether a customer in `status` may connect accounts: not once deactivated or suspended.
pub fn customer_may_connect(status: CustomerStatus) -> bool {
    !matches!(status, CustomerStatus::Deactivated | CustomerStatus::Suspended)
}

/// Whether `token` looks like a public token Plaid's sandbox hands out.
pub fn plaid_public_token_is_valid(token: &str) -> bool {
    token.starts_with("public-sandbox-") && token.len() >= 20
}

/// The secure-exchange token a body carries, if any: a blank one counts as none (so the body
/// falls back to the partner's own token field and its "required" error).
pub fn secure_token(token: Option<&str>) -> Option<&str> {
    token.map(str::trim).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_deactivated_or_suspended_customers_may_not_connect() {
        for &status in CustomerStatus::ALL {
            let refused = matches!(status, CustomerStatus::Deactivated | CustomerStatus::Suspended);
            assert_eq!(customer_may_connect(status), !refused, "{status}");
        }
    }

    #[test]
    fn plaid_public_tokens_are_sandbox_tokens_of_some_length() {
        assert!(plaid_public_token_is_valid("public-sandbox-12345"));
        assert!(!plaid_public_token_is_valid("public-sandbox-1234"), "too short");
        assert!(!plaid_public_token_is_valid("public-production-12345678"));
        assert!(!plaid_public_token_is_valid(""));
    }

    #[test]
    fn a_blank_secure_token_is_no_token() {
        assert_eq!(secure_token(Some("  abc\n")), Some("abc"));
        assert_eq!(secure_token(Some(" \t")), None);
        assert_eq!(secure_token(Some("")), None);
        assert_eq!(secure_token(None), None);
    }
}
