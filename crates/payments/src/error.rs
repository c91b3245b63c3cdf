//! The payments wire surface's one error type, answered in Dwolla's envelope
//! (`{"code","message","_embedded":{"errors":[…]}}`) with the HAL error media type. The
//! top-level [`DwollaCode`] decides the HTTP status; [`FieldCode`] names each embedded error.

use std::fmt;
use std::str::FromStr;

use crate::hal::Link;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use openiav_store::StoreError;
use serde::{Serialize, Serializer};

/// The media type of every error body.
pub const ERROR_MEDIA_TYPE: &str =
    "application/vnd.dwolla.v1.hal+json; profile=\"http://nocarrier.co.uk/profiles/vnd.error/\"; charset=UTF-8";

/// Every top-level `code` the payments API answers with; each has one HTTP status
/// (`shared/reference/dwolla-wire.md` §11, and §7 for the exchange codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DwollaCode {
    /// 400: the body is not a JSON object, is malformed or cannot be used as a whole.
    BadRequest,
    /// 400: the body's fields are wrong; the reasons are in `_embedded.errors`.
    ValidationError,
    /// 400: the resource already exists (`_links.about` points at it).
    DuplicateResource,
    /// 400: a per-resource limit is reached (subscriptions, micro-deposits).
    MaxNumberOfResources,
    /// 400: the exchange a funding source would use is removed or disabled.
    InactiveExchange,
    /// 400: the operation is not offered for this resource (balance of a non-exchange source).
    UnsupportedOperation,
    /// 400: the exchange's partner connection needs the end user to sign in again (`_links.about`
    /// points at the re-authentication session to create).
    UpdateCredentials,
    /// 401: no or a malformed `Authorization` header.
    InvalidCredentials,
    /// 401: the bearer token is unknown.
    InvalidAccessToken,
    /// 401: the bearer token has expired.
    ExpiredAccessToken,
    /// 401: the application is not enabled for the endpoint (open banking).
    InvalidScope,
    /// 401: the partner's exchange token is not valid (exchange creation).
    InvalidExchangeToken,
    /// 400: the partner's exchange token was valid but has expired; on the wire it is the
    /// same `InvalidExchangeToken` code (§7.1), answered with 400.
    ExpiredExchangeToken,
    /// 403: the application may not do this.
    Forbidden,
    /// 403: the resource's state does not allow this.
    InvalidResourceState,
    /// 404: no such resource for this application.
    NotFound,
    /// 405: the path exists, the method does not.
    MethodNotAllowed,
    /// 406: the `Accept` header does not ask for the HAL type.
    InvalidVersion,
    /// 429: too many requests (injected by a sandbox fault rule).
    TooManyRequests,
    /// 500: an internal failure, logged and answered opaquely.
    ServerError,
    /// 503: the store is unavailable or the request ran past its deadline.
    ServiceUnavailable,
}

impl DwollaCode {
    /// Every code, in declaration order.
    pub const ALL: [Self; 21] = [
        Self::BadRequest,
        Self::ValidationError,
        Self::DuplicateResource,
        Self::MaxNumberOfResources,
        Self::InactiveExchange,
        Self::UnsupportedOperation,
        Self::UpdateCredentials,
        Self::InvalidCredentials,
        Self::InvalidAccessToken,
        Self::ExpiredAccessToken,
        Self::InvalidScope,
        Self::InvalidExchangeToken,
        Self::ExpiredExchangeToken,
        Self::Forbidden,
        Self::InvalidResourceState,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::InvalidVersion,
        Self::TooManyRequests,
        Self::ServerError,
        Self::ServiceUnavailable,
    ];

    /// The HTTP status Dwolla answers this code with.
    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest
            | Self::ValidationError
            | Self::DuplicateResource
            | Self::MaxNumberOfResources
            | Self::InactiveExchange
            | Self::UnsupportedOperation
            | Self::UpdateCredentials
            | Self::ExpiredExchangeToken => StatusCode::BAD_REQUEST,
            Self::InvalidCredentials
            | Self::InvalidAccessToken
            | Self::ExpiredAccessToken
            | Self::InvalidScope
            | Self::InvalidExchangeToken => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::InvalidResourceState => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::InvalidVersion => StatusCode::NOT_ACCEPTABLE,
            Self::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Self::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            Self::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The wire value of `code` (case-sensitive: the Python SDK picks its error class by it).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "BadRequest",
            Self::ValidationError => "ValidationError",
            Self::DuplicateResource => "DuplicateResource",
            Self::MaxNumberOfResources => "MaxNumberOfResources",
            Self::InactiveExchange => "InactiveExchange",
            Self::UnsupportedOperation => "UnsupportedOperation",
            Self::UpdateCredentials => "UpdateCredentials",
            Self::InvalidCredentials => "InvalidCredentials",
            Self::InvalidAccessToken => "InvalidAccessToken",
            Self::ExpiredAccessToken => "ExpiredAccessToken",
            Self::InvalidScope => "InvalidScope",
            Self::InvalidExchangeToken | Self::ExpiredExchangeToken => "InvalidExchangeToken",
            Self::Forbidden => "Forbidden",
            Self::InvalidResourceState => "InvalidResourceState",
            Self::NotFound => "NotFound",
            Self::MethodNotAllowed => "MethodNotAllowed",
            Self::InvalidVersion => "InvalidVersion",
            Self::TooManyRequests => "TooManyRequests",
            Self::ServerError => "ServerError",
            Self::ServiceUnavailable => "ServiceUnavailable",
        }
    }
}

