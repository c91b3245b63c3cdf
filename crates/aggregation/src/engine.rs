//! The member state machine: starting jobs, the sandbox bank's answers, MFA and account-selection
//! challenges, resumes, expiry and OAuth consent. Every function runs inside the caller's write
//! transaction; follow-up work is queued as a durable job in that same transaction.

use openiav_core::aggregation::{ReferralSource, UseCase};
use openiav_core::clock::Timestamp;
use openiav_core::ids::{derived_guid, AccountGuid, MemberGuid, UserGuid};
use openiav_store::records::{AccountRecord, MemberRecord};
use openiav_store::repo::{accounts, jobs};
use openiav_store::{Conn, StoreError};
use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::sandbox::data;
use crate::sandbox::{self, BankFailure, LoginOutcome, MfaKind, MfaOutcome};
use crate::status::ConnectionStatus;
use crate::Aggregation;

/// The queue member jobs run on.
pub const QUEUE: &str = "aggregation";

/// The jobs MX runs on a member.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    #[default]
    Aggregate,
    Verify,
    Identify,
    CheckBalance,
    ExtendHistory,
    FetchStatements,
    FetchRewards,
}

impl JobKind {
    /// The job's wire name (`aggregate`, `check_balance`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Aggregate => "aggregate",
            Self::Verify => "verify",
            Self::Identify => "identify",
            Self::CheckBalance => "check_balance",
            Self::ExtendHistory => "extend_history",
            Self::FetchStatements => "fetch_statements",
            Self::FetchRewards => "fetch_rewards",
        }
    }

    /// "an aggregate job", "a verify job": the article follows the sound of the name.
    pub fn with_article(self) -> String {
        let name = self.as_str();
        let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
        format!("{article} {name} job")
    }

    /// The status MX answers a job request with (the Python SDK maps models by exact status).
    pub fn success_status(self) -> axum::http::StatusCode {
        match self {
            // The specs (and so the Python SDK) answer these with 200 only.
            Self::Verify | Self::FetchRewards => axum::http::StatusCode::OK,
            _ => axum::http::StatusCode::ACCEPTED,
        }
    }
}

/// A job to start and what it gathers besides its own data: MX applies the Connect widget's
/// `include_transactions` and `include_identity` in verification mode as in aggregation, and
/// the requested products (`investments`, `rewards`) to any job.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredJobRequest")]
pub struct JobRequest {
    pub kind: JobKind,
    pub with_transactions: bool,
    pub with_identity: bool,
    #[serde(default)]
    pub with_investments: bool,
    #[serde(default)]
    pub with_rewards: bool,
    /// An aggregation asked not to gather holdings (`include_holdings=false`).
    #[serde(default)]
    pub skip_holdings: bool,
}

impl From<JobKind> for JobRequest {
    fn from(kind: JobKind) -> Self {
        Self { kind, ..Self::default() }
    }
}

/// A stored request: older records hold only the job's kind.
#[derive(Deserialize)]
#[serde(untagged)]
enum StoredJobRequest {
    Kind(JobKind),
    Full {
        kind: JobKind,
        #[serde(default)]
        with_transactions: bool,
        #[serde(default)]
        with_identity: bool,
        #[serde(default)]
        with_investments: bool,
        #[serde(default)]
        with_rewards: bool,
        #[serde(default)]
        skip_holdings: bool,
    },
}

impl From<StoredJobRequest> for JobRequest {
    fn from(s: StoredJobRequest) -> Self {
        match s {
            StoredJobRequest::Kind(kind) => kind.into(),
            StoredJobRequest::Full {
                kind,
                with_transactions,
                with_identity,
                with_investments,
                with_rewards,
                skip_holdings,
            } => Self { kind, with_transactions, with_identity, with_investments, with_rewards, skip_holdings },
        }
    }
}

/// Where a running job stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum Stage {
    /// Queued: sign in at the bank.
    Login,
    /// CHALLENGED with an MFA question.
    AwaitingMfa { mfa: MfaKind },
    /// RESUMED after an MFA answer; the bank's verdict waits to be applied.
    MfaAnswered { passed: bool, failure_status: Option<ConnectionStatus>, failure_message: Option<String> },
    /// CHALLENGED with the account-selection question (verification).
    AwaitingAccountSelection,
    /// RESUMED after the end user picked an account.
    AccountSelected { account_guid: String },
}

