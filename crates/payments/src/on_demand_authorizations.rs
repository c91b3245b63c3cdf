//! On-demand transfer authorizations: `POST /on-demand-authorizations` stores one and answers
//! the agreement text naming the account; a bank added with `_links.on-demand-authorization`
//! must name one of the tenant's own.

use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use openiav_store::records::{FundingSourceRecord, OnDemandAuthorizationRecord};
use openiav_store::repo::transfers as repo;
use openiav_store::{Conn, StoreError};
use serde::Serialize;

use crate::hal::{id_from_href, Links};
use crate::{DwollaCode, DwollaError};

/// Where a create body names the authorization.
pub const HREF_PATH: &str = "/_links/on-demand-authorization/href";

/// The path of the authorization `id`.
pub fn path(id: &str) -> String {
    format!("/on-demand-authorizations/{id}")
}

/// Stores a new authorization of `tenant`, inside the write.
pub async fn create(c: &mut Conn, tenant: TenantId, now: Timestamp) -> Result<OnDemandAuthorizationRecord, StoreError> {
    let authorization =
        OnDemandAuthorizationRecord { id: uuid::Uuid::new_v4().to_string(), tenant_id: tenant, created_at: now };
    repo::insert_on_demand_authorization(c, &authorization).await?;
    Ok(authorization)
}

/// The id of the tenant's authorization `href` names, read and locked inside the write that
/// binds it (so concurrent creates citing it take turns); an unknown one (another tenant's
/// included) is Dwolla's validation error at [`HREF_PATH`].
pub async fn resolve(c: &mut Conn, tenant: TenantId, href: &str) -> Result<Result<String, DwollaError>, StoreError> {
    let found = match id_from_href(href, "on-demand-authorizations") {
        Some(id) => repo::find_on_demand_authorization_for_update(c, tenant, &id).await?,
        None => None,
    };
    Ok(found.map(|a| a.id).ok_or_else(invalid))
}

/// The answer to a create naming an authorization that is not the tenant's.
pub fn invalid() -> DwollaError {
    DwollaError::invalid(HREF_PATH, format!("{HREF_PATH} is invalid."))
}

/// An authorization binds one bank: `bound` are the funding sources it is bound to already;
/// only `reactivating` (a removed bank coming back under its own id) may hold it again.
pub fn unbound(bound: &[FundingSourceRecord], reactivating: Option<&str>) -> Result<(), DwollaError> {
    if bound.iter().any(|f| Some(f.id.as_str()) != reactivating) {
        return Err(DwollaError::new(
            DwollaCode::ValidationError,
            "Duplicate funding source or validation error. Authorization already associated to a funding source.",
        ));
    }
    Ok(())
}

/// The answer to `POST /on-demand-authorizations` (200).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OnDemandAuthorization {
    #[serde(rename = "_links")]
    pub links: Links,
    pub body_text: String,
    pub button_text: &'static str,
}

impl OnDemandAuthorization {
    /// `authorization`, agreed to with the account named `account_name`.
    pub fn of(base: &str, authorization: &OnDemandAuthorizationRecord, account_name: &str) -> Self {
        Self {
            links: Links::new().with("self", base, &path(&authorization.id), "on-demand-authorization"),
            body_text: format!(
                "I agree that future payments to {account_name} will be processed by the Dwolla payment system from \
                 the selected account above. In order to cancel this authorization, I will change my payment \
                 settings within my {account_name} account."
            ),
            button_text: "Agree & Continue",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agreement_names_the_account_twice_and_links_itself() {
        let a = OnDemandAuthorizationRecord {
            id: "a1".into(),
            tenant_id: TenantId::generate(),
            created_at: Timestamp::from_millis(0),
        };
        let body = serde_json::to_string(&OnDemandAuthorization::of("http://h", &a, "Company ABC inc.")).unwrap();
        let expected = concat!(
            r#"{"_links":{"self":{"href":"http://h/on-demand-authorizations/a1","resource-type":"on-demand-authorization","#,
            r#""type":"application/vnd.dwolla.v1.hal+json"}},"bodyText":"I agree that future payments to Company ABC inc. "#,
            r#"will be processed by the Dwolla payment system from the selected account above. In order to cancel this "#,
            r#"authorization, I will change my payment settings within my Company ABC inc. account.","#,
            r#""buttonText":"Agree & Continue"}"#
        );
        assert_eq!(body, expected);
    }

    #[test]
    fn an_authorization_binds_one_bank_unless_that_bank_comes_back() {
        let bank = crate::funding_sources::testing::bank();
        assert!(unbound(&[], None).is_ok());
        assert!(unbound(&[], Some("fs")).is_ok());
        assert!(unbound(std::slice::from_ref(&bank), Some("fs")).is_ok());
        let e = unbound(std::slice::from_ref(&bank), None).unwrap_err();
        assert_eq!(e.code(), DwollaCode::ValidationError);
        assert!(e.body().contains("Authorization already associated to a funding source."), "{}", e.body());
        assert!(unbound(&[bank], Some("other")).is_err());
    }

    #[test]
    fn an_unknown_authorization_is_a_validation_error_at_its_href() {
        let e = invalid();
        assert_eq!(e.code(), DwollaCode::ValidationError);
        assert_eq!(e.field_errors()[0].path, HREF_PATH);
    }
}
