//! MX's 22 connection statuses, with the numeric ids widget events and webhooks use.

use std::fmt;

/// A member's `connection_status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnectionStatus {
    Created,
    Prevented,
    Denied,
    Challenged,
    Rejected,
    Locked,
    Connected,
    Impeded,
    Reconnected,
    Degraded,
    Disconnected,
    Discontinued,
    Closed,
    Delayed,
    Failed,
    Updated,
    Disabled,
    Imported,
    Resumed,
    Expired,
    Impaired,
    Pending,
}

impl ConnectionStatus {
    pub const ALL: [ConnectionStatus; 22] = [
        Self::Created,
        Self::Prevented,
        Self::Denied,
        Self::Challenged,
        Self::Rejected,
        Self::Locked,
        Self::Connected,
        Self::Impeded,
        Self::Reconnected,
        Self::Degraded,
        Self::Disconnected,
        Self::Discontinued,
        Self::Closed,
        Self::Delayed,
        Self::Failed,
        Self::Updated,
        Self::Disabled,
        Self::Imported,
        Self::Resumed,
        Self::Expired,
        Self::Impaired,
        Self::Pending,
    ];

    /// The numeric id (connect-widget `ConnectionStatusMap`): its position in [`Self::ALL`].
    pub fn id(self) -> u8 {
        Self::ALL.iter().position(|s| *s == self).unwrap_or(0) as u8
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "CREATED",
            Self::Prevented => "PREVENTED",
            Self::Denied => "DENIED",
            Self::Challenged => "CHALLENGED",
            Self::Rejected => "REJECTED",
            Self::Locked => "LOCKED",
            Self::Connected => "CONNECTED",
            Self::Impeded => "IMPEDED",
            Self::Reconnected => "RECONNECTED",
            Self::Degraded => "DEGRADED",
            Self::Disconnected => "DISCONNECTED",
            Self::Discontinued => "DISCONTINUED",
            Self::Closed => "CLOSED",
            Self::Delayed => "DELAYED",
            Self::Failed => "FAILED",
            Self::Updated => "UPDATED",
            Self::Disabled => "DISABLED",
            Self::Imported => "IMPORTED",
            Self::Resumed => "RESUMED",
            Self::Expired => "EXPIRED",
            Self::Impaired => "IMPAIRED",
            Self::Pending => "PENDING",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Whether the member needs the end user to enter credentials again.
    pub fn needs_updated_credentials(self) -> bool {
        matches!(self, Self::Denied | Self::Prevented | Self::Impaired)
    }
}

impl fmt::Display for ConnectionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_mx_numbering() {
        assert_eq!(ConnectionStatus::Created.id(), 0);
        assert_eq!(ConnectionStatus::Challenged.id(), 3);
        assert_eq!(ConnectionStatus::Connected.id(), 6);
        assert_eq!(ConnectionStatus::Failed.id(), 14);
        assert_eq!(ConnectionStatus::Resumed.id(), 18);
        assert_eq!(ConnectionStatus::Expired.id(), 19);
        assert_eq!(ConnectionStatus::Pending.id(), 21);
        for s in ConnectionStatus::ALL {
            assert_eq!(ConnectionStatus::parse(s.as_str()), Some(s));
        }
    }
}