/// The job a member is running (stored as JSON on the member).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunningJob {
    pub kind: JobKind,
    pub guid: String,
    pub stage: Stage,
    /// Bumped with every challenge, so a stale expiry job can tell it is stale.
    pub challenge_seq: u32,
    #[serde(default)]
    pub with_transactions: bool,
    #[serde(default)]
    pub with_identity: bool,
    #[serde(default)]
    pub with_investments: bool,
    #[serde(default)]
    pub with_rewards: bool,
    #[serde(default)]
    pub skip_holdings: bool,
}

/// One challenge as the API shows it. Holds no answers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Challenge {
    pub guid: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub label: String,
    pub field_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<ChallengeOption>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_data: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChallengeOption {
    pub guid: String,
    pub label: String,
    pub value: String,
}

/// A stored credential answer. Lives only encrypted at rest.
#[derive(Clone, Serialize, Deserialize)]
pub struct CredentialValue {
    pub guid: String,
    pub value: String,
}

/// OAuth state of an OAuth member (stored as JSON on the member).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct OauthState {
    pub granted: bool,
    pub revoked: bool,
    pub skip_aggregation: bool,
    pub client_redirect_url: Option<String>,
    pub referral_source: Option<ReferralSource>,
    pub ui_message_webview_url_scheme: Option<String>,
    /// The job to run once the end user consents (the Connect widget in verification mode
    /// verifies; otherwise the member aggregates).
    #[serde(default)]
    pub after_consent: Option<JobRequest>,
}

/// The payload of a queued member job.
#[derive(Debug, Serialize, Deserialize)]
pub struct JobPayload {
    pub member: String,
    pub user: String,
    pub action: JobAction,
    pub challenge_seq: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobAction {
    Advance,
    ExpireChallenge,
}

/// Why a job could not start.
#[derive(Debug)]
pub enum StartError {
    /// Another kind of job is running on the member.
    OtherJobRunning,
    Store(StoreError),
}

impl From<StoreError> for StartError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// Why a resume was refused.
#[derive(Debug)]
pub enum ResumeError {
    NotChallenged,
    MissingAnswer(String),
    Store(StoreError),
}

impl From<StoreError> for ResumeError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// Decodes the JSON column `column` of member `guid`: a value that does not decode is an error
/// naming both, never a default.
fn decode_column<T: serde::de::DeserializeOwned>(
    guid: &MemberGuid,
    column: &str,
    json: Option<&str>,
) -> Result<Option<T>, StoreError> {
    json.map(|text| {
        serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("member {guid}: column {column}: {e}")))
    })
    .transpose()
}

/// The job running on the member, if any.
pub fn running_job(m: &MemberRecord) -> Result<Option<RunningJob>, StoreError> {
    decode_column(&m.guid, "job", m.job.as_deref())
}

/// The member's open challenges.
pub fn open_challenges(m: &MemberRecord) -> Result<Vec<Challenge>, StoreError> {
    parse_challenges(&m.guid, m.challenges.as_deref())
}

/// The challenges stored as JSON on member `guid`.
pub fn parse_challenges(guid: &MemberGuid, json: Option<&str>) -> Result<Vec<Challenge>, StoreError> {
    Ok(decode_column(guid, "challenges", json)?.unwrap_or_default())
}

/// What the member's OAuth window was opened with and what the end user decided there.
pub fn oauth_state(m: &MemberRecord) -> Result<OauthState, StoreError> {
    Ok(decode_column(&m.guid, "oauth_options", m.oauth_options.as_deref())?.unwrap_or_default())
}

/// The member's use cases.
pub fn use_cases(m: &MemberRecord) -> Result<Option<Vec<UseCase>>, StoreError> {
    decode_column(&m.guid, "use_cases", m.use_cases.as_deref())
}

fn set_job(m: &mut MemberRecord, job: Option<&RunningJob>) {
    m.job = job.map(|j| serde_json::to_string(j).expect("job serialises"));
}

fn set_status(m: &mut MemberRecord, s: ConnectionStatus, message: Option<&str>) {
    m.connection_status = s;
    m.connection_status_message = message.map(str::to_owned);
}

