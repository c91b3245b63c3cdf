//! The sandbox's decisions as plain functions: how long tokens live, how credentials and MFA
//! answers are judged (Plaid's sandbox test credentials), and the errors Link reports.

use serde::{Deserialize, Serialize};

/// A link token opens Link within four hours of its creation (Plaid's default).
pub const LINK_TOKEN_TTL_MS: i64 = 4 * 3_600_000;
/// A public token is exchanged within thirty minutes or not at all.
pub const PUBLIC_TOKEN_TTL_MS: i64 = 30 * 60_000;
/// An opened Link session answers its page for thirty minutes.
pub const LINK_SESSION_TTL_MS: i64 = 30 * 60_000;

/// The sandbox password that logs in.
const GOOD_PASSWORD: &str = "pass_good";
/// The sandbox user that logs in.
const GOOD_USER: &str = "user_good";
/// The device code of the `mfa_device` challenge.
pub const DEVICE_CODE: &str = "1234";
/// The answer of the `mfa_selections` challenge.
pub const SELECTION_ANSWER: &str = "Yes";
/// The most rounds or questions a `mfa_questions_<n>_<m>` challenge asks.
const MAX_QUESTIONS: u32 = 9;

openiav_core::wire_enum! {
    /// Plaid's `error_type`.
    pub enum ErrorType {
        ItemError = "ITEM_ERROR",
        InstitutionError = "INSTITUTION_ERROR",
        ApiError = "API_ERROR",
        InvalidRequest = "INVALID_REQUEST",
        InvalidInput = "INVALID_INPUT",
    }
}

/// An error as Plaid reports it (Link's `onExit` error, `ERROR` event, and the API's body).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinkFailure {
    pub error_type: ErrorType,
    pub error_code: &'static str,
    pub error_message: &'static str,
    pub display_message: Option<&'static str>,
}

/// The item errors a sandbox `error_<CODE>` password gives, with Plaid's messages.
const ERRORS: &[(ErrorType, &str, &str, Option<&str>)] = &[
    (ErrorType::ItemError, "INVALID_CREDENTIALS", "the provided credentials were not correct", Some("The provided credentials were not correct. Please try again.")),
    (ErrorType::ItemError, "INVALID_MFA", "the provided MFA response(s) were not correct", Some("The provided MFA responses were not correct. Please try again.")),
    (ErrorType::ItemError, "ITEM_LOCKED", "the account is locked. prompt the user to visit the institution's site and unlock their account", Some("The given credentials are correct, but your account is locked. Visit your bank's website to unlock it, then try again.")),
    (ErrorType::ItemError, "ITEM_NOT_SUPPORTED", "this account is currently not supported", Some("This account is not currently supported.")),
    (ErrorType::ItemError, "USER_SETUP_REQUIRED", "the account has not been fully set up. prompt the user to visit the issuing institution's site and finish the setup process", Some("Your account is not fully set up. Visit your bank's website to finish the setup, then try again.")),
    (ErrorType::ItemError, "INSUFFICIENT_CREDENTIALS", "insufficient authorization was provided to complete the request", Some("Insufficient authorization was provided to connect this account.")),
    (ErrorType::ItemError, "MFA_NOT_SUPPORTED", "this account requires a software-based MFA method that is not supported", Some("This account requires a security method we do not support.")),
    (ErrorType::ItemError, "NO_ACCOUNTS", "no valid accounts were found for this item", Some("No valid accounts were found at this institution.")),
    (ErrorType::ItemError, "ITEM_LOGIN_REQUIRED", "the login details of this item have changed (credentials, MFA, or required user action) and a user login is required to update this information", Some("Your login details have changed. Please log in again.")),
    (ErrorType::ItemError, "PASSWORD_RESET_REQUIRED", "the user must log in directly to the financial institution and reset their password", Some("Please reset your password at your bank's website, then try again.")),
    (ErrorType::InstitutionError, "INSTITUTION_DOWN", "this institution is not currently responding to this request. please try again soon", Some("This financial institution is not currently responding. Please try again later.")),
    (ErrorType::InstitutionError, "INSTITUTION_NOT_RESPONDING", "this institution is not currently responding to this request. please try again soon", Some("This financial institution is not currently responding. Please try again later.")),
    (ErrorType::InstitutionError, "INSTITUTION_NOT_AVAILABLE", "this institution is not currently available", Some("This financial institution is not currently available. Please try again later.")),
    (ErrorType::ApiError, "INTERNAL_SERVER_ERROR", "an unexpected error occurred", Some("Something went wrong. Please try again later.")),
];

/// The error `code` names, when the sandbox knows it.
pub fn failure(code: &str) -> Option<LinkFailure> {
    ERRORS.iter().find(|e| e.1 == code).map(|&(error_type, error_code, error_message, display_message)| LinkFailure {
        error_type,
        error_code,
        error_message,
        display_message,
    })
}

fn known(code: &str) -> LinkFailure {
    failure(code).expect("a code of the table")
}

