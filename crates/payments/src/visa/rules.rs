//! Dwolla's Visa redirect as pure decisions: what the partner's redirect says, and where the
//! browser lands after it.

use openiav_core::visa::VisaError;

/// What the partner's redirect back to `/redirect/tink` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// The end user chose an account: a code to redeem.
    Code(&'a str),
    /// The flow ended without one.
    Error(VisaError),
}

/// The outcome a redirect's `code` and `error` carry: an error wins, and one Dwolla does not
/// name (the partner's `BAD_REQUEST`, `INTERNAL_ERROR`…) reads as a temporary one; neither is
/// no outcome.
pub fn outcome<'a>(code: Option<&'a str>, error: Option<&'a str>) -> Option<Outcome<'a>> {
    if let Some(error) = error.map(str::trim).filter(|e| !e.is_empty()) {
        return Some(Outcome::Error(error.parse().unwrap_or(VisaError::TemporaryError)));
    }
    code.map(str::trim).filter(|c| !c.is_empty()).map(Outcome::Code)
}

/// Where the browser lands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Landing {
    /// `?exchange=<id>`: the exchange the session made (or re-authenticated).
    Exchange(String),
    /// `?error=<CODE>`.
    Error(VisaError),
}

/// The session's redirect URL with the landing appended to whatever query it already has.
pub fn landing_url(redirect_url: &str, landing: &Landing) -> String {
    let (name, value) = match landing {
        Landing::Exchange(id) => ("exchange", id.as_str()),
        Landing::Error(e) => ("error", e.as_str()),
    };
    match url::Url::parse(redirect_url) {
        Ok(mut url) => {
            url.query_pairs_mut().append_pair(name, value);
            url.into()
        }
        // Sessions keep only HTTP(S) URLs; this is the fallback for one that no longer parses.
        Err(_) => {
            let pair = url::form_urlencoded::Serializer::new(String::new()).append_pair(name, value).finish();
            let (before, fragment) = redirect_url.split_once('#').map_or((redirect_url, None), |(b, f)| (b, Some(f)));
            let sep = if !before.contains('?') {
                "?"
            } else if before.ends_with('?') || before.ends_with('&') {
                ""
            } else {
                "&"
            };
            let mut out = format!("{before}{sep}{pair}");
            if let Some(fragment) = fragment {
                out.push('#');
                out.push_str(fragment);
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_wins_over_a_code_and_unknown_errors_are_temporary() {
        assert_eq!(outcome(Some("abc"), None), Some(Outcome::Code("abc")));
        assert_eq!(outcome(Some(" abc "), Some("")), Some(Outcome::Code("abc")));
        assert_eq!(outcome(Some("abc"), Some("USER_CANCELLED")), Some(Outcome::Error(VisaError::UserCancelled)));
        assert_eq!(outcome(None, Some("AUTHENTICATION_ERROR")), Some(Outcome::Error(VisaError::AuthenticationError)));
        assert_eq!(outcome(None, Some("TEMPORARY_ERROR")), Some(Outcome::Error(VisaError::TemporaryError)));
        assert_eq!(outcome(None, Some("INTERNAL_ERROR")), Some(Outcome::Error(VisaError::TemporaryError)));
        assert_eq!(outcome(None, None), None);
        assert_eq!(outcome(Some("  "), Some(" ")), None);
    }

    #[test]
    fn the_landing_is_appended_to_the_redirect_urls_query() {
        let exchange = Landing::Exchange("e-1".into());
        assert_eq!(
            landing_url("http://localhost:3000/create-funding-source", &exchange),
            "http://localhost:3000/create-funding-source?exchange=e-1"
        );
        assert_eq!(
            landing_url("https://app.example.com/back?x=1", &exchange),
            "https://app.example.com/back?x=1&exchange=e-1"
        );
        assert_eq!(
            landing_url("https://app.example.com/back?x=1#top", &Landing::Error(VisaError::UserCancelled)),
            "https://app.example.com/back?x=1&error=USER_CANCELLED#top"
        );
        assert_eq!(landing_url("not a url?", &exchange), "not a url?exchange=e-1");
        assert_eq!(landing_url("not a url?a=1#f", &exchange), "not a url?a=1&exchange=e-1#f");
        assert_eq!(landing_url("nope", &Landing::Error(VisaError::TemporaryError)), "nope?error=TEMPORARY_ERROR");
    }
}