async fn enqueue(
    conn: &mut Conn,
    agg: &Aggregation,
    m: &MemberRecord,
    action: JobAction,
    seq: u32,
    run_at: Timestamp,
) -> Result<(), StoreError> {
    let payload = JobPayload { member: m.guid.to_string(), user: m.user_guid.to_string(), action, challenge_seq: seq };
    let payload = serde_json::to_string(&payload).expect("payload serialises");
    let at = agg.now_in(conn, m.tenant_id).await?;
    jobs::enqueue(conn, m.tenant_id, QUEUE, m.guid.as_str(), &payload, run_at, at).await?;
    Ok(())
}

/// Starts the job on the member, or reports that it is already running. Returns whether a new
/// job was started.
pub async fn start_job(
    conn: &mut Conn,
    agg: &Aggregation,
    m: &mut MemberRecord,
    request: impl Into<JobRequest>,
) -> Result<bool, StartError> {
    let request = request.into();
    let kind = request.kind;
    if let Some(running) = running_job(m)? {
        return if running.kind == kind { Ok(false) } else { Err(StartError::OtherJobRunning) };
    }
    let now = agg.now_in(conn, m.tenant_id).await?;
    if m.is_oauth && !oauth_state(m)?.granted {
        // Nothing to sign in with until the end user authorizes at the bank.
        return Ok(false);
    }
    let job = RunningJob {
        kind,
        guid: derived_guid("JOB", &[m.guid.as_str(), &now.millis().to_string()]),
        stage: Stage::Login,
        challenge_seq: 0,
        with_transactions: request.with_transactions,
        with_identity: request.with_identity,
        with_investments: request.with_investments,
        with_rewards: request.with_rewards,
        skip_holdings: request.skip_holdings,
    };
    set_job(m, Some(&job));
    m.is_being_aggregated = true;
    m.updated_at = now;
    enqueue(conn, agg, m, JobAction::Advance, 0, now.plus_millis(agg.config.sandbox_delay_ms)).await?;
    Ok(true)
}

/// Stops whatever job runs on the member (credentials changed, or the member is being reset).
pub async fn cancel_job(conn: &mut Conn, m: &mut MemberRecord) -> Result<(), StoreError> {
    jobs::cancel(conn, m.tenant_id, QUEUE, m.guid.as_str()).await?;
    set_job(m, None);
    m.challenges = None;
    m.is_being_aggregated = false;
    Ok(())
}

/// The member's connection stops working as a background aggregation would find it when the
/// bank no longer takes the stored credentials: whatever job ran stops and the member is DENIED
/// until the end user updates its credentials.
pub async fn lose_connection(conn: &mut Conn, agg: &Aggregation, m: &mut MemberRecord) -> Result<(), StoreError> {
    let now = agg.now_in(conn, m.tenant_id).await?;
    cancel_job(conn, m).await?;
    finish_failed(now, m, sandbox::CREDENTIALS_NO_LONGER_VALID);
    Ok(())
}

/// Forces the member into `status` as the control plane asks: whatever job ran stops, and the
/// member ends as a job would leave it there (CONNECTED with the data it last gathered,
/// CHALLENGED by an aggregation waiting on a text question, or failed with `message`).
pub async fn force_status(
    conn: &mut Conn,
    agg: &Aggregation,
    m: &mut MemberRecord,
    status: ConnectionStatus,
    message: Option<&str>,
) -> Result<(), StoreError> {
    cancel_job(conn, m).await?;
    let now = agg.now_in(conn, m.tenant_id).await?;
    match status {
        ConnectionStatus::Connected => {
            set_status(m, status, None);
            m.is_authenticated = true;
            m.aggregated_at = Some(now);
            m.successfully_aggregated_at = Some(now);
            m.updated_at = now;
        }
        // The bank asks a question: an aggregation waits on it, as a `challenge` login makes one
        // wait (answer `correct` and it goes on; unanswered, it expires).
        ConnectionStatus::Challenged => {
            let mut job = RunningJob {
                kind: JobKind::Aggregate,
                guid: derived_guid("JOB", &[m.guid.as_str(), &now.millis().to_string()]),
                stage: Stage::Login,
                challenge_seq: 0,
                with_transactions: false,
                with_identity: false,
                with_investments: false,
                with_rewards: false,
                skip_holdings: false,
            };
            let challenge = mfa_challenge(m, 1, MfaKind::Text);
            issue_challenge(conn, agg, m, &mut job, Stage::AwaitingMfa { mfa: MfaKind::Text }, challenge).await?;
        }
        _ => fail_with(now, m, status, message.unwrap_or_default()),
    }
    Ok(())
}

