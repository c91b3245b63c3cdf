//! `/users/{user}/members/{member}/statements`: list and read a member's statements, and
//! download one as PDF (`…/statements/{guid}.pdf`). Fetching them is the `fetch_statements`
//! job route.
//!
//! The PDF's content type: MX's spec declares `application/vnd.mx.api.v1+pdf`, which is what
//! mx-platform-python sends as `Accept` for `download_statement_pdf` (it reads the body as bytes
//! whatever the content type); mx-platform-node sends whatever `Accept` its configuration sets
//! (usually MX's JSON type) and leaves the body to axios. A client that names the vendor type
//! gets it back; every other client (browsers, curl, the Node SDK) gets `application/pdf`.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use openiav_store::records::StatementRecord;
use openiav_store::repo::{accounts, statements as repo};
use serde::Serialize;
use serde_json::json;

use super::load_member;
use crate::auth::Tenant;
use crate::catalog::Catalog;
use crate::params::{Pagination, QueryParams};
use crate::statements;
use crate::version::ApiVersion;
use crate::{AppState, MxError};

/// MX's `StatementResponse` (the same in both versions).
#[derive(Serialize)]
pub struct Statement<'a> {
    pub account_guid: &'a str,
    pub content_hash: &'a str,
    pub created_at: String,
    pub guid: &'a str,
    pub member_guid: &'a str,
    pub updated_at: String,
    /// Where the statement's PDF downloads from.
    pub uri: String,
    pub user_guid: &'a str,
}

impl<'a> From<&'a StatementRecord> for Statement<'a> {
    fn from(s: &'a StatementRecord) -> Self {
        Self {
            account_guid: s.account_guid.as_str(),
            content_hash: &s.content_hash,
            created_at: s.created_at.to_rfc3339_seconds(),
            guid: &s.guid,
            member_guid: s.member_guid.as_str(),
            updated_at: s.updated_at.to_rfc3339_seconds(),
            uri: format!("/users/{}/members/{}/statements/{}.pdf", s.user_guid, s.member_guid, s.guid),
            user_guid: s.user_guid.as_str(),
        }
    }
}

pub async fn list(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path((u, m)): Path<(String, String)>,
    q: QueryParams,
) -> Result<Response, MxError> {
    let page = q.page(1000)?;
    let member = load_member(&state, tenant, v, &u, &m).await?;
    let found = state
        .store
        .read(|mut c| async move { repo::list(&mut c, tenant, &member.user_guid, &member.guid, page).await })
        .await?;
    let statements: Vec<Statement> = found.items.iter().map(Statement::from).collect();
    Ok(v.json(StatusCode::OK, &json!({ "statements": statements, "pagination": Pagination::new(page, found.total) })))
}

/// `…/statements/{file}`: a statement guid reads its JSON, `<guid>.pdf` downloads its PDF (a
/// path segment cannot hold a parameter followed by a literal suffix in axum's router).
pub async fn read_or_download(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: Result<ApiVersion, MxError>,
    pdf: Result<PdfAccept, MxError>,
    Path((u, m, file)): Path<(String, String, String)>,
) -> Result<Response, MxError> {
    match file.strip_suffix(".pdf") {
        Some(guid) => download(state, tenant, pdf?, &u, &m, guid).await,
        None => read(state, tenant, v?, &u, &m, &file).await,
    }
}

async fn find(
    state: &AppState,
    tenant: openiav_core::ids::TenantId,
    v: ApiVersion,
    u: &str,
    m: &str,
    guid: &str,
) -> Result<(openiav_store::records::MemberRecord, StatementRecord), MxError> {
    let member = load_member(state, tenant, v, u, m).await?;
    let (user, member_guid, guid) = (member.user_guid.clone(), member.guid.clone(), guid.to_owned());
    let found = state
        .store
        .read(|mut c| async move { repo::find(&mut c, tenant, &user, &member_guid, &guid).await })
        .await?
        .ok_or(MxError::NotFound)?;
    Ok((member, found))
}

async fn read(
    state: AppState,
    tenant: openiav_core::ids::TenantId,
    v: ApiVersion,
    u: &str,
    m: &str,
    guid: &str,
) -> Result<Response, MxError> {
    let (_, statement) = find(&state, tenant, v, u, m, guid).await?;
    Ok(v.wrapped(StatusCode::OK, "statement", &Statement::from(&statement)))
}

