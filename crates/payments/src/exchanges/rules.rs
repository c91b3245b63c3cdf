//! What an exchange (and an exchange session) requires of its customer.

use openiav_core::payments::CustomerStatus;

/// Whether a customer in `status` may connect accounts: not once deactivated or suspended.
pub fn customer_may_connect(status: CustomerStatus) -> bool {
    !matches!(status, CustomerStatus::Deactivated | CustomerStatus::Suspended)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_deactivated_or_suspended_customers_may_not_connect() {
        for &status in CustomerStatus::ALL {
            let refused = matches!(status, CustomerStatus::Deactivated | CustomerStatus::Suspended);
            assert_eq!(customer_may_connect(status), !refused, "{status}");
        }
    }
}
