//! The Visa open-banking partner's vocabulary: the steps of its bank page and the errors it
//! hands back to Dwolla's redirect endpoint (Tink's spelling).

use crate::wire_enum;

wire_enum! {
    /// Where an opened bank page is: each form post moves it one step on, and `done` ends it.
    pub enum VisaStage {
        Bank = "bank",
        Login = "login",
        Consent = "consent",
        Account = "account",
        Done = "done",
    }
}

wire_enum! {
    /// Why the bank page sent the browser back without an account (`?error=` of the redirect).
    pub enum VisaError {
        AuthenticationError = "AUTHENTICATION_ERROR",
        TemporaryError = "TEMPORARY_ERROR",
        UserCancelled = "USER_CANCELLED",
    }
}
