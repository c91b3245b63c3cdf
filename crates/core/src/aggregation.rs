//! The aggregation side's vocabulary as MX spells it: a member's 22 connection statuses (with
//! the numeric ids widget events and webhooks use) and a micro-deposit's statuses.

use crate::wire_enum;

wire_enum! {
    /// A member's `connection_status`.
    pub enum ConnectionStatus {
        Created = "CREATED",
        Prevented = "PREVENTED",
        Denied = "DENIED",
        Challenged = "CHALLENGED",
        Rejected = "REJECTED",
        Locked = "LOCKED",
        Connected = "CONNECTED",
        Impeded = "IMPEDED",
        Reconnected = "RECONNECTED",
        Degraded = "DEGRADED",
        Disconnected = "DISCONNECTED",
        Discontinued = "DISCONTINUED",
        Closed = "CLOSED",
        Delayed = "DELAYED",
        Failed = "FAILED",
        Updated = "UPDATED",
        Disabled = "DISABLED",
        Imported = "IMPORTED",
        Resumed = "RESUMED",
        Expired = "EXPIRED",
        Impaired = "IMPAIRED",
        Pending = "PENDING",
    }
}

impl ConnectionStatus {
    /// The numeric id (connect-widget `ConnectionStatusMap`): its position in [`Self::ALL`].
    pub fn id(self) -> u8 {
        Self::ALL.iter().position(|s| *s == self).unwrap_or(0) as u8
    }

    /// Whether the member needs the end user to enter credentials again.
    pub fn needs_updated_credentials(self) -> bool {
        matches!(self, Self::Denied | Self::Prevented | Self::Impaired)
    }
}

wire_enum! {
    /// An MX micro-deposit verification's `status`.
    pub enum MicroDepositStatus {
        Initiated = "INITIATED",
        Deposited = "DEPOSITED",
        Verified = "VERIFIED",
        Errored = "ERRORED",
        Denied = "DENIED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_mx_numbering() {
        assert_eq!(ConnectionStatus::ALL.len(), 22);
        assert_eq!(ConnectionStatus::Created.id(), 0);
        assert_eq!(ConnectionStatus::Challenged.id(), 3);
        assert_eq!(ConnectionStatus::Connected.id(), 6);
        assert_eq!(ConnectionStatus::Failed.id(), 14);
        assert_eq!(ConnectionStatus::Resumed.id(), 18);
        assert_eq!(ConnectionStatus::Expired.id(), 19);
        assert_eq!(ConnectionStatus::Pending.id(), 21);
    }
}
