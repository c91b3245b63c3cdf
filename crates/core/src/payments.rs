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
        CustomerFundingSourceUnverified = "customer_funding_source_unverified",
        CustomerMicrodepositsAdded = "customer_microdeposits_added",
        CustomerMicrodepositsCompleted = "customer_microdeposits_completed",
        CustomerMicrodepositsMaxattempts = "customer_microdeposits_maxattempts",
        CustomerMicrodepositsFailed = "customer_microdeposits_failed",
        /// An exchange's partner connection needs the end user to sign in again.
        CustomerExchangeReauthRequired = "customer_exchange_reauth_required",
        /// A customer's balance went below zero (a late return took back settled money).
        CustomerFundingSourceNegative = "customer_funding_source_negative",
        CustomerTransferCreated = "customer_transfer_created",
        CustomerTransferCancelled = "customer_transfer_cancelled",
        CustomerTransferFailed = "customer_transfer_failed",
        CustomerTransferCompleted = "customer_transfer_completed",
        CustomerBankTransferCreated = "customer_bank_transfer_created",
        CustomerBankTransferCreationFailed = "customer_bank_transfer_creation_failed",
        CustomerBankTransferCancelled = "customer_bank_transfer_cancelled",
        CustomerBankTransferFailed = "customer_bank_transfer_failed",
        CustomerBankTransferCompleted = "customer_bank_transfer_completed",
        /// The account's own funding sources and transfers.
        FundingSourceRemoved = "funding_source_removed",
        FundingSourceNegative = "funding_source_negative",
        TransferCreated = "transfer_created",
        TransferCancelled = "transfer_cancelled",
        TransferFailed = "transfer_failed",
        TransferCompleted = "transfer_completed",
        BankTransferCreated = "bank_transfer_created",
        BankTransferCreationFailed = "bank_transfer_creation_failed",
        BankTransferCancelled = "bank_transfer_cancelled",
        BankTransferFailed = "bank_transfer_failed",
        BankTransferCompleted = "bank_transfer_completed",
    }
}

wire_enum! {
    /// What a funding source is: a bank account, or a Dwolla balance holding money.
    pub enum FundingSourceKind {
        Bank = "bank",
        Balance = "balance",
    }
}

wire_enum! {
    /// A transfer's `status` (and a bank transfer's).
    pub enum TransferStatus {
        Pending = "pending",
        Processed = "processed",
        Failed = "failed",
        Cancelled = "cancelled",
    }
}

wire_enum! {
    /// Which way an ACH leg moves money: out of a bank, or into one.
    pub enum BankTransferDirection {
        Debit = "debit",
        Credit = "credit",
    }
}
