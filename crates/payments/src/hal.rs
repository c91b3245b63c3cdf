//! Dwolla's HAL conventions: the media type, link objects with `type` and `resource-type`,
//! 201s with an absolute `Location`, paging links, and reading ids out of `_links.*.href`
//! whatever host they name.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// Dwolla's media type.
pub const HAL: &str = "application/vnd.dwolla.v1.hal+json";
pub const HAL_CONTENT_TYPE: &str = "application/vnd.dwolla.v1.hal+json; charset=UTF-8";

/// A link object to `path` under the public base URL.
pub fn link(base: &str, path: &str, resource_type: &str) -> Value {
    json!({ "href": format!("{base}{path}"), "type": HAL, "resource-type": resource_type })
}

/// A 200 answer with a HAL body.
pub fn ok(body: &Value) -> Response {
    with_status(StatusCode::OK, body)
}

pub fn with_status(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(HAL_CONTENT_TYPE));
    resp
}

/// The id that `href` names inside `collection` (`…/exchanges/<id>`), ignoring scheme and host:
/// Dwolla's own samples hard-code Dwolla's hosts in bodies.
pub fn id_from_href(href: &str, collection: &str) -> Option<String> {
    let path = match url::Url::parse(href) {
        Ok(u) => u.path().to_owned(),
        Err(_) => href.split(['?', '#']).next().unwrap_or_default().to_owned(),
    };
    let mut segments = path.trim_end_matches('/').rsplit('/');
    let id = segments.next()?;
    (segments.next()? == collection && !id.is_empty()).then(|| id.to_ascii_lowercase())
}

/// `limit`/`offset` paging links (`self`, `first`, `last`, `next`, `prev`) for a list at `path`;
/// `query` holds the list's other parameters, already encoded.
pub fn paging_links(base: &str, path: &str, query: &str, rt: &str, limit: i64, offset: i64, total: i64) -> Value {
    let href = |off: i64| {
        let extra = if query.is_empty() { String::new() } else { format!("&{query}") };
        link(base, &format!("{path}?limit={limit}&offset={off}{extra}"), rt)
    };
    let last = if total == 0 { 0 } else { ((total - 1) / limit) * limit };
    let mut links = json!({ "self": href(offset), "first": href(0), "last": href(last) });
    if offset + limit < total {
        links["next"] = href(offset + limit);
    }
    if offset > 0 {
        links["prev"] = href((offset - limit).max(0));
    }
    links
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs_resolve_by_path_whatever_the_host() {
        let id = "0b1f7b7e-1a2b-4c3d-8e9f-0a1b2c3d4e5f";
        assert_eq!(
            id_from_href(&format!("https://api-sandbox.dwolla.com/exchanges/{id}"), "exchanges").as_deref(),
            Some(id)
        );
        assert_eq!(id_from_href(&format!("http://127.0.0.1:8081/exchanges/{id}/"), "exchanges").as_deref(), Some(id));
        assert_eq!(id_from_href(&format!("/exchanges/{}", id.to_uppercase()), "exchanges").as_deref(), Some(id));
        assert_eq!(id_from_href(&format!("https://x/customers/{id}"), "exchanges"), None);
        assert_eq!(id_from_href("https://x/exchanges/", "exchanges"), None);
        assert_eq!(id_from_href("", "exchanges"), None);
    }

    #[test]
    fn paging_links_follow_limit_and_offset() {
        let links = paging_links("http://h", "/customers", "search=jo", "customer", 25, 25, 60);
        assert_eq!(links["self"]["href"], "http://h/customers?limit=25&offset=25&search=jo");
        assert_eq!(links["last"]["href"], "http://h/customers?limit=25&offset=50&search=jo");
        assert_eq!(links["next"]["href"], "http://h/customers?limit=25&offset=50&search=jo");
        assert_eq!(links["prev"]["href"], "http://h/customers?limit=25&offset=0&search=jo");
        let single = paging_links("http://h", "/events", "", "event", 25, 0, 3);
        assert!(single.get("next").is_none() && single.get("prev").is_none());
    }
}
