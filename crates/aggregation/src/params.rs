//! Request parsing at the edge: JSON bodies whatever their content type, query strings with
//! `name[]` arrays, and MX pagination.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use openiav_store::repo::PageRequest;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::MxError;

/// A JSON body parsed into `T`; any failure is a 400 in MX's envelope.
pub struct MxJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for MxJson<T> {
    type Rejection = MxError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| MxError::bad_request("The request body could not be read."))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(MxError::bad_request("A JSON request body is required."));
        }
        // serde reads a struct from an array too; every MX body is an object.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(MxError::bad_request(NOT_AN_OBJECT));
        }
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut de).map_err(|e| MxError::bad_request(body_error(&e)))?;
        de.end().map_err(|_| MxError::bad_request(NOT_JSON))?;
        Ok(MxJson(value))
    }
}

const NOT_JSON: &str = "The request body must be valid JSON.";
const NOT_AN_OBJECT: &str = "The request body must be a JSON object.";

/// What is wrong with a body, in the client's terms: the field by its path and what it must
/// be. The parser's own words (types, line and column) never reach the client.
fn body_error(e: &serde_path_to_error::Error<serde_json::Error>) -> String {
    use serde_json::error::Category;
    if !matches!(e.inner().classify(), Category::Data) {
        return NOT_JSON.into();
    }
    let path = e.path().to_string();
    let at_root = path == ".";
    let message = e.inner().to_string();
    // serde_json appends the position to every message.
    let message = message.rfind(" at line ").map_or(message.as_str(), |i| &message[..i]);
    if let Some(field) = message.strip_prefix("missing field `").and_then(|m| m.strip_suffix('`')) {
        return if at_root { format!("`{field}` is required.") } else { format!("`{path}.{field}` is required.") };
    }
    let expected = message
        .split_once(", expected ")
        .map(|(_, exp)| exp)
        .or_else(|| message.starts_with(['a', 'e', 'i', 'o', 'u']).then_some(message).filter(|m| m.contains(' ')));
    match expected.map(expectation) {
        Some(what) if at_root && what == "an object" => NOT_AN_OBJECT.into(),
        Some(what) if at_root => format!("The request body must be {what}."),
        Some(what) => format!("`{path}` must be {what}."),
        None if at_root => "The request body is not valid.".into(),
        None => format!("`{path}` is not valid."),
    }
}

/// A serde expectation ("i64", "struct UserFields", "a sequence") in JSON's terms.
fn expectation(exp: &str) -> String {
    let exp = exp.trim();
    match exp {
        "a boolean" => "a boolean".into(),
        "a string" | "a borrowed string" | "a character" => "a string".into(),
        "a sequence" => "an array".into(),
        "a map" => "an object".into(),
        "f32" | "f64" => "a number".into(),
        _ if matches!(exp, "i8" | "i16" | "i32" | "i64" | "i128" | "isize") => "an integer".into(),
        _ if matches!(exp, "u8" | "u16" | "u32" | "u64" | "u128" | "usize") => "a non-negative integer".into(),
        _ if exp.starts_with("struct ") => "an object".into(),
        _ if exp.starts_with("one of ") || exp.starts_with('`') => exp.into(),
        _ if exp.starts_with("a ") || exp.starts_with("an ") || exp.contains(" or ") => exp.into(),
        _ => "a valid value".into(),
    }
}

/// The raw query string as ordered pairs.
#[derive(Debug, Default)]
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub fn parse(query: Option<&str>) -> Self {
        Self(url::form_urlencoded::parse(query.unwrap_or("").as_bytes()).into_owned().collect())
    }

    /// The last value given for `name` (or `name[]`).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k == name || k.strip_suffix("[]") == Some(name)).map(|(_, v)| v.as_str())
    }

    /// Every value for `name`, `name[]`, or comma-separated inside either.
    pub fn get_all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name || k.strip_suffix("[]") == Some(name))
            .flat_map(|(_, v)| v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect::<Vec<_>>())
            .collect()
    }

    /// A boolean parameter: `true`/`false` (any case), or a 400.
    pub fn get_bool(&self, name: &str) -> Result<Option<bool>, MxError> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(MxError::bad_request(format!("The `{name}` query parameter must be true or false."))),
        }
    }

    /// `page` and `records_per_page` with MX's rules: positive integers; a page size above
    /// `max` falls back to 25 and one below 10 is raised to 10. A page past the data, however
    /// far, is an empty page.
    pub fn page(&self, max: i64) -> Result<PageRequest, MxError> {
        let bad = || MxError::bad_request("Pagination query parameter must be an integer greater than zero.");
        let parse = |name: &str| -> Result<Option<i64>, MxError> {
            match self.get(name) {
                None | Some("") => Ok(None),
                Some(v) => positive_integer(v).map(Some).ok_or_else(bad),
            }
        };
        let page = parse("page")?.unwrap_or(1);
        let per_page = match parse("records_per_page")? {
            None => 25,
            Some(n) if n > max => 25,
            Some(n) => n.max(10),
        };
        Ok(PageRequest { page, per_page })
    }
}

/// A positive decimal integer; one too large for `i64` saturates, since it still only names
/// a page past the data.
fn positive_integer(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    let digits = raw.strip_prefix('+').unwrap_or(raw);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse::<i64>().unwrap_or(i64::MAX)).filter(|n| *n > 0)
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = MxError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::parse(parts.uri.query()))
    }
}