/// A challenge the institution asks after the credentials.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Mfa {
    /// A code sent to the end user's device.
    Device,
    /// `rounds` rounds of `per_round` questions; `round` is the one asked now (from 1).
    Questions { rounds: u32, per_round: u32, round: u32 },
    /// A multiple-choice question.
    Selections,
}

openiav_core::wire_enum! {
    /// Link's `mfa_type`.
    pub enum MfaType {
        Code = "code",
        Questions = "questions",
        Selections = "selections",
    }
}

impl Mfa {
    /// The `mfa_type` Link's events report for this challenge.
    pub fn mfa_type(&self) -> MfaType {
        match self {
            Self::Device => MfaType::Code,
            Self::Questions { .. } => MfaType::Questions,
            Self::Selections => MfaType::Selections,
        }
    }
}

/// What the institution says to a login or an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Logged in.
    Connected,
    /// It asks (another) challenge.
    Challenge(Mfa),
    /// It refuses.
    Refused(LinkFailure),
}

/// The challenge a sandbox scenario word names: `mfa_device`, `mfa_selections`,
/// `mfa_questions_<n>_<m>` (n rounds of m questions, each at most 9).
fn scenario(word: &str) -> Option<Mfa> {
    match word {
        "mfa_device" => return Some(Mfa::Device),
        "mfa_selections" => return Some(Mfa::Selections),
        _ => {}
    }
    let (n, m) = word.strip_prefix("mfa_questions_")?.split_once('_')?;
    let (rounds, per_round) = (n.parse::<u32>().ok()?, m.parse::<u32>().ok()?);
    ((1..=MAX_QUESTIONS).contains(&rounds) && (1..=MAX_QUESTIONS).contains(&per_round)).then_some(Mfa::Questions {
        rounds,
        per_round,
        round: 1,
    })
}

/// Judges a login as Plaid's sandbox does: `user_good` / `pass_good` logs in; `user_good` with
/// a scenario password (`mfa_device`, `mfa_questions_<n>_<m>`, `mfa_selections`) asks that
/// challenge, as does the scenario as username with `pass_good`; `user_good` with
/// `error_<CODE>` fails with that code; anything else is `INVALID_CREDENTIALS`.
pub fn judge_credentials(username: &str, password: &str) -> Verdict {
    let (username, password) = (username.trim(), password.trim());
    if username == GOOD_USER {
        if password == GOOD_PASSWORD {
            return Verdict::Connected;
        }
        if let Some(mfa) = scenario(password) {
            return Verdict::Challenge(mfa);
        }
        if let Some(failure) = password.strip_prefix("error_").and_then(failure) {
            return Verdict::Refused(failure);
        }
    } else if password == GOOD_PASSWORD {
        if let Some(mfa) = scenario(username) {
            return Verdict::Challenge(mfa);
        }
    }
    Verdict::Refused(known("INVALID_CREDENTIALS"))
}

/// The prompts of a challenge: the questions (with their choices, for selections).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Prompt {
    pub question: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
}

/// What the page shows for `mfa`.
pub fn prompts(mfa: &Mfa) -> Vec<Prompt> {
    match mfa {
        Mfa::Device => vec![Prompt { question: "Enter the code sent to your device".into(), choices: Vec::new() }],
        Mfa::Questions { per_round, round, .. } => (1..=*per_round)
            .map(|j| Prompt { question: format!("Security question {round}-{j}"), choices: Vec::new() })
            .collect(),
        Mfa::Selections => vec![Prompt {
            question: "Did you make a purchase at your local coffee shop last week?".into(),
            choices: vec!["Yes".into(), "No".into()],
        }],
    }
}

/// Judges the answers to `mfa`: the device code `1234`; `answer_<i>_<j>` for question j of
/// round i (the next round follows, the last one logs in); `Yes` for the selection. A wrong
/// or missing answer is `INVALID_MFA`.
pub fn judge_mfa(mfa: &Mfa, answers: &[String]) -> Verdict {
    let answers: Vec<&str> = answers.iter().map(|a| a.trim()).collect();
    let right = match mfa {
        Mfa::Device => answers == [DEVICE_CODE],
        Mfa::Selections => answers == [SELECTION_ANSWER],
        Mfa::Questions { rounds, per_round, round } => {
            let expected: Vec<String> = (1..=*per_round).map(|j| format!("answer_{round}_{j}")).collect();
            if answers != expected {
                false
            } else if round < rounds {
                return Verdict::Challenge(Mfa::Questions { rounds: *rounds, per_round: *per_round, round: round + 1 });
            } else {
                true
            }
        }
    };
    if right {
        Verdict::Connected
    } else {
        Verdict::Refused(known("INVALID_MFA"))
    }
}

