//! Which partners open sessions, and the redirect URL each needs (seed 004's rules).

use crate::body::{is_http_url, Lenient};
use crate::partners::Kind;

/// Whether a partner hands a customer over through an exchange session.
pub fn offers_sessions(kind: Kind) -> bool {
    matches!(kind, Kind::Mx | Kind::Plaid | Kind::Visa)
}

/// Why a redirect URL is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedirectRefusal {
    /// Missing where required, not a string, or not of the partner's form.
    Invalid,
    /// Not one of the URLs the tenant configured (Visa).
    NotConfigured,
}

/// The redirect URL a session with a `kind` partner keeps, out of what the request gave:
/// Visa needs one of the `configured` URLs; Plaid takes none (web), an HTTP(S) URL (iOS) or an
/// Android package name; MX keeps an HTTP(S) URL and ignores anything else.
pub fn redirect_url(
    kind: Kind,
    given: Option<Lenient<&str>>,
    configured: &[String],
) -> Result<Option<String>, RedirectRefusal> {
    let redirect = match given {
        None => None,
        Some(Lenient::Valid(url)) => Some(url.trim().to_owned()),
        Some(Lenient::Malformed) => return Err(RedirectRefusal::Invalid),
    };
    match kind {
        Kind::Visa => {
            let url = redirect.filter(|u| is_http_url(u)).ok_or(RedirectRefusal::Invalid)?;
            if !configured.contains(&url) {
                return Err(RedirectRefusal::NotConfigured);
            }
            Ok(Some(url))
        }
        Kind::Plaid => match redirect {
            None => Ok(None),
            Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
                is_http_url(&u).then_some(Some(u)).ok_or(RedirectRefusal::Invalid)
            }
            Some(p) if is_package_name(&p) => Ok(Some(p)),
            Some(_) => Err(RedirectRefusal::Invalid),
        },
        Kind::Mx | Kind::TokenOnly | Kind::Checkout => Ok(redirect.filter(|u| is_http_url(u))),
    }
}

/// An Android package name (`com.example.app`), which Plaid takes in place of a redirect URL.
fn is_package_name(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() >= 2
        && parts.iter().all(|p| {
            let mut chars = p.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIGURED: &str = "https://app.example.com/back";

    fn given(url: &str) -> Option<Lenient<&str>> {
        Some(Lenient::Valid(url))
    }

    fn redirect(kind: Kind, given: Option<Lenient<&str>>) -> Result<Option<String>, RedirectRefusal> {
        redirect_url(kind, given, &[CONFIGURED.to_owned()])
    }

    #[test]
    fn only_mx_plaid_and_visa_open_sessions() {
        assert!(offers_sessions(Kind::Mx) && offers_sessions(Kind::Plaid) && offers_sessions(Kind::Visa));
        assert!(!offers_sessions(Kind::TokenOnly) && !offers_sessions(Kind::Checkout));
    }

    #[test]
    fn visa_needs_a_configured_url_exactly() {
        assert_eq!(redirect(Kind::Visa, given(CONFIGURED)), Ok(Some(CONFIGURED.to_owned())));
        assert_eq!(redirect(Kind::Visa, given(&format!(" {CONFIGURED} "))), Ok(Some(CONFIGURED.to_owned())));
        assert_eq!(redirect(Kind::Visa, given("https://other.example.com")), Err(RedirectRefusal::NotConfigured));
        assert_eq!(redirect(Kind::Visa, given("not a url")), Err(RedirectRefusal::Invalid));
        assert_eq!(redirect(Kind::Visa, None), Err(RedirectRefusal::Invalid));
    }

    #[test]
    fn plaid_takes_nothing_a_url_or_an_android_package() {
        assert_eq!(redirect(Kind::Plaid, None), Ok(None));
        assert_eq!(
            redirect(Kind::Plaid, given("https://app.example.com/oauth")).unwrap().as_deref(),
            Some("https://app.example.com/oauth")
        );
        assert_eq!(redirect(Kind::Plaid, given("com.example.app")).unwrap().as_deref(), Some("com.example.app"));
        for refused in ["https://", "com", "1com.example", "com..app", "not a url"] {
            assert_eq!(redirect(Kind::Plaid, given(refused)), Err(RedirectRefusal::Invalid), "{refused}");
        }
    }

    #[test]
    fn mx_keeps_a_url_and_ignores_anything_else() {
        assert_eq!(
            redirect(Kind::Mx, given("https://app.example.com")).unwrap().as_deref(),
            Some("https://app.example.com")
        );
        assert_eq!(redirect(Kind::Mx, given("not a url")), Ok(None));
        assert_eq!(redirect(Kind::Mx, None), Ok(None));
    }

    #[test]
    fn a_redirect_of_the_wrong_type_is_invalid_for_every_partner() {
        for kind in [Kind::Mx, Kind::Plaid, Kind::Visa] {
            assert_eq!(redirect(kind, Some(Lenient::Malformed)), Err(RedirectRefusal::Invalid), "{kind:?}");
        }
    }
}