/// The code an embedded field error carries (`_embedded.errors[].code`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldCode {
    /// The field is missing or empty.
    Required,
    /// The field's value is not acceptable.
    Invalid,
    /// The field's value is not in the expected format (e-mail, date, URL, length).
    InvalidFormat,
    /// Another resource already has this value.
    Duplicate,
    /// A party of the request may not take part (suspended, deactivated, limited).
    Restricted,
    /// The request is well formed but not allowed in this combination or state.
    NotAllowed,
    /// The source balance does not hold the amount.
    InsufficientFunds,
    /// The receiver needs a funding source first.
    RequiresFundingSource,
}

impl FieldCode {
    /// Every code, in declaration order.
    pub const ALL: [Self; 8] = [
        Self::Required,
        Self::Invalid,
        Self::InvalidFormat,
        Self::Duplicate,
        Self::Restricted,
        Self::NotAllowed,
        Self::InsufficientFunds,
        Self::RequiresFundingSource,
    ];

    /// The wire value of the field error's `code`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "Required",
            Self::Invalid => "Invalid",
            Self::InvalidFormat => "InvalidFormat",
            Self::Duplicate => "Duplicate",
            Self::Restricted => "Restricted",
            Self::NotAllowed => "NotAllowed",
            Self::InsufficientFunds => "InsufficientFunds",
            Self::RequiresFundingSource => "RequiresFundingSource",
        }
    }
}

/// Both code enums read, print and serialize as their wire string.
macro_rules! wire_string {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl FromStr for $t {
            type Err = UnknownCode;

            fn from_str(s: &str) -> Result<Self, UnknownCode> {
                Self::ALL.into_iter().find(|c| c.as_str() == s).ok_or(UnknownCode)
            }
        }
    };
}

wire_string!(DwollaCode);
wire_string!(FieldCode);

/// A string that is not one of the codes this API answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a code this API answers with")]
pub struct UnknownCode;

/// One entry of a ValidationError's `_embedded.errors`.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    pub code: FieldCode,
    pub message: String,
    /// JSON pointer into the request body.
    pub path: String,
    /// `_links.about`, when the error points at a resource.
    pub about: Option<Link>,
}

impl FieldError {
    pub fn new(code: FieldCode, path: &str, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), path: path.to_owned(), about: None }
    }

    pub fn required(path: &str, message: impl Into<String>) -> Self {
        Self::new(FieldCode::Required, path, message)
    }

    pub fn invalid(path: &str, message: impl Into<String>) -> Self {
        Self::new(FieldCode::Invalid, path, message)
    }
}

/// An error answer: Dwolla code (which decides the status), message, and optionally embedded
/// field errors or a link to the resource it is about. Boxed, so results stay small on the
/// happy path.
#[derive(Debug, thiserror::Error)]
#[error("{}: {}", .0.code, .0.message)]
pub struct DwollaError(Box<Parts>);

#[derive(Debug)]
pub struct Parts {
    pub code: DwollaCode,
    pub message: String,
    pub errors: Vec<FieldError>,
    pub about: Option<Link>,
    /// Logged, never answered.
    pub detail: Option<String>,
}

impl DwollaError {
    pub fn new(code: DwollaCode, message: impl Into<String>) -> Self {
        Self(Box::new(Parts { code, message: message.into(), errors: Vec::new(), about: None, detail: None }))
    }

    pub fn status(&self) -> StatusCode {
        self.0.code.status()
    }

    pub fn code(&self) -> DwollaCode {
        self.0.code
    }

    /// The top-level message as answered.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The embedded field errors of a ValidationError.
    pub fn field_errors(&self) -> &[FieldError] {
        &self.0.errors
    }

    /// What an internal error logs (never answered).
    pub fn detail(&self) -> Option<&str> {
        self.0.detail.as_deref()
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(DwollaCode::BadRequest, message)
    }