/// Whether the end user may try again after `failure` on the same screen (a wrong password or
/// answer), rather than leaving Link with it.
pub fn may_retry(failure: &LinkFailure) -> bool {
    matches!(failure.error_code, "INVALID_CREDENTIALS" | "INVALID_MFA")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(v: &Verdict) -> Option<&'static str> {
        match v {
            Verdict::Refused(f) => Some(f.error_code),
            _ => None,
        }
    }

    #[test]
    fn user_good_with_pass_good_logs_in_and_a_wrong_password_is_invalid_credentials() {
        assert_eq!(judge_credentials("user_good", "pass_good"), Verdict::Connected);
        assert_eq!(judge_credentials(" user_good ", "pass_good\n"), Verdict::Connected);
        for (u, p) in [("user_good", "wrong"), ("user_bad", "pass_good"), ("", ""), ("USER_GOOD", "pass_good")] {
            assert_eq!(code(&judge_credentials(u, p)), Some("INVALID_CREDENTIALS"), "{u}/{p}");
        }
        let Verdict::Refused(f) = judge_credentials("user_good", "nope") else { panic!() };
        assert_eq!(f.error_type, ErrorType::ItemError);
        assert_eq!(f.error_message, "the provided credentials were not correct");
    }

    #[test]
    fn error_passwords_give_their_code_and_unknown_codes_are_invalid_credentials() {
        assert_eq!(code(&judge_credentials("user_good", "error_ITEM_LOCKED")), Some("ITEM_LOCKED"));
        assert_eq!(code(&judge_credentials("user_good", "error_NO_ACCOUNTS")), Some("NO_ACCOUNTS"));
        let Verdict::Refused(down) = judge_credentials("user_good", "error_INSTITUTION_DOWN") else { panic!() };
        assert_eq!(down.error_type, ErrorType::InstitutionError);
        assert_eq!(code(&judge_credentials("user_good", "error_NOT_A_CODE")), Some("INVALID_CREDENTIALS"));
        assert!(!may_retry(&down) && may_retry(&known("INVALID_CREDENTIALS")) && may_retry(&known("INVALID_MFA")));
    }

    #[test]
    fn scenario_passwords_or_usernames_ask_their_challenge() {
        assert_eq!(judge_credentials("user_good", "mfa_device"), Verdict::Challenge(Mfa::Device));
        assert_eq!(judge_credentials("mfa_device", "pass_good"), Verdict::Challenge(Mfa::Device));
        assert_eq!(judge_credentials("user_good", "mfa_selections"), Verdict::Challenge(Mfa::Selections));
        assert_eq!(
            judge_credentials("mfa_questions_2_3", "pass_good"),
            Verdict::Challenge(Mfa::Questions { rounds: 2, per_round: 3, round: 1 })
        );
        for bad in ["mfa_questions_0_1", "mfa_questions_1", "mfa_questions_10_1", "mfa_questions_a_b"] {
            assert_eq!(code(&judge_credentials("user_good", bad)), Some("INVALID_CREDENTIALS"), "{bad}");
        }
        assert_eq!(code(&judge_credentials("mfa_device", "wrong")), Some("INVALID_CREDENTIALS"));
    }

    #[test]
    fn the_device_code_and_the_selection_have_one_right_answer() {
        let a = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(judge_mfa(&Mfa::Device, &a(&["1234"])), Verdict::Connected);
        assert_eq!(code(&judge_mfa(&Mfa::Device, &a(&["0000"]))), Some("INVALID_MFA"));
        assert_eq!(code(&judge_mfa(&Mfa::Device, &a(&[]))), Some("INVALID_MFA"));
        assert_eq!(judge_mfa(&Mfa::Selections, &a(&["Yes"])), Verdict::Connected);
        assert_eq!(code(&judge_mfa(&Mfa::Selections, &a(&["No"]))), Some("INVALID_MFA"));
    }

    #[test]
    fn questions_go_round_by_round_each_answered_answer_i_j() {
        let a = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let first = Mfa::Questions { rounds: 2, per_round: 2, round: 1 };
        let second = Mfa::Questions { rounds: 2, per_round: 2, round: 2 };
        assert_eq!(judge_mfa(&first, &a(&["answer_1_1", "answer_1_2"])), Verdict::Challenge(second.clone()));
        assert_eq!(judge_mfa(&second, &a(&["answer_2_1", "answer_2_2"])), Verdict::Connected);
        assert_eq!(code(&judge_mfa(&first, &a(&["answer_1_2", "answer_1_1"]))), Some("INVALID_MFA"));
        assert_eq!(code(&judge_mfa(&second, &a(&["answer_1_1", "answer_1_2"]))), Some("INVALID_MFA"));
        assert_eq!(prompts(&second).len(), 2);
        assert_eq!(first.mfa_type(), MfaType::Questions);
        assert_eq!(Mfa::Device.mfa_type(), MfaType::Code);
    }

    #[test]
    fn challenges_keep_their_stored_json() {
        let q = Mfa::Questions { rounds: 1, per_round: 2, round: 1 };
        let json = serde_json::to_string(&q).unwrap();
        assert_eq!(json, r#"{"kind":"questions","rounds":1,"per_round":2,"round":1}"#);
        assert_eq!(serde_json::from_str::<Mfa>(&json).unwrap(), q);
        assert_eq!(serde_json::to_string(&Mfa::Device).unwrap(), r#"{"kind":"device"}"#);
    }

    #[test]
    fn token_lifetimes_are_plaids() {
        assert_eq!(LINK_TOKEN_TTL_MS, 14_400_000);
        assert_eq!(PUBLIC_TOKEN_TTL_MS, 1_800_000);
    }
}
