//! Dwolla's HAL conventions: the media type, link objects with `type` and `resource-type`,
//! 201s with an absolute `Location`, paging links, and reading ids out of `_links.*.href`
//! whatever host they name.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;

use serde::Serialize;

/// Dwolla's media type.
pub const HAL: &str = "application/vnd.dwolla.v1.hal+json";
pub const HAL_CONTENT_TYPE: &str = "application/vnd.dwolla.v1.hal+json; charset=UTF-8";

/// One HAL link object: `{"href", "resource-type", "type"}` (in the order earlier answers,
/// and so stored idempotent replays, carry them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Link {
    pub href: String,
    #[serde(rename = "resource-type")]
    pub resource_type: &'static str,
    #[serde(rename = "type")]
    pub media_type: &'static str,
}

/// A link object to `path` under the public base URL.
pub fn link(base: &str, path: &str, resource_type: &'static str) -> Link {
    Link { href: format!("{base}{path}"), media_type: HAL, resource_type }
}

/// A resource's `_links`, by relation name; the one way every view builds them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Links(BTreeMap<&'static str, Link>);

impl Links {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `rel` pointing at `path` under `base`.
    pub fn with(mut self, rel: &'static str, base: &str, path: &str, resource_type: &'static str) -> Self {
        self.0.insert(rel, link(base, path, resource_type));
        self
    }

    /// Adds `rel` only when `present`.
    pub fn with_if(self, present: bool, rel: &'static str, base: &str, path: &str, rt: &'static str) -> Self {
        if present {
            self.with(rel, base, path, rt)
        } else {
            self
        }
    }

    /// Adds the owner of a funding source or transfer: `customer`, or `account` when the
    /// tenant's account owns it itself.
    pub fn with_owner(self, base: &str, tenant: openiav_core::ids::TenantId, customer: Option<&str>) -> Self {
        match customer {
            Some(id) => self.with("customer", base, &format!("/customers/{id}"), "customer"),
            None => self.with("account", base, &format!("/accounts/{tenant}"), "account"),
        }
    }

    pub fn get(&self, rel: &str) -> Option<&Link> {
        self.0.get(rel)
    }

    /// `limit`/`offset` paging links (`self`, `first`, `last`, `next`, `prev`) for a list at
    /// `path`; `query` holds the list's other parameters, already encoded.
    pub fn paging(base: &str, path: &str, query: &str, rt: &'static str, page: Paging) -> Self {
        let Paging { limit, offset, total } = page;
        let href = |off: i64| {
            let extra = if query.is_empty() { String::new() } else { format!("&{query}") };
            format!("{path}?limit={limit}&offset={off}{extra}")
        };
        let last = if total == 0 { 0 } else { ((total - 1) / limit) * limit };
        Self::new()
            .with("self", base, &href(offset), rt)
            .with("first", base, &href(0), rt)
            .with("last", base, &href(last), rt)
            .with_if(offset + limit < total, "next", base, &href(offset + limit), rt)
            .with_if(offset > 0, "prev", base, &href((offset - limit).max(0)), rt)
    }
}

/// Where a page of a list stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paging {
    pub limit: i64,
    pub offset: i64,
    pub total: i64,
}

/// A HAL list, `{"_embedded":{<rel>:[…]},"_links":…,"total":n}` (keys in the order list
/// bodies have always had).
#[derive(Clone, Debug, Serialize)]
pub struct Collection<T> {
    #[serde(rename = "_embedded")]
    embedded: BTreeMap<&'static str, Vec<T>>,
    #[serde(rename = "_links")]
    links: Links,
    total: i64,
}

impl<T> Collection<T> {
    /// A page of `total` items, embedded under `rel`.
    pub fn page(rel: &'static str, items: Vec<T>, links: Links, total: i64) -> Self {
        Self { embedded: BTreeMap::from([(rel, items)]), links, total }
    }

    /// A whole list: its total is its length.
    pub fn all(rel: &'static str, items: Vec<T>, links: Links) -> Self {
        let total = items.len() as i64;
        Self::page(rel, items, links, total)
    }
}

/// A 200 answer with a HAL body.
pub fn ok(body: &impl Serialize) -> Response {
    with_status(StatusCode::OK, body)
}

pub fn with_status(status: StatusCode, body: &impl Serialize) -> Response {
    let body = serde_json::to_string(body).expect("views serialise");
    let mut resp = (status, body).into_response();
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
        let page = Paging { limit: 25, offset: 25, total: 60 };
        let links = Links::paging("http://h", "/customers", "search=jo", "customer", page);
        let href = |rel: &str| links.get(rel).map(|l| l.href.as_str());
        assert_eq!(href("self"), Some("http://h/customers?limit=25&offset=25&search=jo"));
        assert_eq!(href("last"), Some("http://h/customers?limit=25&offset=50&search=jo"));
        assert_eq!(href("next"), Some("http://h/customers?limit=25&offset=50&search=jo"));
        assert_eq!(href("prev"), Some("http://h/customers?limit=25&offset=0&search=jo"));
        let single = Links::paging("http://h", "/events", "", "event", Paging { limit: 25, offset: 0, total: 3 });
        assert!(single.get("next").is_none() && single.get("prev").is_none());
    }

    #[test]
    fn collections_embed_their_items_under_their_relation() {
        let links = Links::new().with("self", "http://h", "/events", "event");
        let list = Collection::all("events", vec![1, 2], links);
        assert_eq!(
            serde_json::to_string(&list).unwrap(),
            r#"{"_embedded":{"events":[1,2]},"_links":{"self":{"href":"http://h/events","resource-type":"event","type":"application/vnd.dwolla.v1.hal+json"}},"total":2}"#
        );
    }

    #[test]
    fn links_serialise_as_dwolla_link_objects() {
        let links = Links::new().with("self", "http://h", "/customers/1", "customer").with_if(
            false,
            "edit",
            "http://h",
            "/customers/1",
            "customer",
        );
        assert_eq!(
            serde_json::to_string(&links).unwrap(),
            r#"{"self":{"href":"http://h/customers/1","resource-type":"customer","type":"application/vnd.dwolla.v1.hal+json"}}"#
        );
    }
}
