//! What browsers say about a request that openiav's own pages (the widget, Link) rely on.

/// Whether a browser labelled a request as sent from another site (`Sec-Fetch-Site` other than
/// `same-origin`, or `none` for a request the user typed). Requests without the header (not
/// from a browser) are not cross-site: they cannot carry the page's session header by accident.
pub fn is_cross_site(sec_fetch_site: Option<&[u8]>) -> bool {
    sec_fetch_site.is_some_and(|site| site != b"same-origin" && site != b"none")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_request_from_another_site_is_cross_site() {
        assert!(!is_cross_site(None));
        assert!(!is_cross_site(Some(b"same-origin")));
        assert!(!is_cross_site(Some(b"none")));
        assert!(is_cross_site(Some(b"same-site")));
        assert!(is_cross_site(Some(b"cross-site")));
    }
}
