//! The payments side's vocabulary as Dwolla spells it: customer types and statuses,
//! funding-source, micro-deposit and exchange statuses, and event topics.

use crate::wire_enum;

wire_enum! {
    /// A customer's `type`.
    pub enum CustomerKind {
        Unverified = "unverified",
        ReceiveOnly = "receive-only",
        Personal = "personal",
        Business = "business",
    }
}

impl CustomerKind {
    /// A verified customer type: one Dwolla checks identity for.
    pub fn is_verified(self) -> bool {
        matches!(self, Self::Personal | Self::Business)
    }
}

wire_enum! {
    /// A customer's `status`.
    pub enum CustomerStatus {
        Unverified = "unverified",
        Retry = "retry",
        Kba = "kba",
        Document = "document",
        Verified = "verified",
        Suspended = "suspended",
        Deactivated = "deactivated",
    }
}

wire_enum! {
    /// A funding source's `status`.
    pub enum FundingSourceStatus {
        Unverified = "unverified",
        Verified = "verified",
    }
}

wire_enum! {
    /// The state of a funding source's two micro-deposits.
    pub enum FundingSourceMicroDepositStatus {
        Pending = "pending",
        Processed = "processed",
        Failed = "failed",
    }
}

wire_enum! {
    /// An exchange's `status`.
    pub enum ExchangeStatus {
        Active = "active",
        Deactivated = "deactivated",
        Removed = "removed",
    }
}

wire_enum! {
    /// A bank funding source's `bankAccountType`.
    pub enum BankAccountType {
        Checking = "checking",
        Savings = "savings",
        GeneralLedger = "general-ledger",
        Loan = "loan",
    }
}

wire_enum! {
    /// The collection an event's resource belongs to (its path's first segment).
    pub enum EventResource {
        Customers = "customers",
        FundingSources = "funding-sources",
        Exchanges = "exchanges",
        Transfers = "transfers",
    }
}

impl EventResource {
    /// The singular HAL `resource-type` of the collection.
    pub fn resource_type(self) -> &'static str {
        match self {
            Self::Customers => "customer",
            Self::FundingSources => "funding-source",
            Self::Exchanges => "exchange",
            Self::Transfers => "transfer",
        }
    }
}

wire_enum! {
    /// The topic of an event and of the webhooks that carry it.
    pub enum EventTopic {
        CustomerCreated = "customer_created",
        CustomerVerified = "customer_verified",
        CustomerReverificationNeeded = "customer_reverification_needed",
        CustomerKbaVerificationNeeded = "customer_kba_verification_needed",
        CustomerVerificationDocumentNeeded = "customer_verification_document_needed",
        CustomerSuspended = "customer_suspended",
        CustomerDeactivated = "customer_deactivated",
        CustomerActivated = "customer_activated",
        CustomerFundingSourceAdded = "customer_funding_source_added",
        CustomerFundingSourceRemoved = "customer_funding_source_removed",
        CustomerFundingSourceUpdated = "customer_funding_source_updated",
        CustomerFundingSourceVerified = "customer_funding_source_verified",
        CustomerMicrodepositsAdded = "customer_microdeposits_added",
        CustomerMicrodepositsCompleted = "customer_microdeposits_completed",
        CustomerMicrodepositsMaxattempts = "customer_microdeposits_maxattempts",
        /// An exchange's partner connection needs the end user to sign in again.
        CustomerExchangeReauthRequired = "customer_exchange_reauth_required",
    }
}