/// MX's pagination object; every field is an integer.
#[derive(Debug, Serialize)]
pub struct Pagination {
    pub current_page: i64,
    pub per_page: i64,
    pub total_entries: i64,
    pub total_pages: i64,
}

impl Pagination {
    pub fn new(req: PageRequest, total: i64) -> Self {
        Self {
            current_page: req.page,
            per_page: req.per_page,
            total_entries: total,
            total_pages: (total + req.per_page - 1) / req.per_page,
        }
    }
}

/// Pages an in-memory list with the same rules as stored lists.
pub fn paginate<T: Clone>(items: &[T], req: PageRequest) -> (Vec<T>, Pagination) {
    let start = usize::try_from(req.offset()).unwrap_or(usize::MAX).min(items.len());
    let end = start.saturating_add(usize::try_from(req.limit()).unwrap_or(0)).min(items.len());
    (items[start..end].to_vec(), Pagination::new(req, items.len() as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination_follows_mx_bounds() {
        let q = QueryParams::parse(Some("page=2&records_per_page=5000"));
        assert_eq!(q.page(1000).unwrap(), PageRequest { page: 2, per_page: 25 });
        let q = QueryParams::parse(Some("records_per_page=3"));
        assert_eq!(q.page(100).unwrap().per_page, 10);
        assert!(QueryParams::parse(Some("page=0")).page(100).is_err());
        assert!(QueryParams::parse(Some("page=abc")).page(100).is_err());
        assert!(QueryParams::parse(Some("records_per_page=1.5")).page(100).is_err());
        assert!(QueryParams::parse(Some("page=-3")).page(100).is_err());
        assert!(QueryParams::parse(Some("page=1e3")).page(100).is_err());
    }

    #[test]
    fn any_positive_page_is_accepted_and_huge_ones_saturate() {
        let q = QueryParams::parse(Some("page=1000001"));
        assert_eq!(q.page(100).unwrap().page, 1_000_001);
        let q = QueryParams::parse(Some("page=99999999999999999999999&records_per_page=99999999999999999999"));
        let req = q.page(100).unwrap();
        assert_eq!(req, PageRequest { page: i64::MAX, per_page: 25 });
        assert_eq!(req.offset(), i64::MAX);
        let (items, pagination) = paginate(&[1, 2, 3], req);
        assert!(items.is_empty());
        assert_eq!((pagination.total_entries, pagination.current_page), (3, i64::MAX));
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Body {
        user: Option<Fields>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Fields {
        is_disabled: Option<bool>,
        email: Option<String>,
        count: Option<i64>,
        tags: Option<Vec<String>>,
        required: Option<Inner>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Inner {
        name: String,
    }

    fn message(json: &str) -> String {
        let mut de = serde_json::Deserializer::from_str(json);
        let e = serde_path_to_error::deserialize::<_, Body>(&mut de).unwrap_err();
        body_error(&e)
    }

    #[test]
    fn body_errors_name_the_field_and_what_it_must_be() {
        assert_eq!(message(r#"{"user":{"is_disabled":"x"}}"#), "`user.is_disabled` must be a boolean.");
        assert_eq!(message(r#"{"user":{"email":5}}"#), "`user.email` must be a string.");
        assert_eq!(message(r#"{"user":{"count":"5"}}"#), "`user.count` must be an integer.");
        assert_eq!(message(r#"{"user":{"count":1.5}}"#), "`user.count` must be an integer.");
        assert_eq!(message(r#"{"user":{"tags":"a"}}"#), "`user.tags` must be an array.");
        assert_eq!(message(r#"{"user":{"tags":[1]}}"#), "`user.tags[0]` must be a string.");
        assert_eq!(message(r#"{"user":{"required":{}}}"#), "`user.required.name` is required.");
        assert_eq!(message(r#"{"user":5}"#), "`user` must be an object.");
        assert_eq!(message("[]"), "The request body must be a JSON object.");
        assert_eq!(message("\"x\""), "The request body must be a JSON object.");
        assert_eq!(message(r#"{"user":"#), NOT_JSON);
        assert_eq!(message("{nope}"), NOT_JSON);
        for json in [r#"{"user":{"is_disabled":"x"}}"#, r#"{"user":{"count":99999999999999999999}}"#, "[]"] {
            let m = message(json);
            assert!(!m.contains("line ") && !m.contains("column ") && !m.contains("invalid type"), "{m}");
        }
    }

    #[test]
    fn arrays_accept_brackets_repeats_and_commas() {
        let q = QueryParams::parse(Some("iso_country_code[]=US&iso_country_code[]=CA&x=a,b"));
        assert_eq!(q.get_all("iso_country_code"), vec!["US", "CA"]);
        assert_eq!(q.get_all("x"), vec!["a", "b"]);
        assert_eq!(q.get("iso_country_code"), Some("CA"));
    }

    #[test]
    fn pagination_counts_pages() {
        let p = Pagination::new(PageRequest { page: 1, per_page: 25 }, 51);
        assert_eq!(p.total_pages, 3);
        let p = Pagination::new(PageRequest { page: 1, per_page: 25 }, 0);
        assert_eq!(p.total_pages, 0);
    }
}