/// Runs one queued step of the member's job.
pub async fn run_step(
    conn: &mut Conn,
    agg: &Aggregation,
    m: &mut MemberRecord,
    payload: &JobPayload,
) -> Result<(), StoreError> {
    let now = agg.now_in(conn, m.tenant_id).await?;
    let Some(mut job) = running_job(m)? else { return Ok(()) };
    match payload.action {
        JobAction::ExpireChallenge => {
            if m.connection_status == ConnectionStatus::Challenged && job.challenge_seq == payload.challenge_seq {
                finish_failed(now, m, sandbox::EXPIRED);
            }
            Ok(())
        }
        JobAction::Advance => match job.stage.clone() {
            Stage::Login => login(conn, agg, m, &mut job).await,
            Stage::MfaAnswered { passed: true, .. } => after_login(conn, agg, m, &mut job).await,
            Stage::MfaAnswered { passed: false, failure_status, failure_message } => {
                let status = failure_status.unwrap_or(ConnectionStatus::Rejected);
                let message = failure_message.unwrap_or_default();
                fail_with(now, m, status, &message);
                Ok(())
            }
            Stage::AccountSelected { account_guid } => {
                let user = m.user_guid.clone();
                if let Some(mut acct) = accounts::find(conn, m.tenant_id, &user, &account_guid).await? {
                    acct.numbers_verified = true;
                    acct.updated_at = now;
                    accounts::save(conn, &acct).await?;
                }
                m.has_processed_account_numbers = true;
                m.has_processed_accounts = true;
                finish_connected(now, m, &job);
                Ok(())
            }
            Stage::AwaitingMfa { .. } | Stage::AwaitingAccountSelection => Ok(()),
        },
    }
}

/// The username and password of the stored credentials.
fn login_pair(agg: &Aggregation, m: &MemberRecord) -> Result<(String, String), StoreError> {
    let Some(blob) = &m.credentials else { return Ok((String::new(), String::new())) };
    let context = credentials_context(m);
    let plain = agg.keyring.decrypt(&context, blob).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let values: Vec<CredentialValue> =
        serde_json::from_slice(&plain).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let inst = Catalog::get().find_for(m.tenant_id, &m.institution_code);
    let value_of = |field_type: &str| -> String {
        inst.and_then(|i| i.credentials.iter().find(|c| c.field_type == field_type))
            .and_then(|f| values.iter().find(|v| v.guid == f.guid))
            .map(|v| v.value.clone())
            .unwrap_or_default()
    };
    let username = value_of("LOGIN");
    let username =
        if username.is_empty() { values.first().map(|v| v.value.clone()).unwrap_or_default() } else { username };
    Ok((username, value_of("PASSWORD")))
}

/// The associated data binding a member's credential ciphertext to that member.
pub fn credentials_context(m: &MemberRecord) -> String {
    format!("{}/{}/credentials", m.tenant_id, m.guid)
}

/// The associated data binding an account-number ciphertext to its account.
pub fn account_number_context(a: &AccountRecord) -> String {
    format!("{}/{}/account_number", a.tenant_id, a.guid)
}

/// Whose data the bank shows: the username, or for OAuth members the user they belong to.
fn data_owner(agg: &Aggregation, m: &MemberRecord) -> Result<String, StoreError> {
    if m.is_oauth {
        return Ok(format!("oauth:{}", m.user_guid));
    }
    Ok(login_pair(agg, m)?.0)
}

async fn login(
    conn: &mut Conn,
    agg: &Aggregation,
    m: &mut MemberRecord,
    job: &mut RunningJob,
) -> Result<(), StoreError> {
    let now = agg.now_in(conn, m.tenant_id).await?;
    if m.is_oauth {
        let oauth = oauth_state(m)?;
        if oauth.revoked {
            fail_with(now, m, ConnectionStatus::Disconnected, "Access to this account was revoked at the institution.");
            return Ok(());
        }
        return after_login(conn, agg, m, job).await;
    }
    let (username, password) = login_pair(agg, m)?;
    match sandbox::login_at(m.tenant_id, &m.institution_code, &username, &password) {
        LoginOutcome::Authenticated => after_login(conn, agg, m, job).await,
        LoginOutcome::Failed(f) => {
            finish_failed(now, m, f);
            Ok(())
        }
        LoginOutcome::Mfa(kind) => {
            let challenge = mfa_challenge(m, job.challenge_seq + 1, kind);
            issue_challenge(conn, agg, m, job, Stage::AwaitingMfa { mfa: kind }, challenge).await
        }
    }
}

