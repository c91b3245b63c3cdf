//! The account wire body (`GET /accounts/{id}`): its links and name.

use openiav_core::ids::TenantId;
use serde::Serialize;

use crate::hal::Links;

/// The path of the tenant's account.
pub fn path(tenant: TenantId) -> String {
    format!("/accounts/{tenant}")
}

/// `GET /accounts/{id}`.
#[derive(Debug, Serialize)]
pub struct Account<'a> {
    #[serde(rename = "_links")]
    pub links: Links,
    pub id: String,
    pub name: &'a str,
}

impl<'a> Account<'a> {
    /// The account of `tenant`, named `name`.
    pub fn of(base: &str, tenant: TenantId, name: &'a str) -> Self {
        let path = path(tenant);
        let links = Links::new()
            .with("self", base, &path, "account")
            .with("receive", base, "/transfers", "transfer")
            .with("funding-sources", base, &format!("{path}/funding-sources"), "funding-source")
            .with("transfers", base, &format!("{path}/transfers"), "transfer")
            .with("customers", base, "/customers", "customer")
            .with("send", base, "/transfers", "transfer");
        Self { links, id: tenant.to_string(), name }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_links_what_it_sends_and_receives_with_and_names_itself() {
        let tenant = TenantId::generate();
        let body = serde_json::to_value(Account::of("http://h", tenant, "Acme")).unwrap();
        assert_eq!(body["id"], tenant.to_string());
        assert_eq!(body["name"], "Acme");
        let rels: Vec<&str> = body["_links"].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(rels, ["customers", "funding-sources", "receive", "self", "send", "transfers"]);
        assert_eq!(body["_links"]["funding-sources"]["href"], format!("http://h/accounts/{tenant}/funding-sources"));
        assert_eq!(body["_links"]["self"]["resource-type"], "account");
    }
}
