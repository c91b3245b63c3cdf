//! The Plaid Link stand-in's vocabulary: where a Link session stands.

crate::wire_enum! {
    /// The step a Link session waits on; each session API call may only move it forward.
    pub enum LinkStage {
        /// Opened; the end user picks an institution.
        SelectInstitution = "select_institution",
        /// The institution is chosen; the end user types their credentials.
        Credentials = "credentials",
        /// The credentials were accepted and the institution asks a challenge.
        Mfa = "mfa",
        /// Logged in; the end user picks the accounts to share.
        SelectAccount = "select_account",
        /// A public token was issued; the session is over.
        Done = "done",
    }
}