fn mfa_challenge(m: &MemberRecord, seq: u32, kind: MfaKind) -> Challenge {
    let guid = derived_guid("CRD", &[m.guid.as_str(), "mfa", &seq.to_string()]);
    let option = |label: &str, value: &str| ChallengeOption {
        guid: derived_guid("CRD", &[&guid, value]),
        label: label.to_owned(),
        value: value.to_owned(),
    };
    match kind {
        MfaKind::Text => Challenge {
            guid,
            kind: "TEXT".into(),
            label: "What city were you born in?".into(),
            field_name: None,
            options: vec![],
            image_data: None,
        },
        MfaKind::Options => Challenge {
            guid: guid.clone(),
            kind: "OPTIONS".into(),
            label: "Which of these is correct?".into(),
            field_name: None,
            options: vec![
                option("correct", "correct"),
                option("incorrect", "incorrect"),
                option("also incorrect", "also_incorrect"),
            ],
            image_data: None,
        },
        MfaKind::Image => Challenge {
            guid,
            kind: "IMAGE_DATA".into(),
            label: "Please enter the word shown in the image.".into(),
            field_name: None,
            options: vec![],
            image_data: Some(sandbox::CHALLENGE_IMAGE.into()),
        },
    }
}

async fn issue_challenge(
    conn: &mut Conn,
    agg: &Aggregation,
    m: &mut MemberRecord,
    job: &mut RunningJob,
    stage: Stage,
    challenge: Challenge,
) -> Result<(), StoreError> {
    let now = agg.now_in(conn, m.tenant_id).await?;
    job.challenge_seq += 1;
    job.stage = stage;
    set_job(m, Some(job));
    m.challenges = Some(serde_json::to_string(&vec![challenge]).expect("challenges serialise"));
    set_status(m, ConnectionStatus::Challenged, None);
    m.is_being_aggregated = true;
    m.updated_at = now;
    enqueue(
        conn,
        agg,
        m,
        JobAction::ExpireChallenge,
        job.challenge_seq,
        now.plus_millis(agg.config.challenge_timeout_ms),
    )
    .await
}

async fn after_login(
    conn: &mut Conn,
    agg: &Aggregation,
    m: &mut MemberRecord,
    job: &mut RunningJob,
) -> Result<(), StoreError> {
    let now = agg.now_in(conn, m.tenant_id).await?;
    m.is_authenticated = true;
    let owner = data_owner(agg, m)?;
    let with_card = job.kind != JobKind::Verify;
    let mut templates = data::accounts_at(m.tenant_id, &m.institution_code, &owner, with_card);
    let investing = crate::investments::gathers(conn, m, job).await?;
    if investing {
        templates.push(crate::investments::account_for(&m.institution_code, &owner));
    }
    let stored = store_accounts(conn, agg, m, templates).await?;
    if investing {
        crate::investments::store_holdings(conn, agg, &stored, &m.institution_code, &owner).await?;
    }
    if crate::rewards::gathers(m, job) {
        crate::rewards::fetch(conn, agg, m, &stored, &owner).await?;
    }
    match job.kind {
        JobKind::Verify => {
            let deposit: Vec<&AccountRecord> = stored.iter().filter(|a| a.account_number.is_some()).collect();
            if deposit.is_empty() {
                // No eligible account: MX connects without a challenge and there is nothing to verify.
                finish_connected(now, m, job);
                return Ok(());
            }
            let seq = job.challenge_seq + 1;
            let guid = derived_guid("CRD", &[m.guid.as_str(), "account_selection", &seq.to_string()]);
            let options = deposit
                .iter()
                .map(|a| ChallengeOption {
                    guid: derived_guid("CRD", &[&guid, a.guid.as_str()]),
                    label: a.name.clone(),
                    value: a.guid.to_string(),
                })
                .collect();
            let challenge = Challenge {
                guid,
                kind: "OPTIONS".into(),
                label: "Please select an account:".into(),
                field_name: None,
                options,
                image_data: None,
            };
            issue_challenge(conn, agg, m, job, Stage::AwaitingAccountSelection, challenge).await
        }
        JobKind::Aggregate => {
            m.has_processed_accounts = true;
            m.has_processed_transactions = true;
            finish_connected(now, m, job);
            Ok(())
        }
        JobKind::Identify => {
            m.has_processed_accounts = true;
            m.has_processed_account_owners = true;
            finish_connected(now, m, job);
            Ok(())
        }
        JobKind::CheckBalance => {
            m.has_processed_accounts = true;
            finish_connected(now, m, job);
            Ok(())
        }
        JobKind::FetchRewards => {
            // An aggregation-type event: accounts and transactions come along with the rewards.
            m.has_processed_accounts = true;
            m.has_processed_transactions = true;
            finish_connected(now, m, job);
            Ok(())
        }
        JobKind::ExtendHistory => {
            for mut acct in stored {
                acct.history_days = 730;
                acct.updated_at = now;
                accounts::save(conn, &acct).await?;
            }
            m.has_processed_accounts = true;
            m.has_processed_transactions = true;
            finish_connected(now, m, job);
            Ok(())
        }
        JobKind::FetchStatements => {
            m.has_processed_accounts = true;
            crate::statements::fetch(conn, agg, m).await?;
            finish_connected(now, m, job);
            Ok(())
        }
    }
}