    /// A ValidationError carrying field errors.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut e = Self::new(
            DwollaCode::ValidationError,
            "Validation error(s) present. See embedded errors list for more details.",
        );
        e.0.errors = errors;
        e
    }

    pub fn invalid(path: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::invalid(path, message)])
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(DwollaCode::NotFound, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(DwollaCode::Forbidden, message)
    }

    pub fn invalid_resource_state(message: impl Into<String>) -> Self {
        Self::new(DwollaCode::InvalidResourceState, message)
    }

    pub fn with_about(mut self, about: Link) -> Self {
        self.0.about = Some(about);
        self
    }

    pub fn internal(detail: impl Into<String>) -> Self {
        let mut e = Self::new(DwollaCode::ServerError, "A server error occurred.");
        e.0.detail = Some(detail.into());
        e
    }

    pub fn invalid_credentials() -> Self {
        Self::new(DwollaCode::InvalidCredentials, "Missing or invalid Authorization header.")
    }

    pub fn invalid_access_token() -> Self {
        Self::new(DwollaCode::InvalidAccessToken, "Invalid access token.")
    }

    pub fn expired_access_token() -> Self {
        Self::new(DwollaCode::ExpiredAccessToken, "Generate a new access token using your client credentials.")
    }
}

impl From<StoreError> for DwollaError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::not_found("The requested resource was not found."),
            StoreError::InvalidInput(_) => Self::bad_request("The request contains a value that cannot be stored."),
            StoreError::Unavailable(_) => {
                Self::new(DwollaCode::ServiceUnavailable, "The service is temporarily unavailable; try again shortly.")
            }
            other => Self::internal(other.to_string()),
        }
    }
}

// The envelope as serialized. Fields are declared in lexicographic order because that is the
// order the bodies have always had on the wire (they were built as `serde_json` maps, which
// sort their keys); replays of stored idempotent answers stay byte-identical to fresh ones.

#[derive(Serialize)]
struct Envelope<'a> {
    #[serde(rename = "_embedded", skip_serializing_if = "Option::is_none")]
    embedded: Option<Embedded<'a>>,
    #[serde(rename = "_links", skip_serializing_if = "Option::is_none")]
    links: Option<Links<'a>>,
    code: DwollaCode,
    message: &'a str,
}

#[derive(Serialize)]
struct Embedded<'a> {
    errors: Vec<EmbeddedError<'a>>,
}

#[derive(Serialize)]
struct EmbeddedError<'a> {
    /// Always present: `{}` when the error points at nothing.
    #[serde(rename = "_links")]
    links: Links<'a>,
    code: FieldCode,
    message: &'a str,
    path: &'a str,
}

#[derive(Serialize)]
struct Links<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    about: Option<&'a Link>,
}

impl DwollaError {
    /// The envelope this error is answered with.
    pub fn body(&self) -> String {
        let parts = &self.0;
        let embedded = (!parts.errors.is_empty()).then(|| Embedded {
            errors: parts
                .errors
                .iter()
                .map(|e| EmbeddedError {
                    links: Links { about: e.about.as_ref() },
                    code: e.code,
                    message: &e.message,
                    path: &e.path,
                })
                .collect(),
        });
        let envelope = Envelope {
            embedded,
            links: parts.about.as_ref().map(|about| Links { about: Some(about) }),
            code: parts.code,
            message: &parts.message,
        };
        serde_json::to_string(&envelope).expect("an error envelope always serializes")
    }
}

impl IntoResponse for DwollaError {
    fn into_response(self) -> Response {
        if let Some(detail) = &self.0.detail {
            tracing::error!(error = %detail, "payments request failed");
        }
        let mut resp = (self.status(), self.body()).into_response();
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(ERROR_MEDIA_TYPE));
        resp
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::hal::link;

    /// Each code with the status `shared/reference/dwolla-wire.md` gives it (§11 table, §7 for
    /// the exchange codes). `ServiceUnavailable` is ours: the reference has no 503 code.
    const WIRE: [(&str, u16); 20] = [
        ("BadRequest", 400),
        ("ValidationError", 400),
        ("DuplicateResource", 400),
        ("MaxNumberOfResources", 400),
        ("InactiveExchange", 400),
        ("UnsupportedOperation", 400),
        // §6.3/§9.6: the balance of an exchange whose connection needs re-authentication.
        ("UpdateCredentials", 400),
        ("InvalidCredentials", 401),
        ("InvalidAccessToken", 401),
        ("ExpiredAccessToken", 401),
        ("InvalidScope", 401),
        // §7: 401 on `POST /customers/{id}/exchanges`, the one place this crate answers it.
        ("InvalidExchangeToken", 401),
        ("Forbidden", 403),
        ("InvalidResourceState", 403),
        ("NotFound", 404),
        ("MethodNotAllowed", 405),
        ("InvalidVersion", 406),
        ("TooManyRequests", 429),
        ("ServerError", 500),
        ("ServiceUnavailable", 503),
    ];