async fn download(
    state: AppState,
    tenant: openiav_core::ids::TenantId,
    accept: PdfAccept,
    u: &str,
    m: &str,
    guid: &str,
) -> Result<Response, MxError> {
    let (member, statement) = find(&state, tenant, accept.version, u, m, guid).await?;
    let (user, account_guid) = (statement.user_guid.clone(), statement.account_guid.clone());
    let account = state
        .store
        .read(|mut c| async move { accounts::find(&mut c, tenant, &user, account_guid.as_str()).await })
        .await?
        .ok_or(MxError::NotFound)?;
    let institution = Catalog::get()
        .find_for(member.tenant_id, &member.institution_code)
        .map_or(member.name.as_str(), |i| i.name.as_str());
    let bytes = statements::pdf(&statement, &account, institution)?;
    let disposition = HeaderValue::from_str(&format!("inline; filename=\"{}.pdf\"", statement.guid))
        .map_err(|e| MxError::Internal(format!("statement {}: content disposition: {e}", statement.guid)))?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, accept.content_type()), (header::CONTENT_DISPOSITION, disposition)],
        bytes,
    )
        .into_response())
}

/// MX's vendor type for statement PDFs.
const VENDOR_PDF: &str = "application/vnd.mx.api.v1+pdf";

/// The negotiated answer of a PDF download: the API version (for partner ids in the path) and
/// whether the client asked for MX's vendor PDF type by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PdfAccept {
    pub version: ApiVersion,
    pub vendor_type: bool,
}

impl PdfAccept {
    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(if self.vendor_type { VENDOR_PDF } else { "application/pdf" })
    }

    /// `Accept` may name a PDF type, a wildcard, or JSON (SDKs send their configured JSON type
    /// with every call); anything else is not acceptable. `Accept-Version` picks the version.
    fn negotiate(parts: &Parts) -> Result<Self, MxError> {
        let version = match parts.headers.get("accept-version").map(|v| v.to_str().map(str::trim)) {
            None => ApiVersion::V20111101,
            Some(Ok("v20250224")) => ApiVersion::V20250224,
            Some(Ok("v20111101")) => ApiVersion::V20111101,
            Some(_) => return Err(MxError::NotAcceptable),
        };
        let mut types = Vec::new();
        for value in parts.headers.get_all(header::ACCEPT) {
            let value = value.to_str().map_err(|_| MxError::NotAcceptable)?;
            types.extend(
                value
                    .split(',')
                    .map(|m| m.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
                    .filter(|m| !m.is_empty()),
            );
        }
        let acceptable =
            |m: &str| matches!(m, "*/*" | "application/*" | "application/pdf" | VENDOR_PDF) || m.ends_with("json");
        if !types.is_empty() && !types.iter().any(|m| acceptable(m)) {
            return Err(MxError::NotAcceptable);
        }
        Ok(Self { version, vendor_type: types.iter().any(|m| m == VENDOR_PDF) })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PdfAccept {
    type Rejection = MxError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Self::negotiate(parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn negotiate(headers: &[(&str, &str)]) -> Result<PdfAccept, MxError> {
        let mut b = Request::builder();
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let (parts, _) = b.body(()).unwrap().into_parts();
        PdfAccept::negotiate(&parts)
    }

    #[test]
    fn the_vendor_type_is_answered_only_to_clients_that_name_it() {
        let vendor = negotiate(&[("accept", VENDOR_PDF)]).unwrap();
        assert_eq!(vendor, PdfAccept { version: ApiVersion::V20111101, vendor_type: true });
        assert_eq!(vendor.content_type(), VENDOR_PDF);
        for accept in ["application/pdf", "*/*", "application/vnd.mx.api.v1+json", "application/json, text/plain, */*"]
        {
            let got = negotiate(&[("accept", accept)]).unwrap();
            assert_eq!(got.content_type(), "application/pdf", "{accept}");
        }
        assert_eq!(negotiate(&[]).unwrap().content_type(), "application/pdf");
    }

    #[test]
    fn accept_version_picks_the_version_and_other_types_are_refused() {
        let v2 = negotiate(&[("accept", "application/json"), ("accept-version", "v20250224")]).unwrap();
        assert_eq!(v2.version, ApiVersion::V20250224);
        assert!(matches!(negotiate(&[("accept", "text/html")]), Err(MxError::NotAcceptable)));
        assert!(matches!(negotiate(&[("accept-version", "v1999")]), Err(MxError::NotAcceptable)));
    }
}