/// Writes the bank's accounts (`templates`) for this member (refreshing ones already known).
async fn store_accounts(
    conn: &mut Conn,
    agg: &Aggregation,
    m: &MemberRecord,
    templates: Vec<data::SandboxAccount>,
) -> Result<Vec<AccountRecord>, StoreError> {
    let now = agg.now_in(conn, m.tenant_id).await?;
    let known = accounts::all(conn, m.tenant_id, &m.user_guid, Some(&m.guid)).await?;
    let mut out = Vec::new();
    for tpl in templates {
        // A refreshed account keeps its guid, so its numbers are encrypted for that guid.
        let guid = known.iter().find(|a| a.kind == tpl.kind).map_or_else(AccountGuid::generate, |a| a.guid.clone());
        let mut rec = AccountRecord {
            guid: guid.clone(),
            tenant_id: m.tenant_id,
            user_guid: m.user_guid.clone(),
            member_guid: m.guid.clone(),
            kind: tpl.kind,
            seed: tpl.seed,
            name: tpl.name.to_owned(),
            account_type: tpl.account_type,
            subtype: tpl.subtype.map(str::to_owned),
            balance_cents: tpl.balance_cents,
            available_balance_cents: tpl.available_balance_cents,
            credit_limit_cents: tpl.credit_limit_cents,
            apr_bps: tpl.apr_bps,
            routing_number: tpl.routing_number.as_ref().map(|r| r.as_str().to_owned()),
            account_number: None,
            account_number_last4: tpl.masked_number(),
            account_number_guid: derived_guid("ACN", &[guid.as_str()]),
            owner_guid: derived_guid("ACO", &[guid.as_str()]),
            numbers_verified: false,
            history_days: 90,
            created_at: now,
            updated_at: now,
        };
        if let Some(number) = &tpl.account_number {
            rec.account_number = Some(agg.keyring.encrypt(&account_number_context(&rec), number.as_bytes()));
        }
        out.push(accounts::upsert(conn, &rec).await?);
    }
    Ok(out)
}

fn finish_connected(now: Timestamp, m: &mut MemberRecord, job: &RunningJob) {
    // The data the job was asked to gather besides its own (a verification with transactions).
    m.has_processed_transactions |= job.with_transactions;
    m.has_processed_account_owners |= job.with_identity;
    set_status(m, ConnectionStatus::Connected, None);
    m.is_being_aggregated = false;
    m.aggregated_at = Some(now);
    m.successfully_aggregated_at = Some(now);
    m.challenges = None;
    m.updated_at = now;
    set_job(m, None);
}

fn finish_failed(now: Timestamp, m: &mut MemberRecord, f: BankFailure) {
    fail_with(now, m, f.status, f.message);
}

fn fail_with(now: Timestamp, m: &mut MemberRecord, status: ConnectionStatus, message: &str) {
    set_status(m, status, Some(message));
    m.is_being_aggregated = false;
    m.is_authenticated = false;
    m.aggregated_at = Some(now);
    m.challenges = None;
    m.updated_at = now;
    set_job(m, None);
}

