//! The aggregation side's vocabulary as MX spells it: a member's 22 connection statuses (with
//! the numeric ids widget events and webhooks use), account types and the sandbox's account
//! templates, a micro-deposit's statuses, use cases and OAuth referral sources.

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
    /// The `type` of an MX Platform webhook, as the client dashboard configures URLs per type.
    pub enum MxWebhookType {
        ConnectionStatus = "CONNECTION_STATUS",
        Member = "MEMBER",
        Verification = "VERIFICATION",
        Aggregation = "AGGREGATION",
        History = "HISTORY",
        Balance = "BALANCE",
        Statement = "STATEMENT",
        MicroDeposit = "MICRODEPOSIT",
        User = "USER",
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

wire_enum! {
    /// An account's MX `type`.
    pub enum AccountType {
        Checking = "CHECKING",
        Savings = "SAVINGS",
        CreditCard = "CREDIT_CARD",
        Investment = "INVESTMENT",
    }
}

wire_enum! {
    /// Which of the sandbox bank's account templates an account was made from.
    pub enum AccountKind {
        Checking = "checking",
        Savings = "savings",
        CreditCard = "credit_card",
        Investment = "investment",
    }
}

impl AccountKind {
    /// Deposit accounts carry account and routing numbers; cards and brokerage accounts do not.
    pub fn is_deposit(self) -> bool {
        matches!(self, Self::Checking | Self::Savings)
    }

    /// The MX account type of the template.
    pub fn account_type(self) -> AccountType {
        match self {
            Self::Checking => AccountType::Checking,
            Self::Savings => AccountType::Savings,
            Self::CreditCard => AccountType::CreditCard,
            Self::Investment => AccountType::Investment,
        }
    }
}

wire_enum! {
    /// A holding's MX `holding_type`.
    pub enum HoldingType {
        Equity = "EQUITY",
        ExchangeTradedFund = "EXCHANGE_TRADED_FUND",
        MoneyMarket = "MONEY_MARKET",
        MutualFund = "MUTUAL_FUND",
        Bond = "BOND",
    }
}

impl HoldingType {
    /// MX's legacy numeric `holding_type_id`.
    pub fn id(self) -> i64 {
        match self {
            Self::Equity => 1,
            Self::ExchangeTradedFund => 2,
            Self::MoneyMarket => 3,
            Self::MutualFund => 4,
            Self::Bond => 6,
        }
    }
}

wire_enum! {
    /// What a reward balance counts (`unit_type`).
    pub enum RewardUnit {
        Points = "POINTS",
        Miles = "MILES",
        Cash = "CASH",
    }
}

wire_enum! {
    /// Which balance of a rewards program a reward is (`balance_type`).
    pub enum RewardBalanceType {
        Available = "AVAILABLE_BALANCE",
        Expiring = "EXPIRING_BALANCE",
        Pending = "PENDING_BALANCE",
    }
}

wire_enum! {
    /// The Connect widget's `color_scheme`.
    pub enum ColorScheme {
        Light = "light",
        Dark = "dark",
        Browser = "browser",
    }
}

wire_enum! {
    /// What a member's data is for (`use_cases`).
    pub enum UseCase {
        MoneyMovement = "MONEY_MOVEMENT",
        Pfm = "PFM",
    }
}

wire_enum! {
    /// Where an OAuth window is opened from (`referral_source`, `oauth_referral_source`).
    pub enum ReferralSource {
        Browser = "BROWSER",
        App = "APP",
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
