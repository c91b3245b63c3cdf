//! `/institutions`: search with MX's filters, favorites, read, credentials. Served from the
//! in-memory catalog and the tenant's own fixture institutions; no query touches the database.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::auth::Tenant;
use crate::catalog::{Catalog, InstitutionFilter, Product};
use crate::params::{paginate, QueryParams};
use crate::version::ApiVersion;
use crate::wire::{self, Credential};
use crate::{AppState, MxError};

fn filter_from(q: &QueryParams, v: ApiVersion) -> Result<InstitutionFilter, MxError> {
    let mut products = Vec::new();
    for p in q.get_all("supported_products") {
        products.push(
            Product::parse(&p).ok_or_else(|| MxError::bad_request(format!("`{p}` is not a supported product.")))?,
        );
    }
    let countries = q.get_all("iso_country_code");
    if let Some(bad) = countries.iter().find(|c| !["US", "CA", "MX"].contains(&c.to_uppercase().as_str())) {
        return Err(MxError::bad_request(format!("`{bad}` is not a supported iso_country_code.")));
    }
    let v1 = v == ApiVersion::V20111101;
    let flag = |name: &str| if v1 { q.get_bool(name) } else { Ok(None) };
    Ok(InstitutionFilter {
        name: q.get("name").map(str::to_owned),
        countries,
        supports_account_identification: flag("supports_account_identification")?,
        supports_account_statement: flag("supports_account_statement")?,
        supports_account_verification: flag("supports_account_verification")?,
        supports_transaction_history: flag("supports_transaction_history")?,
        products,
        popular_only: false,
    })
}

fn page_of(found: Vec<&crate::catalog::Institution>, q: &QueryParams, v: ApiVersion) -> Result<Response, MxError> {
    let page = q.page(100)?;
    let (items, pagination) = paginate(&found, page);
    let institutions: Vec<_> = items.iter().map(|i| wire::institution(i, v)).collect();
    Ok(v.json(StatusCode::OK, &json!({ "institutions": institutions, "pagination": pagination })))
}

pub async fn list(Tenant(tenant): Tenant, v: ApiVersion, q: QueryParams) -> Result<Response, MxError> {
    let filter = filter_from(&q, v)?;
    page_of(Catalog::get().search_for(tenant, &filter), &q, v)
}

pub async fn favorites(Tenant(tenant): Tenant, v: ApiVersion, q: QueryParams) -> Result<Response, MxError> {
    let mut filter = filter_from(&q, v)?;
    filter.popular_only = true;
    page_of(Catalog::get().search_for(tenant, &filter), &q, v)
}

pub async fn read(
    _: State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path(code): Path<String>,
) -> Result<Response, MxError> {
    let inst = Catalog::get().find_for(tenant, &code).ok_or(MxError::NotFound)?;
    Ok(v.wrapped(StatusCode::OK, "institution", &wire::institution(inst, v)))
}

pub async fn credentials(
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path(code): Path<String>,
    q: QueryParams,
) -> Result<Response, MxError> {
    let inst = Catalog::get().find_for(tenant, &code).ok_or(MxError::NotFound)?;
    let page = q.page(1000)?;
    let (items, pagination) = paginate(&inst.credentials, page);
    let credentials: Vec<Credential> = items.iter().map(Credential::from).collect();
    Ok(v.json(StatusCode::OK, &json!({ "credentials": credentials, "pagination": pagination })))
}