/// Answers the member's open challenges. The answers are judged here and only the verdict is
/// kept; the answers themselves are never stored.
pub async fn resume(
    conn: &mut Conn,
    agg: &Aggregation,
    m: &mut MemberRecord,
    answers: &[(String, String)],
) -> Result<(), ResumeError> {
    let (Some(mut job), ConnectionStatus::Challenged) = (running_job(m)?, m.connection_status) else {
        return Err(ResumeError::NotChallenged);
    };
    let challenges = open_challenges(m)?;
    let mut verdict: Option<Stage> = None;
    for ch in &challenges {
        let answer = answers
            .iter()
            .find(|(g, _)| g == &ch.guid)
            .or_else(|| (challenges.len() == 1 && answers.len() == 1).then(|| &answers[0]))
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| ResumeError::MissingAnswer(ch.guid.clone()))?;
        verdict = Some(match &job.stage {
            Stage::AwaitingMfa { .. } => match sandbox::answer_mfa(answer) {
                MfaOutcome::Passed => Stage::MfaAnswered { passed: true, failure_status: None, failure_message: None },
                MfaOutcome::Failed(f) => Stage::MfaAnswered {
                    passed: false,
                    failure_status: Some(f.status),
                    failure_message: Some(f.message.into()),
                },
            },
            Stage::AwaitingAccountSelection => {
                match ch.options.iter().find(|o| o.value == answer || o.guid == answer) {
                    Some(opt) => Stage::AccountSelected { account_guid: opt.value.clone() },
                    None => Stage::MfaAnswered {
                        passed: false,
                        failure_status: Some(ConnectionStatus::Rejected),
                        failure_message: Some("The selected account is not one of the options offered.".into()),
                    },
                }
            }
            _ => return Err(ResumeError::NotChallenged),
        });
    }
    let now = agg.now_in(conn, m.tenant_id).await?;
    job.stage = verdict.ok_or(ResumeError::NotChallenged)?;
    // The answered challenge's expiry job is moot.
    jobs::cancel(conn, m.tenant_id, QUEUE, m.guid.as_str()).await?;
    set_job(m, Some(&job));
    m.challenges = None;
    set_status(m, ConnectionStatus::Resumed, None);
    m.is_being_aggregated = true;
    m.updated_at = now;
    enqueue(conn, agg, m, JobAction::Advance, job.challenge_seq, now.plus_millis(agg.config.sandbox_delay_ms)).await?;
    Ok(())
}

/// The end user authorized (or denied, or revoked) access at the OAuth test bank.
pub async fn oauth_decision(
    conn: &mut Conn,
    agg: &Aggregation,
    m: &mut MemberRecord,
    decision: OauthDecision,
) -> Result<(), StoreError> {
    let now = agg.now_in(conn, m.tenant_id).await?;
    let mut state = oauth_state(m)?;
    m.oauth_token_hash = None;
    m.oauth_expires_at = None;
    match decision {
        OauthDecision::Authorize => {
            state.granted = true;
            state.revoked = false;
            m.oauth_options = Some(serde_json::to_string(&state).expect("oauth state serialises"));
            m.is_authenticated = true;
            set_status(m, ConnectionStatus::Connected, None);
            m.updated_at = now;
            if state.skip_aggregation {
                m.successfully_aggregated_at.get_or_insert(now);
            } else {
                cancel_job(conn, m).await?;
                let _ = start_job(conn, agg, m, state.after_consent.unwrap_or(JobKind::Aggregate.into())).await;
            }
        }
        OauthDecision::Deny => {
            m.oauth_options = Some(serde_json::to_string(&state).expect("oauth state serialises"));
            cancel_job(conn, m).await?;
            fail_with(now, m, ConnectionStatus::Denied, "The end user denied access at the institution.");
        }
        OauthDecision::Revoke => {
            state.granted = false;
            state.revoked = true;
            m.oauth_options = Some(serde_json::to_string(&state).expect("oauth state serialises"));
            cancel_job(conn, m).await?;
            fail_with(now, m, ConnectionStatus::Disconnected, "Access to this account was revoked at the institution.");
        }
    }
    Ok(())
}

