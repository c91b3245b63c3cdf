//! Queries, one module per aggregate. Every function takes the connection of the caller's
//! transaction and, where rows belong to a tenant, the tenant id: no query crosses tenants.

pub mod accounts;
pub mod customers;
pub mod dashboard_sessions;
pub mod events;
pub mod exchange_session_states;
pub mod exchange_sessions;
pub mod exchanges;
pub mod faults;
pub mod funding_sources;
pub mod holdings;
pub mod idempotency;
pub mod jobs;
pub mod journal;
pub mod members;
pub mod micro_deposits;
pub mod mx_webhooks;
pub mod payment_tokens;
pub mod plaid;
pub mod processor_tokens;
pub mod queue_stats;
pub mod rewards;
pub mod sandbox;
pub mod statements;
pub mod tenant_clocks;
pub mod tenants;
pub mod transfers;
pub mod users;
pub mod visa;
pub mod webhooks;
pub mod widget_sessions;

/// A page request with MX's conventions: 1-based page, bounded page size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub page: i64,
    pub per_page: i64,
}

impl PageRequest {
    pub fn limit(self) -> i64 {
        self.per_page
    }

    pub fn offset(self) -> i64 {
        (self.page - 1).saturating_mul(self.per_page)
    }
}

/// A page of rows and the total number of matching rows.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
}
