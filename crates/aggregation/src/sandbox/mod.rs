//! The sandbox banks: how MX Bank (and every catalog institution in the sandbox) answers a
//! login and an MFA answer, exactly as MX's test-credential table describes.

pub mod data;
pub mod fixtures;
pub mod statement_pdf;

use openiav_core::ids::TenantId;

use crate::status::ConnectionStatus;

/// The username every sandbox bank knows.
pub const TEST_USERNAME: &str = "mxuser";
/// The MFA answer that passes.
pub const CORRECT_ANSWER: &str = "correct";

/// The kinds of MFA the test passwords raise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MfaKind {
    /// `challenge`: a free-text question.
    Text,
    /// `options`: pick one option.
    Options,
    /// `image`: say what an image shows.
    Image,
}

/// A failure the bank reports, with the message MX carries in `connection_status_message`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BankFailure {
    pub status: ConnectionStatus,
    pub message: &'static str,
}

/// What the bank says to a login attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginOutcome {
    Authenticated,
    Mfa(MfaKind),
    Failed(BankFailure),
}

/// What the bank says to an MFA answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MfaOutcome {
    Passed,
    Failed(BankFailure),
}

const INVALID_CREDENTIALS: BankFailure =
    BankFailure { status: ConnectionStatus::Denied, message: "Invalid credentials." };
const LOCKED_USER: &str = "The credentials are valid, but the user is locked.";

/// The failures a test password (or MFA answer) simulates, by the seed's table.
fn simulated_failure(value: &str) -> Option<BankFailure> {
    use ConnectionStatus::*;
    Some(match value {
        "BAD_REQUEST" => BankFailure { status: Failed, message: "You must fill out the username and password fields." },
        "UNAUTHORIZED" => INVALID_CREDENTIALS,
        "INVALID" => BankFailure { status: Denied, message: "The login and/or password are invalid." },
        "LOCKED" => BankFailure { status: Locked, message: LOCKED_USER },
        "DISABLED" => BankFailure { status: Denied, message: LOCKED_USER },
        "SERVER_ERROR" => BankFailure { status: Failed, message: "Internal server error." },
        "UNAVAILABLE" => BankFailure { status: Failed, message: "Service is Unavailable." },
        _ => return None,
    })
}

/// A login with the given username and password.
pub fn login(username: &str, password: &str) -> LoginOutcome {
    if username != TEST_USERNAME {
        return LoginOutcome::Failed(INVALID_CREDENTIALS);
    }
    match password {
        "challenge" => LoginOutcome::Mfa(MfaKind::Text),
        "options" => LoginOutcome::Mfa(MfaKind::Options),
        "image" => LoginOutcome::Mfa(MfaKind::Image),
        other => simulated_failure(other).map_or(LoginOutcome::Authenticated, LoginOutcome::Failed),
    }
}

/// A login at `institution` for `tenant`: the tenant's fixture users sign in with their own
/// passwords; every other username meets the test-credential table.
pub fn login_at(tenant: TenantId, institution: &str, username: &str, password: &str) -> LoginOutcome {
    match fixtures::of(tenant).and_then(|bank| bank.sign_in(institution, username, password)) {
        Some(true) => LoginOutcome::Authenticated,
        Some(false) => LoginOutcome::Failed(INVALID_CREDENTIALS),
        None => login(username, password),
    }
}

/// An answer to any of the test bank's MFA challenges: `correct` passes, the server-error
/// passwords give their outcomes, anything else is a wrong answer.
pub fn answer_mfa(answer: &str) -> MfaOutcome {
    if answer == CORRECT_ANSWER {
        return MfaOutcome::Passed;
    }
    match answer {
        "SERVER_ERROR" | "UNAVAILABLE" | "DISABLED" => {
            MfaOutcome::Failed(simulated_failure(answer).unwrap_or(WRONG_ANSWER))
        }
        _ => MfaOutcome::Failed(WRONG_ANSWER),
    }
}

/// The bank refusing credentials it accepted before (a password changed at the bank): what the
/// sandbox's lost-connection simulation makes a connected member answer.
pub const CREDENTIALS_NO_LONGER_VALID: BankFailure = INVALID_CREDENTIALS;

/// A wrong MFA answer.
pub const WRONG_ANSWER: BankFailure =
    BankFailure { status: ConnectionStatus::Rejected, message: "The answer to the security question was incorrect." };

/// The bank's message for a challenge nobody answered in time.
pub const EXPIRED: BankFailure = BankFailure {
    status: ConnectionStatus::Expired,
    message: "The multi-factor authentication request expired before it was answered.",
};

/// A 16×16 PNG shown by the IMAGE_DATA challenge.
pub const CHALLENGE_IMAGE: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAe0lEQVR42oWRQQqAMAwE9ycefKC/8nOePcfAQoylUyEUus2EZlcRsR2X6z73qhK7ns3KezFrINvylCUzC8DdL2CGgP6k3jTdp4tZGqYO+3j2Cuj71E9+ADP93x+A/KZ8RH5TPiK/KR+R35SPyG/KR+Q35SPym/IR+U35PPQHx8DXIdzbAAAAAElFTkSuQmCC";

#[cfg(test)]
mod tests {
    use super::*;
    use ConnectionStatus::*;

    #[test]
    fn test_passwords_give_the_seed_table_outcomes() {
        assert_eq!(login("mxuser", "password"), LoginOutcome::Authenticated);
        assert_eq!(login("mxuser", "anything"), LoginOutcome::Authenticated);
        assert_eq!(login("mxuser", "challenge"), LoginOutcome::Mfa(MfaKind::Text));
        assert_eq!(login("mxuser", "options"), LoginOutcome::Mfa(MfaKind::Options));
        assert_eq!(login("mxuser", "image"), LoginOutcome::Mfa(MfaKind::Image));
        let failed = |p| match login("mxuser", p) {
            LoginOutcome::Failed(f) => (f.status, f.message),
            other => panic!("{p}: {other:?}"),
        };
        assert_eq!(failed("BAD_REQUEST"), (Failed, "You must fill out the username and password fields."));
        assert_eq!(failed("UNAUTHORIZED"), (Denied, "Invalid credentials."));
        assert_eq!(failed("INVALID"), (Denied, "The login and/or password are invalid."));
        assert_eq!(failed("LOCKED"), (Locked, "The credentials are valid, but the user is locked."));
        assert_eq!(failed("DISABLED"), (Denied, "The credentials are valid, but the user is locked."));
        assert_eq!(failed("SERVER_ERROR"), (Failed, "Internal server error."));
        assert_eq!(failed("UNAVAILABLE"), (Failed, "Service is Unavailable."));
        assert!(matches!(login("someone", "password"), LoginOutcome::Failed(f) if f.status == Denied));
    }

    #[test]
    fn mfa_answers_follow_the_table() {
        assert_eq!(answer_mfa("correct"), MfaOutcome::Passed);
        assert!(matches!(answer_mfa("challenge"), MfaOutcome::Failed(f) if f.status == Rejected));
        assert!(matches!(answer_mfa("wrong"), MfaOutcome::Failed(f) if f.status == Rejected));
        assert!(
            matches!(answer_mfa("SERVER_ERROR"), MfaOutcome::Failed(f) if f.status == Failed && f.message == "Internal server error.")
        );
        assert!(matches!(answer_mfa("UNAVAILABLE"), MfaOutcome::Failed(f) if f.status == Failed));
        assert!(matches!(answer_mfa("DISABLED"), MfaOutcome::Failed(f) if f.status == Denied));
    }
}