/// What the end user chose at the OAuth test bank.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OauthDecision {
    Authorize,
    Deny,
    Revoke,
}

/// A fresh member record with MX's defaults.
pub fn new_member(
    tenant: openiav_core::ids::TenantId,
    user: UserGuid,
    institution_code: &str,
    name: &str,
    now: Timestamp,
) -> MemberRecord {
    MemberRecord {
        guid: MemberGuid::generate(),
        tenant_id: tenant,
        user_guid: user,
        id: None,
        institution_code: institution_code.to_owned(),
        name: name.to_owned(),
        credentials: None,
        credentials_fingerprint: None,
        is_oauth: false,
        connection_status: ConnectionStatus::Created,
        connection_status_message: None,
        is_being_aggregated: false,
        is_authenticated: false,
        aggregated_at: None,
        successfully_aggregated_at: None,
        background_aggregation_is_disabled: false,
        metadata: None,
        use_cases: None,
        has_processed_accounts: false,
        has_processed_account_numbers: false,
        has_processed_account_owners: false,
        has_processed_transactions: false,
        job: None,
        challenges: None,
        oauth_token_hash: None,
        oauth_expires_at: None,
        oauth_options: None,
        created_at: now,
        updated_at: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_column_that_does_not_decode_is_an_error_naming_member_and_column() {
        let mut m = new_member(
            openiav_core::ids::TenantId::generate(),
            UserGuid::generate(),
            "mxbank",
            "MX Bank",
            Timestamp::from_millis(0),
        );
        assert!(running_job(&m).unwrap().is_none() && open_challenges(&m).unwrap().is_empty());
        m.job = Some("{\"kind\":\"teleport\"}".into());
        m.challenges = Some("[1]".into());
        m.use_cases = Some("[\"GAMBLING\"]".into());
        for (message, column) in [
            (running_job(&m).unwrap_err().to_string(), "job"),
            (open_challenges(&m).unwrap_err().to_string(), "challenges"),
            (use_cases(&m).unwrap_err().to_string(), "use_cases"),
        ] {
            assert!(message.contains(&format!("member {}: column {column}: ", m.guid)), "{message}");
        }
    }

    #[test]
    fn job_names_match_the_wire_and_take_the_right_article() {
        let all = [
            JobKind::Aggregate,
            JobKind::Verify,
            JobKind::Identify,
            JobKind::CheckBalance,
            JobKind::ExtendHistory,
            JobKind::FetchStatements,
            JobKind::FetchRewards,
        ];
        for kind in all {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        let phrases: Vec<String> = all.iter().map(|k| k.with_article()).collect();
        assert_eq!(
            phrases,
            [
                "an aggregate job",
                "a verify job",
                "an identify job",
                "a check_balance job",
                "an extend_history job",
                "a fetch_statements job",
                "a fetch_rewards job",
            ]
        );
    }

    #[test]
    fn job_requests_read_back_from_old_and_new_records() {
        let old: JobRequest = serde_json::from_str("\"verify\"").unwrap();
        assert_eq!(old, JobKind::Verify.into());
        let new = JobRequest {
            kind: JobKind::Verify,
            with_transactions: true,
            with_identity: true,
            with_investments: true,
            with_rewards: true,
            skip_holdings: true,
        };
        let back: JobRequest = serde_json::from_str(&serde_json::to_string(&new).unwrap()).unwrap();
        assert_eq!(back, new);
        let state: OauthState = serde_json::from_str(
            r#"{"granted":false,"revoked":false,"skip_aggregation":false,
            "client_redirect_url":null,"referral_source":null,"ui_message_webview_url_scheme":null,
            "after_consent":"verify"}"#,
        )
        .unwrap();
        assert_eq!(state.after_consent, Some(JobKind::Verify.into()));
        let job: RunningJob =
            serde_json::from_str(r#"{"kind":"verify","guid":"JOB-1","stage":{"stage":"login"},"challenge_seq":0}"#)
                .unwrap();
        assert!(!job.with_transactions && !job.with_identity && !job.with_investments && !job.with_rewards);
        let older: JobRequest =
            serde_json::from_str(r#"{"kind":"aggregate","with_transactions":false,"with_identity":true}"#).unwrap();
        assert_eq!(older, JobRequest { kind: JobKind::Aggregate, with_identity: true, ..JobRequest::default() });
    }
}