    #[test]
    fn every_code_answers_with_the_status_dwolla_uses() {
        // `ExpiredExchangeToken` shares its wire string with `InvalidExchangeToken`.
        assert_eq!(WIRE.len(), DwollaCode::ALL.len() - 1);
        assert_eq!(DwollaCode::ExpiredExchangeToken.status().as_u16(), 400);
        assert_eq!(DwollaCode::ExpiredExchangeToken.as_str(), "InvalidExchangeToken");
        for (wire, status) in WIRE {
            let code: DwollaCode = wire.parse().unwrap_or_else(|_| panic!("{wire} is not a code"));
            assert_eq!(code.status().as_u16(), status, "{wire}");
            assert_eq!(DwollaError::new(code, "m").status().as_u16(), status, "{wire}");
        }
    }

    #[test]
    fn codes_round_trip_through_their_wire_string() {
        for code in DwollaCode::ALL {
            assert_eq!(code.as_str().parse::<DwollaCode>().map(DwollaCode::as_str), Ok(code.as_str()));
            if code != DwollaCode::ExpiredExchangeToken {
                assert_eq!(code.as_str(), format!("{code:?}"), "the wire string is the variant's name");
            }
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
        for code in FieldCode::ALL {
            assert_eq!(code.as_str().parse::<FieldCode>(), Ok(code));
            assert_eq!(code.as_str(), format!("{code:?}"));
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
        let distinct: HashSet<_> = DwollaCode::ALL.iter().map(|c| c.as_str()).collect();
        // Only the expired-token code shares its wire string (with `InvalidExchangeToken`).
        assert_eq!(distinct.len(), DwollaCode::ALL.len() - 1);
        assert_eq!("notFound".parse::<DwollaCode>(), Err(UnknownCode), "codes are case-sensitive");
        assert_eq!("Conflict".parse::<DwollaCode>(), Err(UnknownCode));
    }

    #[test]
    fn validation_error_embeds_path_and_about_link() {
        let mut duplicate =
            FieldError::new(FieldCode::Duplicate, "/email", "A customer with the specified email already exists.");
        duplicate.about = Some(link("http://x", "/customers/1", "customer"));
        let e = DwollaError::validation(vec![duplicate, FieldError::required("/a", "A required.")]);
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        // The exact bytes the `json!`-built envelope produced.
        assert_eq!(
            e.body(),
            concat!(
                r#"{"_embedded":{"errors":["#,
                r#"{"_links":{"about":{"href":"http://x/customers/1","resource-type":"customer","type":"application/vnd.dwolla.v1.hal+json"}},"#,
                r#""code":"Duplicate","message":"A customer with the specified email already exists.","path":"/email"},"#,
                r#"{"_links":{},"code":"Required","message":"A required.","path":"/a"}]},"#,
                r#""code":"ValidationError","message":"Validation error(s) present. See embedded errors list for more details."}"#,
            )
        );
    }

    #[test]
    fn top_level_about_link_and_plain_errors_render_as_before() {
        let dup = DwollaError::new(DwollaCode::DuplicateResource, "Bank already exists: id=1").with_about(link(
            "http://x",
            "/funding-sources/1",
            "funding-source",
        ));
        assert_eq!(
            dup.body(),
            concat!(
                r#"{"_links":{"about":{"href":"http://x/funding-sources/1","resource-type":"funding-source","type":"application/vnd.dwolla.v1.hal+json"}},"#,
                r#""code":"DuplicateResource","message":"Bank already exists: id=1"}"#,
            )
        );
        assert_eq!(
            DwollaError::not_found("The requested resource was not found.").body(),
            r#"{"code":"NotFound","message":"The requested resource was not found."}"#
        );
    }

    #[test]
    fn internal_detail_is_logged_never_answered() {
        let e = DwollaError::internal("secret detail");
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(e.body(), r#"{"code":"ServerError","message":"A server error occurred."}"#);
    }

    #[test]
    fn store_errors_map_to_their_codes() {
        let code = |e: StoreError| DwollaError::from(e).code();
        assert_eq!(code(StoreError::NotFound), DwollaCode::NotFound);
        assert_eq!(code(StoreError::InvalidInput("x".into())), DwollaCode::BadRequest);
        assert_eq!(code(StoreError::Unavailable("x".into())), DwollaCode::ServiceUnavailable);
        assert_eq!(code(StoreError::Conflict("x".into())), DwollaCode::ServerError);
    }

    #[test]
    fn responses_carry_the_error_media_type() {
        let resp = DwollaError::expired_access_token().into_response();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(resp.headers()[header::CONTENT_TYPE], ERROR_MEDIA_TYPE);
    }
}
