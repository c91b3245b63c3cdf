//! Request bodies at the edge: a JSON object whatever the content type (HAL or plain JSON),
//! pretty or compact, and an empty body read as `{}` (some SDK calls send none). A value of the
//! wrong type is a ValidationError at its JSON pointer; broken JSON is a BadRequest. Neither
//! quotes the parser. [`Named`] and [`Lenient`] fields leave an unknown name or a misshapen value
//! to the resource's own rules.

use std::str::FromStr;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::error::FieldError;
use crate::DwollaError;

/// A JSON object body parsed into `T`.
pub struct DwollaJson<T>(pub T);

const BAD_SYNTAX: &str = "The request body contains bad syntax or is incomplete.";

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for DwollaJson<T> {
    type Rejection = DwollaError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| DwollaError::bad_request("The request body could not be read."))?;
        parse(&bytes).map(DwollaJson)
    }
}

/// Parses a request body into `T`, which must be given as a JSON object.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DwollaError> {
    let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { bytes };
    if text.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(DwollaError::bad_request("The request body must be a JSON object."));
    }
    let mut de = serde_json::Deserializer::from_slice(text);
    let parsed: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let pointer = pointer_of(e.path());
        if e.inner().is_data() && !pointer.is_empty() {
            DwollaError::validation(vec![FieldError::invalid(
                &pointer,
                format!("{pointer} has a value of the wrong type."),
            )])
        } else {
            DwollaError::bad_request(BAD_SYNTAX)
        }
    })?;
    de.end().map_err(|_| DwollaError::bad_request(BAD_SYNTAX))?;
    Ok(parsed)
}

/// The JSON pointer (`/controller/address/city`) of a serde path.
fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Map { key } => {
                out.push('/');
                out.push_str(&key.replace('~', "~0").replace('/', "~1"));
            }
            Segment::Seq { index } => out.push_str(&format!("/{index}")),
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    out
}

/// Whether `s` is an absolute `http`/`https` URL with a host (redirect and webhook URLs).
pub fn is_http_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

/// A request field naming one of an enum's values (`type`, `status`), kept even when it names
/// none, so the rules can refuse an unknown name with the resource's own message alongside the
/// body's other errors. A value that is not a string is still a wrong-type error at its path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Named<T> {
    Known(T),
    Unknown(String),
}

impl<T: FromStr> Named<T> {
    /// Reads `text` as one of `T`'s names.
    pub fn parse(text: String) -> Self {
        match text.parse() {
            Ok(known) => Self::Known(known),
            Err(_) => Self::Unknown(text),
        }
    }
}

impl<T: Copy> Named<T> {
    /// The value named, unless the name is unknown.
    pub fn known(&self) -> Option<T> {
        match self {
            Self::Known(value) => Some(*value),
            Self::Unknown(_) => None,
        }
    }
}

impl<'de, T: FromStr> Deserialize<'de> for Named<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self::parse)
    }
}

/// A request field whose value may not have the shape `T` asks for: a misshapen one is kept as
/// [`Lenient::Malformed`] so the rules can refuse it with the resource's own message alongside
/// the body's other errors, where a strict field would stop the whole body at the first one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lenient<T> {
    Valid(T),
    Malformed,
}

impl<T> Lenient<T> {
    /// The value, when it had the shape asked for.
    pub fn valid(&self) -> Option<&T> {
        match self {
            Self::Valid(value) => Some(value),
            Self::Malformed => None,
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        Ok(T::deserialize(value).map_or(Self::Malformed, Self::Valid))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::Value;

    use super::*;
    use crate::error::DwollaCode;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Body {
        first_name: Option<String>,
        controller: Option<Controller>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Controller {
        address: Option<Address>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Address {
        city: Option<String>,
    }

    fn refused(body: &str) -> DwollaError {
        parse::<Body>(body.as_bytes()).expect_err("refused")
    }

    #[derive(Debug, Deserialize)]
    struct Kinds {
        colour: Option<Named<Colour>>,
        shape: Option<Lenient<Shape>>,
    }

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Colour {
        Red,
    }

    impl FromStr for Colour {
        type Err = ();

        fn from_str(s: &str) -> Result<Self, ()> {
            (s == "red").then_some(Colour::Red).ok_or(())
        }
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Shape {
        sides: u8,
    }

    #[test]
    fn named_fields_keep_unknown_names_and_refuse_other_types() {
        let kinds = parse::<Kinds>(br#"{"colour": "red"}"#).unwrap();
        assert_eq!(kinds.colour.and_then(|c| c.known()), Some(Colour::Red));
        let kinds = parse::<Kinds>(br#"{"colour": "teal"}"#).unwrap();
        assert_eq!(kinds.colour, Some(Named::Unknown("teal".into())));
        assert!(parse::<Kinds>(br#"{"colour": null}"#).unwrap().colour.is_none());
        let text = format!("{:?}", parse::<Kinds>(br#"{"colour": 7}"#).unwrap_err());
        assert!(text.contains("/colour has a value of the wrong type."), "{text}");
    }

    #[test]
    fn lenient_fields_keep_a_misshapen_value_as_malformed() {
        let kinds = parse::<Kinds>(br#"{"shape": {"sides": 3}}"#).unwrap();
        assert_eq!(kinds.shape.as_ref().and_then(Lenient::valid), Some(&Shape { sides: 3 }));
        for shape in [r#""square""#, r#"{"sides": "three"}"#, "[]"] {
            let kinds = parse::<Kinds>(format!(r#"{{"shape": {shape}}}"#).as_bytes()).unwrap();
            assert_eq!(kinds.shape, Some(Lenient::Malformed), "{shape}");
        }
        assert!(parse::<Kinds>(br#"{"shape": null}"#).unwrap().shape.is_none());
    }

    #[test]
    fn empty_bodies_are_empty_objects() {
        assert!(parse::<Body>(b"").is_ok());
        assert!(parse::<Body>(b"  \n").is_ok());
        assert!(parse::<Value>(b"{\n  \"a\": 1\n}").is_ok());
    }

    #[test]
    fn only_objects_are_bodies() {
        for body in ["[]", "42", "\"x\"", "null", "true"] {
            let e = refused(body);
            assert_eq!(e.code(), DwollaCode::BadRequest, "{body}");
            assert!(parse::<Value>(body.as_bytes()).is_err(), "{body}");
        }
    }

    #[test]
    fn wrong_types_name_the_field_without_parser_internals() {
        let e = refused(r#"{"firstName": 42}"#);
        assert_eq!(e.code(), DwollaCode::ValidationError);
        let text = format!("{:?}", e);
        assert!(text.contains("/firstName"), "{text}");
        let e = refused(r#"{"controller": {"address": {"city": ["x"]}}}"#);
        let text = format!("{:?}", e);
        assert!(text.contains("/controller/address/city"), "{text}");
        for body in [r#"{"firstName": 42}"#, r#"{"firstName": "#, r#"{"a": 1} trailing"#] {
            let text = format!("{:?}", refused(body));
            assert!(!text.contains("line") && !text.contains("column") && !text.contains("expected"), "{text}");
        }
    }
}
