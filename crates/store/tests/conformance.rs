//! Store conformance: every case runs against SQLite and against PostgreSQL, each on a fresh
//! database. PostgreSQL cases need `OPENIAV_TEST_POSTGRES_URL` (a server the tests may create
//! databases on); without it they print a line saying so and pass.

use std::fmt::Debug;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;
use openiav_core::aggregation::MxWebhookType;
use openiav_core::aggregation::{
    AccountType, ConnectionStatus, HoldingType, MicroDepositStatus, RewardBalanceType, RewardUnit,
};
use openiav_core::clock::ClockSetting;
use openiav_core::clock::Timestamp;
use openiav_core::ids::{AccountGuid, MemberGuid, TenantId, UserGuid};
use openiav_core::ops::{FaultEffectKind, Listener};
use openiav_core::payments::{
    BankAccountType, CustomerKind, CustomerStatus, EventResource, EventTopic, ExchangeStatus,
    FundingSourceMicroDepositStatus, FundingSourceStatus,
};
use openiav_core::payments::{BankTransferDirection, TransferStatus};
use openiav_core::plaid::LinkStage;
use openiav_core::visa::VisaStage;
use openiav_store::postgres::PgDatabase;
use openiav_store::records::StatementRecord;
use openiav_store::records::{
    AccountRecord, CustomerRecord, EventRecord, ExchangeRecord, ExchangeSessionRecord,
    FundingSourceMicroDepositsRecord, FundingSourceRecord, IdempotencyRecord, JobRecord, MemberRecord,
    MemberStatusRecord, MicroDepositRecord, PaymentTokenRecord, PlaidItemRecord, PlaidLinkTokenRecord,
    PlaidProcessorTokenRecord, PlaidPublicTokenRecord, ProcessorCodeRecord, ProcessorTokenRecord, TenantRecord,
    UserRecord, WebhookRecord, WebhookRetryRecord, WebhookSubscriptionRecord, WidgetSessionRecord,
};
use openiav_store::records::{BankTransferRecord, TransferRecord};
use openiav_store::records::{DashboardSessionRecord, MxWebhookEndpointRecord, MxWebhookRecord};
use openiav_store::records::{ExchangeSessionStateRecord, VisaCodeRecord, VisaLinkRecord};
use openiav_store::records::{HoldingRecord, RewardRecord};
use openiav_store::repo::customers::CustomerFilter;
use openiav_store::repo::faults::{self, FaultRuleRecord};
use openiav_store::repo::journal::{self, JournalFilter, JournalRecord};
use openiav_store::repo::queue_stats::{self, QueueDepth};
use openiav_store::repo::sandbox;
use openiav_store::repo::tenant_clocks;
use openiav_store::repo::tenants::PaymentSettings;
use openiav_store::repo::transfers;
use openiav_store::repo::users::UserFilter;
use openiav_store::repo::webhooks::WebhookFilter;
use openiav_store::repo::{
    accounts, customers, events, exchange_sessions, exchanges, funding_sources, idempotency, jobs, members,
    micro_deposits, payment_tokens, plaid, processor_tokens, tenants, users, webhooks, widget_sessions, PageRequest,
};
use openiav_store::repo::{dashboard_sessions, exchange_session_states, mx_webhooks, statements, visa};
use openiav_store::repo::{holdings, rewards};
use openiav_store::sqlite::SqliteDatabase;
use openiav_store::{testing, Database, Dialect, Store, StoreError, StoreOptions};

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/// A freshly opened store and the URL it was opened with (for cases that reopen it).
struct TestDb {
    store: Store,
    url: String,
}

/// Runs `case` on a store over a fresh SQLite file, then closes it.
async fn on_sqlite<F, Fut>(case: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temp dir");
    let url = testing::scratch_sqlite_url(dir.path()).await;
    let store = Store::open(&url).await.expect("open SQLite store");
    assert_eq!(store.dialect(), Dialect::Sqlite);
    let outcome = AssertUnwindSafe(case(TestDb { store: store.clone(), url })).catch_unwind().await;
    store.close().await;
    drop(dir);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Runs `case` on a store over a fresh PostgreSQL database, then drops that database; skips
/// (and says so) when no server is configured.
async fn on_postgres<F, Fut>(case: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(admin) = testing::postgres_test_url() else {
        eprintln!("skipping PostgreSQL: OPENIAV_TEST_POSTGRES_URL is not set");
        return;
    };
    let url = testing::scratch_postgres_url(&admin).await.expect("create scratch PostgreSQL database");
    let store = Store::open(&url).await.expect("open PostgreSQL store");
    assert_eq!(store.dialect(), Dialect::Postgres);
    let outcome = AssertUnwindSafe(case(TestDb { store: store.clone(), url: url.clone() })).catch_unwind().await;
    store.close().await;
    if let Err(e) = testing::drop_scratch_postgres(&admin, &url).await {
        eprintln!("could not drop scratch database {url}: {e}");
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Declares one test per case per backend: `sqlite::<case>` and `postgres::<case>`.
macro_rules! conformance {
    (both: [$($case:ident),* $(,)?], sqlite_only: [$($sqlite_case:ident),* $(,)?] $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::on_sqlite(super::$case).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $sqlite_case() {
                    super::on_sqlite(super::$sqlite_case).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::on_postgres(super::$case).await;
                }
            )*
        }
    };
}

conformance! {
    both: [
        mx_webhook_endpoints_set_replace_list_delete_and_clear_per_tenant,
        mx_webhooks_insert_find_save_and_list_newest_first_by_type_per_tenant,
        tenants_insert_find_get_sandbox_and_count,
        tenants_duplicate_client_id_or_dwolla_key_conflicts,
        tenants_find_by_dwolla_key_and_keep_payment_settings_per_tenant,
        users_insert_and_find_by_guid_or_partner_id,
        users_partner_id_is_unique_per_tenant_only,
        users_list_filters_and_paginates_in_creation_order,
        users_update_persists_and_missing_user_is_not_found,
        users_delete_cascades_members_accounts_and_jobs,
        users_of_one_tenant_are_invisible_to_another,
        members_round_trip_every_field_through_insert_and_save,
        members_find_duplicate_matches_fingerprint_institution_and_user,
        members_find_by_oauth_token_hash,
        members_find_status_reads_the_status_by_guid_or_id_within_user_and_tenant,
        members_list_paginates_per_user_in_creation_order,
        members_delete_removes_their_accounts_and_jobs,
        members_of_one_tenant_are_invisible_to_another,
        accounts_upsert_inserts_then_refreshes_keeping_identity,
        accounts_save_updates_mutable_fields_only,
        accounts_list_all_and_find_filter_by_member_user_and_tenant,
        holdings_upsert_prune_list_find_and_deactivation_stay_in_their_tenant,
        rewards_upsert_prune_list_and_find_per_member_and_tenant,
        micro_deposits_round_trip_list_save_delete_and_stay_in_their_tenant,
        widget_sessions_open_once_before_expiry_and_then_find_live,
        processor_codes_redeem_once_before_expiry_within_their_tenant,
        processor_tokens_live_until_expiry_and_list_by_user_member_and_account,
        plaid_items_round_trip_save_and_stay_in_their_tenant,
        plaid_link_tokens_open_once_before_expiry_and_sessions_advance_only_from_their_stage,
        plaid_public_tokens_redeem_once_for_their_user_before_expiry_while_the_item_is_logged_in,
        plaid_access_tokens_find_their_item_and_processor_tokens_redeem_once,
        payment_tokens_live_until_expiry_then_deleted,
        payment_tokens_find_tells_an_expired_token_from_an_unknown_one,
        dashboard_sessions_live_until_expiry_or_deletion_and_survive_a_reset,
        customers_round_trip_every_field_through_insert_and_save,
        a_stored_word_outside_the_vocabulary_is_an_error_naming_row_and_column,
        customers_email_and_correlation_id_are_unique_per_tenant_only,
        customers_list_searches_filters_and_paginates_in_creation_order,
        customers_of_one_tenant_are_invisible_to_another,
        exchange_sessions_round_trip_and_stay_in_their_tenant,
        exchanges_round_trip_save_list_and_find_active_by_connection,
        funding_sources_round_trip_removed_filter_and_fingerprint_lookup,
        account_and_balance_funding_sources_open_once_list_and_stay_in_their_tenant,
        on_demand_authorizations_insert_and_find_within_their_tenant,
        funding_source_micro_deposits_find_save_per_customer_and_pending_in_creation_order,
        transfers_round_trip_save_lock_fees_and_stay_in_their_tenant,
        transfers_list_filters_searches_and_pages_newest_first,
        transfers_sent_since_counts_live_sends_and_legs_of_reads_oldest_first,
        bank_transfers_round_trip_lock_per_transfer_and_the_newest_legs_are_processed_first,
        events_list_newest_first_with_paging_and_stay_in_their_tenant,
        events_and_mx_webhooks_carry_fired_marks_within_their_tenant,
        webhook_subscriptions_round_trip_list_save_delete_and_stay_in_their_tenant,
        webhooks_list_newest_first_filter_page_and_save_only_attempts,
        webhook_retries_list_oldest_first_and_go_with_their_subscription,
        jobs_enqueue_returns_increasing_seq,
        jobs_claim_returns_due_jobs_and_leases_them,
        jobs_complete_deletes_and_retry_at_reschedules,
        jobs_next_due_reports_earliest_due_time,
        jobs_cancel_removes_jobs_by_subject,
        jobs_cancel_payload_removes_unleased_jobs_with_that_payload,
        mx_webhooks_only_unattempted_ones_are_deleted,
        jobs_claim_skipping_leaves_skipped_tenants_and_subjects_and_release_gives_back,
        jobs_survive_closing_and_reopening_the_store,
        failed_write_leaves_no_trace,
        concurrent_writes_commit_independently_of_failing_ones,
        write_is_visible_to_the_next_read,
        cancelled_write_is_not_committed_by_later_writes,
        idempotency_keys_are_claimed_once_answered_and_pruned,
        sandbox_tables_list_every_tenant_scoped_table_parents_first,
        sandbox_reset_deletes_the_tenants_data_and_keeps_its_credentials_settings_and_other_tenants,
        sandbox_restore_of_a_dump_gives_back_the_same_rows,
        sandbox_restore_refuses_rows_of_another_tenant_unknown_tables_and_columns,
        sandbox_concurrent_restores_of_one_tenant_each_replace_the_data_whole,
        sandbox_fixtures_are_stored_per_tenant_and_replaced,
        sandbox_concurrent_fixture_loads_each_get_their_own_version_and_the_last_one_stays,
        fault_rules_insert_list_live_spend_delete_and_clear_per_tenant,
        fault_rule_counts_are_spent_exactly_once_under_concurrent_writes,
        fault_rules_version_moves_with_every_committed_rule_change_in_every_process,
        journal_inserts_in_batches_lists_newest_first_filters_and_trims_per_tenant,
        queue_stats_depth_counts_jobs_and_the_oldest_due,
        rows_read_for_update_are_the_stored_rows,
        a_row_read_for_update_waits_for_the_write_holding_it,
        execute_raw_runs_transaction_control_inside_a_write,
        store_wakes_every_job_worker_once_an_enqueue_commits,
        tenant_clocks_set_read_and_release_per_tenant,
        jobs_fall_due_on_their_tenants_clock_and_wait_for_its_advance,
        tenant_clock_advance_lease_is_held_once_and_jobs_claim_one_once,
        idempotency_keys_age_on_their_tenants_clock,
        store_open_with_applies_its_options_and_refuses_unknown_schemes,
        backends_open_directly_on_an_existing_database,
        visa_links_open_once_move_one_step_at_a_time_and_hand_out_codes_spent_once,
        exchange_session_states_are_found_while_live_and_spent_once,
        statements_insert_save_list_find_per_member_and_go_with_their_member,
    ],
    sqlite_only: [
        sqlite_read_connection_refuses_writes,
        sqlite_database_is_in_wal_mode,
    ],
}

// ---------------------------------------------------------------------------------------------
// Record builders and shortcuts
// ---------------------------------------------------------------------------------------------

/// A fixed "now" so tests do not depend on the wall clock.
const T0: Timestamp = Timestamp::from_millis(1_700_000_000_000);

fn at(offset_ms: i64) -> Timestamp {
    T0.plus_millis(offset_ms)
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", TenantId::generate())
}

/// Compares every field: records carry `Debug` but not `PartialEq`.
#[track_caller]
fn assert_same<T: Debug>(actual: &T, expected: &T) {
    assert_eq!(format!("{actual:#?}"), format!("{expected:#?}"));
}

#[track_caller]
fn assert_not_found<T: Debug>(r: Result<T, StoreError>) {
    match r {
        Err(StoreError::NotFound) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

fn page(page: i64, per_page: i64) -> PageRequest {
    PageRequest { page, per_page }
}

fn tenant_record(is_sandbox: bool, created_at: Timestamp) -> TenantRecord {
    TenantRecord {
        id: TenantId::generate(),
        name: unique("Tenant"),
        mx_client_id: unique("client"),
        mx_api_key_hash: unique("api-key-hash"),
        dwolla_key: unique("dwolla-key"),
        dwolla_secret_hash: unique("dwolla-secret-hash"),
        is_sandbox,
        created_at,
    }
}

fn user_record(tenant: TenantId, id: Option<&str>, created_at: Timestamp) -> UserRecord {
    UserRecord {
        guid: UserGuid::generate(),
        tenant_id: tenant,
        id: id.map(str::to_owned),
        email: Some(format!("{}@example.com", unique("user"))),
        is_disabled: false,
        metadata: Some(r#"{"tier":"gold","n":1}"#.to_owned()),
        created_at,
        updated_at: created_at.plus_millis(1),
    }
}

fn member_record(tenant: TenantId, user: &UserGuid, created_at: Timestamp) -> MemberRecord {
    MemberRecord {
        guid: MemberGuid::generate(),
        tenant_id: tenant,
        user_guid: user.clone(),
        id: Some(unique("member-id")),
        institution_code: "mxbank".to_owned(),
        name: "MX Bank".to_owned(),
        // Every byte value, so no encoding step can quietly mangle the ciphertext.
        credentials: Some((0..=255u8).chain([0, 0, 255]).collect()),
        credentials_fingerprint: Some(unique("fp")),
        is_oauth: false,
        connection_status: ConnectionStatus::Connected,
        connection_status_message: Some("Connected to MX Bank".to_owned()),
        is_being_aggregated: true,
        is_authenticated: true,
        aggregated_at: Some(created_at.plus_millis(10)),
        successfully_aggregated_at: Some(created_at.plus_millis(20)),
        background_aggregation_is_disabled: false,
        metadata: Some(r#"{"k":"v"}"#.to_owned()),
        use_cases: Some(r#"["MONEY_MOVEMENT","PFM"]"#.to_owned()),
        has_processed_accounts: true,
        has_processed_account_numbers: false,
        has_processed_account_owners: true,
        has_processed_transactions: false,
        job: Some(r#"{"type":"aggregate","step":2,"unicode":"é✓"}"#.to_owned()),
        challenges: Some(r#"[{"guid":"CRD-1","type":"TEXT"}]"#.to_owned()),
        oauth_token_hash: Some(unique("oauth-hash")),
        oauth_expires_at: Some(created_at.plus_millis(600_000)),
        oauth_options: Some(r#"{"client_redirect_url":"https://example.com/cb"}"#.to_owned()),
        created_at,
        updated_at: created_at.plus_millis(30),
    }
}

fn account_record(
    tenant: TenantId,
    user: &UserGuid,
    member: &MemberGuid,
    kind: &str,
    created_at: Timestamp,
) -> AccountRecord {
    AccountRecord {
        guid: AccountGuid::generate(),
        tenant_id: tenant,
        user_guid: user.clone(),
        member_guid: member.clone(),
        kind: kind.parse().unwrap(),
        seed: 0x1234_5678_9abc,
        name: format!("My {kind}"),
        account_type: AccountType::Checking,
        subtype: Some("PERSONAL".to_owned()),
        balance_cents: 1_234_567,
        available_balance_cents: Some(1_200_000),
        credit_limit_cents: Some(500_000),
        apr_bps: Some(1_999),
        routing_number: Some("021000021".to_owned()),
        account_number: Some(vec![0, 1, 2, 254, 255, 0]),
        account_number_last4: Some("6789".to_owned()),
        account_number_guid: format!("ACN-{}", TenantId::generate()),
        owner_guid: format!("ACO-{}", TenantId::generate()),
        numbers_verified: false,
        history_days: 90,
        created_at,
        updated_at: created_at.plus_millis(5),
    }
}

async fn put_tenant(store: &Store, t: &TenantRecord) {
    let t = t.clone();
    store.write(move |c| Box::pin(async move { tenants::insert(c, &t).await })).await.expect("insert tenant");
}

/// Inserts a fresh non-sandbox tenant and returns its id.
async fn new_tenant(store: &Store) -> TenantId {
    let t = tenant_record(false, T0);
    put_tenant(store, &t).await;
    t.id
}

async fn put_user(store: &Store, u: &UserRecord) {
    let u = u.clone();
    store.write(move |c| Box::pin(async move { users::insert(c, &u).await })).await.expect("insert user");
}

async fn new_user(store: &Store, tenant: TenantId) -> UserRecord {
    let u = user_record(tenant, None, T0);
    put_user(store, &u).await;
    u
}

async fn put_member(store: &Store, m: &MemberRecord) {
    let m = m.clone();
    store.write(move |c| Box::pin(async move { members::insert(c, &m).await })).await.expect("insert member");
}

async fn new_member(store: &Store, tenant: TenantId, user: &UserGuid) -> MemberRecord {
    let m = member_record(tenant, user, T0);
    put_member(store, &m).await;
    m
}

async fn upsert_account(store: &Store, a: &AccountRecord) -> AccountRecord {
    let a = a.clone();
    store.write(move |c| Box::pin(async move { accounts::upsert(c, &a).await })).await.expect("upsert account")
}

async fn enqueue(store: &Store, tenant: TenantId, queue: &str, subject: &str, payload: &str, run_at: Timestamp) -> i64 {
    let (queue, subject, payload) = (queue.to_owned(), subject.to_owned(), payload.to_owned());
    store
        .write(move |c| Box::pin(async move { jobs::enqueue(c, tenant, &queue, &subject, &payload, run_at, T0).await }))
        .await
        .expect("enqueue job")
}

async fn claim(store: &Store, queue: &str, now: Timestamp, lease_ms: i64, limit: i64) -> Vec<JobRecord> {
    let queue = queue.to_owned();
    store
        .write(move |c| Box::pin(async move { jobs::claim(c, &queue, now, lease_ms, limit).await }))
        .await
        .expect("claim jobs")
}

fn seqs(jobs: &[JobRecord]) -> Vec<i64> {
    jobs.iter().map(|j| j.seq).collect()
}

async fn find_user(store: &Store, tenant: TenantId, ident: &str, by_id: bool) -> Option<UserRecord> {
    let ident = ident.to_owned();
    store.read(|mut c| async move { users::find(&mut c, tenant, &ident, by_id).await }).await.expect("find user")
}

async fn list_users(store: &Store, tenant: TenantId, filter: UserFilter, req: PageRequest) -> (i64, Vec<UserRecord>) {
    let p =
        store.read(|mut c| async move { users::list(&mut c, tenant, &filter, req).await }).await.expect("list users");
    (p.total, p.items)
}

async fn find_member(
    store: &Store,
    tenant: TenantId,
    user: &UserGuid,
    ident: &str,
    by_id: bool,
) -> Option<MemberRecord> {
    let (user, ident) = (user.clone(), ident.to_owned());
    store
        .read(|mut c| async move { members::find(&mut c, tenant, &user, &ident, by_id).await })
        .await
        .expect("find member")
}

async fn member_in_tenant(store: &Store, tenant: TenantId, guid: &MemberGuid) -> Option<MemberRecord> {
    let guid = guid.clone();
    store
        .read(|mut c| async move { members::find_in_tenant(&mut c, tenant, guid.as_str()).await })
        .await
        .expect("find member in tenant")
}

async fn all_accounts(
    store: &Store,
    tenant: TenantId,
    user: &UserGuid,
    member: Option<&MemberGuid>,
) -> Vec<AccountRecord> {
    let (user, member) = (user.clone(), member.cloned());
    store
        .read(|mut c| async move { accounts::all(&mut c, tenant, &user, member.as_ref()).await })
        .await
        .expect("all accounts")
}

async fn jobs_about(store: &Store, subject: &str) -> i64 {
    let subject = subject.to_owned();
    store.read(|mut c| async move { jobs::count_for_subject(&mut c, &subject).await }).await.expect("count jobs")
}

async fn tenant_count(store: &Store) -> i64 {
    store.read(|mut c| async move { tenants::count(&mut c).await }).await.expect("count tenants")
}

// ---------------------------------------------------------------------------------------------
// Tenants
// ---------------------------------------------------------------------------------------------

async fn tenants_insert_find_get_sandbox_and_count(db: TestDb) {
    let store = db.store;
    assert_eq!(tenant_count(&store).await, 0);
    assert!(store.read(|mut c| async move { tenants::find_sandbox(&mut c).await }).await.unwrap().is_none());

    let live = tenant_record(false, at(0));
    let late_sandbox = tenant_record(true, at(2_000));
    let early_sandbox = tenant_record(true, at(1_000));
    for t in [&live, &late_sandbox, &early_sandbox] {
        put_tenant(&store, t).await;
    }

    let client_id = live.mx_client_id.clone();
    let found =
        store.read(|mut c| async move { tenants::find_by_mx_client_id(&mut c, &client_id).await }).await.unwrap();
    assert_same(&found.expect("tenant by client id"), &live);
    let missing =
        store.read(|mut c| async move { tenants::find_by_mx_client_id(&mut c, "no-such-client").await }).await;
    assert!(missing.unwrap().is_none());

    let id = late_sandbox.id;
    assert_same(&store.read(|mut c| async move { tenants::get(&mut c, id).await }).await.unwrap(), &late_sandbox);
    let unknown = TenantId::generate();
    assert_not_found(store.read(|mut c| async move { tenants::get(&mut c, unknown).await }).await);

    let sandbox = store.read(|mut c| async move { tenants::find_sandbox(&mut c).await }).await.unwrap();
    assert_same(&sandbox.expect("a sandbox tenant"), &early_sandbox);
    assert_eq!(tenant_count(&store).await, 3);
}

async fn tenants_duplicate_client_id_or_dwolla_key_conflicts(db: TestDb) {
    let store = db.store;
    let first = tenant_record(false, T0);
    put_tenant(&store, &first).await;

    let mut same_client = tenant_record(false, T0);
    same_client.mx_client_id = first.mx_client_id.clone();
    let r = store.write(move |c| Box::pin(async move { tenants::insert(c, &same_client).await })).await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "duplicate mx_client_id: {r:?}");

    let mut same_dwolla = tenant_record(false, T0);
    same_dwolla.dwolla_key = first.dwolla_key.clone();
    let r = store.write(move |c| Box::pin(async move { tenants::insert(c, &same_dwolla).await })).await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "duplicate dwolla_key: {r:?}");

    let mut same_id = tenant_record(false, T0);
    same_id.id = first.id;
    let r = store.write(move |c| Box::pin(async move { tenants::insert(c, &same_id).await })).await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "duplicate id: {r:?}");

    assert_eq!(tenant_count(&store).await, 1);
    let id = first.id;
    assert_same(&store.read(|mut c| async move { tenants::get(&mut c, id).await }).await.unwrap(), &first);
}

async fn tenants_find_by_dwolla_key_and_keep_payment_settings_per_tenant(db: TestDb) {
    let store = db.store;
    let first = tenant_record(false, at(0));
    let second = tenant_record(true, at(1));
    put_tenant(&store, &first).await;
    put_tenant(&store, &second).await;

    let by_key = |key: String| {
        let store = store.clone();
        async move { store.read(move |mut c| async move { tenants::find_by_dwolla_key(&mut c, &key).await }).await.unwrap() }
    };
    assert_same(&by_key(first.dwolla_key.clone()).await.expect("first tenant by its key"), &first);
    assert_same(&by_key(second.dwolla_key.clone()).await.expect("second tenant by its key"), &second);
    assert!(by_key("no-such-key".to_owned()).await.is_none());
    assert!(by_key(first.mx_client_id.clone()).await.is_none(), "an MX client id is not a Dwolla key");
    assert!(by_key(first.dwolla_secret_hash.clone()).await.is_none(), "nor is the secret's hash");

    let settings = |tenant: TenantId| {
        let store = store.clone();
        async move { store.read(move |mut c| async move { tenants::payment_settings(&mut c, tenant).await }).await.unwrap() }
    };
    let set = |tenant: TenantId, s: PaymentSettings| {
        let store = store.clone();
        async move {
            store.write(move |c| Box::pin(async move { tenants::set_payment_settings(c, tenant, &s).await })).await
        }
    };
    // No row means the defaults: open banking on, no redirect URLs.
    let defaults = PaymentSettings { open_banking: true, redirect_urls: Vec::new() };
    assert_eq!(PaymentSettings::default(), defaults);
    assert_eq!(settings(first.id).await, defaults);

    let custom = PaymentSettings {
        open_banking: false,
        redirect_urls: vec!["https://example.com/return".to_owned(), "https://example.com/é?a=1&b=\"2\"".to_owned()],
    };
    set(first.id, custom.clone()).await.unwrap();
    assert_eq!(settings(first.id).await, custom);
    assert_eq!(settings(second.id).await, defaults, "settings belong to their tenant");

    // Setting again replaces every field.
    let replaced = PaymentSettings { open_banking: true, redirect_urls: vec!["https://other.example/cb".to_owned()] };
    set(first.id, replaced.clone()).await.unwrap();
    assert_eq!(settings(first.id).await, replaced);
    let cleared = PaymentSettings { open_banking: false, redirect_urls: Vec::new() };
    set(first.id, cleared.clone()).await.unwrap();
    assert_eq!(settings(first.id).await, cleared);
    assert_eq!(settings(second.id).await, defaults);

    // A tenant that does not exist cannot hold settings.
    let unknown = TenantId::generate();
    assert!(set(unknown, custom).await.is_err(), "settings for an unknown tenant");
    assert_eq!(settings(unknown).await, defaults);
}

// ---------------------------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------------------------

async fn users_insert_and_find_by_guid_or_partner_id(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let user = user_record(tenant, Some("partner-1"), T0);
    put_user(&store, &user).await;
    let bare =
        UserRecord { id: None, email: None, metadata: None, is_disabled: true, ..user_record(tenant, None, at(1)) };
    put_user(&store, &bare).await;

    assert_same(&find_user(&store, tenant, user.guid.as_str(), false).await.expect("by guid"), &user);
    assert_same(&find_user(&store, tenant, user.guid.as_str(), true).await.expect("by guid, by_id"), &user);
    assert!(
        find_user(&store, tenant, "partner-1", false).await.is_none(),
        "partner id must not match when by_id=false"
    );
    assert_same(&find_user(&store, tenant, "partner-1", true).await.expect("by partner id"), &user);
    assert!(find_user(&store, tenant, "partner-2", true).await.is_none());
    assert!(find_user(&store, tenant, UserGuid::generate().as_str(), true).await.is_none());
    assert_same(
        &find_user(&store, tenant, bare.guid.as_str(), false).await.expect("user without optional fields"),
        &bare,
    );
}

async fn users_partner_id_is_unique_per_tenant_only(db: TestDb) {
    let store = db.store;
    let (a, b) = (new_tenant(&store).await, new_tenant(&store).await);
    put_user(&store, &user_record(a, Some("same"), T0)).await;
    put_user(&store, &user_record(b, Some("same"), T0)).await;

    let dup = user_record(a, Some("same"), T0);
    let r = store.write(move |c| Box::pin(async move { users::insert(c, &dup).await })).await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "duplicate partner id in one tenant: {r:?}");

    let existing = find_user(&store, a, "same", true).await.unwrap();
    let mut same_guid = user_record(b, None, T0);
    same_guid.guid = existing.guid.clone();
    let r = store.write(move |c| Box::pin(async move { users::insert(c, &same_guid).await })).await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "duplicate guid: {r:?}");

    // Users without a partner id never collide.
    put_user(&store, &user_record(a, None, T0)).await;
    put_user(&store, &user_record(a, None, T0)).await;
    assert_eq!(list_users(&store, a, UserFilter::default(), page(1, 25)).await.0, 3);
}

async fn users_list_filters_and_paginates_in_creation_order(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let other = new_tenant(&store).await;
    put_user(&store, &user_record(other, Some("u0"), T0)).await;

    let mut created = Vec::new();
    for i in 0..5i64 {
        let mut u = user_record(tenant, Some(&format!("u{i}")), at(i * 1000));
        u.email = Some(if i % 2 == 0 { "even@example.com".to_owned() } else { format!("odd{i}@example.com") });
        u.is_disabled = i >= 3;
        put_user(&store, &u).await;
        created.push(u);
    }
    let guids = |us: &[UserRecord]| us.iter().map(|u| u.guid.clone()).collect::<Vec<_>>();

    let (total, items) = list_users(&store, tenant, UserFilter::default(), page(1, 2)).await;
    assert_eq!(total, 5);
    assert_eq!(guids(&items), guids(&created[0..2]));
    assert_same(&items[0], &created[0]);
    let (total, items) = list_users(&store, tenant, UserFilter::default(), page(2, 2)).await;
    assert_eq!(total, 5);
    assert_eq!(guids(&items), guids(&created[2..4]));
    let (_, items) = list_users(&store, tenant, UserFilter::default(), page(3, 2)).await;
    assert_eq!(guids(&items), guids(&created[4..5]));
    let (total, items) = list_users(&store, tenant, UserFilter::default(), page(4, 2)).await;
    assert_eq!((total, items.len()), (5, 0));
    let (_, items) = list_users(&store, tenant, UserFilter::default(), page(1, 100)).await;
    assert_eq!(guids(&items), guids(&created));

    let by_id = UserFilter { id: Some("u3".into()), ..Default::default() };
    let (total, items) = list_users(&store, tenant, by_id, page(1, 10)).await;
    assert_eq!(total, 1);
    assert_same(&items[0], &created[3]);

    let by_email = UserFilter { email: Some("even@example.com".into()), ..Default::default() };
    let (total, items) = list_users(&store, tenant, by_email, page(1, 10)).await;
    assert_eq!(total, 3);
    assert_eq!(guids(&items), vec![created[0].guid.clone(), created[2].guid.clone(), created[4].guid.clone()]);

    let disabled = UserFilter { is_disabled: Some(true), ..Default::default() };
    let (total, items) = list_users(&store, tenant, disabled, page(1, 10)).await;
    assert_eq!(total, 2);
    assert_eq!(guids(&items), guids(&created[3..5]));

    let enabled = UserFilter { is_disabled: Some(false), ..Default::default() };
    assert_eq!(list_users(&store, tenant, enabled, page(1, 10)).await.0, 3);

    let combined = UserFilter { email: Some("even@example.com".into()), is_disabled: Some(true), ..Default::default() };
    let (total, items) = list_users(&store, tenant, combined, page(1, 10)).await;
    assert_eq!(total, 1);
    assert_eq!(items[0].guid, created[4].guid);

    let combined_page2 = UserFilter { email: Some("even@example.com".into()), ..Default::default() };
    let (total, items) = list_users(&store, tenant, combined_page2, page(2, 2)).await;
    assert_eq!(total, 3);
    assert_eq!(guids(&items), vec![created[4].guid.clone()]);

    let nothing = UserFilter { id: Some("nobody".into()), ..Default::default() };
    let (total, items) = list_users(&store, tenant, nothing, page(1, 10)).await;
    assert_eq!((total, items.len()), (0, 0));
}

async fn users_update_persists_and_missing_user_is_not_found(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let user = user_record(tenant, Some("before"), T0);
    put_user(&store, &user).await;

    let mut changed = user.clone();
    changed.id = Some("after".into());
    changed.email = None;
    changed.is_disabled = true;
    changed.metadata = Some(r#"{"changed":true}"#.into());
    changed.updated_at = at(60_000);
    let u = changed.clone();
    store.write(move |c| Box::pin(async move { users::update(c, &u).await })).await.expect("update user");

    assert_same(&find_user(&store, tenant, user.guid.as_str(), false).await.unwrap(), &changed);
    assert!(find_user(&store, tenant, "before", true).await.is_none());
    assert_eq!(find_user(&store, tenant, "after", true).await.unwrap().guid, user.guid);

    let ghost = user_record(tenant, None, T0);
    assert_not_found(store.write(move |c| Box::pin(async move { users::update(c, &ghost).await })).await);
}

async fn users_delete_cascades_members_accounts_and_jobs(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let doomed = new_user(&store, tenant).await;
    let kept = new_user(&store, tenant).await;

    let mut doomed_members = Vec::new();
    for _ in 0..2 {
        let m = new_member(&store, tenant, &doomed.guid).await;
        upsert_account(&store, &account_record(tenant, &doomed.guid, &m.guid, "checking", T0)).await;
        upsert_account(&store, &account_record(tenant, &doomed.guid, &m.guid, "savings", T0)).await;
        enqueue(&store, tenant, "aggregate", m.guid.as_str(), "{}", T0).await;
        doomed_members.push(m);
    }
    let kept_member = new_member(&store, tenant, &kept.guid).await;
    upsert_account(&store, &account_record(tenant, &kept.guid, &kept_member.guid, "checking", T0)).await;
    enqueue(&store, tenant, "aggregate", kept_member.guid.as_str(), "{}", T0).await;

    let guid = doomed.guid.clone();
    store.write(move |c| Box::pin(async move { users::delete(c, tenant, &guid).await })).await.expect("delete user");

    assert!(find_user(&store, tenant, doomed.guid.as_str(), false).await.is_none());
    for m in &doomed_members {
        assert!(member_in_tenant(&store, tenant, &m.guid).await.is_none(), "member of a deleted user survived");
        assert_eq!(jobs_about(&store, m.guid.as_str()).await, 0, "job of a deleted user survived");
    }
    assert!(all_accounts(&store, tenant, &doomed.guid, None).await.is_empty(), "accounts of a deleted user survived");

    assert!(find_user(&store, tenant, kept.guid.as_str(), false).await.is_some());
    assert!(member_in_tenant(&store, tenant, &kept_member.guid).await.is_some());
    assert_eq!(all_accounts(&store, tenant, &kept.guid, None).await.len(), 1);
    assert_eq!(jobs_about(&store, kept_member.guid.as_str()).await, 1);

    let guid = doomed.guid.clone();
    assert_not_found(store.write(move |c| Box::pin(async move { users::delete(c, tenant, &guid).await })).await);
}

async fn users_of_one_tenant_are_invisible_to_another(db: TestDb) {
    let store = db.store;
    let (a, b) = (new_tenant(&store).await, new_tenant(&store).await);
    let user = user_record(a, Some("shared-partner-id"), T0);
    put_user(&store, &user).await;
    let member = new_member(&store, a, &user.guid).await;
    enqueue(&store, a, "aggregate", member.guid.as_str(), "{}", T0).await;

    assert!(find_user(&store, b, user.guid.as_str(), false).await.is_none());
    assert!(find_user(&store, b, user.guid.as_str(), true).await.is_none());
    assert!(find_user(&store, b, "shared-partner-id", true).await.is_none());
    let (total, items) = list_users(&store, b, UserFilter::default(), page(1, 10)).await;
    assert_eq!((total, items.len()), (0, 0));
    let by_id = UserFilter { id: Some("shared-partner-id".into()), ..Default::default() };
    assert_eq!(list_users(&store, b, by_id, page(1, 10)).await.0, 0);

    let mut hijack = user.clone();
    hijack.tenant_id = b;
    hijack.email = Some("attacker@example.com".into());
    assert_not_found(store.write(move |c| Box::pin(async move { users::update(c, &hijack).await })).await);
    let guid = user.guid.clone();
    assert_not_found(store.write(move |c| Box::pin(async move { users::delete(c, b, &guid).await })).await);

    assert_same(&find_user(&store, a, user.guid.as_str(), false).await.expect("still there for its tenant"), &user);
    assert!(member_in_tenant(&store, a, &member.guid).await.is_some());
    assert_eq!(jobs_about(&store, member.guid.as_str()).await, 1);
}

// ---------------------------------------------------------------------------------------------
// Members
// ---------------------------------------------------------------------------------------------

async fn members_round_trip_every_field_through_insert_and_save(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let user = new_user(&store, tenant).await;
    let member = member_record(tenant, &user.guid, T0);
    put_member(&store, &member).await;

    assert_same(&find_member(&store, tenant, &user.guid, member.guid.as_str(), false).await.unwrap(), &member);
    let partner_id = member.id.clone().unwrap();
    assert!(find_member(&store, tenant, &user.guid, &partner_id, false).await.is_none());
    assert_same(&find_member(&store, tenant, &user.guid, &partner_id, true).await.unwrap(), &member);
    assert_same(&member_in_tenant(&store, tenant, &member.guid).await.unwrap(), &member);

    // Every mutable field changes, optional ones to None.
    let emptied = MemberRecord {
        id: None,
        institution_code: "otherbank".into(),
        name: "Other Bank".into(),
        credentials: None,
        credentials_fingerprint: None,
        is_oauth: true,
        connection_status: ConnectionStatus::Challenged,
        connection_status_message: None,
        is_being_aggregated: false,
        is_authenticated: false,
        aggregated_at: None,
        successfully_aggregated_at: None,
        background_aggregation_is_disabled: true,
        metadata: None,
        use_cases: None,
        has_processed_accounts: false,
        has_processed_account_numbers: true,
        has_processed_account_owners: false,
        has_processed_transactions: true,
        job: None,
        challenges: None,
        oauth_token_hash: None,
        oauth_expires_at: None,
        oauth_options: None,
        created_at: at(-5_000),
        updated_at: at(90_000),
        ..member.clone()
    };
    let m = emptied.clone();
    store.write(move |c| Box::pin(async move { members::save(c, &m).await })).await.expect("save member");
    assert_same(&member_in_tenant(&store, tenant, &member.guid).await.unwrap(), &emptied);

    // And back from None to (new) values, including a large credentials blob.
    let refilled = MemberRecord {
        id: Some("new-partner-id".into()),
        credentials: Some((0..70_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect()),
        credentials_fingerprint: Some("fp-new".into()),
        connection_status_message: Some("Needs MFA".into()),
        aggregated_at: Some(at(100_000)),
        successfully_aggregated_at: Some(at(99_000)),
        metadata: Some(r#"{"a":[1,2,3]}"#.into()),
        use_cases: Some(r#"["PFM"]"#.into()),
        job: Some(r#"{"type":"verify","step":0}"#.into()),
        challenges: Some(r#"[{"guid":"CRD-2","type":"OPTIONS","options":["a","b"]}]"#.into()),
        oauth_token_hash: Some("token-hash-new".into()),
        oauth_expires_at: Some(at(700_000)),
        oauth_options: Some(r#"{"enable_app2app":false}"#.into()),
        updated_at: at(100_001),
        ..emptied.clone()
    };
    let m = refilled.clone();
    store.write(move |c| Box::pin(async move { members::save(c, &m).await })).await.expect("save member again");
    assert_same(&find_member(&store, tenant, &user.guid, member.guid.as_str(), false).await.unwrap(), &refilled);

    // Saving a member that does not exist (or under another user) is NotFound.
    let ghost = member_record(tenant, &user.guid, T0);
    assert_not_found(store.write(move |c| Box::pin(async move { members::save(c, &ghost).await })).await);
    let mut moved = refilled.clone();
    moved.user_guid = UserGuid::generate();
    assert_not_found(store.write(move |c| Box::pin(async move { members::save(c, &moved).await })).await);
    assert_same(&member_in_tenant(&store, tenant, &member.guid).await.unwrap(), &refilled);
}

async fn members_find_duplicate_matches_fingerprint_institution_and_user(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let other_tenant = new_tenant(&store).await;
    let user = new_user(&store, tenant).await;
    let other_user = new_user(&store, tenant).await;
    let mut member = member_record(tenant, &user.guid, T0);
    member.credentials_fingerprint = Some("fp-1".into());
    put_member(&store, &member).await;
    let mut unrelated = member_record(tenant, &other_user.guid, T0);
    unrelated.credentials_fingerprint = Some("fp-2".into());
    put_member(&store, &unrelated).await;

    let dup = |tenant: TenantId, user: &UserGuid, institution: &str, fp: &str| {
        let (store, user, institution, fp) = (store.clone(), user.clone(), institution.to_owned(), fp.to_owned());
        async move {
            store
                .read(|mut c| async move { members::find_duplicate(&mut c, tenant, &user, &institution, &fp).await })
                .await
                .expect("find_duplicate")
        }
    };
    assert_same(&dup(tenant, &user.guid, "mxbank", "fp-1").await.expect("duplicate"), &member);
    assert!(dup(tenant, &user.guid, "mxbank", "fp-2").await.is_none(), "other fingerprint");
    assert!(dup(tenant, &user.guid, "otherbank", "fp-1").await.is_none(), "other institution");
    assert!(dup(tenant, &other_user.guid, "mxbank", "fp-1").await.is_none(), "other user");
    assert!(dup(other_tenant, &user.guid, "mxbank", "fp-1").await.is_none(), "other tenant");
    assert_eq!(dup(tenant, &other_user.guid, "mxbank", "fp-2").await.expect("its own duplicate").guid, unrelated.guid);
}

async fn members_find_by_oauth_token_hash(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let user = new_user(&store, tenant).await;
    let mut with_token = member_record(tenant, &user.guid, T0);
    with_token.oauth_token_hash = Some("hash-1".into());
    put_member(&store, &with_token).await;
    let mut without = member_record(tenant, &user.guid, T0);
    without.oauth_token_hash = None;
    put_member(&store, &without).await;

    let found = store.read(|mut c| async move { members::find_by_oauth_token(&mut c, "hash-1").await }).await.unwrap();
    assert_same(&found.expect("member by token hash"), &with_token);
    let none = store.read(|mut c| async move { members::find_by_oauth_token(&mut c, "hash-2").await }).await.unwrap();
    assert!(none.is_none());
}

/// What `members::find_status` should answer for `m`.
fn status_of(m: &MemberRecord) -> MemberStatusRecord {
    MemberStatusRecord {
        guid: m.guid.clone(),
        connection_status: m.connection_status,
        connection_status_message: m.connection_status_message.clone(),
        is_being_aggregated: m.is_being_aggregated,
        is_authenticated: m.is_authenticated,
        aggregated_at: m.aggregated_at,
        successfully_aggregated_at: m.successfully_aggregated_at,
        has_processed_accounts: m.has_processed_accounts,
        has_processed_account_numbers: m.has_processed_account_numbers,
        has_processed_transactions: m.has_processed_transactions,
        challenges: m.challenges.clone(),
    }
}

async fn members_find_status_reads_the_status_by_guid_or_id_within_user_and_tenant(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let other = new_tenant(&store).await;
    let user = new_user(&store, tenant).await;
    let neighbour = new_user(&store, tenant).await;
    let member = member_record(tenant, &user.guid, at(0));
    let plain = MemberRecord {
        id: None,
        connection_status_message: None,
        is_being_aggregated: false,
        is_authenticated: false,
        aggregated_at: None,
        successfully_aggregated_at: None,
        has_processed_accounts: false,
        has_processed_transactions: true,
        challenges: None,
        ..member_record(tenant, &user.guid, at(10))
    };
    put_member(&store, &member).await;
    put_member(&store, &plain).await;

    let status = |tenant: TenantId, user: UserGuid, ident: String, by_id: bool| {
        let store = store.clone();
        async move {
            store
                .read(move |mut c| async move { members::find_status(&mut c, tenant, &user, &ident, by_id).await })
                .await
                .unwrap()
        }
    };
    let id = member.id.clone().expect("the member has a partner id");
    let guid = member.guid.as_str().to_owned();
    assert_same(&status(tenant, user.guid.clone(), guid.clone(), false).await, &Some(status_of(&member)));
    assert_same(&status(tenant, user.guid.clone(), guid.clone(), true).await, &Some(status_of(&member)));
    assert_same(&status(tenant, user.guid.clone(), id.clone(), true).await, &Some(status_of(&member)));
    assert!(status(tenant, user.guid.clone(), id.clone(), false).await.is_none(), "a partner id is not a guid");
    let plain_guid = plain.guid.as_str().to_owned();
    assert_same(&status(tenant, user.guid.clone(), plain_guid.clone(), false).await, &Some(status_of(&plain)));

    // Scoped to the user and the tenant.
    assert!(status(tenant, neighbour.guid.clone(), guid.clone(), false).await.is_none());
    assert!(status(tenant, neighbour.guid.clone(), id.clone(), true).await.is_none());
    assert!(status(other, user.guid.clone(), guid.clone(), false).await.is_none());
    assert!(status(other, user.guid.clone(), id.clone(), true).await.is_none());
    assert!(status(tenant, user.guid.clone(), "MBR-none".to_owned(), true).await.is_none());

    // It reads what was saved last.
    let mut changed = member.clone();
    changed.connection_status_message = Some("Re-authenticating".to_owned());
    changed.is_being_aggregated = false;
    changed.has_processed_account_numbers = true;
    changed.successfully_aggregated_at = Some(at(5_000));
    changed.challenges = None;
    let w = changed.clone();
    store.write(move |c| Box::pin(async move { members::save(c, &w).await })).await.unwrap();
    assert_same(&status(tenant, user.guid.clone(), guid, false).await, &Some(status_of(&changed)));
}

async fn members_list_paginates_per_user_in_creation_order(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let user = new_user(&store, tenant).await;
    let other = new_user(&store, tenant).await;
    let mut created = Vec::new();
    for i in 0..5 {
        let m = member_record(tenant, &user.guid, at(i * 1000));
        put_member(&store, &m).await;
        created.push(m);
    }
    new_member(&store, tenant, &other.guid).await;

    let list = |user: UserGuid, req: PageRequest| {
        let store = store.clone();
        async move {
            store
                .read(|mut c| async move { members::list(&mut c, tenant, &user, None, req).await })
                .await
                .expect("list members")
        }
    };
    let guids = |ms: &[MemberRecord]| ms.iter().map(|m| m.guid.clone()).collect::<Vec<_>>();

    let p = list(user.guid.clone(), page(1, 2)).await;
    assert_eq!(p.total, 5);
    assert_eq!(guids(&p.items), guids(&created[0..2]));
    assert_same(&p.items[1], &created[1]);
    let p = list(user.guid.clone(), page(2, 2)).await;
    assert_eq!((p.total, guids(&p.items)), (5, guids(&created[2..4])));
    let p = list(user.guid.clone(), page(3, 2)).await;
    assert_eq!((p.total, guids(&p.items)), (5, guids(&created[4..5])));
    let p = list(user.guid.clone(), page(9, 2)).await;
    assert_eq!((p.total, p.items.len()), (5, 0));
    assert_eq!(list(other.guid.clone(), page(1, 10)).await.total, 1);
    assert_eq!(list(UserGuid::generate(), page(1, 10)).await.total, 0);
}

async fn members_delete_removes_their_accounts_and_jobs(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let user = new_user(&store, tenant).await;
    let doomed = new_member(&store, tenant, &user.guid).await;
    let kept = new_member(&store, tenant, &user.guid).await;
    for kind in ["checking", "savings"] {
        upsert_account(&store, &account_record(tenant, &user.guid, &doomed.guid, kind, T0)).await;
    }
    let kept_account = upsert_account(&store, &account_record(tenant, &user.guid, &kept.guid, "checking", T0)).await;
    enqueue(&store, tenant, "aggregate", doomed.guid.as_str(), "{}", T0).await;
    enqueue(&store, tenant, "verify", doomed.guid.as_str(), "{}", T0).await;
    enqueue(&store, tenant, "aggregate", kept.guid.as_str(), "{}", T0).await;

    let guid = doomed.guid.clone();
    store
        .write(move |c| Box::pin(async move { members::delete(c, tenant, &guid).await }))
        .await
        .expect("delete member");

    assert!(member_in_tenant(&store, tenant, &doomed.guid).await.is_none());
    assert!(all_accounts(&store, tenant, &user.guid, Some(&doomed.guid)).await.is_empty());
    assert_eq!(jobs_about(&store, doomed.guid.as_str()).await, 0);

    assert!(member_in_tenant(&store, tenant, &kept.guid).await.is_some());
    let remaining = all_accounts(&store, tenant, &user.guid, None).await;
    assert_eq!(remaining.len(), 1);
    assert_same(&remaining[0], &kept_account);
    assert_eq!(jobs_about(&store, kept.guid.as_str()).await, 1);
    assert!(find_user(&store, tenant, user.guid.as_str(), false).await.is_some(), "the user stays");

    let guid = doomed.guid.clone();
    assert_not_found(store.write(move |c| Box::pin(async move { members::delete(c, tenant, &guid).await })).await);
}

async fn members_of_one_tenant_are_invisible_to_another(db: TestDb) {
    let store = db.store;
    let (a, b) = (new_tenant(&store).await, new_tenant(&store).await);
    let user = new_user(&store, a).await;
    let member = new_member(&store, a, &user.guid).await;
    let account = upsert_account(&store, &account_record(a, &user.guid, &member.guid, "checking", T0)).await;
    enqueue(&store, a, "aggregate", member.guid.as_str(), "{}", T0).await;

    assert!(find_member(&store, b, &user.guid, member.guid.as_str(), false).await.is_none());
    assert!(find_member(&store, b, &user.guid, member.id.as_deref().unwrap(), true).await.is_none());
    assert!(member_in_tenant(&store, b, &member.guid).await.is_none());
    let (u, inst, fp) =
        (user.guid.clone(), member.institution_code.clone(), member.credentials_fingerprint.clone().unwrap());
    let dup =
        store.read(|mut c| async move { members::find_duplicate(&mut c, b, &u, &inst, &fp).await }).await.unwrap();
    assert!(dup.is_none());
    let u = user.guid.clone();
    let listed =
        store.read(|mut c| async move { members::list(&mut c, b, &u, None, page(1, 10)).await }).await.unwrap();
    assert_eq!((listed.total, listed.items.len()), (0, 0));

    let mut hijack = member.clone();
    hijack.tenant_id = b;
    hijack.connection_status = ConnectionStatus::Disconnected;
    assert_not_found(store.write(move |c| Box::pin(async move { members::save(c, &hijack).await })).await);
    let guid = member.guid.clone();
    assert_not_found(store.write(move |c| Box::pin(async move { members::delete(c, b, &guid).await })).await);

    assert_same(&member_in_tenant(&store, a, &member.guid).await.expect("still there for its tenant"), &member);
    assert_same(&all_accounts(&store, a, &user.guid, None).await[0], &account);
    assert_eq!(jobs_about(&store, member.guid.as_str()).await, 1);
}

// ---------------------------------------------------------------------------------------------
// Accounts
// ---------------------------------------------------------------------------------------------

async fn accounts_upsert_inserts_then_refreshes_keeping_identity(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let user = new_user(&store, tenant).await;
    let member = new_member(&store, tenant, &user.guid).await;

    let original = account_record(tenant, &user.guid, &member.guid, "checking", T0);
    let stored = upsert_account(&store, &original).await;
    assert_same(&stored, &original);

    // A verification job marks the numbers verified.
    let mut verified = stored.clone();
    verified.numbers_verified = true;
    let a = verified.clone();
    store.write(move |c| Box::pin(async move { accounts::save(c, &a).await })).await.expect("save account");

    // A later aggregation produces a fresh record for the same (member, kind).
    let refresh = AccountRecord {
        guid: AccountGuid::generate(),
        seed: 42,
        name: "Renamed checking".into(),
        account_type: AccountType::Savings,
        subtype: None,
        balance_cents: 99,
        available_balance_cents: None,
        credit_limit_cents: None,
        apr_bps: None,
        routing_number: Some("011000015".into()),
        account_number: Some(vec![9, 9, 9]),
        account_number_last4: Some("0999".into()),
        account_number_guid: "ACN-new".into(),
        owner_guid: "ACO-new".into(),
        numbers_verified: false,
        history_days: 7,
        created_at: at(50_000),
        updated_at: at(50_001),
        ..original.clone()
    };
    let refreshed = upsert_account(&store, &refresh).await;
    let expected = AccountRecord {
        // Identity and verification survive the refresh...
        guid: original.guid.clone(),
        created_at: original.created_at,
        numbers_verified: true,
        account_number_guid: original.account_number_guid.clone(),
        owner_guid: original.owner_guid.clone(),
        history_days: original.history_days,
        // ...while the refreshed data replaces the old.
        ..refresh.clone()
    };
    assert_same(&refreshed, &expected);

    let stored = all_accounts(&store, tenant, &user.guid, Some(&member.guid)).await;
    assert_eq!(stored.len(), 1, "one account per (member, kind)");
    assert_same(&stored[0], &expected);

    // Another kind on the same member is a new account.
    let savings = account_record(tenant, &user.guid, &member.guid, "savings", T0);
    assert_same(&upsert_account(&store, &savings).await, &savings);
    assert_eq!(all_accounts(&store, tenant, &user.guid, Some(&member.guid)).await.len(), 2);
}

fn holding_record(a: &AccountRecord, symbol: &str, position: i64, at: Timestamp) -> HoldingRecord {
    HoldingRecord {
        guid: format!("HOL-{}-{symbol}", a.guid),
        tenant_id: a.tenant_id,
        user_guid: a.user_guid.clone(),
        member_guid: a.member_guid.clone(),
        account_guid: a.guid.clone(),
        position,
        symbol: symbol.to_owned(),
        description: format!("{symbol} Inc."),
        cusip: "037833100".into(),
        holding_type: HoldingType::Equity,
        shares: 12,
        price_cents: 18_999,
        purchase_price_cents: 15_000,
        daily_change_cents: -125,
        created_at: at,
        updated_at: at,
    }
}

async fn holdings_upsert_prune_list_find_and_deactivation_stay_in_their_tenant(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let user = new_user(&store, tenant).await;
    let member = new_member(&store, tenant, &user.guid).await;
    let brokerage = upsert_account(&store, &account_record(tenant, &user.guid, &member.guid, "investment", T0)).await;
    let checking = upsert_account(&store, &account_record(tenant, &user.guid, &member.guid, "checking", T0)).await;
    let other_member = new_member(&store, tenant, &user.guid).await;
    let other_acct =
        upsert_account(&store, &account_record(tenant, &user.guid, &other_member.guid, "investment", T0)).await;
    let first: Vec<HoldingRecord> = ["AAPL", "VTI", "BND"]
        .iter()
        .enumerate()
        .map(|(i, s)| holding_record(&brokerage, s, i as i64, T0))
        .chain([holding_record(&other_acct, "MSFT", 0, T0)])
        .collect();
    for h in &first {
        let h2 = h.clone();
        let stored = store.write(move |c| Box::pin(async move { holdings::upsert(c, &h2).await })).await.unwrap();
        assert_same(&stored, h);
    }
    // A refresh a minute later keeps AAPL's creation time, changes its price and drops BND.
    let later = at(60_000);
    let mut aapl = holding_record(&brokerage, "AAPL", 0, later);
    aapl.price_cents = 20_000;
    aapl.holding_type = HoldingType::ExchangeTradedFund;
    let vti = holding_record(&brokerage, "VTI", 1, later);
    let (acct, a2, v2) = (brokerage.guid.clone(), aapl.clone(), vti.clone());
    let (refreshed, pruned) = store
        .write(move |c| {
            Box::pin(async move {
                let r = holdings::upsert(c, &a2).await?;
                holdings::upsert(c, &v2).await?;
                let n = holdings::prune_stale(c, tenant, &acct, later).await?;
                Ok((r, n))
            })
        })
        .await
        .unwrap();
    assert_same(&refreshed, &HoldingRecord { created_at: T0, ..aapl.clone() });
    assert_eq!(pruned, 1);

    let (u, m, a) = (user.guid.clone(), member.guid.clone(), brokerage.guid.clone());
    let (all, by_member, by_account, by_checking, paged, found, missing) = store
        .read(|mut c| async move {
            let all = holdings::list(&mut c, tenant, &u, None, None, page(1, 25)).await?;
            let by_member = holdings::list(&mut c, tenant, &u, Some(&m), None, page(1, 25)).await?;
            let by_account = holdings::list(&mut c, tenant, &u, None, Some(&a), page(1, 25)).await?;
            let checking = holdings::list(&mut c, tenant, &u, Some(&m), Some(&checking.guid), page(1, 25)).await?;
            let paged = holdings::list(&mut c, tenant, &u, None, None, page(2, 2)).await?;
            let found = holdings::find(&mut c, tenant, &u, &format!("HOL-{a}-VTI")).await?;
            let missing = holdings::find(&mut c, tenant, &u, &format!("HOL-{a}-BND")).await?;
            Ok::<_, StoreError>((all, by_member, by_account, checking, paged, found, missing))
        })
        .await
        .unwrap();
    let symbols =
        |p: &openiav_store::repo::Page<HoldingRecord>| p.items.iter().map(|h| h.symbol.clone()).collect::<Vec<_>>();
    assert_eq!((all.total, symbols(&all)), (3, vec!["AAPL".into(), "VTI".into(), "MSFT".into()]));
    assert_eq!(symbols(&by_member), vec!["AAPL".to_owned(), "VTI".into()]);
    assert_eq!(symbols(&by_account), symbols(&by_member));
    assert_eq!((by_checking.total, by_checking.items.len()), (0, 0));
    assert_eq!((paged.total, symbols(&paged)), (3, vec!["MSFT".to_owned()]));
    assert_same(&found, &Some(HoldingRecord { created_at: T0, ..vti }));
    assert!(missing.is_none());

    // Deactivation: idempotent, per user, undone by reactivate.
    let u = user.guid.clone();
    let (before, after, again, back, after_back) = store
        .write(move |c| {
            Box::pin(async move {
                let before = holdings::is_deactivated(c, tenant, &u).await?;
                holdings::deactivate(c, tenant, &u, T0).await?;
                holdings::deactivate(c, tenant, &u, later).await?;
                let after = holdings::is_deactivated(c, tenant, &u).await?;
                let again = holdings::reactivate(c, tenant, &u).await?;
                let back = holdings::reactivate(c, tenant, &u).await?;
                let after_back = holdings::is_deactivated(c, tenant, &u).await?;
                holdings::deactivate(c, tenant, &u, later).await?;
                Ok((before, after, again, back, after_back))
            })
        })
        .await
        .unwrap();
    assert_eq!((before, after, again, back, after_back), (false, true, true, false, false));

    // Another tenant sees none of it.
    let other = new_tenant(&store).await;
    let u = user.guid.clone();
    let (list, find, deactivated, reactivated) = store
        .write(move |c| {
            Box::pin(async move {
                let list = holdings::list(c, other, &u, None, None, page(1, 25)).await?;
                let find = holdings::find(c, other, &u, &format!("HOL-{}-VTI", brokerage.guid)).await?;
                let deactivated = holdings::is_deactivated(c, other, &u).await?;
                let reactivated = holdings::reactivate(c, other, &u).await?;
                Ok((list, find, deactivated, reactivated))
            })
        })
        .await
        .unwrap();
    assert_eq!((list.total, find.is_none(), deactivated, reactivated), (0, true, false, false));
    let u = user.guid.clone();
    assert!(store.read(|mut c| async move { holdings::is_deactivated(&mut c, tenant, &u).await }).await.unwrap());
}

fn reward_record(m: &MemberRecord, key: &str, position: i64, at: Timestamp) -> RewardRecord {
    RewardRecord {
        guid: format!("RWD-{}-{key}", m.guid),
        tenant_id: m.tenant_id,
        user_guid: m.user_guid.clone(),
        member_guid: m.guid.clone(),
        account_guid: None,
        position,
        unit_type: RewardUnit::Miles,
        balance_type: RewardBalanceType::Available,
        balance: 12_345,
        description: format!("{key} program"),
        expires_on: None,
        created_at: at,
        updated_at: at,
    }
}

async fn rewards_upsert_prune_list_and_find_per_member_and_tenant(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let user = new_user(&store, tenant).await;
    let member = new_member(&store, tenant, &user.guid).await;
    let card = upsert_account(&store, &account_record(tenant, &user.guid, &member.guid, "credit_card", T0)).await;
    let other_member = new_member(&store, tenant, &user.guid).await;
    let mut points = reward_record(&member, "points", 0, T0);
    points.account_guid = Some(card.guid.to_string());
    points.unit_type = RewardUnit::Points;
    points.balance_type = RewardBalanceType::Expiring;
    points.expires_on = Some("2024-01-31".into());
    let miles = reward_record(&member, "miles", 1, T0);
    let cash = reward_record(&member, "cash", 2, T0);
    let elsewhere = reward_record(&other_member, "miles", 0, T0);
    for r in [&points, &miles, &cash, &elsewhere] {
        let r2 = r.clone();
        let stored = store.write(move |c| Box::pin(async move { rewards::upsert(c, &r2).await })).await.unwrap();
        assert_same(&stored, r);
    }
    let later = at(60_000);
    let refreshed_points = RewardRecord { balance: 99, updated_at: later, created_at: later, ..points.clone() };
    let refreshed_miles = RewardRecord { updated_at: later, created_at: later, ..miles.clone() };
    let (p2, m2, mg) = (refreshed_points.clone(), refreshed_miles.clone(), member.guid.clone());
    let (stored, pruned) = store
        .write(move |c| {
            Box::pin(async move {
                let s = rewards::upsert(c, &p2).await?;
                rewards::upsert(c, &m2).await?;
                Ok((s, rewards::prune_stale(c, tenant, &mg, later).await?))
            })
        })
        .await
        .unwrap();
    assert_same(&stored, &RewardRecord { created_at: T0, ..refreshed_points.clone() });
    assert_eq!(pruned, 1, "cash is no longer reported");

    let (u, m, om) = (user.guid.clone(), member.guid.clone(), other_member.guid.clone());
    let miles_guid = miles.guid.clone();
    let (list, paged, of_other, found, wrong_member, other_tenant) = store
        .read(|mut c| async move {
            let list = rewards::list(&mut c, tenant, &u, &m, page(1, 25)).await?;
            let paged = rewards::list(&mut c, tenant, &u, &m, page(2, 1)).await?;
            let of_other = rewards::list(&mut c, tenant, &u, &om, page(1, 25)).await?;
            let found = rewards::find(&mut c, tenant, &u, &m, &miles_guid).await?;
            let wrong_member = rewards::find(&mut c, tenant, &u, &om, &miles_guid).await?;
            let other_tenant = rewards::list(&mut c, TenantId::generate(), &u, &m, page(1, 25)).await?;
            Ok::<_, StoreError>((list, paged, of_other, found, wrong_member, other_tenant))
        })
        .await
        .unwrap();
    assert_eq!(list.total, 2);
    assert_same(
        &list.items,
        &vec![
            RewardRecord { created_at: T0, ..refreshed_points },
            RewardRecord { created_at: T0, ..refreshed_miles.clone() },
        ],
    );
    assert_eq!((paged.total, paged.items.len(), paged.items[0].guid.clone()), (2, 1, miles.guid.clone()));
    assert_same(&of_other.items, &vec![elsewhere]);
    assert_same(&found, &Some(RewardRecord { created_at: T0, ..refreshed_miles }));
    assert!(wrong_member.is_none());
    assert_eq!((other_tenant.total, other_tenant.items.len()), (0, 0));
}

async fn accounts_save_updates_mutable_fields_only(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let other_tenant = new_tenant(&store).await;
    let user = new_user(&store, tenant).await;
    let member = new_member(&store, tenant, &user.guid).await;
    let account = upsert_account(&store, &account_record(tenant, &user.guid, &member.guid, "checking", T0)).await;

    let mut changed = account.clone();
    changed.balance_cents = -4_200;
    changed.available_balance_cents = None;
    changed.numbers_verified = true;
    changed.history_days = 730;
    changed.updated_at = at(77_000);
    // Not mutable through save: these must be ignored.
    changed.name = "ignored".into();
    changed.seed = 1;
    let a = changed.clone();
    store.write(move |c| Box::pin(async move { accounts::save(c, &a).await })).await.expect("save account");

    let expected = AccountRecord {
        balance_cents: -4_200,
        available_balance_cents: None,
        numbers_verified: true,
        history_days: 730,
        updated_at: at(77_000),
        ..account.clone()
    };
    let (u, g) = (user.guid.clone(), account.guid.clone());
    let found = store.read(|mut c| async move { accounts::find(&mut c, tenant, &u, g.as_str()).await }).await.unwrap();
    assert_same(&found.expect("account"), &expected);

    let ghost = account_record(tenant, &user.guid, &member.guid, "savings", T0);
    assert_not_found(store.write(move |c| Box::pin(async move { accounts::save(c, &ghost).await })).await);
    let mut hijack = changed.clone();
    hijack.tenant_id = other_tenant;
    hijack.balance_cents = 1;
    assert_not_found(store.write(move |c| Box::pin(async move { accounts::save(c, &hijack).await })).await);
    assert_eq!(all_accounts(&store, tenant, &user.guid, None).await[0].balance_cents, -4_200);
}

async fn accounts_list_all_and_find_filter_by_member_user_and_tenant(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let other_tenant = new_tenant(&store).await;
    let user = new_user(&store, tenant).await;
    let other_user = new_user(&store, tenant).await;
    let m1 = new_member(&store, tenant, &user.guid).await;
    let m2 = new_member(&store, tenant, &user.guid).await;
    let m3 = new_member(&store, tenant, &other_user.guid).await;

    let mut created = Vec::new();
    for (member, kind) in [(&m1, "checking"), (&m2, "checking"), (&m1, "savings"), (&m1, "credit_card")] {
        created.push(upsert_account(&store, &account_record(tenant, &user.guid, &member.guid, kind, T0)).await);
    }
    upsert_account(&store, &account_record(tenant, &other_user.guid, &m3.guid, "checking", T0)).await;
    let guids = |xs: &[AccountRecord]| xs.iter().map(|a| a.guid.clone()).collect::<Vec<_>>();

    let all = all_accounts(&store, tenant, &user.guid, None).await;
    assert_eq!(guids(&all), guids(&created), "every account of the user, in creation order");
    let of_m1 = all_accounts(&store, tenant, &user.guid, Some(&m1.guid)).await;
    assert_eq!(guids(&of_m1), vec![created[0].guid.clone(), created[2].guid.clone(), created[3].guid.clone()]);
    assert!(all_accounts(&store, other_tenant, &user.guid, None).await.is_empty());
    assert!(all_accounts(&store, tenant, &user.guid, Some(&m3.guid)).await.is_empty(), "m3 belongs to another user");

    let list = |member: Option<MemberGuid>, req: PageRequest| {
        let (store, user) = (store.clone(), user.guid.clone());
        async move {
            store
                .read(|mut c| async move { accounts::list(&mut c, tenant, &user, member.as_ref(), req).await })
                .await
                .expect("list accounts")
        }
    };
    let p = list(None, page(1, 3)).await;
    assert_eq!((p.total, guids(&p.items)), (4, guids(&created[0..3])));
    let p = list(None, page(2, 3)).await;
    assert_eq!((p.total, guids(&p.items)), (4, guids(&created[3..4])));
    let p = list(Some(m1.guid.clone()), page(2, 2)).await;
    assert_eq!((p.total, guids(&p.items)), (3, vec![created[3].guid.clone()]));
    let p = list(Some(m2.guid.clone()), page(1, 10)).await;
    assert_eq!(p.total, 1);
    assert_same(&p.items[0], &created[1]);

    let find = |tenant: TenantId, user: UserGuid, guid: AccountGuid| {
        let store = store.clone();
        async move {
            store
                .read(|mut c| async move { accounts::find(&mut c, tenant, &user, guid.as_str()).await })
                .await
                .expect("find account")
        }
    };
    assert_same(&find(tenant, user.guid.clone(), created[2].guid.clone()).await.expect("account"), &created[2]);
    assert!(find(tenant, other_user.guid.clone(), created[2].guid.clone()).await.is_none(), "other user");
    assert!(find(other_tenant, user.guid.clone(), created[2].guid.clone()).await.is_none(), "other tenant");
    assert!(find(tenant, user.guid.clone(), AccountGuid::generate()).await.is_none());
}

// ---------------------------------------------------------------------------------------------
// Jobs
// ---------------------------------------------------------------------------------------------

async fn jobs_enqueue_returns_increasing_seq(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let mut seen = Vec::new();
    for i in 0..5 {
        seen.push(enqueue(&store, tenant, if i % 2 == 0 { "a" } else { "b" }, "s", "{}", T0).await);
    }
    // Several enqueued in one transaction.
    let batch = store
        .write(move |c| {
            Box::pin(async move {
                let mut out = Vec::new();
                for _ in 0..3 {
                    out.push(jobs::enqueue(c, tenant, "a", "s", "{}", T0, T0).await?);
                }
                Ok(out)
            })
        })
        .await
        .unwrap();
    seen.extend(batch);
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "seqs must increase: {seen:?}");
    assert_eq!(jobs_about(&store, "s").await, 8);
}

async fn jobs_claim_returns_due_jobs_and_leases_them(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let overdue = enqueue(&store, tenant, "q", "s-overdue", r#"{"n":1}"#, at(-1_000)).await;
    let due_now = enqueue(&store, tenant, "q", "s-now", r#"{"n":2}"#, at(0)).await;
    let later = enqueue(&store, tenant, "q", "s-later", r#"{"n":3}"#, at(60_000)).await;
    let elsewhere = enqueue(&store, tenant, "other", "s-other", "{}", at(-5_000)).await;

    let claimed = claim(&store, "q", T0, 30_000, 10).await;
    assert_eq!(seqs(&claimed), vec![overdue, due_now], "only due jobs, earliest first");
    let first = &claimed[0];
    assert_eq!((first.tenant_id, first.queue.as_str(), first.subject.as_str()), (tenant, "q", "s-overdue"));
    assert_eq!((first.payload.as_str(), first.run_at, first.attempts), (r#"{"n":1}"#, at(-1_000), 1));
    assert_eq!(claimed[1].attempts, 1);

    // Leased: nobody else gets them until the lease runs out.
    assert!(claim(&store, "q", T0, 30_000, 10).await.is_empty());
    assert!(claim(&store, "q", at(29_999), 30_000, 10).await.is_empty());

    // The lease ran out (the worker died): claimed again, one more attempt.
    let again = claim(&store, "q", at(30_000), 30_000, 10).await;
    assert_eq!(seqs(&again), vec![overdue, due_now]);
    assert!(again.iter().all(|j| j.attempts == 2), "{again:?}");

    // At 60 s the leases end again and the later job is due too; `limit` caps the claim.
    let capped = claim(&store, "q", at(60_000), 30_000, 2).await;
    assert_eq!(seqs(&capped), vec![overdue, due_now]);
    assert!(capped.iter().all(|j| j.attempts == 3));
    let rest = claim(&store, "q", at(60_000), 30_000, 2).await;
    assert_eq!(seqs(&rest), vec![later]);
    assert_eq!(rest[0].attempts, 1);

    // Queues are separate.
    let other = claim(&store, "other", T0, 1_000, 10).await;
    assert_eq!(seqs(&other), vec![elsewhere]);
}

async fn jobs_complete_deletes_and_retry_at_reschedules(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let done = enqueue(&store, tenant, "q", "s-done", "{}", T0).await;
    let retried = enqueue(&store, tenant, "q", "s-retry", "{}", T0).await;
    assert_eq!(seqs(&claim(&store, "q", T0, 30_000, 10).await), vec![done, retried]);

    store.write(move |c| Box::pin(async move { jobs::complete(c, done).await })).await.unwrap();
    assert_eq!(jobs_about(&store, "s-done").await, 0);

    // Retrying releases the lease and moves the job to its new time.
    store.write(move |c| Box::pin(async move { jobs::retry_at(c, retried, at(5_000)).await })).await.unwrap();
    assert!(claim(&store, "q", at(4_999), 30_000, 10).await.is_empty(), "not due before its new time");
    let again = claim(&store, "q", at(5_000), 30_000, 10).await;
    assert_eq!(seqs(&again), vec![retried]);
    assert_eq!((again[0].run_at, again[0].attempts), (at(5_000), 2));

    store.write(move |c| Box::pin(async move { jobs::complete(c, retried).await })).await.unwrap();
    assert_eq!(jobs_about(&store, "s-retry").await, 0);
    assert!(claim(&store, "q", at(1_000_000), 30_000, 10).await.is_empty());
}

async fn jobs_next_due_reports_earliest_due_time(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let next_due = |queue: &'static str| {
        let store = store.clone();
        async move { store.read(|mut c| async move { jobs::next_due(&mut c, queue).await }).await.expect("next_due") }
    };
    assert_eq!(next_due("q").await, None);

    enqueue(&store, tenant, "q", "s", "{}", at(5_000)).await;
    let early = enqueue(&store, tenant, "q", "s", "{}", at(2_000)).await;
    enqueue(&store, tenant, "other", "s", "{}", at(1_000)).await;
    assert_eq!(next_due("q").await, Some(at(2_000)));
    assert_eq!(next_due("other").await, Some(at(1_000)));

    // Leases do not move a job's due time: next_due is the earliest run_at queued.
    assert_eq!(seqs(&claim(&store, "q", at(2_000), 10_000, 10).await), vec![early]);
    assert_eq!(next_due("q").await, Some(at(2_000)));
    store.write(move |c| Box::pin(async move { jobs::retry_at(c, early, at(20_000)).await })).await.unwrap();
    assert_eq!(next_due("q").await, Some(at(5_000)));
    let late = claim(&store, "q", at(5_000), 60_000, 10).await;
    assert_eq!(late.len(), 1);
    assert_eq!(next_due("q").await, Some(at(5_000)));
    let late_seq = late[0].seq;
    store.write(move |c| Box::pin(async move { jobs::complete(c, late_seq).await })).await.unwrap();
    assert_eq!(next_due("q").await, Some(at(20_000)));
    store.write(move |c| Box::pin(async move { jobs::complete(c, early).await })).await.unwrap();
    assert_eq!(next_due("q").await, None);
}

async fn jobs_cancel_removes_jobs_by_subject(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let other_tenant = new_tenant(&store).await;
    enqueue(&store, tenant, "q", "s1", "{}", T0).await;
    enqueue(&store, tenant, "q", "s1", "{}", at(1_000)).await;
    enqueue(&store, tenant, "q2", "s1", "{}", T0).await;
    let s2 = enqueue(&store, tenant, "q", "s2", "{}", T0).await;

    let cancel = |tenant: TenantId, queue: &'static str, subject: &'static str| {
        let store = store.clone();
        async move {
            store.write(move |c| Box::pin(async move { jobs::cancel(c, tenant, queue, subject).await })).await.unwrap()
        }
    };
    assert_eq!(cancel(other_tenant, "q", "s1").await, 0, "another tenant cannot cancel these jobs");
    assert_eq!(jobs_about(&store, "s1").await, 3);
    assert_eq!(cancel(tenant, "q", "s1").await, 2);
    assert_eq!(jobs_about(&store, "s1").await, 1, "the job in another queue stays");
    assert_eq!(seqs(&claim(&store, "q", at(10_000), 1_000, 10).await), vec![s2]);
    assert_eq!(cancel(tenant, "q", "s1").await, 0);
}

async fn jobs_cancel_payload_removes_unleased_jobs_with_that_payload(db: TestDb) {
    let store = db.store;
    let (tenant, other) = (new_tenant(&store).await, new_tenant(&store).await);
    let kept = enqueue(&store, tenant, "q", "s", "{\"w\":2}", T0).await;
    enqueue(&store, tenant, "q", "s", "{\"w\":1}", at(5_000)).await;
    enqueue(&store, tenant, "q2", "s", "{\"w\":1}", at(5_000)).await;
    let cancel = |tenant: TenantId, queue: &'static str, payload: &'static str, now: Timestamp| {
        let store = store.clone();
        async move {
            store
                .write(move |c| Box::pin(async move { jobs::cancel_payload(c, tenant, queue, payload, now).await }))
                .await
                .unwrap()
        }
    };
    assert_eq!(cancel(other, "q", "{\"w\":1}", T0).await, 0, "another tenant's jobs stay");
    assert_eq!(cancel(tenant, "q", "{\"w\":1}", T0).await, 1, "only that queue's");
    assert_eq!(jobs_about(&store, "s").await, 2);
    assert_eq!(seqs(&claim(&store, "q", T0, 60_000, 10).await), vec![kept]);
    assert_eq!(cancel(tenant, "q", "{\"w\":2}", at(1_000)).await, 0, "a job a worker holds stays");
    assert_eq!(cancel(tenant, "q", "{\"w\":2}", at(61_000)).await, 1, "and goes once its lease ran out");
}

async fn jobs_claim_skipping_leaves_skipped_tenants_and_subjects_and_release_gives_back(db: TestDb) {
    let store = db.store;
    let (tenant, other) = (new_tenant(&store).await, new_tenant(&store).await);
    let a1 = enqueue(&store, tenant, "q", "sub-a", "{}", at(-3_000)).await;
    let b1 = enqueue(&store, tenant, "q", "sub-b", "{}", at(-2_000)).await;
    let a2 = enqueue(&store, tenant, "q", "sub-a", "{}", at(-1_000)).await;
    let c1 = enqueue(&store, tenant, "q", "sub-c", "{}", at(0)).await;
    let o1 = enqueue(&store, other, "q", "sub-o", "{}", at(0)).await;
    enqueue(&store, tenant, "q", "sub-b", "{}", at(60_000)).await;
    let claim_skipping = |limit: i64, tenants: Vec<TenantId>, subjects: Vec<&str>| {
        let store = store.clone();
        let subjects: Vec<String> = subjects.into_iter().map(str::to_owned).collect();
        async move {
            store
                .write(move |c| {
                    Box::pin(async move { jobs::claim_skipping(c, "q", T0, 30_000, limit, &tenants, &subjects).await })
                })
                .await
                .expect("claim skipping")
        }
    };

    // Skipped subjects stay queued; the limit counts only what is claimed.
    assert_eq!(seqs(&claim_skipping(2, vec![], vec!["sub-a", "sub-c"]).await), vec![b1, o1]);
    // Skipped tenants too, and both at once; nothing to skip is a plain claim.
    assert_eq!(seqs(&claim_skipping(10, vec![other], vec!["sub-c"]).await), vec![a1, a2]);
    assert_eq!(seqs(&claim_skipping(10, vec![], vec![]).await), vec![c1]);
    assert!(claim_skipping(10, vec![], vec![]).await.is_empty(), "all leased");

    // A released job is claimable at once, and the claim it gave back is not an attempt.
    store.write(move |c| Box::pin(async move { jobs::release(c, a2).await })).await.unwrap();
    let again = claim_skipping(10, vec![tenant], vec![]).await;
    assert!(again.is_empty(), "the released job's tenant is skipped: {again:?}");
    let again = claim_skipping(10, vec![other], vec!["sub-b"]).await;
    assert_eq!(seqs(&again), vec![a2]);
    assert_eq!(again[0].attempts, 1, "{again:?}");
}

async fn jobs_survive_closing_and_reopening_the_store(db: TestDb) {
    let tenant = new_tenant(&db.store).await;
    let user = new_user(&db.store, tenant).await;
    let seq = enqueue(&db.store, tenant, "q", user.guid.as_str(), r#"{"durable":true}"#, T0).await;
    db.store.close().await;

    let reopened = Store::open(&db.url).await.expect("reopen store");
    let claimed = claim(&reopened, "q", T0, 30_000, 10).await;
    assert_eq!(seqs(&claimed), vec![seq]);
    assert_eq!(claimed[0].payload, r#"{"durable":true}"#);
    assert_same(&find_user(&reopened, tenant, user.guid.as_str(), false).await.expect("user survives"), &user);
    // The lease taken before a restart is durable too.
    reopened.close().await;
    let again = Store::open(&db.url).await.expect("reopen store again");
    assert!(claim(&again, "q", T0, 30_000, 10).await.is_empty());
    assert_eq!(seqs(&claim(&again, "q", at(30_000), 30_000, 10).await), vec![seq]);
    again.close().await;
}

// ---------------------------------------------------------------------------------------------
// Write semantics
// ---------------------------------------------------------------------------------------------

async fn failed_write_leaves_no_trace(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let user = user_record(tenant, Some("ghost"), T0);
    let u = user.clone();
    let r: Result<(), _> = store
        .write(move |c| {
            Box::pin(async move {
                users::insert(c, &u).await?;
                jobs::enqueue(c, tenant, "q", u.guid.as_str(), "{}", T0, T0).await?;
                Err(StoreError::Conflict("the op changed its mind".into()))
            })
        })
        .await;
    assert!(matches!(&r, Err(StoreError::Conflict(m)) if m == "the op changed its mind"), "{r:?}");
    assert!(find_user(&store, tenant, user.guid.as_str(), false).await.is_none());
    assert_eq!(jobs_about(&store, user.guid.as_str()).await, 0);

    // A database error half-way rolls back the earlier statements of the same op.
    let first = user_record(tenant, Some("first"), T0);
    let (f, u) = (first.clone(), user.clone());
    let r = store
        .write(move |c| {
            Box::pin(async move {
                users::insert(c, &f).await?;
                users::insert(c, &u).await?;
                let mut dup = u.clone();
                dup.guid = UserGuid::generate(); // same partner id: a unique violation
                users::insert(c, &dup).await
            })
        })
        .await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
    assert!(find_user(&store, tenant, first.guid.as_str(), false).await.is_none());
    assert!(find_user(&store, tenant, user.guid.as_str(), false).await.is_none());

    // The store keeps working, and the same rows can now be written.
    put_user(&store, &user).await;
    assert_same(&find_user(&store, tenant, "ghost", true).await.unwrap(), &user);
}

async fn concurrent_writes_commit_independently_of_failing_ones(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let taken = user_record(tenant, Some("taken"), T0);
    put_user(&store, &taken).await;

    // Hold the writer (and, on PostgreSQL, a connection) briefly so the burst queues up and
    // SQLite runs it as one grouped transaction.
    let blocker = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .write(|_c| {
                    Box::pin(async move {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        Ok(())
                    })
                })
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Kind {
        Ok,
        OpError,
        Constraint,
    }
    let kind = |i: usize| match i % 5 {
        1 => Kind::OpError,
        3 if i.is_multiple_of(2) => Kind::Constraint,
        _ => Kind::Ok,
    };
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(50));
    let mut set = tokio::task::JoinSet::new();
    let mut planned = Vec::new();
    for i in 0..50usize {
        let user = user_record(tenant, Some(&format!("burst-{i}")), at(i as i64));
        planned.push((i, kind(i), user.clone()));
        let (store, barrier, k) = (store.clone(), barrier.clone(), kind(i));
        set.spawn(async move {
            barrier.wait().await;
            let r = store
                .write(move |c| {
                    Box::pin(async move {
                        users::insert(c, &user).await?;
                        jobs::enqueue(c, tenant, "q", user.guid.as_str(), "{}", T0, T0).await?;
                        match k {
                            Kind::Ok => Ok(i),
                            Kind::OpError => Err(StoreError::Corrupt(format!("op {i} failed"))),
                            Kind::Constraint => {
                                let mut dup = user_record(tenant, Some("taken"), T0);
                                dup.email = None;
                                users::insert(c, &dup).await.map(|()| i)
                            }
                        }
                    })
                })
                .await;
            (i, r)
        });
    }
    let mut results = std::collections::BTreeMap::new();
    while let Some(joined) = set.join_next().await {
        let (i, r) = joined.expect("write task");
        results.insert(i, r);
    }
    blocker.await.unwrap().expect("blocker write");

    let mut ok = 0;
    for (i, k, user) in &planned {
        let r = &results[i];
        match k {
            Kind::Ok => {
                assert_eq!(r.as_ref().ok(), Some(i), "write {i} should commit: {r:?}");
                ok += 1;
            }
            Kind::OpError => assert!(matches!(r, Err(StoreError::Corrupt(_))), "write {i}: {r:?}"),
            Kind::Constraint => assert!(matches!(r, Err(StoreError::Conflict(_))), "write {i}: {r:?}"),
        }
        let found = find_user(&store, tenant, user.guid.as_str(), false).await;
        assert_eq!(found.is_some(), *k == Kind::Ok, "user of write {i} ({k:?})");
        assert_eq!(jobs_about(&store, user.guid.as_str()).await, i64::from(*k == Kind::Ok), "job of write {i} ({k:?})");
    }
    assert_eq!(ok, 35, "the plan: 35 succeed, 10 fail in the op, 5 hit a constraint");
    assert_eq!(list_users(&store, tenant, UserFilter::default(), page(1, 1)).await.0, 36);
    assert_eq!(claim(&store, "q", T0, 1_000, 1_000).await.len(), 35);
}

async fn write_is_visible_to_the_next_read(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    for i in 0..25i64 {
        let u = user_record(tenant, Some(&format!("v{i}")), at(i));
        let guid = u.guid.clone();
        store.write(move |c| Box::pin(async move { users::insert(c, &u).await })).await.unwrap();
        assert!(find_user(&store, tenant, guid.as_str(), false).await.is_some(), "write {i} not visible");
        assert_eq!(list_users(&store, tenant, UserFilter::default(), page(1, 1)).await.0, i + 1);
    }
    // A returned value and the row it describes agree.
    let seq = store
        .write(move |c| Box::pin(async move { jobs::enqueue(c, tenant, "q", "visible", "{}", T0, T0).await }))
        .await
        .unwrap();
    assert_eq!(seqs(&claim(&store, "q", T0, 1_000, 10).await), vec![seq]);
}

async fn cancelled_write_is_not_committed_by_later_writes(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let ghost = user_record(tenant, Some("cancelled"), T0);
    let g = ghost.clone();
    // The caller gives up while the op is still running; the op then fails.
    let gave_up = tokio::time::timeout(
        Duration::from_millis(50),
        store.write(move |c| {
            Box::pin(async move {
                users::insert(c, &g).await?;
                tokio::time::sleep(Duration::from_millis(300)).await;
                Err::<(), _>(StoreError::Corrupt("failed after the caller left".into()))
            })
        }),
    )
    .await;
    assert!(gave_up.is_err(), "the write should still have been running");
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Later writes and reads, on whatever connections, must not see or commit its insert.
    for i in 0..40 {
        let u = user_record(tenant, Some(&format!("after-{i}")), at(i));
        put_user(&store, &u).await;
        assert!(find_user(&store, tenant, ghost.guid.as_str(), false).await.is_none(), "uncommitted row visible");
    }
    let mut set = tokio::task::JoinSet::new();
    for i in 0..40 {
        let store = store.clone();
        set.spawn(async move { put_user(&store, &user_record(tenant, Some(&format!("burst-{i}")), T0)).await });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    assert!(
        find_user(&store, tenant, ghost.guid.as_str(), false).await.is_none(),
        "a cancelled, failed write committed"
    );
    assert_eq!(list_users(&store, tenant, UserFilter::default(), page(1, 1)).await.0, 80);
}

// ---------------------------------------------------------------------------------------------
// SQLite only
// ---------------------------------------------------------------------------------------------

async fn sqlite_read_connection_refuses_writes(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let refused = store
        .read(|mut c| async move {
            Ok(sqlx::query("UPDATE tenants SET name = 'changed' WHERE id = $1")
                .bind(tenant.to_string())
                .execute(&mut *c)
                .await)
        })
        .await
        .unwrap();
    let err = refused.expect_err("a read connection must refuse UPDATE");
    assert!(err.to_string().to_lowercase().contains("readonly"), "unexpected error: {err}");
    let refused = store
        .read(|mut c| async move { Ok(sqlx::query("CREATE TABLE sneaky (x BIGINT)").execute(&mut *c).await) })
        .await
        .unwrap();
    assert!(refused.is_err(), "a read connection must refuse DDL");
    let query_only: i64 = store
        .read(|mut c| async move { Ok(sqlx::query_scalar("PRAGMA query_only").fetch_one(&mut *c).await?) })
        .await
        .unwrap();
    assert_eq!(query_only, 1);
    let t = store.read(|mut c| async move { tenants::get(&mut c, tenant).await }).await.unwrap();
    assert_ne!(t.name, "changed");
}

async fn sqlite_database_is_in_wal_mode(db: TestDb) {
    let store = db.store;
    new_tenant(&store).await;
    let mode: String = store
        .read(|mut c| async move { Ok(sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut *c).await?) })
        .await
        .unwrap();
    assert_eq!(mode.to_lowercase(), "wal");
    let path = db.url.strip_prefix("sqlite://").expect("sqlite URL");
    assert!(std::path::Path::new(path).exists(), "database file at {path}");
    assert!(std::path::Path::new(&format!("{path}-wal")).exists(), "WAL file next to {path}");
}

async fn micro_deposits_round_trip_list_save_delete_and_stay_in_their_tenant(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let other = new_tenant(&store).await;
    let user = new_user(&store, tenant).await;
    let record = |guid: &str, at_ms: i64| MicroDepositRecord {
        guid: guid.to_owned(),
        tenant_id: tenant,
        user_guid: user.guid.clone(),
        account_name: Some("Checking".into()),
        account_type: AccountType::Checking,
        account_number: vec![1, 0, 255, 7],
        account_number_last4: "1261".into(),
        routing_number: "068899994".into(),
        email: None,
        first_name: Some("Jo".into()),
        last_name: None,
        institution_code: Some("mxbank".into()),
        institution_name: Some("MX Bank".into()),
        status: MicroDepositStatus::Initiated,
        error_message: None,
        failed_attempts: 0,
        deposited_at: at(at_ms),
        verified_at: None,
        created_at: at(at_ms),
        updated_at: at(at_ms),
    };
    for (g, t) in [("MIC-1", 0), ("MIC-2", 10)] {
        let r = record(g, t);
        store.write(move |c| Box::pin(async move { micro_deposits::insert(c, &r).await })).await.unwrap();
    }
    let u = user.guid.clone();
    let found = store
        .read(|mut c| async move { micro_deposits::find(&mut c, tenant, Some(&u), "MIC-1").await })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.account_number, vec![1, 0, 255, 7]);
    assert_eq!(found.deposited_at, at(0));
    assert!(store
        .read(|mut c| async move { micro_deposits::find(&mut c, other, None, "MIC-1").await })
        .await
        .unwrap()
        .is_none());

    let mut changed = found.clone();
    changed.status = MicroDepositStatus::Verified;
    changed.failed_attempts = 2;
    changed.verified_at = Some(at(99));
    store.write(move |c| Box::pin(async move { micro_deposits::save(c, &changed).await })).await.unwrap();
    let again = store
        .read(|mut c| async move { micro_deposits::find(&mut c, tenant, None, "MIC-1").await })
        .await
        .unwrap()
        .unwrap();
    assert_eq!((again.status.as_str(), again.failed_attempts, again.verified_at), ("VERIFIED", 2, Some(at(99))));

    let u = user.guid.clone();
    let listed =
        store.read(|mut c| async move { micro_deposits::list(&mut c, tenant, &u, page(1, 10)).await }).await.unwrap();
    assert_eq!(listed.total, 2);
    assert_eq!(listed.items.iter().map(|d| d.guid.as_str()).collect::<Vec<_>>(), vec!["MIC-1", "MIC-2"]);

    let u = user.guid.clone();
    let denied =
        store.write(move |c| Box::pin(async move { micro_deposits::delete(c, other, &u, "MIC-1").await })).await;
    assert!(matches!(denied, Err(StoreError::NotFound)));
    let u = user.guid.clone();
    store.write(move |c| Box::pin(async move { micro_deposits::delete(c, tenant, &u, "MIC-1").await })).await.unwrap();
    let u = user.guid.clone();
    assert_eq!(
        store
            .read(|mut c| async move { micro_deposits::list(&mut c, tenant, &u, page(1, 10)).await })
            .await
            .unwrap()
            .total,
        1
    );
}

async fn widget_sessions_open_once_before_expiry_and_then_find_live(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let user = new_user(&store, tenant).await;
    let record = |url_hash: &str, session_guid: &str| WidgetSessionRecord {
        url_token_hash: url_hash.to_owned(),
        session_token_hash: None,
        session_guid: session_guid.to_owned(),
        tenant_id: tenant,
        user_guid: user.guid.clone(),
        config: r#"{"mode":"verification"}"#.into(),
        url_expires_at: at(1_000),
        opened_at: None,
        session_expires_at: None,
        created_at: at(0),
    };
    for (h, g) in [("url-a", "SES-a"), ("url-b", "SES-b")] {
        let r = record(h, g);
        store.write(move |c| Box::pin(async move { widget_sessions::insert(c, &r).await })).await.unwrap();
    }
    let open = |url: &'static str, session: &'static str, now: i64| {
        let store = store.clone();
        async move {
            store
                .write(move |c| Box::pin(async move { widget_sessions::open(c, url, session, at(now), 5_000).await }))
                .await
                .unwrap()
        }
    };
    let opened = open("url-a", "ses-a", 10).await.expect("an unopened URL opens");
    assert_eq!(opened.session_guid, "SES-a");
    assert_eq!(opened.tenant_id, tenant);
    assert_eq!(opened.user_guid, user.guid);
    assert_eq!(opened.config, r#"{"mode":"verification"}"#);
    assert_eq!((opened.opened_at, opened.session_expires_at), (Some(at(10)), Some(at(5_010))));
    assert!(open("url-a", "ses-a2", 20).await.is_none(), "a URL opens only once");
    assert!(open("url-b", "ses-b", 1_000).await.is_none(), "an expired URL does not open");
    assert!(open("url-zzz", "ses-z", 10).await.is_none());

    let find = |hash: &'static str, now: i64| {
        let store = store.clone();
        async move {
            store
                .read(move |mut c| async move { widget_sessions::find_live(&mut c, hash, at(now)).await })
                .await
                .unwrap()
        }
    };
    assert_eq!(find("ses-a", 100).await.map(|s| s.session_guid), Some("SES-a".to_owned()));
    assert!(find("ses-a", 5_010).await.is_none(), "an expired session is gone");
    assert!(find("ses-a2", 100).await.is_none());
    assert!(find("url-a", 100).await.is_none(), "the URL token is not a session token");
}

async fn processor_codes_redeem_once_before_expiry_within_their_tenant(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let other = new_tenant(&store).await;
    let user = new_user(&store, tenant).await;
    let member = new_member(&store, tenant, &user.guid).await;
    let account = upsert_account(&store, &account_record(tenant, &user.guid, &member.guid, "checking", T0)).await;
    let code = |hash: &str, expires: i64| ProcessorCodeRecord {
        code_hash: hash.to_owned(),
        tenant_id: tenant,
        user_guid: user.guid.clone(),
        member_guid: member.guid.clone(),
        account_guid: account.guid.clone(),
        scope: format!("user-guid:{} read-protected", user.guid),
        expires_at: at(expires),
        used_at: None,
        created_at: at(0),
    };
    for c in [code("code-a", 1_000), code("code-b", 1_000)] {
        store.write(move |w| Box::pin(async move { processor_tokens::insert_code(w, &c).await })).await.unwrap();
    }
    let redeem = |tenant: TenantId, hash: &'static str, now: i64| {
        let store = store.clone();
        async move {
            store
                .write(move |c| Box::pin(async move { processor_tokens::redeem_code(c, tenant, hash, at(now)).await }))
                .await
                .unwrap()
        }
    };
    assert!(redeem(other, "code-a", 10).await.is_none(), "another tenant cannot redeem the code");
    let used = redeem(tenant, "code-a", 10).await.expect("an unused code redeems");
    assert_same(&used, &ProcessorCodeRecord { used_at: Some(at(10)), ..code("code-a", 1_000) });
    assert!(redeem(tenant, "code-a", 20).await.is_none(), "a code redeems once");
    assert!(redeem(tenant, "code-b", 1_000).await.is_none(), "an expired code does not redeem");
    assert!(redeem(tenant, "code-zzz", 10).await.is_none());

    let find = |tenant: TenantId, hash: &'static str| {
        let store = store.clone();
        async move {
            store
                .read(move |mut c| async move { processor_tokens::find_code(&mut c, tenant, hash).await })
                .await
                .unwrap()
        }
    };
    assert_eq!(find(tenant, "code-a").await.and_then(|c| c.used_at), Some(at(10)));
    assert_eq!(find(tenant, "code-b").await.map(|c| (c.used_at, c.expires_at)), Some((None, at(1_000))));
    assert!(find(other, "code-b").await.is_none(), "codes stay in their tenant");
}

async fn processor_tokens_live_until_expiry_and_list_by_user_member_and_account(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let other = new_tenant(&store).await;
    let user = new_user(&store, tenant).await;
    let member = new_member(&store, tenant, &user.guid).await;
    let second = new_member(&store, tenant, &user.guid).await;
    let a1 = upsert_account(&store, &account_record(tenant, &user.guid, &member.guid, "checking", T0)).await;
    let a2 = upsert_account(&store, &account_record(tenant, &user.guid, &second.guid, "savings", T0)).await;
    let token = |hash: &str, member: &MemberGuid, account: &AccountGuid, created: i64| ProcessorTokenRecord {
        token_hash: hash.to_owned(),
        tenant_id: tenant,
        user_guid: user.guid.clone(),
        member_guid: member.clone(),
        account_guid: account.clone(),
        scope: "read-protected".to_owned(),
        expires_at: at(created + 1_000),
        created_at: at(created),
    };
    let t1 = token("tok-1", &member.guid, &a1.guid, 0);
    let t2 = token("tok-2", &second.guid, &a2.guid, 5);
    for t in [t1.clone(), t2.clone()] {
        store.write(move |c| Box::pin(async move { processor_tokens::insert_token(c, &t).await })).await.unwrap();
    }
    let live = |hash: &'static str, now: i64| {
        let store = store.clone();
        async move {
            store
                .read(move |mut c| async move { processor_tokens::find_live_token(&mut c, hash, at(now)).await })
                .await
                .unwrap()
        }
    };
    assert_same(&live("tok-1", 999).await.expect("live"), &t1);
    assert!(live("tok-1", 1_000).await.is_none(), "an expired token is not live");
    assert!(live("tok-zzz", 0).await.is_none());

    let list = |tenant: TenantId, member: Option<String>, account: Option<String>| {
        let (store, u) = (store.clone(), user.guid.clone());
        async move {
            store
                .read(move |mut c| async move {
                    processor_tokens::list_tokens(&mut c, tenant, Some(&u), member.as_deref(), account.as_deref()).await
                })
                .await
                .unwrap()
                .into_iter()
                .map(|t| t.token_hash)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list(tenant, None, None).await, ["tok-1", "tok-2"], "oldest first, expired or not");
    assert_eq!(list(tenant, Some(second.guid.to_string()), None).await, ["tok-2"]);
    assert_eq!(list(tenant, None, Some(a1.guid.to_string())).await, ["tok-1"]);
    assert!(list(tenant, Some(member.guid.to_string()), Some(a2.guid.to_string())).await.is_empty());
    assert!(list(other, None, None).await.is_empty(), "tokens stay in their tenant");
    let everyone = store
        .read(move |mut c| async move { processor_tokens::list_tokens(&mut c, tenant, None, None, None).await })
        .await
        .unwrap();
    assert_eq!(everyone.len(), 2, "without a user, every token of the tenant");
    let stranger = UserGuid::generate();
    let none =
        store
            .read(move |mut c| async move {
                processor_tokens::list_tokens(&mut c, tenant, Some(&stranger), None, None).await
            })
            .await
            .unwrap();
    assert!(none.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Payments
// ---------------------------------------------------------------------------------------------

fn customer_record(tenant: TenantId, email: &str, created_at: Timestamp) -> CustomerRecord {
    CustomerRecord {
        id: unique("cus"),
        tenant_id: tenant,
        kind: CustomerKind::Personal,
        status: CustomerStatus::Verified,
        first_name: "Jane".to_owned(),
        last_name: "Doe".to_owned(),
        email: email.to_owned(),
        email_key: email.to_lowercase(),
        business_name: None,
        correlation_id: None,
        profile: Some(r#"{"address1":"1 Main St","city":"Des Moines","unicode":"é✓"}"#.to_owned()),
        aggregator_user: None,
        created_at,
        updated_at: created_at.plus_millis(1),
    }
}

async fn put_customer(store: &Store, c: &CustomerRecord) {
    let c = c.clone();
    store.write(move |w| Box::pin(async move { customers::insert(w, &c).await })).await.expect("insert customer");
}

async fn new_customer(store: &Store, tenant: TenantId) -> CustomerRecord {
    let c = customer_record(tenant, &format!("{}@example.com", unique("customer")), T0);
    put_customer(store, &c).await;
    c
}

async fn find_customer(store: &Store, tenant: TenantId, id: &str) -> Option<CustomerRecord> {
    let id = id.to_owned();
    store.read(|mut c| async move { customers::find(&mut c, tenant, &id).await }).await.expect("find customer")
}

/// The total and the first names of one page of customers.
async fn list_customers(
    store: &Store,
    tenant: TenantId,
    filter: CustomerFilter,
    limit: i64,
    offset: i64,
) -> (i64, Vec<String>) {
    let p = store
        .read(|mut c| async move { customers::list(&mut c, tenant, &filter, limit, offset).await })
        .await
        .expect("list customers");
    (p.total, p.items.into_iter().map(|c| c.first_name).collect())
}

fn search(text: &str) -> CustomerFilter {
    CustomerFilter { search: Some(text.to_owned()), ..CustomerFilter::default() }
}

fn statuses(list: &[&str]) -> CustomerFilter {
    CustomerFilter { statuses: list.iter().map(|s| (*s).to_owned()).collect(), ..CustomerFilter::default() }
}

fn exchange_record(
    tenant: TenantId,
    customer: &str,
    connection: &str,
    status: &str,
    created_at: Timestamp,
) -> ExchangeRecord {
    ExchangeRecord {
        id: unique("exc"),
        tenant_id: tenant,
        customer_id: customer.to_owned(),
        partner: "MX".to_owned(),
        status: status.parse().unwrap(),
        connection: connection.to_owned(),
        created_at,
        reauth_required_at: None,
    }
}

async fn put_exchange(store: &Store, e: &ExchangeRecord) {
    let e = e.clone();
    store.write(move |c| Box::pin(async move { exchanges::insert(c, &e).await })).await.expect("insert exchange");
}

fn funding_source_record(
    tenant: TenantId,
    customer: &str,
    fingerprint: &str,
    removed: bool,
    created_at: Timestamp,
) -> FundingSourceRecord {
    FundingSourceRecord {
        id: unique("fs"),
        tenant_id: tenant,
        customer_id: Some(customer.to_owned()),
        kind: openiav_core::payments::FundingSourceKind::Bank,
        balance: openiav_core::money::Cents::ZERO,
        on_demand_authorization_id: None,
        exchange_id: None,
        status: FundingSourceStatus::Unverified,
        bank_account_type: BankAccountType::Checking,
        name: "My Checking".to_owned(),
        bank_name: "MX Bank".to_owned(),
        routing_number: "222222226".to_owned(),
        account_number: (0..=255u8).rev().chain([0, 0]).collect(),
        account_number_last4: "4321".to_owned(),
        fingerprint: fingerprint.to_owned(),
        channels: r#"["ach"]"#.to_owned(),
        removed,
        created_at,
        updated_at: created_at.plus_millis(2),
    }
}

async fn put_funding_source(store: &Store, f: &FundingSourceRecord) {
    let f = f.clone();
    store.write(move |c| Box::pin(async move { funding_sources::insert(c, &f).await })).await.expect("insert source");
}

async fn funding_source_ids(store: &Store, tenant: TenantId, customer: &str, removed: Option<bool>) -> Vec<String> {
    let customer = customer.to_owned();
    store
        .read(|mut c| async move { funding_sources::list_for_customer(&mut c, tenant, &customer, removed).await })
        .await
        .expect("list funding sources")
        .into_iter()
        .map(|f| f.id)
        .collect()
}

async fn by_fingerprint(store: &Store, tenant: TenantId, customer: &str, fp: &str) -> Option<FundingSourceRecord> {
    let (customer, fp) = (customer.to_owned(), fp.to_owned());
    store
        .read(|mut c| async move { funding_sources::find_by_fingerprint(&mut c, tenant, &customer, &fp).await })
        .await
        .expect("find funding source by fingerprint")
}

async fn payment_tokens_live_until_expiry_then_deleted(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let other = new_tenant(&store).await;
    let token = |hash: &str, tenant: TenantId, expires: i64| PaymentTokenRecord {
        token_hash: hash.to_owned(),
        tenant_id: tenant,
        expires_at: at(expires),
        created_at: at(0),
    };
    let records = [token("tok-a", tenant, 1_000), token("tok-b", other, 2_000), token("tok-c", tenant, 3_000)];
    for t in records.clone() {
        store.write(move |c| Box::pin(async move { payment_tokens::insert(c, &t).await })).await.unwrap();
    }
    let dup = token("tok-a", other, 9_000);
    let r = store.write(move |c| Box::pin(async move { payment_tokens::insert(c, &dup).await })).await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "duplicate token hash: {r:?}");

    let find = |hash: &'static str, now: i64| {
        let store = store.clone();
        async move {
            store
                .read(move |mut c| async move { payment_tokens::find_live(&mut c, hash, at(now)).await })
                .await
                .unwrap()
        }
    };
    assert_same(&find("tok-a", 999).await.expect("a live token"), &records[0]);
    assert_same(&find("tok-b", 0).await.expect("a live token of another tenant"), &records[1]);
    assert!(find("tok-a", 1_000).await.is_none(), "a token is dead at its expiry");
    assert!(find("tok-zzz", 0).await.is_none());

    let gone = store.write(|c| Box::pin(async move { payment_tokens::delete_expired(c, at(2_000)).await })).await;
    assert_eq!(gone.unwrap(), 2, "tok-a and tok-b expired by 2000");
    assert!(find("tok-a", 0).await.is_none(), "deleted, whatever the time asked about");
    assert!(find("tok-b", 0).await.is_none());
    assert_same(&find("tok-c", 2_999).await.expect("tok-c lives on"), &records[2]);
    let gone = store.write(|c| Box::pin(async move { payment_tokens::delete_expired(c, at(2_000)).await })).await;
    assert_eq!(gone.unwrap(), 0);
}

async fn dashboard_sessions_live_until_expiry_or_deletion_and_survive_a_reset(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let other = new_tenant(&store).await;
    let session = |hash: &str, tenant: TenantId, expires: i64| DashboardSessionRecord {
        token_hash: hash.to_owned(),
        tenant_id: tenant,
        csrf_token: format!("csrf-of-{hash}"),
        created_at: at(0),
        expires_at: at(expires),
    };
    let records = [session("ses-a", tenant, 1_000), session("ses-b", other, 2_000), session("ses-c", tenant, 3_000)];
    for s in records.clone() {
        store.write(move |c| Box::pin(async move { dashboard_sessions::insert(c, &s).await })).await.unwrap();
    }
    let dup = session("ses-a", other, 9_000);
    let r = store.write(move |c| Box::pin(async move { dashboard_sessions::insert(c, &dup).await })).await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "duplicate session hash: {r:?}");

    let find = |hash: &'static str, now: i64| {
        let store = store.clone();
        async move {
            store
                .read(move |mut c| async move { dashboard_sessions::find_live(&mut c, hash, at(now)).await })
                .await
                .unwrap()
        }
    };
    assert_eq!(find("ses-a", 999).await.expect("a live session"), records[0]);
    assert_eq!(find("ses-b", 0).await.expect("a live session of another tenant"), records[1]);
    assert!(find("ses-a", 1_000).await.is_none(), "a session is dead at its expiry");
    assert!(find("ses-zzz", 0).await.is_none());

    store.write(move |c| Box::pin(async move { sandbox::reset(c, tenant).await })).await.unwrap();
    assert_eq!(find("ses-c", 0).await.expect("a reset keeps the tenant's sessions"), records[2]);

    let gone = store.write(|c| Box::pin(async move { dashboard_sessions::delete(c, "ses-c").await })).await;
    assert!(gone.unwrap(), "logging out deletes the session");
    assert!(find("ses-c", 0).await.is_none());
    let gone = store.write(|c| Box::pin(async move { dashboard_sessions::delete(c, "ses-c").await })).await;
    assert!(!gone.unwrap(), "a second logout finds nothing");

    let gone = store.write(|c| Box::pin(async move { dashboard_sessions::delete_expired(c, at(2_000)).await })).await;
    assert_eq!(gone.unwrap(), 2, "ses-a and ses-b expired by 2000");
    assert!(find("ses-b", 0).await.is_none(), "deleted, whatever the time asked about");
}

async fn payment_tokens_find_tells_an_expired_token_from_an_unknown_one(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let record =
        PaymentTokenRecord { token_hash: unique("tok"), tenant_id: tenant, expires_at: at(1_000), created_at: at(0) };
    let w = record.clone();
    store.write(move |c| Box::pin(async move { payment_tokens::insert(c, &w).await })).await.unwrap();

    let find = |hash: String| {
        let store = store.clone();
        async move { store.read(move |mut c| async move { payment_tokens::find(&mut c, &hash).await }).await.unwrap() }
    };
    let hash = record.token_hash.clone();
    assert_same(&find(hash.clone()).await.expect("a live token"), &record);
    let h = hash.clone();
    let live = store.read(|mut c| async move { payment_tokens::find_live(&mut c, &h, at(1_000)).await }).await;
    assert!(live.unwrap().is_none(), "dead at its expiry");
    assert_same(&find(hash.clone()).await.expect("an expired token is still found"), &record);
    assert!(find(unique("tok")).await.is_none(), "an unknown token is not");

    let gone = store.write(|c| Box::pin(async move { payment_tokens::delete_expired(c, at(1_000)).await })).await;
    assert_eq!(gone.unwrap(), 1);
    assert!(find(hash).await.is_none(), "gone once expired tokens are deleted");
}

async fn customers_round_trip_every_field_through_insert_and_save(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let mut c = customer_record(tenant, "Jane.Doe@Example.com", at(5));
    c.kind = CustomerKind::Business;
    c.business_name = Some("Jane's Café & Co".to_owned());
    c.correlation_id = Some("corr-1".to_owned());
    c.aggregator_user = Some("USR-1".to_owned());
    put_customer(&store, &c).await;
    assert_eq!(find_customer(&store, tenant, &c.id).await.expect("inserted customer"), c);
    assert_eq!(c.email_key, "jane.doe@example.com");

    // Every mutable column goes back, including to and from NULL.
    let mut changed = c.clone();
    changed.kind = CustomerKind::Personal;
    changed.status = CustomerStatus::Suspended;
    changed.first_name = "Janet".to_owned();
    changed.last_name = "Roe".to_owned();
    changed.email = "Janet@Example.org".to_owned();
    changed.email_key = "janet@example.org".to_owned();
    changed.business_name = None;
    changed.correlation_id = Some("corr-2".to_owned());
    changed.profile = None;
    changed.aggregator_user = Some("USR-2".to_owned());
    changed.updated_at = at(500);
    let w = changed.clone();
    store.write(move |x| Box::pin(async move { customers::save(x, &w).await })).await.unwrap();
    assert_eq!(find_customer(&store, tenant, &c.id).await.unwrap(), changed);

    let mut back = changed.clone();
    back.business_name = Some("Back Again".to_owned());
    back.correlation_id = None;
    back.profile = Some("{}".to_owned());
    back.aggregator_user = None;
    let w = back.clone();
    store.write(move |x| Box::pin(async move { customers::save(x, &w).await })).await.unwrap();
    assert_eq!(find_customer(&store, tenant, &c.id).await.unwrap(), back);
    assert_eq!(back.created_at, at(5), "created_at is not mutable");

    let (t, key) = (tenant, "janet@example.org");
    let found = store.read(|mut x| async move { customers::find_by_email_key(&mut x, t, key).await }).await.unwrap();
    assert_eq!(found, Some(back.clone()));
    let found = store.read(|mut x| async move { customers::find_by_email_key(&mut x, t, "Janet@Example.org").await });
    assert_eq!(found.await.unwrap(), None, "the key is matched exactly");
    let found = store.read(|mut x| async move { customers::find_by_correlation_id(&mut x, t, "corr-2").await });
    assert_eq!(found.await.unwrap(), None, "the old correlation id is gone");

    let mut ghost = customer_record(tenant, "ghost@example.com", T0);
    ghost.id = "no-such-customer".to_owned();
    assert_not_found(store.write(move |x| Box::pin(async move { customers::save(x, &ghost).await })).await);
    assert!(find_customer(&store, tenant, "no-such-customer").await.is_none());
}

async fn a_stored_word_outside_the_vocabulary_is_an_error_naming_row_and_column(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let c = customer_record(tenant, "odd@example.com", at(5));
    put_customer(&store, &c).await;
    let id = c.id.clone();
    store
        .write(move |x| {
            Box::pin(async move {
                sqlx::query("UPDATE customers SET status = 'archived' WHERE id = $1").bind(id).execute(&mut *x).await?;
                Ok(())
            })
        })
        .await
        .unwrap();
    let id = c.id.clone();
    let err = store.read(|mut x| async move { customers::find(&mut x, tenant, &id).await }).await.unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("\"status\"")
            && message.contains(&c.id)
            && message.contains("\"archived\" is not a known CustomerStatus"),
        "{message}"
    );
}

async fn customers_email_and_correlation_id_are_unique_per_tenant_only(db: TestDb) {
    let store = db.store;
    let (a, b) = (new_tenant(&store).await, new_tenant(&store).await);
    let mut first = customer_record(a, "Same@Example.com", T0);
    first.correlation_id = Some("corr".to_owned());
    put_customer(&store, &first).await;

    // The same e-mail address (by key) in the same tenant is refused, whatever its case.
    let dup = customer_record(a, "SAME@example.COM", T0);
    let r = store.write(move |c| Box::pin(async move { customers::insert(c, &dup).await })).await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "duplicate e-mail in one tenant: {r:?}");

    // So is the same correlation id.
    let mut dup = customer_record(a, "other@example.com", T0);
    dup.correlation_id = Some("corr".to_owned());
    let r = store.write(move |c| Box::pin(async move { customers::insert(c, &dup).await })).await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "duplicate correlation id in one tenant: {r:?}");

    // And a save that would take another customer's e-mail.
    let mut second = customer_record(a, "second@example.com", T0);
    put_customer(&store, &second).await;
    second.email = first.email.clone();
    second.email_key = first.email_key.clone();
    let r = store.write(move |c| Box::pin(async move { customers::save(c, &second).await })).await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "save onto a taken e-mail: {r:?}");

    // Another tenant may use both.
    let mut elsewhere = customer_record(b, "same@example.com", T0);
    elsewhere.correlation_id = Some("corr".to_owned());
    put_customer(&store, &elsewhere).await;

    // Customers without a correlation id never collide on it.
    put_customer(&store, &customer_record(a, "x1@example.com", T0)).await;
    put_customer(&store, &customer_record(a, "x2@example.com", T0)).await;

    let found = store.read(|mut c| async move { customers::find_by_correlation_id(&mut c, a, "corr").await });
    assert_eq!(found.await.unwrap(), Some(first.clone()));
    let found = store.read(|mut c| async move { customers::find_by_correlation_id(&mut c, b, "corr").await });
    assert_eq!(found.await.unwrap(), Some(elsewhere.clone()));
    let found = store.read(|mut c| async move { customers::find_by_email_key(&mut c, b, "same@example.com").await });
    assert_eq!(found.await.unwrap(), Some(elsewhere));
    assert_eq!(list_customers(&store, a, CustomerFilter::default(), 25, 0).await.0, 4);
}

async fn customers_list_searches_filters_and_paginates_in_creation_order(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let other = new_tenant(&store).await;
    put_customer(
        &store,
        &CustomerRecord { first_name: "Alice".into(), ..customer_record(other, "alice@example.com", T0) },
    )
    .await;

    let people = [
        ("Alice", "Smith", None, "alice@example.com", "unverified"),
        ("Bob", "Jones", Some("Acme 100% Widgets"), "bob@acme.test", "verified"),
        ("Carol", "ALICEson", None, "carol@example.com", "suspended"),
        ("Dan", "Brown", Some("Widgets_R_Us"), "DAN_X@Example.com", "verified"),
        ("Eve", "Adams", Some(r"100 percent \ more"), "eve@example.com", "deactivated"),
    ];
    for (i, (first, last, business, email, status)) in people.into_iter().enumerate() {
        let c = CustomerRecord {
            first_name: first.into(),
            last_name: last.into(),
            business_name: business.map(str::to_owned),
            status: status.parse().unwrap(),
            // Creation order is insertion order, not the timestamp.
            ..customer_record(tenant, email, at(10_000 - i as i64))
        };
        put_customer(&store, &c).await;
    }
    let names = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let all = names(&["Alice", "Bob", "Carol", "Dan", "Eve"]);

    assert_eq!(list_customers(&store, tenant, CustomerFilter::default(), 25, 0).await, (5, all.clone()));
    // Search covers first name, last name, business name and e-mail, ignoring case.
    assert_eq!(list_customers(&store, tenant, search("alice"), 25, 0).await, (2, names(&["Alice", "Carol"])));
    assert_eq!(list_customers(&store, tenant, search("ALICE"), 25, 0).await, (2, names(&["Alice", "Carol"])));
    assert_eq!(list_customers(&store, tenant, search("oNEs"), 25, 0).await, (1, names(&["Bob"])));
    assert_eq!(list_customers(&store, tenant, search("widgets"), 25, 0).await, (2, names(&["Bob", "Dan"])));
    assert_eq!(
        list_customers(&store, tenant, search("EXAMPLE.COM"), 25, 0).await,
        (4, names(&["Alice", "Carol", "Dan", "Eve"]))
    );
    assert_eq!(list_customers(&store, tenant, search("dan_x@"), 25, 0).await, (1, names(&["Dan"])));
    assert_eq!(list_customers(&store, tenant, search(""), 25, 0).await, (5, all.clone()));
    assert_eq!(list_customers(&store, tenant, search("nobody"), 25, 0).await, (0, vec![]));
    // `%`, `_` and `\` are literal characters, not wildcards.
    assert_eq!(list_customers(&store, tenant, search("100%"), 25, 0).await, (1, names(&["Bob"])));
    assert_eq!(list_customers(&store, tenant, search("%"), 25, 0).await, (1, names(&["Bob"])));
    assert_eq!(list_customers(&store, tenant, search("_"), 25, 0).await, (1, names(&["Dan"])));
    // (as a wildcard, `j_n` would match "Jones")
    assert_eq!(list_customers(&store, tenant, search("j_n"), 25, 0).await, (0, vec![]));
    assert_eq!(list_customers(&store, tenant, search(r"\"), 25, 0).await, (1, names(&["Eve"])));
    assert_eq!(list_customers(&store, tenant, search(r"t \ m"), 25, 0).await, (1, names(&["Eve"])));

    // Statuses: any of them.
    assert_eq!(list_customers(&store, tenant, statuses(&["verified"]), 25, 0).await, (2, names(&["Bob", "Dan"])));
    assert_eq!(
        list_customers(&store, tenant, statuses(&["suspended", "verified"]), 25, 0).await,
        (3, names(&["Bob", "Carol", "Dan"]))
    );
    assert_eq!(list_customers(&store, tenant, statuses(&["retry"]), 25, 0).await, (0, vec![]));
    assert_eq!(list_customers(&store, tenant, statuses(&[]), 25, 0).await, (5, all.clone()));

    // E-mail key, and filters combined.
    let by_key = CustomerFilter { email_key: Some("dan_x@example.com".into()), ..CustomerFilter::default() };
    assert_eq!(list_customers(&store, tenant, by_key, 25, 0).await, (1, names(&["Dan"])));
    let by_key = CustomerFilter { email_key: Some("DAN_X@Example.com".into()), ..CustomerFilter::default() };
    assert_eq!(list_customers(&store, tenant, by_key, 25, 0).await, (0, vec![]));
    let combined = CustomerFilter { search: Some("example".into()), ..statuses(&["verified", "deactivated"]) };
    assert_eq!(list_customers(&store, tenant, combined.clone(), 25, 0).await, (2, names(&["Dan", "Eve"])));
    assert_eq!(list_customers(&store, tenant, combined, 1, 1).await, (2, names(&["Eve"])));

    // Paging: the total counts every match, whatever the page.
    assert_eq!(list_customers(&store, tenant, CustomerFilter::default(), 2, 0).await, (5, names(&["Alice", "Bob"])));
    assert_eq!(list_customers(&store, tenant, CustomerFilter::default(), 2, 1).await, (5, names(&["Bob", "Carol"])));
    assert_eq!(list_customers(&store, tenant, CustomerFilter::default(), 2, 4).await, (5, names(&["Eve"])));
    assert_eq!(list_customers(&store, tenant, CustomerFilter::default(), 2, 10).await, (5, vec![]));
    assert_eq!(list_customers(&store, tenant, search("e"), 2, 2).await.0, 5);
}

async fn customers_of_one_tenant_are_invisible_to_another(db: TestDb) {
    let store = db.store;
    let (a, b) = (new_tenant(&store).await, new_tenant(&store).await);
    let mut c = customer_record(a, "mine@example.com", T0);
    c.correlation_id = Some("corr-mine".to_owned());
    put_customer(&store, &c).await;

    assert!(find_customer(&store, b, &c.id).await.is_none());
    let found = store.read(|mut x| async move { customers::find_by_email_key(&mut x, b, "mine@example.com").await });
    assert!(found.await.unwrap().is_none());
    let found = store.read(|mut x| async move { customers::find_by_correlation_id(&mut x, b, "corr-mine").await });
    assert!(found.await.unwrap().is_none());
    assert_eq!(list_customers(&store, b, CustomerFilter::default(), 25, 0).await, (0, vec![]));
    assert_eq!(list_customers(&store, b, search("mine"), 25, 0).await, (0, vec![]));

    // Another tenant cannot overwrite it either.
    let mut stolen = c.clone();
    stolen.tenant_id = b;
    stolen.first_name = "Mallory".to_owned();
    assert_not_found(store.write(move |x| Box::pin(async move { customers::save(x, &stolen).await })).await);
    assert_eq!(find_customer(&store, a, &c.id).await.unwrap(), c);
}

async fn exchange_sessions_round_trip_and_stay_in_their_tenant(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let other = new_tenant(&store).await;
    let customer = new_customer(&store, tenant).await;
    let exchange = exchange_record(tenant, &customer.id, r#"{"member":"MBR-1"}"#, "active", at(1));
    put_exchange(&store, &exchange).await;

    let full = ExchangeSessionRecord {
        id: unique("exs"),
        tenant_id: tenant,
        customer_id: customer.id.clone(),
        partner: "MX".to_owned(),
        exchange_id: Some(exchange.id.clone()),
        redirect_url: Some("https://example.com/return?x=1&y=é".to_owned()),
        provider_session: Some((0..=255u8).chain([0, 255, 0]).collect()),
        created_at: at(7),
    };
    let bare = ExchangeSessionRecord {
        id: unique("exs"),
        exchange_id: None,
        redirect_url: None,
        provider_session: None,
        created_at: at(8),
        ..full.clone()
    };
    for s in [full.clone(), bare.clone()] {
        store.write(move |c| Box::pin(async move { exchange_sessions::insert(c, &s).await })).await.unwrap();
    }
    let dup = full.clone();
    let r = store.write(move |c| Box::pin(async move { exchange_sessions::insert(c, &dup).await })).await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "duplicate id: {r:?}");

    let find = |tenant: TenantId, id: String| {
        let store = store.clone();
        async move {
            store.read(move |mut c| async move { exchange_sessions::find(&mut c, tenant, &id).await }).await.unwrap()
        }
    };
    assert_eq!(find(tenant, full.id.clone()).await, Some(full.clone()));
    assert_eq!(find(tenant, bare.id.clone()).await, Some(bare.clone()));
    assert_eq!(find(other, full.id.clone()).await, None);
    assert_eq!(find(tenant, "no-such-session".to_owned()).await, None);
}

async fn exchanges_round_trip_save_list_and_find_active_by_connection(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let other = new_tenant(&store).await;
    let customer = new_customer(&store, tenant).await;
    let neighbour = new_customer(&store, tenant).await;
    let (conn_a, conn_b) = (r#"{"member":"MBR-a","account":"ACT-a"}"#, r#"{"member":"MBR-b","account":"ACT-b"}"#);

    let ex_a = exchange_record(tenant, &customer.id, conn_a, "active", at(30));
    let ex_b = exchange_record(tenant, &customer.id, conn_b, "deactivated", at(20));
    let ex_n = exchange_record(tenant, &neighbour.id, conn_a, "active", at(10));
    for e in [&ex_a, &ex_b, &ex_n] {
        put_exchange(&store, e).await;
    }

    let find = |tenant: TenantId, id: String| {
        let store = store.clone();
        async move { store.read(move |mut c| async move { exchanges::find(&mut c, tenant, &id).await }).await.unwrap() }
    };
    let active = |customer: String, connection: &'static str| {
        let store = store.clone();
        async move {
            store
                .read(move |mut c| async move {
                    exchanges::find_active_by_connection(&mut c, tenant, &customer, connection).await
                })
                .await
                .unwrap()
        }
    };
    let list = |tenant: TenantId, customer: String| {
        let store = store.clone();
        async move {
            store
                .read(move |mut c| async move { exchanges::list_for_customer(&mut c, tenant, &customer).await })
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.id)
                .collect::<Vec<_>>()
        }
    };

    assert_eq!(find(tenant, ex_a.id.clone()).await, Some(ex_a.clone()));
    assert_eq!(find(tenant, ex_b.id.clone()).await, Some(ex_b.clone()));
    assert_eq!(find(other, ex_a.id.clone()).await, None);

    assert_eq!(active(customer.id.clone(), conn_a).await, Some(ex_a.clone()));
    assert_eq!(active(customer.id.clone(), conn_b).await, None, "a deactivated exchange is not active");
    assert_eq!(active(neighbour.id.clone(), conn_a).await, Some(ex_n.clone()));
    assert_eq!(active(neighbour.id.clone(), conn_b).await, None);
    let (id, ca) = (customer.id.clone(), conn_a);
    let elsewhere = store
        .read(move |mut c| async move { exchanges::find_active_by_connection(&mut c, other, &id, ca).await })
        .await
        .unwrap();
    assert_eq!(elsewhere, None);

    // Reconnecting the same account makes a new active exchange.
    let ex_b2 = exchange_record(tenant, &customer.id, conn_b, "active", at(0));
    put_exchange(&store, &ex_b2).await;
    assert_eq!(active(customer.id.clone(), conn_b).await, Some(ex_b2.clone()));

    let mut deactivated = ex_a.clone();
    deactivated.status = ExchangeStatus::Deactivated;
    let w = deactivated.clone();
    store.write(move |c| Box::pin(async move { exchanges::save(c, &w).await })).await.unwrap();
    assert_eq!(find(tenant, ex_a.id.clone()).await, Some(deactivated));
    assert_eq!(active(customer.id.clone(), conn_a).await, None);
    assert_eq!(active(neighbour.id.clone(), conn_a).await, Some(ex_n.clone()));

    assert_eq!(list(tenant, customer.id.clone()).await, vec![ex_a.id.clone(), ex_b.id.clone(), ex_b2.id.clone()]);
    assert_eq!(list(tenant, neighbour.id.clone()).await, vec![ex_n.id.clone()]);
    assert!(list(other, customer.id.clone()).await.is_empty());

    // The re-authentication mark is read under a row lock, set and cleared by `save`.
    let (id, n_id) = (ex_n.id.clone(), ex_n.id.clone());
    let locked =
        store.write(move |c| Box::pin(async move { exchanges::find_for_update(c, tenant, &id).await })).await.unwrap();
    assert_eq!(locked, Some(ex_n.clone()));
    let elsewhere =
        store.write(move |c| Box::pin(async move { exchanges::find_for_update(c, other, &n_id).await })).await.unwrap();
    assert_eq!(elsewhere, None, "another tenant's exchange is not found");
    let flagged = ExchangeRecord { reauth_required_at: Some(at(40)), ..ex_n.clone() };
    let w = flagged.clone();
    store.write(move |c| Box::pin(async move { exchanges::save(c, &w).await })).await.unwrap();
    assert_eq!(find(tenant, ex_n.id.clone()).await, Some(flagged.clone()));
    let cleared = ExchangeRecord { reauth_required_at: None, ..flagged };
    let w = cleared.clone();
    store.write(move |c| Box::pin(async move { exchanges::save(c, &w).await })).await.unwrap();
    assert_eq!(find(tenant, ex_n.id.clone()).await, Some(cleared));
    let born_flagged = ExchangeRecord {
        reauth_required_at: Some(at(50)),
        ..exchange_record(tenant, &neighbour.id, conn_b, "active", at(50))
    };
    put_exchange(&store, &born_flagged).await;
    assert_eq!(find(tenant, born_flagged.id.clone()).await, Some(born_flagged));

    let mut stolen = ex_n.clone();
    stolen.tenant_id = other;
    stolen.status = ExchangeStatus::Removed;
    assert_not_found(store.write(move |c| Box::pin(async move { exchanges::save(c, &stolen).await })).await);
    assert_eq!(find(tenant, ex_n.id.clone()).await, Some(ex_n));
}

async fn funding_sources_round_trip_removed_filter_and_fingerprint_lookup(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let other = new_tenant(&store).await;
    let customer = new_customer(&store, tenant).await;
    let neighbour = new_customer(&store, tenant).await;
    let exchange = exchange_record(tenant, &customer.id, r#"{"member":"MBR-1"}"#, "active", T0);
    put_exchange(&store, &exchange).await;

    let fs1 = funding_source_record(tenant, &customer.id, "fp-a", false, at(40));
    let fs2 = funding_source_record(tenant, &customer.id, "fp-b", true, at(30));
    let fs3 = FundingSourceRecord {
        exchange_id: Some(exchange.id.clone()),
        status: FundingSourceStatus::Verified,
        ..funding_source_record(tenant, &customer.id, "fp-b", false, at(20))
    };
    let fs4 = funding_source_record(tenant, &customer.id, "fp-c", true, at(10));
    let fs_n = funding_source_record(tenant, &neighbour.id, "fp-a", false, at(0));
    for f in [&fs1, &fs2, &fs3, &fs4, &fs_n] {
        put_funding_source(&store, f).await;
    }

    let find = |tenant: TenantId, id: String| {
        let store = store.clone();
        async move {
            store.read(move |mut c| async move { funding_sources::find(&mut c, tenant, &id).await }).await.unwrap()
        }
    };
    for f in [&fs1, &fs2, &fs3, &fs4, &fs_n] {
        assert_eq!(find(tenant, f.id.clone()).await.as_ref(), Some(f), "round trip of {}", f.id);
        assert_eq!(find(other, f.id.clone()).await, None, "{} seen from another tenant", f.id);
    }

    let ids = |list: &[&FundingSourceRecord]| list.iter().map(|f| f.id.clone()).collect::<Vec<_>>();
    assert_eq!(funding_source_ids(&store, tenant, &customer.id, None).await, ids(&[&fs1, &fs2, &fs3, &fs4]));
    assert_eq!(funding_source_ids(&store, tenant, &customer.id, Some(false)).await, ids(&[&fs1, &fs3]));
    assert_eq!(funding_source_ids(&store, tenant, &customer.id, Some(true)).await, ids(&[&fs2, &fs4]));
    assert_eq!(funding_source_ids(&store, tenant, &neighbour.id, None).await, ids(&[&fs_n]));
    assert!(funding_source_ids(&store, other, &customer.id, None).await.is_empty());

    // The fingerprint finds the customer's own source that is not removed.
    assert_eq!(by_fingerprint(&store, tenant, &customer.id, "fp-a").await, Some(fs1.clone()));
    assert_eq!(by_fingerprint(&store, tenant, &customer.id, "fp-b").await, Some(fs3.clone()));
    assert_eq!(by_fingerprint(&store, tenant, &customer.id, "fp-c").await, None, "only removed ones");
    assert_eq!(by_fingerprint(&store, tenant, &neighbour.id, "fp-a").await, Some(fs_n.clone()));
    assert_eq!(by_fingerprint(&store, tenant, &neighbour.id, "fp-b").await, None);
    assert_eq!(by_fingerprint(&store, other, &customer.id, "fp-a").await, None);

    // Save writes status, name, bank details, removal, update time and exchange back; never the
    // owner or the creation time.
    let mut changed = fs1.clone();
    changed.status = FundingSourceStatus::Verified;
    changed.name = "Renamed — savings".to_owned();
    changed.bank_account_type = BankAccountType::Savings;
    changed.removed = true;
    changed.updated_at = at(999);
    changed.exchange_id = Some(exchange.id.clone());
    changed.fingerprint = "fp-a2".to_owned();
    changed.account_number = vec![9];
    changed.account_number_last4 = "0009".to_owned();
    let mut attempt = changed.clone();
    attempt.created_at = at(12_345);
    store.write(move |c| Box::pin(async move { funding_sources::save(c, &attempt).await })).await.unwrap();
    assert_eq!(find(tenant, fs1.id.clone()).await, Some(changed.clone()));
    assert_eq!(by_fingerprint(&store, tenant, &customer.id, "fp-a2").await, None, "removed now");
    let customer_id = customer.id.clone();
    let removed = store
        .read(|mut c| async move {
            funding_sources::find_removed_by_fingerprint(&mut c, tenant, &customer_id, "fp-a2").await
        })
        .await
        .unwrap();
    assert_eq!(removed.map(|f| f.id), Some(fs1.id.clone()), "a removed source is found by its fingerprint");
    assert_eq!(funding_source_ids(&store, tenant, &customer.id, Some(false)).await, ids(&[&fs3]));
    assert_eq!(funding_source_ids(&store, tenant, &customer.id, Some(true)).await, ids(&[&fs1, &fs2, &fs4]));

    // And back, with the exchange cleared.
    let mut restored = changed.clone();
    restored.removed = false;
    restored.exchange_id = None;
    let w = restored.clone();
    store.write(move |c| Box::pin(async move { funding_sources::save(c, &w).await })).await.unwrap();
    assert_eq!(find(tenant, fs1.id.clone()).await, Some(restored.clone()));
    assert_eq!(by_fingerprint(&store, tenant, &customer.id, "fp-a2").await, Some(restored));

    let mut stolen = fs_n.clone();
    stolen.tenant_id = other;
    stolen.removed = true;
    assert_not_found(store.write(move |c| Box::pin(async move { funding_sources::save(c, &stolen).await })).await);
    assert_eq!(find(tenant, fs_n.id.clone()).await, Some(fs_n));
}

/// A balance owned by `customer` (`None`: the account).
fn balance_record(tenant: TenantId, customer: Option<&str>, created_at: Timestamp) -> FundingSourceRecord {
    FundingSourceRecord {
        customer_id: customer.map(str::to_owned),
        kind: openiav_core::payments::FundingSourceKind::Balance,
        name: "Balance".to_owned(),
        fingerprint: String::new(),
        channels: "[]".to_owned(),
        status: FundingSourceStatus::Verified,
        ..funding_source_record(tenant, "unused", "", false, created_at)
    }
}

async fn account_and_balance_funding_sources_open_once_list_and_stay_in_their_tenant(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let other = new_tenant(&store).await;
    let customer = new_customer(&store, tenant).await;
    let plain = new_customer(&store, tenant).await;
    let if_absent = |f: FundingSourceRecord| {
        let store = store.clone();
        async move {
            store.write(move |c| Box::pin(async move { funding_sources::insert_if_absent(c, &f).await })).await.unwrap()
        }
    };

    // One balance per customer, one bank and one balance per account: a second is not inserted.
    let customer_balance = balance_record(tenant, Some(&customer.id), at(10));
    assert!(if_absent(customer_balance.clone()).await);
    assert!(!if_absent(balance_record(tenant, Some(&customer.id), at(11))).await);
    let account_bank = FundingSourceRecord {
        customer_id: None,
        status: FundingSourceStatus::Verified,
        ..funding_source_record(tenant, "unused", "fp-account", false, at(20))
    };
    let account_balance = balance_record(tenant, None, at(30));
    assert!(if_absent(account_bank.clone()).await);
    assert!(if_absent(account_balance.clone()).await);
    assert!(!if_absent(FundingSourceRecord { id: unique("fs"), ..account_bank.clone() }).await);
    assert!(!if_absent(balance_record(tenant, None, at(31))).await);
    // The same id again is absent-or-not too, never an error.
    assert!(!if_absent(account_balance.clone()).await);
    // Another tenant's account opens its own.
    let other_balance = balance_record(other, None, at(40));
    assert!(if_absent(other_balance.clone()).await);
    // A customer's bank next to the account's does not count as the account's.
    let customer_bank = funding_source_record(tenant, &customer.id, "fp-c", false, at(50));
    assert!(if_absent(customer_bank.clone()).await);

    let list = |tenant: TenantId, removed: Option<bool>| {
        let store = store.clone();
        async move {
            store
                .read(move |mut c| async move { funding_sources::list_for_account(&mut c, tenant, removed).await })
                .await
                .unwrap()
        }
    };
    assert_eq!(list(tenant, None).await, [account_bank.clone(), account_balance.clone()]);
    assert_eq!(list(tenant, Some(false)).await, [account_bank.clone(), account_balance.clone()]);
    assert!(list(tenant, Some(true)).await.is_empty());
    assert_eq!(list(other, None).await, std::slice::from_ref(&other_balance));
    let mut removed_bank = account_bank.clone();
    removed_bank.removed = true;
    let w = removed_bank.clone();
    store.write(move |c| Box::pin(async move { funding_sources::save(c, &w).await })).await.unwrap();
    assert_eq!(list(tenant, Some(true)).await, [removed_bank.clone()]);
    assert_eq!(list(tenant, Some(false)).await, std::slice::from_ref(&account_balance));
    // A removed bank still holds the account's place.
    assert!(!if_absent(FundingSourceRecord { id: unique("fs"), ..account_bank.clone() }).await);

    let find_balance = |tenant: TenantId, customer: Option<String>| {
        let store = store.clone();
        async move {
            store
                .read(move |mut c| async move {
                    funding_sources::find_balance(&mut c, tenant, customer.as_deref()).await
                })
                .await
                .unwrap()
        }
    };
    assert_eq!(find_balance(tenant, Some(customer.id.clone())).await, Some(customer_balance.clone()));
    assert_eq!(find_balance(tenant, None).await, Some(account_balance.clone()));
    assert_eq!(find_balance(tenant, Some(plain.id.clone())).await, None);
    assert_eq!(find_balance(other, Some(customer.id.clone())).await, None);
    assert_eq!(find_balance(other, None).await, Some(other_balance));

    // Save writes the balance and the on-demand authorization back.
    let authorization = openiav_store::records::OnDemandAuthorizationRecord {
        id: unique("oda"),
        tenant_id: tenant,
        created_at: at(98),
    };
    let w = authorization.clone();
    store
        .write(move |c| {
            Box::pin(async move { openiav_store::repo::transfers::insert_on_demand_authorization(c, &w).await })
        })
        .await
        .unwrap();
    let mut funded = customer_balance.clone();
    funded.balance = openiav_core::money::Cents(-1_250);
    funded.on_demand_authorization_id = Some(authorization.id);
    funded.updated_at = at(99);
    let w = funded.clone();
    store.write(move |c| Box::pin(async move { funding_sources::save(c, &w).await })).await.unwrap();
    assert_eq!(find_balance(tenant, Some(customer.id.clone())).await, Some(funded.clone()));
    let bound_to = |tenant: TenantId, id: String| {
        let store = store.clone();
        async move {
            store
                .read(move |mut c| async move {
                    funding_sources::list_by_on_demand_authorization(&mut c, tenant, &id).await
                })
                .await
                .unwrap()
        }
    };
    assert_eq!(bound_to(tenant, funded.on_demand_authorization_id.clone().unwrap()).await, [funded.clone()]);
    assert!(bound_to(other, funded.on_demand_authorization_id.clone().unwrap()).await.is_empty());
    assert!(bound_to(tenant, "missing".to_owned()).await.is_empty());
}

async fn on_demand_authorizations_insert_and_find_within_their_tenant(db: TestDb) {
    use openiav_store::records::OnDemandAuthorizationRecord;
    use openiav_store::repo::transfers;

    let store = db.store;
    let tenant = new_tenant(&store).await;
    let other = new_tenant(&store).await;
    let mine = OnDemandAuthorizationRecord { id: unique("oda"), tenant_id: tenant, created_at: at(5) };
    let theirs = OnDemandAuthorizationRecord { id: unique("oda"), tenant_id: other, created_at: at(6) };
    for a in [&mine, &theirs] {
        let a = a.clone();
        store
            .write(move |c| Box::pin(async move { transfers::insert_on_demand_authorization(c, &a).await }))
            .await
            .unwrap();
    }
    let find = |tenant: TenantId, id: String| {
        let store = store.clone();
        async move {
            store
                .read(move |mut c| async move { transfers::find_on_demand_authorization(&mut c, tenant, &id).await })
                .await
                .unwrap()
        }
    };
    assert_eq!(find(tenant, mine.id.clone()).await, Some(mine.clone()));
    assert_eq!(find(other, theirs.id.clone()).await, Some(theirs.clone()));
    assert_eq!(find(other, mine.id.clone()).await, None, "another tenant's authorization");
    assert_eq!(find(tenant, theirs.id.clone()).await, None);
    assert_eq!(find(tenant, "missing".to_owned()).await, None);
    let lock = |tenant: TenantId, id: String| {
        let store = store.clone();
        async move {
            store
                .write(move |c| {
                    Box::pin(async move { transfers::find_on_demand_authorization_for_update(c, tenant, &id).await })
                })
                .await
                .unwrap()
        }
    };
    assert_eq!(lock(tenant, mine.id.clone()).await, Some(mine.clone()));
    assert_eq!(lock(other, mine.id.clone()).await, None, "another tenant's authorization");
    assert_eq!(lock(other, theirs.id.clone()).await, Some(theirs.clone()));

    let dup = mine;
    let r =
        store.write(move |c| Box::pin(async move { transfers::insert_on_demand_authorization(c, &dup).await })).await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "duplicate authorization id: {r:?}");
}

async fn events_list_newest_first_with_paging_and_stay_in_their_tenant(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let other = new_tenant(&store).await;
    let event = |tenant: TenantId, i: i64| EventRecord {
        id: unique("evt"),
        tenant_id: tenant,
        topic: EventTopic::ALL[i as usize % EventTopic::ALL.len()],
        resource_type: EventResource::Customers,
        resource_id: format!("cus-{i}"),
        customer_id: (i % 2 == 0).then(|| format!("cus-{i}")),
        correlation_id: (i % 3 == 0).then(|| format!("corr-{i}")),
        // Order is insertion order, even when timestamps tie or run backwards.
        created_at: at(100 - i.min(3)),
    };
    let mut written = Vec::new();
    for i in 0..7 {
        let e = event(tenant, i);
        written.push(e.clone());
        store.write(move |c| Box::pin(async move { events::insert(c, &e).await })).await.unwrap();
    }
    let foreign = event(other, 0);
    let w = foreign.clone();
    store.write(move |c| Box::pin(async move { events::insert(c, &w).await })).await.unwrap();

    let find = |tenant: TenantId, id: String| {
        let store = store.clone();
        async move { store.read(move |mut c| async move { events::find(&mut c, tenant, &id).await }).await.unwrap() }
    };
    assert_eq!(find(tenant, written[0].id.clone()).await, Some(written[0].clone()));
    assert_eq!(find(tenant, written[1].id.clone()).await, Some(written[1].clone()));
    assert_eq!(find(other, written[0].id.clone()).await, None);
    assert_eq!(find(tenant, foreign.id.clone()).await, None);

    let list = |tenant: TenantId, limit: i64, offset: i64| {
        let store = store.clone();
        async move {
            let p = store.read(move |mut c| async move { events::list(&mut c, tenant, limit, offset).await }).await;
            let p = p.unwrap();
            (p.total, p.items)
        }
    };
    let newest: Vec<EventRecord> = written.iter().rev().cloned().collect();
    assert_eq!(list(tenant, 25, 0).await, (7, newest.clone()));
    assert_eq!(list(tenant, 3, 0).await, (7, newest[0..3].to_vec()));
    assert_eq!(list(tenant, 3, 3).await, (7, newest[3..6].to_vec()));
    assert_eq!(list(tenant, 3, 6).await, (7, newest[6..].to_vec()));
    assert_eq!(list(tenant, 3, 9).await, (7, vec![]));
    assert_eq!(list(other, 25, 0).await, (1, vec![foreign.clone()]));

    let dup = foreign;
    let r = store.write(move |c| Box::pin(async move { events::insert(c, &dup).await })).await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "duplicate event id: {r:?}");
}

async fn events_and_mx_webhooks_carry_fired_marks_within_their_tenant(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let other = new_tenant(&store).await;
    let raised = put_event(&store, tenant, "cus-1", at(10)).await;
    let fired = put_event(&store, tenant, "cus-1", at(20)).await;
    let hook = mx_webhook(tenant, MxWebhookType::ConnectionStatus, at(30));
    let plain = mx_webhook(tenant, MxWebhookType::Member, at(31));
    for w in [&hook, &plain] {
        let w = w.clone();
        store.write(move |c| Box::pin(async move { mx_webhooks::insert_webhook(c, &w).await })).await.unwrap();
    }
    let (event_id, hook_guid) = (fired.id.clone(), hook.guid.clone());
    store
        .write(move |c| {
            Box::pin(async move {
                events::mark_fired(c, tenant, &event_id, at(40)).await?;
                mx_webhooks::mark_webhook_fired(c, tenant, &hook_guid, at(41)).await
            })
        })
        .await
        .unwrap();
    let marks = |tenant: TenantId, event: String, hook: String| {
        let store = store.clone();
        async move {
            store
                .read(move |mut c| async move {
                    Ok((
                        events::fired_at(&mut c, tenant, &event).await?,
                        mx_webhooks::webhook_fired_at(&mut c, tenant, &hook).await?,
                    ))
                })
                .await
                .unwrap()
        }
    };
    assert_eq!(marks(tenant, fired.id.clone(), hook.guid.clone()).await, (Some(at(40)), Some(at(41))));
    assert_eq!(marks(tenant, raised.id.clone(), plain.guid.clone()).await, (None, None), "raised by a change");
    assert_eq!(marks(other, fired.id.clone(), hook.guid.clone()).await, (None, None), "seen from another tenant");
    // The mark leaves the records as they were.
    let found = store.read(|mut c| async move { events::find(&mut c, tenant, &fired.id).await }).await.unwrap();
    assert_eq!(found.map(|e| e.created_at), Some(at(20)));
    // Another tenant cannot mark them.
    let (event_id, hook_guid) = (raised.id.clone(), plain.guid.clone());
    assert_not_found(
        store.write(move |c| Box::pin(async move { events::mark_fired(c, other, &event_id, at(50)).await })).await,
    );
    assert_not_found(
        store
            .write(move |c| {
                Box::pin(async move { mx_webhooks::mark_webhook_fired(c, other, &hook_guid, at(50)).await })
            })
            .await,
    );
}

fn source_deposits(
    tenant: TenantId,
    source: &str,
    status: &str,
    created_at: Timestamp,
) -> FundingSourceMicroDepositsRecord {
    FundingSourceMicroDepositsRecord {
        funding_source_id: source.to_owned(),
        tenant_id: tenant,
        status: status.parse().unwrap(),
        failed_attempts: 0,
        created_at,
        processed_at: None,
    }
}

async fn funding_source_micro_deposits_find_save_per_customer_and_pending_in_creation_order(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let other = new_tenant(&store).await;
    let customer = new_customer(&store, tenant).await;
    let neighbour = new_customer(&store, tenant).await;
    let stranger = new_customer(&store, other).await;
    let fs1 = funding_source_record(tenant, &customer.id, "fp-1", false, at(0));
    let fs2 = funding_source_record(tenant, &customer.id, "fp-2", false, at(1));
    let fs3 = funding_source_record(tenant, &neighbour.id, "fp-3", false, at(2));
    let bare = funding_source_record(tenant, &customer.id, "fp-4", false, at(3));
    let fs_o = funding_source_record(other, &stranger.id, "fp-5", false, at(4));
    for f in [&fs1, &fs2, &fs3, &bare, &fs_o] {
        put_funding_source(&store, f).await;
    }
    // Created out of order, so creation order is not insertion order.
    let d1 = source_deposits(tenant, &fs1.id, "pending", at(30));
    let d2 = source_deposits(tenant, &fs2.id, "pending", at(10));
    let d3 = source_deposits(tenant, &fs3.id, "pending", at(20));
    let d_o = source_deposits(other, &fs_o.id, "pending", at(0));
    for d in [&d1, &d2, &d3, &d_o] {
        let d = d.clone();
        store
            .write(move |c| Box::pin(async move { funding_sources::insert_micro_deposits(c, &d).await }))
            .await
            .unwrap();
    }
    let dup = d1.clone();
    let r = store.write(move |c| Box::pin(async move { funding_sources::insert_micro_deposits(c, &dup).await })).await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "a source has one set of micro-deposits: {r:?}");

    let find = |tenant: TenantId, source: String| {
        let store = store.clone();
        async move {
            store
                .read(move |mut c| async move { funding_sources::find_micro_deposits(&mut c, tenant, &source).await })
                .await
                .unwrap()
        }
    };
    assert_eq!(find(tenant, fs1.id.clone()).await, Some(d1.clone()));
    assert_eq!(find(tenant, fs3.id.clone()).await, Some(d3.clone()));
    assert_eq!(find(other, fs1.id.clone()).await, None, "seen from another tenant");
    assert_eq!(find(tenant, fs_o.id.clone()).await, None, "another tenant's, seen from this one");
    assert_eq!(find(tenant, bare.id.clone()).await, None, "a source without micro-deposits");

    let for_customer = |tenant: TenantId, customer: String| {
        let store = store.clone();
        async move {
            let mut found = store
                .read(move |mut c| async move {
                    funding_sources::micro_deposits_for_customer(&mut c, tenant, &customer).await
                })
                .await
                .unwrap();
            found.sort_by(|a, b| a.funding_source_id.cmp(&b.funding_source_id));
            found
        }
    };
    let sorted = |mut list: Vec<FundingSourceMicroDepositsRecord>| {
        list.sort_by(|a, b| a.funding_source_id.cmp(&b.funding_source_id));
        list
    };
    assert_eq!(for_customer(tenant, customer.id.clone()).await, sorted(vec![d1.clone(), d2.clone()]));
    assert_eq!(for_customer(tenant, neighbour.id.clone()).await, vec![d3.clone()]);
    assert_eq!(for_customer(other, customer.id.clone()).await, vec![]);
    assert_eq!(for_customer(tenant, stranger.id.clone()).await, vec![]);
    assert_eq!(for_customer(other, stranger.id.clone()).await, vec![d_o.clone()]);

    let pending = |tenant: TenantId, limit: i64| {
        let store = store.clone();
        async move {
            store
                .read(move |mut c| async move { funding_sources::pending_micro_deposits(&mut c, tenant, limit).await })
                .await
                .unwrap()
        }
    };
    assert_eq!(pending(tenant, 10).await, vec![d2.clone(), d3.clone(), d1.clone()], "oldest first");
    assert_eq!(pending(tenant, 2).await, vec![d2.clone(), d3.clone()]);
    assert_eq!(pending(other, 10).await, vec![d_o.clone()]);

    // Save writes status, failed attempts and processing time back; never the creation time.
    let processed = FundingSourceMicroDepositsRecord {
        status: FundingSourceMicroDepositStatus::Processed,
        processed_at: Some(at(50)),
        ..d2.clone()
    };
    let attempt = FundingSourceMicroDepositsRecord { created_at: at(9_999), ..processed.clone() };
    store
        .write(move |c| Box::pin(async move { funding_sources::save_micro_deposits(c, &attempt).await }))
        .await
        .unwrap();
    assert_eq!(find(tenant, fs2.id.clone()).await, Some(processed.clone()));
    let failed = FundingSourceMicroDepositsRecord {
        status: FundingSourceMicroDepositStatus::Failed,
        failed_attempts: 3,
        ..d1.clone()
    };
    let w = failed.clone();
    store.write(move |c| Box::pin(async move { funding_sources::save_micro_deposits(c, &w).await })).await.unwrap();
    assert_eq!(find(tenant, fs1.id.clone()).await, Some(failed.clone()));
    assert_eq!(pending(tenant, 10).await, vec![d3.clone()], "only the unprocessed are pending");
    assert_eq!(for_customer(tenant, customer.id.clone()).await, sorted(vec![failed, processed]));

    // A save under another tenant touches nothing.
    let stolen = FundingSourceMicroDepositsRecord {
        tenant_id: other,
        status: FundingSourceMicroDepositStatus::Processed,
        ..d3.clone()
    };
    store
        .write(move |c| Box::pin(async move { funding_sources::save_micro_deposits(c, &stolen).await }))
        .await
        .unwrap();
    assert_eq!(find(tenant, fs3.id.clone()).await, Some(d3.clone()));
    assert_eq!(find(other, fs3.id.clone()).await, None);
    assert_eq!(pending(other, 10).await, vec![d_o]);
}

// ---------------------------------------------------------------------------------------------
// Webhooks
// ---------------------------------------------------------------------------------------------

fn subscription_record(tenant: TenantId, created_at: Timestamp) -> WebhookSubscriptionRecord {
    WebhookSubscriptionRecord {
        id: unique("sub"),
        tenant_id: tenant,
        url: format!("https://example.com/hooks/{}", unique("h")),
        // Every byte value: the signing secret is raw bytes.
        secret: (0..=255u8).rev().collect(),
        paused: false,
        consecutive_failures: 0,
        last_success_at: None,
        created_at,
    }
}

async fn put_subscription(store: &Store, s: &WebhookSubscriptionRecord) {
    let s = s.clone();
    store
        .write(move |c| Box::pin(async move { webhooks::insert_subscription(c, &s).await }))
        .await
        .expect("insert subscription");
}

async fn find_subscription(store: &Store, tenant: TenantId, id: &str) -> Option<WebhookSubscriptionRecord> {
    let id = id.to_owned();
    store
        .read(|mut c| async move { webhooks::find_subscription(&mut c, tenant, &id).await })
        .await
        .expect("find subscription")
}

async fn list_subscriptions(store: &Store, tenant: TenantId) -> Vec<WebhookSubscriptionRecord> {
    store
        .read(|mut c| async move { webhooks::list_subscriptions(&mut c, tenant).await })
        .await
        .expect("list subscriptions")
}

async fn put_event(store: &Store, tenant: TenantId, resource_id: &str, created_at: Timestamp) -> EventRecord {
    let e = EventRecord {
        id: unique("evt"),
        tenant_id: tenant,
        topic: EventTopic::CustomerCreated,
        resource_type: EventResource::Customers,
        resource_id: resource_id.to_owned(),
        customer_id: Some(resource_id.to_owned()),
        correlation_id: None,
        created_at,
    };
    let w = e.clone();
    store.write(move |c| Box::pin(async move { events::insert(c, &w).await })).await.expect("insert event");
    e
}

fn webhook_record(
    subscription: &WebhookSubscriptionRecord,
    event: &EventRecord,
    created_at: Timestamp,
) -> WebhookRecord {
    WebhookRecord {
        id: unique("wh"),
        tenant_id: subscription.tenant_id,
        subscription_id: subscription.id.clone(),
        event_id: event.id.clone(),
        topic: event.topic,
        body: format!(r#"{{"id":"{}","topic":"{}","unicode":"é✓"}}"#, event.id, event.topic),
        attempts: "[]".to_owned(),
        created_at,
    }
}

async fn put_webhook(store: &Store, w: &WebhookRecord) {
    let w = w.clone();
    store.write(move |c| Box::pin(async move { webhooks::insert_webhook(c, &w).await })).await.expect("insert webhook");
}

async fn find_webhook(store: &Store, tenant: TenantId, id: &str) -> Option<WebhookRecord> {
    let id = id.to_owned();
    store.read(|mut c| async move { webhooks::find_webhook(&mut c, tenant, &id).await }).await.expect("find webhook")
}

async fn list_retries(store: &Store, tenant: TenantId, webhook: &str) -> Vec<WebhookRetryRecord> {
    let webhook = webhook.to_owned();
    store
        .read(|mut c| async move { webhooks::list_retries(&mut c, tenant, &webhook).await })
        .await
        .expect("list retries")
}

async fn webhook_subscriptions_round_trip_list_save_delete_and_stay_in_their_tenant(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let other = new_tenant(&store).await;
    let empty = new_tenant(&store).await;
    let s1 = subscription_record(tenant, at(0));
    let s_o = subscription_record(other, at(5));
    let s2 = WebhookSubscriptionRecord {
        paused: true,
        consecutive_failures: 401,
        last_success_at: Some(at(-86_400_000)),
        ..subscription_record(tenant, at(10))
    };
    for s in [&s1, &s_o, &s2] {
        put_subscription(&store, s).await;
    }
    let dup = WebhookSubscriptionRecord { url: "https://example.com/elsewhere".to_owned(), ..s1.clone() };
    let r = store.write(move |c| Box::pin(async move { webhooks::insert_subscription(c, &dup).await })).await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "duplicate subscription id: {r:?}");

    assert_eq!(find_subscription(&store, tenant, &s1.id).await, Some(s1.clone()));
    assert_eq!(find_subscription(&store, tenant, &s2.id).await, Some(s2.clone()));
    assert_eq!(find_subscription(&store, other, &s1.id).await, None, "seen from another tenant");
    assert_eq!(find_subscription(&store, tenant, &s_o.id).await, None);
    assert_eq!(find_subscription(&store, tenant, "sub-none").await, None);

    assert_eq!(list_subscriptions(&store, tenant).await, vec![s1.clone(), s2.clone()], "oldest first");
    assert_eq!(list_subscriptions(&store, other).await, vec![s_o.clone()]);
    assert!(list_subscriptions(&store, empty).await.is_empty());

    // Save writes back paused, the failure count and the last success; nothing else.
    let saved = WebhookSubscriptionRecord {
        paused: true,
        consecutive_failures: 7,
        last_success_at: Some(at(55)),
        ..s1.clone()
    };
    let attempt = WebhookSubscriptionRecord {
        url: "https://attacker.example/".to_owned(),
        secret: vec![1, 2, 3],
        created_at: at(9_999),
        ..saved.clone()
    };
    store.write(move |c| Box::pin(async move { webhooks::save_subscription(c, &attempt).await })).await.unwrap();
    assert_eq!(find_subscription(&store, tenant, &s1.id).await, Some(saved.clone()));
    let resumed = WebhookSubscriptionRecord { paused: false, consecutive_failures: 0, last_success_at: None, ..saved };
    let w = resumed.clone();
    store.write(move |c| Box::pin(async move { webhooks::save_subscription(c, &w).await })).await.unwrap();
    assert_eq!(find_subscription(&store, tenant, &s1.id).await, Some(resumed.clone()));

    let stolen = WebhookSubscriptionRecord { tenant_id: other, paused: true, ..s1.clone() };
    assert_not_found(
        store.write(move |c| Box::pin(async move { webhooks::save_subscription(c, &stolen).await })).await,
    );
    let unknown = subscription_record(tenant, at(0));
    assert_not_found(
        store.write(move |c| Box::pin(async move { webhooks::save_subscription(c, &unknown).await })).await,
    );
    assert_eq!(find_subscription(&store, tenant, &s1.id).await, Some(resumed.clone()));

    // Read for update inside a write: the stored row, and only within its tenant.
    let (id, expected) = (s1.id.clone(), resumed.clone());
    store
        .write(move |c| {
            Box::pin(async move {
                assert_eq!(webhooks::find_subscription_for_update(c, tenant, &id).await?, Some(expected));
                assert_eq!(webhooks::find_subscription_for_update(c, other, &id).await?, None);
                assert_eq!(webhooks::find_subscription_for_update(c, tenant, "sub-none").await?, None);
                Ok(())
            })
        })
        .await
        .unwrap();

    // Delete refuses other tenants' and unknown subscriptions.
    let delete = |tenant: TenantId, id: String| {
        let store = store.clone();
        async move {
            store.write(move |c| Box::pin(async move { webhooks::delete_subscription(c, tenant, &id).await })).await
        }
    };
    assert_not_found(delete(other, s1.id.clone()).await);
    assert_not_found(delete(tenant, s_o.id.clone()).await);
    assert_not_found(delete(tenant, "sub-none".to_owned()).await);
    assert_eq!(list_subscriptions(&store, tenant).await, vec![resumed, s2.clone()]);
    delete(tenant, s1.id.clone()).await.unwrap();
    assert_eq!(find_subscription(&store, tenant, &s1.id).await, None);
    assert_eq!(list_subscriptions(&store, tenant).await, vec![s2]);
    assert_eq!(list_subscriptions(&store, other).await, vec![s_o]);
    assert_not_found(delete(tenant, s1.id.clone()).await);
}

async fn webhooks_list_newest_first_filter_page_and_save_only_attempts(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let other = new_tenant(&store).await;
    let sub_a = subscription_record(tenant, T0);
    let sub_b = subscription_record(tenant, T0);
    let sub_o = subscription_record(other, T0);
    for s in [&sub_a, &sub_b, &sub_o] {
        put_subscription(&store, s).await;
    }
    let e1 = put_event(&store, tenant, "cus-1", at(100)).await;
    let e2 = put_event(&store, tenant, "cus-2", at(200)).await;
    let e3 = put_event(&store, tenant, "cus-1", at(300)).await;
    let e4 = put_event(&store, tenant, "cus-3", at(400)).await;
    let e_o = put_event(&store, other, "cus-1", at(100)).await;
    let w1 = webhook_record(&sub_a, &e1, at(100));
    let w2 = webhook_record(&sub_a, &e2, at(200));
    let wb = webhook_record(&sub_b, &e1, at(150));
    let w3 = webhook_record(&sub_a, &e3, at(300));
    let w4 = webhook_record(&sub_a, &e4, at(400));
    let w_o = webhook_record(&sub_o, &e_o, at(100));
    for w in [&w1, &w2, &wb, &w3, &w4, &w_o] {
        put_webhook(&store, w).await;
    }
    let dup = w1.clone();
    let r = store.write(move |c| Box::pin(async move { webhooks::insert_webhook(c, &dup).await })).await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "duplicate webhook id: {r:?}");
    let orphan = WebhookRecord { subscription_id: "sub-none".to_owned(), ..webhook_record(&sub_a, &e1, at(0)) };
    let r = store.write(move |c| Box::pin(async move { webhooks::insert_webhook(c, &orphan).await })).await;
    assert!(r.is_err(), "a webhook needs its subscription");

    assert_eq!(find_webhook(&store, tenant, &w1.id).await, Some(w1.clone()));
    assert_eq!(find_webhook(&store, tenant, &wb.id).await, Some(wb.clone()));
    assert_eq!(find_webhook(&store, other, &w1.id).await, None, "seen from another tenant");
    assert_eq!(find_webhook(&store, tenant, &w_o.id).await, None);
    assert_eq!(find_webhook(&store, tenant, "wh-none").await, None);

    let list = |tenant: TenantId, sub: String, filter: WebhookFilter, limit: i64, offset: i64| {
        let store = store.clone();
        async move {
            let p = store
                .read(move |mut c| async move {
                    webhooks::list_webhooks(&mut c, tenant, &sub, &filter, limit, offset).await
                })
                .await
                .unwrap();
            (p.total, p.items)
        }
    };
    let all = WebhookFilter::default;
    let (a, b) = (sub_a.id.clone(), sub_b.id.clone());
    let newest = vec![w4.clone(), w3.clone(), w2.clone(), w1.clone()];
    assert_eq!(list(tenant, a.clone(), all(), 25, 0).await, (4, newest.clone()));
    assert_eq!(list(tenant, a.clone(), all(), 2, 0).await, (4, newest[..2].to_vec()));
    assert_eq!(list(tenant, a.clone(), all(), 2, 2).await, (4, newest[2..].to_vec()));
    assert_eq!(list(tenant, a.clone(), all(), 3, 3).await, (4, newest[3..].to_vec()));
    assert_eq!(list(tenant, a.clone(), all(), 2, 4).await, (4, vec![]));
    assert_eq!(list(tenant, b.clone(), all(), 25, 0).await, (1, vec![wb.clone()]));
    assert_eq!(list(other, a.clone(), all(), 25, 0).await, (0, vec![]), "another tenant's subscription");
    assert_eq!(list(tenant, sub_o.id.clone(), all(), 25, 0).await, (0, vec![]));

    // Time bounds are inclusive; the resource filter matches the event's resource.
    let since = |ms: i64| WebhookFilter { since: Some(at(ms)), ..WebhookFilter::default() };
    let until = |ms: i64| WebhookFilter { until: Some(at(ms)), ..WebhookFilter::default() };
    let about = |id: &str| WebhookFilter { resource_id: Some(id.to_owned()), ..WebhookFilter::default() };
    assert_eq!(list(tenant, a.clone(), since(200), 25, 0).await, (3, newest[..3].to_vec()));
    assert_eq!(list(tenant, a.clone(), until(300), 25, 0).await, (3, newest[1..].to_vec()));
    let window = WebhookFilter { since: Some(at(200)), until: Some(at(300)), resource_id: None };
    assert_eq!(list(tenant, a.clone(), window.clone(), 25, 0).await, (2, vec![w3.clone(), w2.clone()]));
    assert_eq!(list(tenant, a.clone(), window, 1, 1).await, (2, vec![w2.clone()]), "filters and pages together");
    assert_eq!(list(tenant, a.clone(), about("cus-1"), 25, 0).await, (2, vec![w3.clone(), w1.clone()]));
    let recent_about = WebhookFilter { since: Some(at(101)), ..about("cus-1") };
    assert_eq!(list(tenant, a.clone(), recent_about, 25, 0).await, (1, vec![w3.clone()]));
    assert_eq!(list(tenant, a.clone(), about("cus-none"), 25, 0).await, (0, vec![]));
    assert_eq!(list(tenant, a.clone(), since(401), 25, 0).await, (0, vec![]));

    // Save writes the attempts back, nothing else, and only within the webhook's tenant.
    let attempted = WebhookRecord {
        attempts: r#"[{"request":{"timestamp":1},"response":{"statusCode":200,"body":"é✓"}}]"#.to_owned(),
        ..w1.clone()
    };
    let attempt = WebhookRecord {
        body: "{}".to_owned(),
        topic: EventTopic::CustomerVerified,
        created_at: at(9_999),
        ..attempted.clone()
    };
    store.write(move |c| Box::pin(async move { webhooks::save_webhook(c, &attempt).await })).await.unwrap();
    assert_eq!(find_webhook(&store, tenant, &w1.id).await, Some(attempted.clone()));
    let stolen = WebhookRecord { tenant_id: other, attempts: "[\"stolen\"]".to_owned(), ..w2.clone() };
    store.write(move |c| Box::pin(async move { webhooks::save_webhook(c, &stolen).await })).await.unwrap();
    assert_eq!(find_webhook(&store, tenant, &w2.id).await, Some(w2.clone()));

    let (id, expected) = (w1.id.clone(), attempted);
    store
        .write(move |c| {
            Box::pin(async move {
                assert_eq!(webhooks::find_webhook_for_update(c, tenant, &id).await?, Some(expected));
                assert_eq!(webhooks::find_webhook_for_update(c, other, &id).await?, None);
                assert_eq!(webhooks::find_webhook_for_update(c, tenant, "wh-none").await?, None);
                Ok(())
            })
        })
        .await
        .unwrap();
}

async fn webhook_retries_list_oldest_first_and_go_with_their_subscription(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let other = new_tenant(&store).await;
    let doomed = subscription_record(tenant, T0);
    let kept = subscription_record(tenant, T0);
    put_subscription(&store, &doomed).await;
    put_subscription(&store, &kept).await;
    let event = put_event(&store, tenant, "cus-1", T0).await;
    let w1 = webhook_record(&doomed, &event, at(1));
    let w2 = webhook_record(&doomed, &event, at(2));
    let w3 = webhook_record(&kept, &event, at(3));
    for w in [&w1, &w2, &w3] {
        put_webhook(&store, w).await;
    }
    let retry = |webhook: &WebhookRecord, created_at: Timestamp| WebhookRetryRecord {
        id: unique("rty"),
        tenant_id: webhook.tenant_id,
        webhook_id: webhook.id.clone(),
        created_at,
    };
    // Listed in the order they were asked for, even when their timestamps run backwards.
    let r1 = retry(&w1, at(20));
    let r2 = retry(&w1, at(10));
    let r3 = retry(&w2, at(5));
    let r4 = retry(&w3, at(5));
    for r in [&r1, &r2, &r3, &r4] {
        let r = r.clone();
        store.write(move |c| Box::pin(async move { webhooks::insert_retry(c, &r).await })).await.unwrap();
    }
    let dup = r1.clone();
    let r = store.write(move |c| Box::pin(async move { webhooks::insert_retry(c, &dup).await })).await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "duplicate retry id: {r:?}");
    let orphan = WebhookRetryRecord { webhook_id: "wh-none".to_owned(), ..retry(&w1, at(0)) };
    let r = store.write(move |c| Box::pin(async move { webhooks::insert_retry(c, &orphan).await })).await;
    assert!(r.is_err(), "a retry needs its webhook");

    assert_eq!(list_retries(&store, tenant, &w1.id).await, vec![r1.clone(), r2.clone()]);
    assert_eq!(list_retries(&store, tenant, &w2.id).await, vec![r3.clone()]);
    assert_eq!(list_retries(&store, tenant, &w3.id).await, vec![r4.clone()]);
    assert!(list_retries(&store, other, &w1.id).await.is_empty(), "seen from another tenant");
    assert!(list_retries(&store, tenant, "wh-none").await.is_empty());

    // Deleting a subscription takes its webhooks and their retries with it, and nothing else.
    let id = doomed.id.clone();
    store.write(move |c| Box::pin(async move { webhooks::delete_subscription(c, tenant, &id).await })).await.unwrap();
    assert_eq!(find_webhook(&store, tenant, &w1.id).await, None);
    assert_eq!(find_webhook(&store, tenant, &w2.id).await, None);
    assert!(list_retries(&store, tenant, &w1.id).await.is_empty());
    assert!(list_retries(&store, tenant, &w2.id).await.is_empty());
    assert_eq!(find_webhook(&store, tenant, &w3.id).await, Some(w3.clone()));
    assert_eq!(list_retries(&store, tenant, &w3.id).await, vec![r4]);
    let retries_left: i64 = store
        .read(|mut c| async move {
            Ok(sqlx::Row::try_get(
                &sqlx::query("SELECT COUNT(*) AS n FROM webhook_retries").fetch_one(&mut *c).await?,
                "n",
            )?)
        })
        .await
        .unwrap();
    assert_eq!(retries_left, 1, "no retry outlives its webhook");
}

// ---------------------------------------------------------------------------------------------
// Fault rules, the request journal and queue depth (operations)
// ---------------------------------------------------------------------------------------------

fn fault_rule(tenant: TenantId, path: &str, remaining: Option<i64>, at_ms: i64) -> FaultRuleRecord {
    FaultRuleRecord {
        id: unique("flt"),
        tenant_id: tenant,
        listener: Some(Listener::Dwolla),
        method: Some("POST".into()),
        path: path.into(),
        effect: FaultEffectKind::Status,
        status: Some(500),
        latency_ms: None,
        retry_after_secs: None,
        probability_ppm: 1_000_000,
        seed: 7,
        remaining,
        matched: 0,
        applied: 0,
        created_at: at(at_ms),
    }
}

async fn put_fault_rule(store: &Store, r: &FaultRuleRecord) {
    let r = r.clone();
    store.write(move |c| Box::pin(async move { faults::insert(c, &r).await })).await.expect("insert fault rule");
}

async fn spend(store: &Store, tenant: TenantId, id: &str, applied: bool) -> bool {
    let id = id.to_owned();
    store
        .write(move |c| Box::pin(async move { faults::record_match(c, tenant, &id, applied).await }))
        .await
        .expect("record a match")
}

async fn fault_rules_insert_list_live_spend_delete_and_clear_per_tenant(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let other = new_tenant(&store).await;
    let once = fault_rule(tenant, "/token", Some(1), 0);
    let mut always = fault_rule(tenant, "/customers/**", None, 1);
    always.listener = None;
    always.method = None;
    always.effect = FaultEffectKind::RateLimit;
    always.status = None;
    always.retry_after_secs = Some(30);
    let theirs = fault_rule(other, "/token", Some(5), 0);
    for r in [&once, &always, &theirs] {
        put_fault_rule(&store, r).await;
    }
    let list = |t: TenantId| {
        let store = store.clone();
        async move { store.read(|mut c| async move { faults::list(&mut c, t).await }).await.unwrap() }
    };
    let live = |t: TenantId| {
        let store = store.clone();
        async move { store.read(|mut c| async move { faults::live(&mut c, t).await }).await.unwrap() }
    };
    assert_eq!(list(tenant).await, vec![once.clone(), always.clone()], "every field round-trips, oldest first");
    assert_eq!(live(tenant).await.len(), 2);
    assert!(once.is_live() && always.is_live());

    assert!(spend(&store, tenant, &once.id, true).await, "the one use is spent");
    assert!(!spend(&store, tenant, &once.id, true).await, "nothing left to spend");
    assert!(!spend(&store, tenant, &always.id, false).await, "a miss spends nothing");
    assert!(spend(&store, tenant, &always.id, true).await, "an unlimited rule always applies");
    assert!(!spend(&store, other, &always.id, true).await, "another tenant cannot spend it");
    let stored = list(tenant).await;
    assert_eq!((stored[0].remaining, stored[0].applied, stored[0].matched), (Some(0), 1, 1));
    assert!(!stored[0].is_live());
    assert_eq!((stored[1].remaining, stored[1].applied, stored[1].matched), (None, 1, 2));
    assert_eq!(live(tenant).await, vec![stored[1].clone()], "a spent rule is no longer live");
    let locked = store.write(move |c| Box::pin(async move { faults::lock_live(c, tenant).await })).await.unwrap();
    assert_eq!(locked, vec![stored[1].clone()]);

    let (id, other_id) = (once.id.clone(), theirs.id.clone());
    let removed = store
        .write(move |c| {
            Box::pin(
                async move { Ok((faults::delete(c, tenant, &other_id).await?, faults::delete(c, tenant, &id).await?)) },
            )
        })
        .await
        .unwrap();
    assert_eq!(removed, (false, true), "a tenant removes only its own rules");
    let cleared = store.write(move |c| Box::pin(async move { faults::clear(c, tenant).await })).await.unwrap();
    assert_eq!(cleared, 1);
    assert!(list(tenant).await.is_empty());
    assert_eq!(list(other).await, vec![theirs], "the other tenant's rule stays");
}

/// Ten writes at once each try to spend a rule with a count of two: exactly two succeed.
async fn fault_rule_counts_are_spent_exactly_once_under_concurrent_writes(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let rule = fault_rule(tenant, "/token", Some(2), 0);
    put_fault_rule(&store, &rule).await;
    let tries: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .write(move |c| {
                        Box::pin(async move {
                            let live = faults::lock_live(c, tenant).await?;
                            match live.first() {
                                Some(r) => faults::record_match(c, tenant, &r.id, true).await,
                                None => Ok(false),
                            }
                        })
                    })
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut applied = 0;
    for t in tries {
        applied += usize::from(t.await.unwrap());
    }
    assert_eq!(applied, 2);
    let stored = store.read(|mut c| async move { faults::list(&mut c, tenant).await }).await.unwrap();
    assert_eq!((stored[0].remaining, stored[0].applied), (Some(0), 2));
}

/// Waits (a hang guard, not a speed test) until `store`'s fault rules version is past `seen`.
async fn fault_rules_version_passes(store: &Store, seen: u64) -> u64 {
    for _ in 0..1200 {
        let now = store.fault_rules_version();
        if now > seen {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the fault rules version never moved past {seen}");
}

/// A cache of fault rules trusts this version: every committed change moves it, in the store
/// that wrote and (PostgreSQL, several processes on one database) in another store opened on
/// the same database; reads, rolled-back writes and uses of an unlimited rule leave it.
async fn fault_rules_version_moves_with_every_committed_rule_change_in_every_process(db: TestDb) {
    let store = db.store;
    let elsewhere = match store.dialect() {
        Dialect::Postgres => Some(Store::open(&db.url).await.expect("a second store on the database")),
        Dialect::Sqlite => None,
    };
    let tenant = new_tenant(&store).await;
    let (once, always) = (fault_rule(tenant, "/token", Some(1), 0), fault_rule(tenant, "/customers", None, 1));
    let mut seen = store.fault_rules_version();
    let mut seen_elsewhere = elsewhere.as_ref().map(Store::fault_rules_version);
    let mut moved = async |what: &str, before: u64| {
        let now = store.fault_rules_version();
        assert!(now > before, "{what} moves the version");
        if let (Some(other), Some(was)) = (&elsewhere, seen_elsewhere) {
            seen_elsewhere = Some(fault_rules_version_passes(other, was).await);
        }
        now
    };

    for r in [&once, &always] {
        put_fault_rule(&store, r).await;
        seen = moved("an insert", seen).await;
    }
    let _ = store.read(|mut c| async move { faults::live(&mut c, tenant).await }).await.unwrap();
    assert_eq!(store.fault_rules_version(), seen, "a read leaves it");
    let rule = fault_rule(tenant, "/token", None, 2);
    let refused = store
        .write(move |c| {
            Box::pin(async move {
                faults::insert(c, &rule).await?;
                Err::<(), _>(StoreError::InvalidInput("changed my mind".into()))
            })
        })
        .await;
    assert!(refused.is_err());
    assert_eq!(store.fault_rules_version(), seen, "a rolled-back change leaves it");
    assert!(spend(&store, tenant, &always.id, true).await);
    assert_eq!(store.fault_rules_version(), seen, "a use of an unlimited rule leaves it");
    assert!(spend(&store, tenant, &once.id, true).await);
    seen = moved("spending the last of a count", seen).await;
    let id = always.id.clone();
    store.write(move |c| Box::pin(async move { faults::delete(c, tenant, &id).await })).await.unwrap();
    seen = moved("a delete", seen).await;
    store.write(move |c| Box::pin(async move { faults::clear(c, tenant).await })).await.unwrap();
    seen = moved("a clear", seen).await;
    store.write(move |c| Box::pin(async move { sandbox::reset(c, tenant).await })).await.unwrap();
    moved("a sandbox reset", seen).await;
    if let Some(other) = elsewhere {
        other.close().await;
    }
}

fn journal_entry(tenant: TenantId, route: &str, status: i64, at_ms: i64) -> JournalRecord {
    JournalRecord {
        seq: 0,
        tenant_id: tenant,
        at: at(at_ms),
        listener: Listener::Mx,
        method: "GET".into(),
        route: route.into(),
        status,
        latency_ms: 3,
        request_id: unique("req"),
        resource_ids: vec!["USR-1".into(), "MBR-2".into()],
        fault_id: (status == 503).then(|| "flt_1".to_owned()),
    }
}

async fn journal_inserts_in_batches_lists_newest_first_filters_and_trims_per_tenant(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let other = new_tenant(&store).await;
    let batch: Vec<JournalRecord> = (0..6)
        .map(|i| journal_entry(tenant, if i % 2 == 0 { "/users" } else { "/users/{user}" }, 200 + i, i))
        .chain([journal_entry(other, "/users", 503, 10)])
        .collect();
    let written = batch.clone();
    store.write(move |c| Box::pin(async move { journal::insert_batch(c, &written).await })).await.unwrap();
    let list = |t: TenantId, filter: JournalFilter| {
        let store = store.clone();
        async move { store.read(|mut c| async move { journal::list(&mut c, t, &filter).await }).await.unwrap() }
    };
    let all = list(tenant, JournalFilter { limit: 100, ..JournalFilter::default() }).await;
    assert_eq!(all.len(), 6);
    assert!(all.windows(2).all(|w| w[0].seq > w[1].seq), "newest first");
    let mut expected = batch[5].clone();
    expected.seq = all[0].seq;
    assert_eq!(all[0], expected, "every field round-trips");
    let by_status = list(tenant, JournalFilter { limit: 100, status: Some(203), route: None }).await;
    assert_eq!(by_status.iter().map(|e| e.status).collect::<Vec<_>>(), [203]);
    let by_route = list(tenant, JournalFilter { limit: 2, status: None, route: Some("/users".into()) }).await;
    assert_eq!(by_route.iter().map(|e| e.status).collect::<Vec<_>>(), [204, 202]);
    let theirs = list(other, JournalFilter { limit: 100, ..JournalFilter::default() }).await;
    assert_eq!((theirs.len(), theirs[0].fault_id.as_deref()), (1, Some("flt_1")));

    let trimmed = store.write(move |c| Box::pin(async move { journal::trim(c, tenant, 4).await })).await.unwrap();
    assert_eq!(trimmed, 2);
    let kept = list(tenant, JournalFilter { limit: 100, ..JournalFilter::default() }).await;
    assert_eq!(kept.iter().map(|e| e.status).collect::<Vec<_>>(), [205, 204, 203, 202], "the newest four stay");
    let again = store.write(move |c| Box::pin(async move { journal::trim(c, tenant, 4).await })).await.unwrap();
    assert_eq!(again, 0);
    assert_eq!(list(other, JournalFilter { limit: 100, ..JournalFilter::default() }).await.len(), 1);
}

async fn queue_stats_depth_counts_jobs_and_the_oldest_due(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let depth = |queue: &'static str, now: Timestamp| {
        let store = store.clone();
        async move { store.read(|mut c| async move { queue_stats::depth(&mut c, queue, now).await }).await.unwrap() }
    };
    assert_eq!(depth("ops-q", at(0)).await, QueueDepth { jobs: 0, oldest_due_at: None });
    enqueue(&store, tenant, "ops-q", "s1", "{}", at(-500)).await;
    enqueue(&store, tenant, "ops-q", "s2", "{}", at(-100)).await;
    enqueue(&store, tenant, "ops-q", "s3", "{}", at(60_000)).await;
    enqueue(&store, tenant, "other-q", "s4", "{}", at(-9_000)).await;
    assert_eq!(depth("ops-q", at(0)).await, QueueDepth { jobs: 3, oldest_due_at: Some(at(-500)) });
    assert_eq!(depth("ops-q", at(-1_000)).await, QueueDepth { jobs: 3, oldest_due_at: None }, "none due yet");
}

// ---------------------------------------------------------------------------------------------
// Idempotency keys and locked reads
// ---------------------------------------------------------------------------------------------

async fn idempotency_keys_are_claimed_once_answered_and_pruned(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let other = new_tenant(&store).await;
    let key = |tenant: TenantId, key: &str, hash: &str, at_ms: i64| IdempotencyRecord {
        tenant_id: tenant,
        key: key.to_owned(),
        request_hash: hash.to_owned(),
        status: None,
        location: None,
        body: None,
        created_at: at(at_ms),
    };
    let claim = |r: IdempotencyRecord, since: Timestamp| {
        let store = store.clone();
        async move { store.write(move |c| Box::pin(async move { idempotency::claim(c, &r, since).await })).await.unwrap() }
    };
    let find = |tenant: TenantId, k: &'static str| {
        let store = store.clone();
        async move { store.read(|mut c| async move { idempotency::find(&mut c, tenant, k, at(-1)).await }).await.unwrap() }
    };
    assert!(claim(key(tenant, "k1", "h1", 0), at(-1)).await, "a new key is claimed");
    store
        .write(move |c| {
            Box::pin(async move { idempotency::complete(c, tenant, "k1", 201, Some("http://h/customers/1"), "").await })
        })
        .await
        .unwrap();
    assert!(!claim(key(tenant, "k1", "h2", 5), at(-1)).await, "an answered key is not claimed again");
    let found = find(tenant, "k1").await.expect("the answered key");
    assert_eq!(
        (found.status, found.location.as_deref(), found.request_hash.as_str()),
        (Some(201), Some("http://h/customers/1"), "h1")
    );
    assert!(find(other, "k1").await.is_none(), "keys belong to their tenant");
    assert!(claim(key(other, "k1", "h9", 0), at(-1)).await, "another tenant's key of the same name is its own");

    // An unanswered leftover gives way; so does an answered key older than the lifetime.
    assert!(claim(key(tenant, "k2", "h1", 0), at(-1)).await);
    assert!(claim(key(tenant, "k2", "h1", 3), at(-1)).await, "a leftover without an answer gives way");
    assert!(!claim(key(tenant, "k1", "h1", 20), at(-1)).await);
    assert!(claim(key(tenant, "k1", "h3", 20), at(10)).await, "a key from before `since` is stale");

    // Pruning deletes keys created at or before the bound, oldest first, in batches.
    for i in 0..5 {
        assert!(claim(key(tenant, &format!("old-{i}"), "h", -100 + i), at(-1000)).await);
    }
    let prune = |limit: i64| {
        let store = store.clone();
        async move {
            store.write(move |c| Box::pin(async move { idempotency::prune(c, T0, 50, limit).await })).await.unwrap()
        }
    };
    assert_eq!(prune(3).await, 3);
    assert_eq!(prune(3).await, 2);
    assert_eq!(prune(3).await, 0);
    assert!(find(tenant, "k1").await.is_some(), "newer keys stay");
}

async fn rows_read_for_update_are_the_stored_rows(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let other = new_tenant(&store).await;
    let customer = new_customer(&store, tenant).await;
    let source = funding_source_record(tenant, &customer.id, "fp-lock", false, at(5));
    put_funding_source(&store, &source).await;
    let deposits = FundingSourceMicroDepositsRecord {
        funding_source_id: source.id.clone(),
        tenant_id: tenant,
        status: FundingSourceMicroDepositStatus::Pending,
        failed_attempts: 1,
        created_at: at(6),
        processed_at: None,
    };
    let user = new_user(&store, tenant).await;
    let member = new_member(&store, tenant, &user.guid).await;
    let (c2, s2, d2, m2) = (customer.clone(), source.clone(), deposits.clone(), member.clone());
    store
        .write(move |c| {
            Box::pin(async move {
                funding_sources::insert_micro_deposits(c, &d2).await?;
                assert_same(&customers::find_for_update(c, tenant, &c2.id).await?, &Some(c2.clone()));
                assert_same(&customers::find_for_update(c, other, &c2.id).await?, &None);
                assert_same(&funding_sources::find_for_update(c, tenant, &s2.id).await?, &Some(s2.clone()));
                assert_same(&funding_sources::find_for_update(c, other, &s2.id).await?, &None);
                assert_same(
                    &funding_sources::find_micro_deposits_for_update(c, tenant, &s2.id).await?,
                    &Some(d2.clone()),
                );
                assert_same(&funding_sources::find_micro_deposits_for_update(c, other, &s2.id).await?, &None);
                assert_eq!(tenants::get_for_update(c, tenant).await?.id, tenant);
                let found = members::find_for_update(c, tenant, &m2.user_guid, m2.guid.as_str()).await?;
                assert_eq!(found.map(|m| m.guid), Some(m2.guid.clone()));
                assert!(members::find_for_update(c, other, &m2.user_guid, m2.guid.as_str()).await?.is_none());
                let found = members::find_in_tenant_for_update(c, tenant, m2.guid.as_str()).await?;
                assert_eq!(found.map(|m| m.guid), Some(m2.guid.clone()));
                assert!(members::find_by_oauth_token_for_update(c, "no-such-token").await?.is_none());
                assert!(micro_deposits::find_for_update(c, tenant, "MIC-none").await?.is_none());
                Ok(())
            })
        })
        .await
        .unwrap();
}

/// Two writes that each read a customer for update and append to its name: the second waits
/// for the first to commit and sees its change, so neither is lost.
async fn a_row_read_for_update_waits_for_the_write_holding_it(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let customer = new_customer(&store, tenant).await;
    let append = |suffix: &'static str, hold: Duration| {
        let (store, id) = (store.clone(), customer.id.clone());
        async move {
            store
                .write(move |c| {
                    Box::pin(async move {
                        let mut found = customers::find_for_update(c, tenant, &id).await?.expect("customer");
                        tokio::time::sleep(hold).await;
                        found.first_name.push_str(suffix);
                        customers::save(c, &found).await
                    })
                })
                .await
                .unwrap()
        }
    };
    let first = tokio::spawn(append("+a", Duration::from_millis(150)));
    tokio::time::sleep(Duration::from_millis(30)).await;
    append("+b", Duration::ZERO).await;
    first.await.unwrap();
    let stored = find_customer(&store, tenant, &customer.id).await.unwrap();
    assert_eq!(stored.first_name, format!("{}+a+b", customer.first_name), "no update was lost");
}

// ---------------------------------------------------------------------------------------------
// The Store handle and the backends themselves
// ---------------------------------------------------------------------------------------------

async fn execute_raw_runs_transaction_control_inside_a_write(db: TestDb) {
    let store = db.store;
    let (kept, undone) = (tenant_record(false, T0), tenant_record(false, T0));
    let (k, u) = (kept.clone(), undone.clone());
    store
        .write(move |c| {
            Box::pin(async move {
                openiav_store::execute_raw(c, "SAVEPOINT conformance").await?;
                tenants::insert(c, &u).await?;
                openiav_store::execute_raw(c, "ROLLBACK TO SAVEPOINT conformance").await?;
                tenants::insert(c, &k).await?;
                openiav_store::execute_raw(c, "RELEASE SAVEPOINT conformance").await
            })
        })
        .await
        .unwrap();
    assert_eq!(tenant_count(&store).await, 1, "what was rolled back to the savepoint is gone");
    let id = kept.id;
    assert_same(&store.read(|mut c| async move { tenants::get(&mut c, id).await }).await.unwrap(), &kept);
    let id = undone.id;
    assert_not_found(store.read(|mut c| async move { tenants::get(&mut c, id).await }).await);

    let r = store.write(|c| Box::pin(async move { openiav_store::execute_raw(c, "NOT SQL AT ALL").await })).await;
    assert!(r.is_err(), "a statement the database cannot run is an error: {r:?}");
    assert_eq!(tenant_count(&store).await, 1);
}

async fn store_wakes_every_job_worker_once_an_enqueue_commits(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let (first, second) = (store.jobs_ready(), store.jobs_ready());

    // A write that enqueues nothing, or enqueues and then fails, wakes no one.
    new_user(&store, tenant).await;
    let r = store
        .write(move |c| {
            Box::pin(async move {
                jobs::enqueue(c, tenant, "q", "abandoned", "{}", T0, T0).await?;
                Err::<(), _>(StoreError::Conflict("abandoned on purpose".into()))
            })
        })
        .await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
    assert_eq!(jobs_about(&store, "abandoned").await, 0);
    let woken = tokio::time::timeout(Duration::from_millis(300), first.notified()).await;
    assert!(woken.is_err(), "a worker was woken though no job was enqueued");

    enqueue(&store, tenant, "q", "subject", "{}", T0).await;
    for worker in [&first, &second] {
        tokio::time::timeout(Duration::from_secs(5), worker.notified())
            .await
            .expect("every worker is woken once the enqueue commits");
    }
}

async fn store_open_with_applies_its_options_and_refuses_unknown_schemes(db: TestDb) {
    let tenant = new_tenant(&db.store).await;
    let dialect = db.store.dialect();
    db.store.close().await;

    let options = StoreOptions { statement_timeout: Duration::from_millis(250) };
    let store = Store::open_with(&db.url, &options).await.expect("reopen with options");
    assert_eq!(store.dialect(), dialect);
    assert_eq!(store.read(|mut c| async move { tenants::get(&mut c, tenant).await }).await.unwrap().id, tenant);
    if dialect == Dialect::Postgres {
        let shown = store
            .read(|mut c| async move {
                Ok(sqlx::query_scalar::<_, String>("SHOW statement_timeout").fetch_one(&mut *c).await?)
            })
            .await
            .unwrap();
        assert_eq!(shown, "250ms");
        let slow = store
            .read(|mut c| async move {
                sqlx::query("SELECT 1 AS n FROM pg_sleep(2)").fetch_one(&mut *c).await?;
                Ok(())
            })
            .await;
        assert!(matches!(slow, Err(StoreError::Unavailable(_))), "a statement past the timeout: {slow:?}");
    }
    store.close().await;

    for url in ["mysql://localhost/openiav", "openiav.db"] {
        match Store::open_with(url, &options).await {
            Err(StoreError::Config(_)) => {}
            Err(e) => panic!("{url}: expected a configuration error, got {e:?}"),
            Ok(_) => panic!("{url}: opened a store"),
        }
    }
}

async fn backends_open_directly_on_an_existing_database(db: TestDb) {
    let tenant = new_tenant(&db.store).await;
    let dialect = db.store.dialect();
    db.store.close().await;

    // Opening runs the migrations again; they leave the data alone.
    let backend: Box<dyn Database> = match dialect {
        Dialect::Sqlite => Box::new(SqliteDatabase::open(&db.url).await.expect("open SQLite directly")),
        Dialect::Postgres => {
            Box::new(PgDatabase::open(&db.url, &StoreOptions::default()).await.expect("open PostgreSQL directly"))
        }
    };
    assert_eq!(backend.dialect(), dialect);
    let mut conn = backend.read_connection().await.expect("a read connection");
    assert_eq!(tenants::get(&mut conn, tenant).await.unwrap().id, tenant);
    assert_eq!(tenants::count(&mut conn).await.unwrap(), 1);
    drop(conn);
    backend.close().await;
}

#[test]
fn page_requests_turn_into_limit_and_offset() {
    assert_eq!((page(1, 25).limit(), page(1, 25).offset()), (25, 0));
    assert_eq!((page(2, 25).limit(), page(2, 25).offset()), (25, 25));
    assert_eq!((page(3, 10).limit(), page(3, 10).offset()), (10, 20));
    assert_eq!(page(i64::MAX, 1_000).offset(), i64::MAX, "saturates rather than overflowing");
}

// ---------------------------------------------------------------------------------------------
// Backend edges: NUL in text, readiness
// ---------------------------------------------------------------------------------------------

async fn select_text(store: &Store, value: &'static str) -> Result<(), StoreError> {
    store
        .read(|mut c| async move {
            sqlx::query("SELECT $1 AS v").bind(value).fetch_one(&mut *c).await?;
            Ok(())
        })
        .await
}

/// PostgreSQL refuses NUL in text (SQLSTATE 22021); that is the caller's bad input, not a
/// database failure.
#[tokio::test]
async fn postgres_nul_in_text_is_invalid_input() {
    on_postgres(|db| async move {
        select_text(&db.store, "plain").await.unwrap();
        let err = select_text(&db.store, "a\0b").await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidInput(_)), "{err:?}");
        db.store.ping().await.unwrap();
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Visa open banking
// ---------------------------------------------------------------------------------------------

fn visa_link(tenant: TenantId, id: &str, code_hash: &str) -> VisaLinkRecord {
    VisaLinkRecord {
        id: id.to_owned(),
        tenant_id: tenant,
        reference: format!("session-{id}"),
        authorization_code_hash: code_hash.to_owned(),
        redirect_uri: "http://127.0.0.1:1/redirect/tink".into(),
        state: vec![1, 2, 3],
        page_token_hash: None,
        stage: VisaStage::Bank,
        bank: None,
        login: None,
        url_expires_at: at(1_000),
        opened_at: None,
        page_expires_at: None,
        created_at: at(0),
    }
}

async fn visa_links_open_once_move_one_step_at_a_time_and_hand_out_codes_spent_once(db: TestDb) {
    let store = db.store;
    let (tenant, other) = (new_tenant(&store).await, new_tenant(&store).await);
    for (id, code) in [("link-a", "code-a"), ("link-b", "code-b")] {
        let link = visa_link(tenant, id, code);
        store.write(move |c| Box::pin(async move { visa::insert_link(c, &link).await })).await.unwrap();
    }
    let open = |code: &'static str, page: &'static str, now: i64| {
        let store = store.clone();
        async move {
            store
                .write(move |c| Box::pin(async move { visa::open_link(c, code, page, at(now), 5_000).await }))
                .await
                .unwrap()
        }
    };
    let opened = open("code-a", "page-a", 10).await.expect("an unopened link opens");
    assert_same(
        &opened,
        &VisaLinkRecord {
            page_token_hash: Some("page-a".into()),
            opened_at: Some(at(10)),
            page_expires_at: Some(at(5_010)),
            ..visa_link(tenant, "link-a", "code-a")
        },
    );
    assert!(open("code-a", "page-a2", 20).await.is_none(), "a link opens only once");
    assert!(open("code-b", "page-b", 1_000).await.is_none(), "an expired link does not open");
    assert!(open("code-zzz", "page-z", 10).await.is_none());

    let find = |page: &'static str, now: i64| {
        let store = store.clone();
        async move { store.read(move |mut c| async move { visa::find_page(&mut c, page, at(now)).await }).await.unwrap() }
    };
    assert_eq!(find("page-a", 100).await.map(|l| l.id), Some("link-a".to_owned()));
    assert!(find("page-a", 5_010).await.is_none(), "an expired page is gone");
    assert!(find("code-a", 100).await.is_none(), "the authorization code is not a page token");

    let advance =
        |from: VisaStage, to: VisaStage, bank: Option<&'static str>, login: Option<&'static str>, now: i64| {
            let store = store.clone();
            async move {
                store
                    .write(move |c| {
                        Box::pin(async move { visa::advance(c, "page-a", from, to, bank, login, at(now)).await })
                    })
                    .await
                    .unwrap()
            }
        };
    let moved = advance(VisaStage::Bank, VisaStage::Login, Some("demo"), None, 20).await.expect("moves on");
    assert_eq!((moved.stage, moved.bank.as_deref(), moved.login.as_deref()), (VisaStage::Login, Some("demo"), None));
    assert!(advance(VisaStage::Bank, VisaStage::Login, Some("other"), None, 30).await.is_none(), "a step moves once");
    let moved = advance(VisaStage::Login, VisaStage::Consent, None, Some("u1"), 40).await.expect("moves on");
    assert_eq!((moved.bank.as_deref(), moved.login.as_deref()), (Some("demo"), Some("u1")), "keeps what it had");
    assert!(advance(VisaStage::Consent, VisaStage::Account, None, None, 5_010).await.is_none(), "not once expired");

    let code = |hash: &str, expires: i64| VisaCodeRecord {
        code_hash: hash.to_owned(),
        link_id: "link-a".into(),
        tenant_id: tenant,
        bank: "demo".into(),
        login: "u1".into(),
        account: "checking".into(),
        expires_at: at(expires),
        used_at: None,
        created_at: at(50),
    };
    for c in [code("c-1", 500), code("c-2", 60)] {
        store.write(move |conn| Box::pin(async move { visa::insert_code(conn, &c).await })).await.unwrap();
    }
    let redeem = |tenant: TenantId, reference: &'static str, hash: &'static str, now: i64| {
        let store = store.clone();
        async move {
            store
                .write(move |c| Box::pin(async move { visa::redeem_code(c, tenant, reference, hash, at(now)).await }))
                .await
                .unwrap()
        }
    };
    assert!(redeem(other, "session-link-a", "c-1", 100).await.is_none(), "another tenant's code");
    assert!(redeem(tenant, "session-link-b", "c-1", 100).await.is_none(), "a code of another link's session");
    assert!(redeem(tenant, "session-link-a", "c-2", 100).await.is_none(), "an expired code");
    let spent = redeem(tenant, "session-link-a", "c-1", 100).await.expect("redeems");
    assert_same(&spent, &VisaCodeRecord { used_at: Some(at(100)), ..code("c-1", 500) });
    assert!(redeem(tenant, "session-link-a", "c-1", 110).await.is_none(), "a code is spent once");
}

async fn exchange_session_states_are_found_while_live_and_spent_once(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let state = |hash: &str, session: &str| ExchangeSessionStateRecord {
        state_hash: hash.to_owned(),
        session_id: session.to_owned(),
        tenant_id: tenant,
        expires_at: at(1_000),
        used_at: None,
        created_at: at(0),
    };
    for s in [state("st-a", "ses-a"), state("st-b", "ses-b")] {
        store.write(move |c| Box::pin(async move { exchange_session_states::insert(c, &s).await })).await.unwrap();
    }
    let duplicate = state("st-c", "ses-a");
    let again =
        store.write(move |c| Box::pin(async move { exchange_session_states::insert(c, &duplicate).await })).await;
    assert!(again.is_err(), "one state per session");
    let find = |hash: &'static str, now: i64| {
        let store = store.clone();
        async move {
            store
                .read(move |mut c| async move { exchange_session_states::find_live(&mut c, hash, at(now)).await })
                .await
                .unwrap()
        }
    };
    let spend = |hash: &'static str, now: i64| {
        let store = store.clone();
        async move {
            store
                .write(move |c| Box::pin(async move { exchange_session_states::spend(c, hash, at(now)).await }))
                .await
                .unwrap()
        }
    };
    assert_same(&find("st-a", 10).await.expect("live"), &state("st-a", "ses-a"));
    assert!(find("st-a", 1_000).await.is_none(), "an expired state is not live");
    assert!(spend("st-b", 1_000).await.is_none(), "an expired state is not spent");
    assert_same(
        &spend("st-a", 20).await.expect("spent"),
        &ExchangeSessionStateRecord { used_at: Some(at(20)), ..state("st-a", "ses-a") },
    );
    assert!(spend("st-a", 30).await.is_none(), "a state is spent once");
    assert!(find("st-a", 30).await.is_none(), "a spent state is not live");
    assert!(find("st-zzz", 10).await.is_none());
}

#[tokio::test]
async fn ping_answers_on_both_backends() {
    on_sqlite(|db| async move { db.store.ping().await.unwrap() }).await;
    on_postgres(|db| async move { db.store.ping().await.unwrap() }).await;
}

// ---------------------------------------------------------------------------------------------
// Sandbox: reset, snapshot and restore of one tenant's data; fixtures
// ---------------------------------------------------------------------------------------------

/// A tenant with rows in several tables (bytes, flags, NULLs, JSON text), a credential and two
/// settings.
async fn populated_tenant(store: &Store) -> (TenantId, UserRecord, CustomerRecord) {
    let tenant = new_tenant(store).await;
    let user = new_user(store, tenant).await;
    let member = new_member(store, tenant, &user.guid).await;
    upsert_account(store, &account_record(tenant, &user.guid, &member.guid, "checking", T0)).await;
    upsert_account(store, &account_record(tenant, &user.guid, &member.guid, "savings", at(1))).await;
    enqueue(store, tenant, "members", member.guid.as_str(), r#"{"step":"login"}"#, at(5)).await;
    let customer = new_customer(store, tenant).await;
    let fs = funding_source_record(tenant, &customer.id, &unique("fp"), false, T0);
    let token =
        PaymentTokenRecord { token_hash: unique("tok"), tenant_id: tenant, expires_at: at(3_600_000), created_at: T0 };
    let endpoint = mx_endpoint(tenant, None, "https://example.com/mx");
    store
        .write(move |c| {
            Box::pin(async move {
                funding_sources::insert(c, &fs).await?;
                payment_tokens::insert(c, &token).await?;
                mx_webhooks::set_endpoint(c, &endpoint).await?;
                let settings =
                    PaymentSettings { open_banking: false, redirect_urls: vec!["https://example.com/r".into()] };
                tenants::set_payment_settings(c, tenant, &settings).await?;
                sandbox::set_fixtures(c, tenant, r#"{"institutions":[]}"#, T0).await.map(drop)
            })
        })
        .await
        .expect("populate the tenant");
    (tenant, user, customer)
}

async fn dump(store: &Store, tenant: TenantId) -> std::collections::BTreeMap<String, sandbox::Rows> {
    store.write(move |c| Box::pin(async move { sandbox::dump(c, tenant).await })).await.expect("dump the tenant")
}

fn count_of(counts: &[(&'static str, u64)], table: &str) -> u64 {
    counts.iter().find(|(t, _)| *t == table).map_or_else(|| panic!("no count for {table}"), |(_, n)| *n)
}

/// Reset and snapshot are complete by construction: every table with a `tenant_id` column is
/// listed (a migration that adds one fails here until it is), and the list is in an order in
/// which every foreign key points at an earlier table.
async fn sandbox_tables_list_every_tenant_scoped_table_parents_first(db: TestDb) {
    let (scoped, parents) = db
        .store
        .read(|mut c| async move {
            let scoped = sandbox::tenant_scoped_tables(&mut c).await?;
            let mut parents = Vec::new();
            for t in sandbox::TABLES {
                parents.push((t.name, sandbox::foreign_key_parents(&mut c, t.name).await?));
            }
            Ok::<_, StoreError>((scoped, parents))
        })
        .await
        .unwrap();
    let mut listed: Vec<&str> = sandbox::TABLES.iter().map(|t| t.name).collect();
    listed.sort_unstable();
    assert_eq!(scoped, listed, "tables with tenant_id vs sandbox::TABLES (add new tables with their role)");
    assert!(parents.iter().any(|(t, p)| *t == "accounts" && p.contains(&"members".to_owned())), "{parents:?}");
    for (i, (table, of)) in parents.iter().enumerate() {
        for parent in of {
            let earlier = sandbox::TABLES[..i].iter().any(|t| t.name == parent);
            assert!(
                parent == "tenants" || parent == table || earlier,
                "{table} refers to {parent}, which sandbox::TABLES lists after it"
            );
        }
    }
    let data: Vec<&str> = sandbox::data_tables().collect();
    assert!(data.contains(&"users") && data.contains(&"jobs") && !data.contains(&"payment_tokens"));
}

async fn sandbox_reset_deletes_the_tenants_data_and_keeps_its_credentials_settings_and_other_tenants(db: TestDb) {
    let store = &db.store;
    let (tenant, user, customer) = populated_tenant(store).await;
    let (other, other_user, _) = populated_tenant(store).await;
    let before_other = dump(store, other).await;

    let counts = store.write(move |c| Box::pin(async move { sandbox::reset(c, tenant).await })).await.unwrap();
    assert_eq!(counts.len(), sandbox::data_tables().count());
    assert_eq!(count_of(&counts, "users"), 1);
    assert_eq!(count_of(&counts, "members"), 1);
    assert_eq!(count_of(&counts, "accounts"), 2);
    assert_eq!(count_of(&counts, "jobs"), 1);
    assert_eq!(count_of(&counts, "customers"), 1);
    assert_eq!(count_of(&counts, "funding_sources"), 1);
    assert_eq!(count_of(&counts, "events"), 0);

    assert!(find_user(store, tenant, user.guid.as_str(), false).await.is_none());
    assert!(find_customer(store, tenant, &customer.id).await.is_none());
    assert!(dump(store, tenant).await.values().all(|r| r.rows.is_empty()));
    let (tokens, endpoints, settings, fixtures) = store
        .read(|mut c| async move {
            let tokens = sqlx::query("SELECT token_hash FROM payment_tokens WHERE tenant_id = $1")
                .bind(tenant.to_string())
                .fetch_all(&mut *c)
                .await?
                .len();
            Ok::<_, StoreError>((
                tokens,
                mx_webhooks::list_endpoints(&mut c, tenant).await?.len(),
                tenants::payment_settings(&mut c, tenant).await?,
                sandbox::fixtures(&mut c, tenant).await?,
            ))
        })
        .await
        .unwrap();
    assert_eq!((tokens, endpoints), (1, 1));
    assert!(!settings.open_banking);
    assert_eq!(fixtures.map(|f| f.document).as_deref(), Some(r#"{"institutions":[]}"#));

    assert!(find_user(store, other, other_user.guid.as_str(), false).await.is_some());
    assert_eq!(dump(store, other).await, before_other);
    // A reset of nothing is fine.
    let again = store.write(move |c| Box::pin(async move { sandbox::reset(c, tenant).await })).await.unwrap();
    assert!(again.iter().all(|(_, n)| *n == 0));
}

async fn sandbox_restore_of_a_dump_gives_back_the_same_rows(db: TestDb) {
    let store = &db.store;
    let (tenant, user, _) = populated_tenant(store).await;
    let snapshot = dump(store, tenant).await;
    assert_eq!(snapshot["accounts"].rows.len(), 2);
    assert!(!snapshot["accounts"].columns.contains(&"seq".to_owned()));
    let restored = snapshot.clone();
    let counts =
        store.write(move |c| Box::pin(async move { sandbox::restore(c, tenant, &restored).await })).await.unwrap();
    assert_eq!(count_of(&counts, "accounts"), 2);
    assert_eq!(dump(store, tenant).await, snapshot);
    assert_same(&find_user(store, tenant, user.guid.as_str(), false).await, &Some(user.clone()));

    // After a reset the dump brings everything back, in its order.
    store.write(move |c| Box::pin(async move { sandbox::reset(c, tenant).await })).await.unwrap();
    let again = snapshot.clone();
    store.write(move |c| Box::pin(async move { sandbox::restore(c, tenant, &again).await })).await.unwrap();
    assert_eq!(dump(store, tenant).await, snapshot);
    let jobs = claim(store, "members", at(10), 1_000, 10).await;
    assert_eq!(jobs.len(), 1, "the restored job runs");
}

async fn sandbox_restore_refuses_rows_of_another_tenant_unknown_tables_and_columns(db: TestDb) {
    let store = &db.store;
    let (tenant, _, _) = populated_tenant(store).await;
    let other = new_tenant(store).await;
    let snapshot = dump(store, tenant).await;
    let refused = |tables: std::collections::BTreeMap<String, sandbox::Rows>, into: TenantId| async move {
        match store.write(move |c| Box::pin(async move { sandbox::restore(c, into, &tables).await })).await {
            Err(StoreError::InvalidInput(message)) => message,
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    };
    assert!(refused(snapshot.clone(), other).await.contains("another tenant"));
    let mut unknown_table = snapshot.clone();
    unknown_table.insert("tenants".into(), sandbox::Rows::default());
    assert!(refused(unknown_table, tenant).await.contains("`tenants` is not a table of tenant data"));
    let mut unknown_column = snapshot.clone();
    unknown_column.get_mut("users").unwrap().columns[1] = "guid; DROP TABLE users".into();
    assert!(refused(unknown_column, tenant).await.contains("has no column"));
    let mut bad_cell = snapshot.clone();
    let users = bad_cell.get_mut("users").unwrap();
    let created = users.columns.iter().position(|c| c == "created_at").unwrap();
    users.rows[0][created] = sandbox::Cell::Text("yesterday".into());
    assert!(refused(bad_cell, tenant).await.contains("created_at"));
    // Nothing of a refused restore stayed: the tenant still has its data.
    assert_eq!(dump(store, tenant).await, snapshot);
}

/// Concurrent restores of one tenant take turns on its row: each replaces the data whole, none
/// fails on the other's rows.
async fn sandbox_concurrent_restores_of_one_tenant_each_replace_the_data_whole(db: TestDb) {
    let store = &db.store;
    let (tenant, _, _) = populated_tenant(store).await;
    let snapshot = dump(store, tenant).await;
    let runs = (0..4).map(|_| {
        let (store, tables) = (store.clone(), snapshot.clone());
        tokio::spawn(async move {
            store.write(move |c| Box::pin(async move { sandbox::restore(c, tenant, &tables).await })).await
        })
    });
    for run in futures::future::join_all(runs).await {
        run.unwrap().expect("every restore succeeds");
    }
    assert_eq!(dump(store, tenant).await, snapshot);
}

async fn sandbox_fixtures_are_stored_per_tenant_and_replaced(db: TestDb) {
    let store = &db.store;
    let (a, b) = (new_tenant(store).await, new_tenant(store).await);
    let read = |t: TenantId| store.read(move |mut c| async move { sandbox::fixtures(&mut c, t).await });
    let set = |t: TenantId, doc: &'static str, when: Timestamp| {
        store.write(move |c| Box::pin(async move { sandbox::set_fixtures(c, t, doc, when).await }))
    };
    assert_eq!(read(a).await.unwrap(), None);
    assert_eq!(set(a, "{\"v\":1}", at(5)).await.unwrap(), at(5).millis());
    assert_eq!(set(a, "{\"v\":2}", at(9)).await.unwrap(), at(9).millis(), "a later store is its own time");
    assert_eq!(set(a, "{\"v\":3}", at(9)).await.unwrap(), at(9).millis() + 1, "never the version it replaces");
    assert_eq!(set(b, "{\"b\":true}", T0).await.unwrap(), T0.millis());
    let stored = read(a).await.unwrap().unwrap();
    assert_eq!((stored.tenant, stored.version, stored.document.as_str()), (a, at(9).millis() + 1, "{\"v\":3}"));
    let mut versions = store.read(|mut c| async move { sandbox::fixture_versions(&mut c).await }).await.unwrap();
    versions.retain(|(t, _)| *t == a || *t == b);
    versions.sort_by_key(|(t, _)| t.to_string());
    let mut expected = vec![(a, at(9).millis() + 1), (b, T0.millis())];
    expected.sort_by_key(|(t, _)| t.to_string());
    assert_eq!(versions, expected);
}

/// Ten loads of one tenant's fixtures at once, all at the same instant: each gets a version of
/// its own (processes tell documents apart by it), and the document stored is the one given the
/// highest.
async fn sandbox_concurrent_fixture_loads_each_get_their_own_version_and_the_last_one_stays(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let loads: Vec<_> = (0..10)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let doc = format!("{{\"load\":{i}}}");
                let stored = doc.clone();
                let version = store
                    .write(move |c| Box::pin(async move { sandbox::set_fixtures(c, tenant, &stored, T0).await }))
                    .await
                    .unwrap();
                (version, doc)
            })
        })
        .collect();
    let mut answered = Vec::new();
    for load in loads {
        answered.push(load.await.unwrap());
    }
    let mut versions: Vec<i64> = answered.iter().map(|(v, _)| *v).collect();
    versions.sort_unstable();
    versions.dedup();
    assert_eq!(versions.len(), 10, "every load has a version of its own: {answered:?}");
    let last = answered.iter().max_by_key(|(v, _)| *v).unwrap();
    let stored = store.read(|mut c| async move { sandbox::fixtures(&mut c, tenant).await }).await.unwrap().unwrap();
    assert_eq!((stored.version, &stored.document), (last.0, &last.1));
}

/// A snapshot is portable between the backends: one taken on SQLite (flags as 0/1) restores on
/// PostgreSQL (flags as booleans) to the same records, and back.
#[tokio::test]
async fn a_dump_taken_on_sqlite_restores_on_postgres_to_the_same_records() {
    let taken = std::sync::Mutex::new(None);
    let cell = &taken;
    on_sqlite(|db| async move {
        let (tenant, user, customer) = populated_tenant(&db.store).await;
        let record = db.store.read(|mut c| async move { tenants::get(&mut c, tenant).await }).await.unwrap();
        *cell.lock().unwrap() = Some((record, user, customer, dump(&db.store, tenant).await));
    })
    .await;
    let (record, user, customer, sqlite_dump) = taken.lock().unwrap().take().unwrap();
    on_postgres(|db| async move {
        put_tenant(&db.store, &record).await;
        let (tenant, tables) = (record.id, sqlite_dump.clone());
        db.store.write(move |c| Box::pin(async move { sandbox::restore(c, tenant, &tables).await })).await.unwrap();
        assert_same(&find_user(&db.store, tenant, user.guid.as_str(), false).await, &Some(user.clone()));
        assert_same(&find_customer(&db.store, tenant, &customer.id).await, &Some(customer.clone()));
        let postgres_dump = dump(&db.store, tenant).await;
        assert_eq!(postgres_dump["accounts"].rows.len(), 2);
        // And back: PostgreSQL's booleans restore on SQLite.
        let back = postgres_dump.clone();
        let record = record.clone();
        on_sqlite(|db| async move {
            put_tenant(&db.store, &record).await;
            let tenant = record.id;
            db.store.write(move |c| Box::pin(async move { sandbox::restore(c, tenant, &back).await })).await.unwrap();
            assert_eq!(dump(&db.store, tenant).await, sqlite_dump);
        })
        .await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Schema parity
// ---------------------------------------------------------------------------------------------

/// `table.column` for every column the migrations created, in order.
async fn schema_columns(store: &Store) -> Vec<String> {
    let sql = match store.dialect() {
        Dialect::Sqlite => {
            "SELECT m.name || '.' || p.name AS col FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'"
        }
        Dialect::Postgres => {
            "SELECT table_name || '.' || column_name AS col FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'"
        }
    };
    let mut columns: Vec<String> = store
        .read(|mut c| async move {
            let rows = sqlx::query(sql).fetch_all(&mut *c).await?;
            Ok(rows.iter().map(|r| sqlx::Row::get::<String, _>(r, "col")).collect::<Vec<_>>())
        })
        .await
        .expect("list the schema's columns");
    columns.sort();
    columns
}

/// The two migration sets are written per dialect; they must still define the same tables
/// with the same columns, so every query in `repo` means the same on both.
#[tokio::test]
async fn sqlite_and_postgres_schemas_define_the_same_tables_and_columns() {
    let read = std::sync::Mutex::new(Vec::new());
    let cell = &read;
    on_sqlite(|db| async move { *cell.lock().unwrap() = schema_columns(&db.store).await }).await;
    let sqlite = std::mem::take(&mut *read.lock().unwrap());
    assert!(sqlite.iter().any(|c| c == "customers.email_key"), "the SQLite schema was read: {sqlite:?}");
    on_postgres(|db| async move { *cell.lock().unwrap() = schema_columns(&db.store).await }).await;
    let postgres = std::mem::take(&mut *read.lock().unwrap());
    if postgres.is_empty() {
        return;
    }
    assert_eq!(postgres.len(), sqlite.len(), "{sqlite:?}\n{postgres:?}");
    let only_sqlite: Vec<_> = sqlite.iter().filter(|c| !postgres.contains(c)).collect();
    let only_postgres: Vec<_> = postgres.iter().filter(|c| !sqlite.contains(c)).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "only in SQLite: {only_sqlite:?}; only in PostgreSQL: {only_postgres:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Plaid Link
// ---------------------------------------------------------------------------------------------

fn plaid_item(tenant: TenantId, id: &str) -> PlaidItemRecord {
    PlaidItemRecord {
        id: id.to_owned(),
        tenant_id: tenant,
        client_user_id: "customer-1".into(),
        institution_id: "ins_109508".into(),
        accounts: r#"["acc-1"]"#.into(),
        login_required_at: None,
        access_token_hash: None,
        created_at: at(0),
        updated_at: at(0),
    }
}

fn plaid_link_token(tenant: TenantId, id: &str, hash: &str, item: Option<&str>) -> PlaidLinkTokenRecord {
    PlaidLinkTokenRecord {
        id: id.to_owned(),
        token_hash: hash.to_owned(),
        tenant_id: tenant,
        client_user_id: "customer-1".into(),
        item_id: item.map(str::to_owned),
        session_token_hash: None,
        stage: LinkStage::SelectInstitution,
        institution_id: None,
        mfa: None,
        expires_at: at(1_000),
        opened_at: None,
        session_expires_at: None,
        created_at: at(0),
    }
}

async fn put_plaid_item(store: &Store, item: &PlaidItemRecord) {
    let item = item.clone();
    store.write(move |c| Box::pin(async move { plaid::insert_item(c, &item).await })).await.expect("insert item");
}

async fn put_link_token(store: &Store, token: &PlaidLinkTokenRecord) {
    let token = token.clone();
    store
        .write(move |c| Box::pin(async move { plaid::insert_link_token(c, &token).await }))
        .await
        .expect("insert link token");
}

async fn plaid_items_round_trip_save_and_stay_in_their_tenant(db: TestDb) {
    let store = db.store;
    let (tenant, other) = (new_tenant(&store).await, new_tenant(&store).await);
    let item = plaid_item(tenant, &unique("item"));
    put_plaid_item(&store, &item).await;
    let id = item.id.clone();
    let found = store.read(|mut c| async move { plaid::find_item(&mut c, tenant, &id).await }).await.unwrap();
    assert_eq!(found.as_ref(), Some(&item));
    let id = item.id.clone();
    let stranger = store.read(|mut c| async move { plaid::find_item(&mut c, other, &id).await }).await.unwrap();
    assert_eq!(stranger, None, "another tenant's item is invisible");

    let changed = PlaidItemRecord {
        accounts: r#"["acc-1","acc-2"]"#.into(),
        login_required_at: Some(at(50)),
        updated_at: at(50),
        ..item.clone()
    };
    let saved = changed.clone();
    let held = store
        .write(move |c| {
            Box::pin(async move {
                let held = plaid::find_item_for_update(c, tenant, &saved.id).await?;
                plaid::save_item(c, &saved).await?;
                Ok(held)
            })
        })
        .await
        .unwrap();
    assert_eq!(held, Some(item.clone()));
    let id = item.id.clone();
    let found = store.read(|mut c| async move { plaid::find_item(&mut c, tenant, &id).await }).await.unwrap();
    assert_eq!(found, Some(changed));
    let missing = PlaidItemRecord { id: "no-such-item".into(), ..item };
    let e = store.write(move |c| Box::pin(async move { plaid::save_item(c, &missing).await })).await.unwrap_err();
    assert!(matches!(e, StoreError::NotFound), "{e:?}");
}

async fn plaid_link_tokens_open_once_before_expiry_and_sessions_advance_only_from_their_stage(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let item = plaid_item(tenant, &unique("item"));
    put_plaid_item(&store, &item).await;
    let (a, b) = (unique("link-a"), unique("link-b"));
    put_link_token(&store, &plaid_link_token(tenant, &a, "hash-a", None)).await;
    put_link_token(&store, &plaid_link_token(tenant, &b, "hash-b", Some(&item.id))).await;
    let open = |hash: &'static str, session: &'static str, now: i64| {
        let store = store.clone();
        async move {
            store
                .write(move |c| Box::pin(async move { plaid::open_link_token(c, hash, session, at(now), 500).await }))
                .await
                .unwrap()
        }
    };
    let opened = open("hash-a", "ses-a", 10).await.expect("an unopened token opens");
    assert_eq!((opened.id.as_str(), opened.tenant_id), (a.as_str(), tenant));
    assert_eq!((opened.opened_at, opened.session_expires_at), (Some(at(10)), Some(at(510))));
    assert!(open("hash-a", "ses-a2", 20).await.is_none(), "a link token opens only once");
    assert!(open("hash-b", "ses-b", 1_000).await.is_none(), "an expired link token does not open");
    assert!(open("hash-z", "ses-z", 10).await.is_none());
    let unopened = store.read(|mut c| async move { plaid::find_link_token(&mut c, "hash-b").await }).await.unwrap();
    assert_eq!(unopened.map(|t| (t.opened_at, t.item_id)), Some((None, Some(item.id.clone()))));

    let find = |hash: &'static str, now: i64| {
        let store = store.clone();
        async move {
            store.read(move |mut c| async move { plaid::find_link_session(&mut c, hash, at(now)).await }).await.unwrap()
        }
    };
    let session = find("ses-a", 100).await.expect("a live session");
    assert_eq!(session.stage, LinkStage::SelectInstitution);
    assert!(find("ses-a", 510).await.is_none(), "an expired session is gone");
    assert!(find("hash-a", 100).await.is_none(), "the link token is not a session token");

    let moved = PlaidLinkTokenRecord {
        stage: LinkStage::Mfa,
        institution_id: Some("ins_109508".into()),
        mfa: Some(r#"{"kind":"device"}"#.into()),
        ..session.clone()
    };
    let advance = |next: PlaidLinkTokenRecord, from: LinkStage| {
        let store = store.clone();
        async move {
            store
                .write(move |c| Box::pin(async move { plaid::advance_link_session(c, &next, from).await }))
                .await
                .unwrap()
        }
    };
    assert!(advance(moved.clone(), LinkStage::SelectInstitution).await);
    assert!(!advance(moved.clone(), LinkStage::SelectInstitution).await, "only from the stage it stands at");
    assert_eq!(find("ses-a", 100).await, Some(moved));
}

async fn plaid_public_tokens_redeem_once_for_their_user_before_expiry_while_the_item_is_logged_in(db: TestDb) {
    let store = db.store;
    let (tenant, other) = (new_tenant(&store).await, new_tenant(&store).await);
    let item = plaid_item(tenant, &unique("item"));
    put_plaid_item(&store, &item).await;
    let link = unique("link");
    put_link_token(&store, &plaid_link_token(tenant, &link, &unique("hash"), None)).await;
    let token = |hash: &str| PlaidPublicTokenRecord {
        id: unique("pub"),
        token_hash: hash.to_owned(),
        tenant_id: tenant,
        link_token_id: link.clone(),
        client_user_id: "customer-1".into(),
        item_id: item.id.clone(),
        account_id: "acc-1".into(),
        expires_at: at(1_000),
        used_at: None,
        created_at: at(0),
    };
    for t in [token("pub-a"), token("pub-b"), token("pub-c")] {
        store.write(move |c| Box::pin(async move { plaid::insert_public_token(c, &t).await })).await.unwrap();
    }
    let redeem = |tenant: TenantId, hash: &'static str, user: &'static str, now: i64| {
        let store = store.clone();
        async move {
            store
                .write(move |c| {
                    Box::pin(async move { plaid::redeem_public_token(c, tenant, hash, user, at(now)).await })
                })
                .await
                .unwrap()
        }
    };
    assert!(redeem(other, "pub-a", "customer-1", 10).await.is_none(), "not another tenant's");
    assert!(redeem(tenant, "pub-a", "customer-2", 10).await.is_none(), "not another user's");
    let spent = redeem(tenant, "pub-a", "customer-1", 10).await.expect("redeems");
    assert_eq!((spent.used_at, spent.account_id.as_str()), (Some(at(10)), "acc-1"));
    assert!(redeem(tenant, "pub-a", "customer-1", 20).await.is_none(), "only once");
    assert!(redeem(tenant, "pub-b", "customer-1", 1_000).await.is_none(), "not once expired");
    let found =
        store.read(|mut c| async move { plaid::find_public_token(&mut c, tenant, "pub-a").await }).await.unwrap();
    assert_eq!(found.and_then(|t| t.used_at), Some(at(10)));
    let hidden =
        store.read(|mut c| async move { plaid::find_public_token(&mut c, other, "pub-a").await }).await.unwrap();
    assert_eq!(hidden, None);

    let locked = PlaidItemRecord { login_required_at: Some(at(30)), ..item.clone() };
    store.write(move |c| Box::pin(async move { plaid::save_item(c, &locked).await })).await.unwrap();
    assert!(redeem(tenant, "pub-c", "customer-1", 40).await.is_none(), "not while the item needs a login");
    let back = PlaidItemRecord { login_required_at: None, ..item };
    store.write(move |c| Box::pin(async move { plaid::save_item(c, &back).await })).await.unwrap();
    assert!(redeem(tenant, "pub-c", "customer-1", 50).await.is_some(), "once logged in again");
}

async fn plaid_access_tokens_find_their_item_and_processor_tokens_redeem_once(db: TestDb) {
    let store = db.store;
    let (tenant, other) = (new_tenant(&store).await, new_tenant(&store).await);
    let item = PlaidItemRecord { access_token_hash: Some("access-hash".into()), ..plaid_item(tenant, &unique("item")) };
    put_plaid_item(&store, &item).await;
    let found =
        store.read(|mut c| async move { plaid::find_item_by_access_token(&mut c, tenant, "access-hash").await });
    assert_eq!(found.await.unwrap(), Some(item.clone()));
    let hidden =
        store.read(|mut c| async move { plaid::find_item_by_access_token(&mut c, other, "access-hash").await });
    assert_eq!(hidden.await.unwrap(), None, "another tenant's access token finds nothing");

    let link = unique("link");
    put_link_token(&store, &plaid_link_token(tenant, &link, &unique("hash"), None)).await;
    let public = PlaidPublicTokenRecord {
        id: unique("pub"),
        token_hash: "pub-x".into(),
        tenant_id: tenant,
        link_token_id: link,
        client_user_id: "someone".into(),
        item_id: item.id.clone(),
        account_id: "acc-1".into(),
        expires_at: at(1_000),
        used_at: None,
        created_at: at(0),
    };
    store.write(move |c| Box::pin(async move { plaid::insert_public_token(c, &public).await })).await.unwrap();
    let exchange = |tenant: TenantId, now: i64| {
        let store = store.clone();
        async move {
            store
                .write(move |c| {
                    Box::pin(async move { plaid::exchange_public_token(c, tenant, "pub-x", at(now)).await })
                })
                .await
                .unwrap()
        }
    };
    assert!(exchange(other, 10).await.is_none(), "not another tenant's");
    assert_eq!(exchange(tenant, 10).await.map(|t| t.used_at), Some(Some(at(10))), "whoever's user it is");
    assert!(exchange(tenant, 20).await.is_none(), "once");

    let token = PlaidProcessorTokenRecord {
        id: unique("proc"),
        token_hash: "proc-x".into(),
        tenant_id: tenant,
        item_id: item.id.clone(),
        account_id: "acc-1".into(),
        processor: "dwolla".into(),
        used_at: None,
        created_at: at(0),
    };
    store.write(move |c| Box::pin(async move { plaid::insert_processor_token(c, &token).await })).await.unwrap();
    let redeem = |tenant: TenantId, processor: &'static str, now: i64| {
        let store = store.clone();
        async move {
            store
                .write(move |c| {
                    Box::pin(
                        async move { plaid::redeem_processor_token(c, tenant, "proc-x", processor, at(now)).await },
                    )
                })
                .await
                .unwrap()
        }
    };
    assert!(redeem(other, "dwolla", 10).await.is_none(), "not another tenant's");
    assert!(redeem(tenant, "other-processor", 10).await.is_none(), "only for its processor");
    let spent = redeem(tenant, "dwolla", 10).await.expect("redeems");
    assert_eq!((spent.item_id.as_str(), spent.used_at), (item.id.as_str(), Some(at(10))));
    assert!(redeem(tenant, "dwolla", 20).await.is_none(), "once");
    let found = store.read(|mut c| async move { plaid::find_processor_token(&mut c, tenant, "proc-x").await });
    assert_eq!(found.await.unwrap().and_then(|t| t.used_at), Some(at(10)));
    let hidden = store.read(|mut c| async move { plaid::find_processor_token(&mut c, other, "proc-x").await });
    assert_eq!(hidden.await.unwrap(), None);

    let second = PlaidProcessorTokenRecord {
        id: unique("proc"),
        token_hash: "proc-y".into(),
        tenant_id: tenant,
        item_id: item.id.clone(),
        account_id: "acc-1".into(),
        processor: "dwolla".into(),
        used_at: None,
        created_at: at(0),
    };
    store.write(move |c| Box::pin(async move { plaid::insert_processor_token(c, &second).await })).await.unwrap();
    let locked = PlaidItemRecord { login_required_at: Some(at(30)), ..item };
    store.write(move |c| Box::pin(async move { plaid::save_item(c, &locked).await })).await.unwrap();
    let spent = store
        .write(move |c| {
            Box::pin(async move { plaid::redeem_processor_token(c, tenant, "proc-y", "dwolla", at(40)).await })
        })
        .await
        .unwrap();
    assert!(spent.is_none(), "not while the item needs a login");
}

// ---------------------------------------------------------------------------------------------
// MX webhooks
// ---------------------------------------------------------------------------------------------

fn mx_endpoint(tenant: TenantId, webhook_type: Option<MxWebhookType>, url: &str) -> MxWebhookEndpointRecord {
    MxWebhookEndpointRecord {
        tenant_id: tenant,
        webhook_type,
        url: url.to_owned(),
        basic_username: None,
        basic_password: None,
        created_at: T0,
        updated_at: T0,
    }
}

async fn mx_endpoints(store: &Store, tenant: TenantId) -> Vec<MxWebhookEndpointRecord> {
    store.read(|mut c| async move { mx_webhooks::list_endpoints(&mut c, tenant).await }).await.expect("list endpoints")
}

async fn mx_webhook_endpoints_set_replace_list_delete_and_clear_per_tenant(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let other = new_tenant(&store).await;
    let all = mx_endpoint(tenant, None, "https://example.com/all");
    let member = MxWebhookEndpointRecord {
        basic_username: Some("hooks".into()),
        basic_password: Some(vec![9, 8, 7]),
        ..mx_endpoint(tenant, Some(MxWebhookType::Member), "https://example.com/member")
    };
    let theirs = mx_endpoint(other, None, "https://example.org/all");
    for e in [&member, &all, &theirs] {
        let e = e.clone();
        store.write(move |c| Box::pin(async move { mx_webhooks::set_endpoint(c, &e).await })).await.unwrap();
    }
    assert_eq!(mx_endpoints(&store, tenant).await, vec![all.clone(), member.clone()], "all-types first");
    assert_eq!(mx_endpoints(&store, other).await, vec![theirs.clone()]);

    // Setting again replaces url and credentials and keeps the creation time.
    let replaced = MxWebhookEndpointRecord {
        url: "https://example.com/members".into(),
        basic_username: None,
        basic_password: None,
        created_at: at(500),
        updated_at: at(1_000),
        ..member.clone()
    };
    let r = replaced.clone();
    store.write(move |c| Box::pin(async move { mx_webhooks::set_endpoint(c, &r).await })).await.unwrap();
    let expected = MxWebhookEndpointRecord { created_at: T0, ..replaced };
    assert_eq!(mx_endpoints(&store, tenant).await, vec![all.clone(), expected.clone()]);

    let delete = |tenant: TenantId, t: Option<MxWebhookType>| {
        let store = store.clone();
        async move {
            store
                .write(move |c| Box::pin(async move { mx_webhooks::delete_endpoint(c, tenant, t).await }))
                .await
                .unwrap()
        }
    };
    assert!(!delete(other, Some(MxWebhookType::Member)).await, "another tenant's endpoint is not there");
    assert!(!delete(tenant, Some(MxWebhookType::User)).await);
    assert!(delete(tenant, None).await);
    assert_eq!(mx_endpoints(&store, tenant).await, vec![expected]);
    assert!(!delete(tenant, None).await);
    let n = store.write(move |c| Box::pin(async move { mx_webhooks::clear_endpoints(c, tenant).await })).await.unwrap();
    assert_eq!(n, 1);
    assert!(mx_endpoints(&store, tenant).await.is_empty());
    assert_eq!(mx_endpoints(&store, other).await, vec![theirs]);
}

fn mx_webhook(tenant: TenantId, t: MxWebhookType, created: Timestamp) -> MxWebhookRecord {
    MxWebhookRecord {
        guid: format!("WHK-{}", uuid::Uuid::new_v4()),
        tenant_id: tenant,
        webhook_type: t,
        endpoint: None,
        url: "https://example.com/all".into(),
        body: format!("{{\"type\":\"{t}\"}}"),
        attempts: "[]".into(),
        created_at: created,
    }
}

async fn mx_webhooks_only_unattempted_ones_are_deleted(db: TestDb) {
    let store = db.store;
    let (tenant, other) = (new_tenant(&store).await, new_tenant(&store).await);
    let fresh = mx_webhook(tenant, MxWebhookType::MicroDeposit, at(1));
    let tried = MxWebhookRecord {
        attempts: "[{\"status\":500}]".into(),
        ..mx_webhook(tenant, MxWebhookType::MicroDeposit, at(2))
    };
    for w in [&fresh, &tried] {
        let w = w.clone();
        store.write(move |c| Box::pin(async move { mx_webhooks::insert_webhook(c, &w).await })).await.unwrap();
    }
    let delete = |tenant: TenantId, guid: String| {
        let store = store.clone();
        async move {
            store
                .write(move |c| {
                    Box::pin(async move { mx_webhooks::delete_unattempted_webhook(c, tenant, &guid).await })
                })
                .await
                .unwrap()
        }
    };
    assert!(!delete(other, fresh.guid.clone()).await, "another tenant's webhook stays");
    assert!(!delete(tenant, tried.guid.clone()).await, "an attempted webhook is history");
    assert!(delete(tenant, fresh.guid.clone()).await);
    assert!(!delete(tenant, fresh.guid.clone()).await, "once");
    let find = |guid: String| {
        let store = store.clone();
        async move {
            store.read(|mut c| async move { mx_webhooks::find_webhook(&mut c, tenant, &guid).await }).await.unwrap()
        }
    };
    assert!(find(fresh.guid.clone()).await.is_none());
    assert!(find(tried.guid.clone()).await.is_some());
}

async fn mx_webhooks_insert_find_save_and_list_newest_first_by_type_per_tenant(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let other = new_tenant(&store).await;
    let a = mx_webhook(tenant, MxWebhookType::Member, at(0));
    let b = MxWebhookRecord { endpoint: Some(MxWebhookType::User), ..mx_webhook(tenant, MxWebhookType::User, at(1)) };
    let c3 = mx_webhook(tenant, MxWebhookType::Member, at(2));
    let o = mx_webhook(other, MxWebhookType::Member, at(3));
    for w in [&a, &b, &c3, &o] {
        let w = w.clone();
        store.write(move |c| Box::pin(async move { mx_webhooks::insert_webhook(c, &w).await })).await.unwrap();
    }
    let find = |tenant: TenantId, guid: String| {
        let store = store.clone();
        async move {
            store.read(|mut c| async move { mx_webhooks::find_webhook(&mut c, tenant, &guid).await }).await.unwrap()
        }
    };
    assert_eq!(find(tenant, b.guid.clone()).await, Some(b.clone()));
    assert_eq!(find(other, b.guid.clone()).await, None, "seen from another tenant");
    assert_eq!(find(tenant, "WHK-none".into()).await, None);

    let list = |t: Option<MxWebhookType>, limit: i64, offset: i64| {
        let store = store.clone();
        async move {
            store
                .read(|mut c| async move { mx_webhooks::list_webhooks(&mut c, tenant, t, limit, offset).await })
                .await
                .unwrap()
        }
    };
    let page = list(None, 10, 0).await;
    assert_eq!(page.total, 3);
    assert_eq!(page.items, vec![c3.clone(), b.clone(), a.clone()], "newest first");
    let page = list(Some(MxWebhookType::Member), 1, 1).await;
    assert_eq!((page.total, page.items), (2, vec![a.clone()]));
    assert_eq!(list(Some(MxWebhookType::Balance), 10, 0).await.total, 0);

    // Save writes back only the attempts, under a lock, within the tenant.
    let saved = MxWebhookRecord { attempts: "[{\"id\":\"x\"}]".into(), ..a.clone() };
    let attempt = MxWebhookRecord { url: "https://attacker.example/".into(), body: "{}".into(), ..saved.clone() };
    let (guid, expected) = (a.guid.clone(), saved.clone());
    store
        .write(move |c| {
            Box::pin(async move {
                mx_webhooks::save_webhook(c, &attempt).await?;
                assert_eq!(mx_webhooks::find_webhook_for_update(c, tenant, &guid).await?, Some(expected));
                assert_eq!(mx_webhooks::find_webhook_for_update(c, other, &guid).await?, None);
                Ok(())
            })
        })
        .await
        .unwrap();
    assert_eq!(find(tenant, a.guid.clone()).await, Some(saved.clone()));
    let stolen = MxWebhookRecord { tenant_id: other, ..saved };
    assert_not_found(store.write(move |c| Box::pin(async move { mx_webhooks::save_webhook(c, &stolen).await })).await);
}

// ---------------------------------------------------------------------------------------------
// Statements
// ---------------------------------------------------------------------------------------------

fn statement_record(account: &AccountRecord, period_start_day: i64, created_at: Timestamp) -> StatementRecord {
    StatementRecord {
        guid: format!("STA-{}-{period_start_day}", account.guid),
        tenant_id: account.tenant_id,
        user_guid: account.user_guid.clone(),
        member_guid: account.member_guid.clone(),
        account_guid: account.guid.clone(),
        period_start_day,
        period_end_day: period_start_day + 29,
        opening_balance_cents: -12_345,
        closing_balance_cents: 987_654_321,
        content_hash: format!("{:064x}", period_start_day),
        created_at,
        updated_at: created_at.plus_millis(1),
    }
}

async fn put_statement(store: &Store, s: &StatementRecord) -> Result<(), StoreError> {
    let s = s.clone();
    store.write(move |c| Box::pin(async move { statements::insert(c, &s).await })).await
}

async fn statement_page(store: &Store, of: &StatementRecord, req: PageRequest) -> (i64, Vec<String>) {
    let (t, u, m) = (of.tenant_id, of.user_guid.clone(), of.member_guid.clone());
    let found = store.read(|mut c| async move { statements::list(&mut c, t, &u, &m, req).await }).await.unwrap();
    (found.total, found.items.into_iter().map(|s| s.guid).collect())
}

async fn all_statements(store: &Store, tenant: TenantId, user: &UserGuid, member: &MemberGuid) -> Vec<StatementRecord> {
    let (u, m) = (user.clone(), member.clone());
    store.read(|mut c| async move { statements::all(&mut c, tenant, &u, &m).await }).await.unwrap()
}

async fn find_statement(
    store: &Store,
    tenant: TenantId,
    user: &UserGuid,
    member: &MemberGuid,
    guid: &str,
) -> Option<StatementRecord> {
    let (u, m, g) = (user.clone(), member.clone(), guid.to_owned());
    store.read(|mut c| async move { statements::find(&mut c, tenant, &u, &m, &g).await }).await.unwrap()
}

async fn statements_insert_save_list_find_per_member_and_go_with_their_member(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let user = new_user(&store, tenant).await;
    let member = new_member(&store, tenant, &user.guid).await;
    let checking = upsert_account(&store, &account_record(tenant, &user.guid, &member.guid, "checking", T0)).await;
    let savings = upsert_account(&store, &account_record(tenant, &user.guid, &member.guid, "savings", T0)).await;

    // Two months of two accounts, written oldest first.
    let (march, april) = (20_513, 20_544);
    let made = [
        statement_record(&checking, march, at(1)),
        statement_record(&savings, march, at(2)),
        statement_record(&checking, april, at(3)),
        statement_record(&savings, april, at(4)),
    ];
    for s in &made {
        put_statement(&store, s).await.expect("insert statement");
    }
    // One statement per account and period.
    let twin = StatementRecord { guid: "STA-twin".into(), ..made[0].clone() };
    assert!(matches!(put_statement(&store, &twin).await, Err(StoreError::Conflict(_))));

    // Newest period first, then in the order they were made; every field round-trips.
    let all = all_statements(&store, tenant, &user.guid, &member.guid).await;
    let expected = [&made[2], &made[3], &made[0], &made[1]];
    assert_eq!(all.len(), 4);
    for (got, want) in all.iter().zip(expected) {
        assert_same(got, want);
    }
    let order: Vec<String> = expected.iter().map(|s| s.guid.clone()).collect();
    assert_eq!(statement_page(&store, &made[0], page(1, 3)).await, (4, order[..3].to_vec()));
    assert_eq!(statement_page(&store, &made[0], page(2, 3)).await, (4, order[3..].to_vec()));
    assert_eq!(statement_page(&store, &made[0], page(3, 3)).await, (4, vec![]));

    // A refetch rewrites balances, hash and update time only.
    let refreshed = StatementRecord {
        opening_balance_cents: 1,
        closing_balance_cents: 2,
        content_hash: "f".repeat(64),
        period_end_day: 0,
        created_at: at(99),
        updated_at: at(100),
        ..made[0].clone()
    };
    let r = refreshed.clone();
    store.write(move |c| Box::pin(async move { statements::save(c, &r).await })).await.expect("save statement");
    let found = find_statement(&store, tenant, &user.guid, &member.guid, &made[0].guid).await.expect("found");
    assert_same(
        &found,
        &StatementRecord { period_end_day: made[0].period_end_day, created_at: made[0].created_at, ..refreshed },
    );
    let ghost = StatementRecord { guid: "STA-ghost".into(), ..made[0].clone() };
    assert_not_found(store.write(move |c| Box::pin(async move { statements::save(c, &ghost).await })).await);

    // Only the member's own user, in its own tenant, sees them.
    let other_tenant = new_tenant(&store).await;
    let other_user = new_user(&store, tenant).await;
    let other_member = new_member(&store, tenant, &user.guid).await;
    assert!(find_statement(&store, other_tenant, &user.guid, &member.guid, &made[0].guid).await.is_none());
    assert!(find_statement(&store, tenant, &other_user.guid, &member.guid, &made[0].guid).await.is_none());
    assert!(find_statement(&store, tenant, &user.guid, &other_member.guid, &made[0].guid).await.is_none());
    assert!(find_statement(&store, tenant, &user.guid, &member.guid, "STA-nope").await.is_none());
    assert!(all_statements(&store, other_tenant, &user.guid, &member.guid).await.is_empty());
    let foreign = StatementRecord { tenant_id: other_tenant, ..refreshed_copy(&made[1]) };
    assert_not_found(store.write(move |c| Box::pin(async move { statements::save(c, &foreign).await })).await);

    // They go with their member.
    let (t, g) = (tenant, member.guid.clone());
    store.write(move |c| Box::pin(async move { members::delete(c, t, &g).await })).await.expect("delete member");
    assert!(all_statements(&store, tenant, &user.guid, &member.guid).await.is_empty());
    assert_eq!(statement_page(&store, &made[0], page(1, 25)).await, (0, vec![]));
}

fn refreshed_copy(s: &StatementRecord) -> StatementRecord {
    StatementRecord { content_hash: "0".repeat(64), updated_at: s.updated_at.plus_millis(1), ..s.clone() }
}

// ---------------------------------------------------------------------------------------------
// Bank transfers (the ACH legs the sandbox processes)
// ---------------------------------------------------------------------------------------------

/// A pending transfer between two funding sources of `customer`, for the legs to hang on.
fn leg_parent(tenant: TenantId, customer: &str, source: &str, destination: &str, at: Timestamp) -> TransferRecord {
    TransferRecord {
        id: unique("tr"),
        tenant_id: tenant,
        fee_of: None,
        source_id: source.to_owned(),
        destination_id: destination.to_owned(),
        source_customer_id: Some(customer.to_owned()),
        destination_customer_id: None,
        amount: openiav_core::money::Cents(1_00),
        status: TransferStatus::Pending,
        options: "{}".to_owned(),
        correlation_id: None,
        individual_ach_id: None,
        failure_code: None,
        created_at: at,
        updated_at: at,
    }
}

fn leg_record(
    t: &TransferRecord,
    direction: BankTransferDirection,
    bank: &str,
    status: TransferStatus,
    at: Timestamp,
) -> BankTransferRecord {
    BankTransferRecord {
        id: unique("bt"),
        tenant_id: t.tenant_id,
        transfer_id: t.id.clone(),
        direction,
        funding_source_id: bank.to_owned(),
        customer_id: t.source_customer_id.clone(),
        status,
        late_return: None,
        failure_code: None,
        created_at: at,
        updated_at: at,
    }
}

async fn put_leg_parent(store: &Store, t: &TransferRecord) {
    let t = t.clone();
    store.write(move |c| Box::pin(async move { transfers::insert(c, &t).await })).await.expect("insert transfer");
}

async fn put_leg(store: &Store, b: &BankTransferRecord) {
    let b = b.clone();
    store
        .write(move |c| Box::pin(async move { transfers::insert_bank_transfer(c, &b).await }))
        .await
        .expect("insert leg");
}

async fn find_leg(store: &Store, tenant: TenantId, id: &str) -> Option<BankTransferRecord> {
    let id = id.to_owned();
    store.read(|mut c| async move { transfers::find_bank_transfer(&mut c, tenant, &id).await }).await.expect("find leg")
}

async fn to_process(store: &Store, tenant: TenantId, limit: i64) -> Vec<String> {
    store
        .read(|mut c| async move { transfers::transfers_to_process(&mut c, tenant, limit).await })
        .await
        .expect("transfers to process")
}

async fn bank_transfers_round_trip_lock_per_transfer_and_the_newest_legs_are_processed_first(db: TestDb) {
    let store = db.store;
    let tenant = new_tenant(&store).await;
    let other = new_tenant(&store).await;
    let customer = new_customer(&store, tenant).await;
    let stranger = new_customer(&store, other).await;
    let bank = funding_source_record(tenant, &customer.id, "fp-leg-a", false, T0);
    let bank2 = funding_source_record(tenant, &customer.id, "fp-leg-b", false, T0);
    let far_bank = funding_source_record(other, &stranger.id, "fp-leg-c", false, T0);
    for f in [&bank, &bank2, &far_bank] {
        put_funding_source(&store, f).await;
    }
    let t1 = leg_parent(tenant, &customer.id, &bank.id, &bank2.id, at(0));
    let t2 = leg_parent(tenant, &customer.id, &bank.id, &bank2.id, at(1));
    let t3 = leg_parent(tenant, &customer.id, &bank.id, &bank2.id, at(2));
    let far = leg_parent(other, &stranger.id, &far_bank.id, &far_bank.id, at(3));
    for t in [&t1, &t2, &t3, &far] {
        put_leg_parent(&store, t).await;
    }
    use BankTransferDirection::{Credit, Debit};
    let l1 = leg_record(&t1, Debit, &bank.id, TransferStatus::Pending, at(10));
    let l2 = leg_record(&t2, Debit, &bank.id, TransferStatus::Processed, at(11));
    let l3 = BankTransferRecord {
        late_return: Some("R03".into()),
        ..leg_record(&t2, Credit, &bank2.id, TransferStatus::Processed, at(12))
    };
    let l4 = BankTransferRecord {
        failure_code: Some("R01".into()),
        ..leg_record(&t3, Debit, &bank.id, TransferStatus::Failed, at(13))
    };
    let lo = leg_record(&far, Debit, &far_bank.id, TransferStatus::Pending, at(14));
    for l in [&l1, &l2, &l3, &l4, &lo] {
        put_leg(&store, l).await;
    }

    // Every field round-trips; another tenant's ids are not found.
    for l in [&l1, &l2, &l3, &l4] {
        assert_same(&find_leg(&store, tenant, &l.id).await.expect("leg found"), l);
    }
    assert_same(&find_leg(&store, other, &lo.id).await.expect("far leg found"), &lo);
    assert!(find_leg(&store, other, &l1.id).await.is_none());
    assert!(find_leg(&store, tenant, &lo.id).await.is_none());
    assert!(find_leg(&store, tenant, "bt-nope").await.is_none());
    let dup = l1.clone();
    let twice = store.write(move |c| Box::pin(async move { transfers::insert_bank_transfer(c, &dup).await })).await;
    assert!(twice.is_err(), "a leg id is inserted once");

    // A transfer's legs, oldest first, read (and on PostgreSQL locked) inside a write.
    let id = t2.id.clone();
    let legs = store
        .write(move |c| Box::pin(async move { transfers::bank_transfers_of(c, tenant, &id).await }))
        .await
        .expect("legs of t2");
    assert_same(&legs, &vec![l2.clone(), l3.clone()]);
    let id = t2.id.clone();
    let none = store
        .write(move |c| Box::pin(async move { transfers::bank_transfers_of(c, other, &id).await }))
        .await
        .expect("legs of t2 elsewhere");
    assert!(none.is_empty());
    let id = t2.id.clone();
    let read =
        store.read(|mut c| async move { transfers::legs_of(&mut c, tenant, &id).await }).await.expect("read legs");
    assert_same(&read, &legs);

    // The newest legs still pending or owing a late return, as their transfers, newest first,
    // each transfer once; settled and failed legs are not processed again.
    assert_eq!(to_process(&store, tenant, 500).await, vec![t2.id.clone(), t1.id.clone()]);
    assert_eq!(to_process(&store, tenant, 1).await, vec![t2.id.clone()]);
    assert_eq!(to_process(&store, other, 500).await, vec![far.id.clone()]);

    // Saving writes status, late return, failure and time, and nothing else.
    let settled = BankTransferRecord {
        status: TransferStatus::Failed,
        late_return: None,
        failure_code: Some("R03".into()),
        updated_at: at(20),
        direction: Debit,
        funding_source_id: bank.id.clone(),
        created_at: at(99),
        ..l3.clone()
    };
    let s = settled.clone();
    store.write(move |c| Box::pin(async move { transfers::save_bank_transfer(c, &s).await })).await.expect("save leg");
    let expected = BankTransferRecord {
        status: TransferStatus::Failed,
        late_return: None,
        failure_code: Some("R03".into()),
        updated_at: at(20),
        ..l3.clone()
    };
    assert_same(&find_leg(&store, tenant, &l3.id).await.expect("saved leg"), &expected);
    assert_eq!(to_process(&store, tenant, 500).await, vec![t1.id.clone()]);
    let p = BankTransferRecord { status: TransferStatus::Processed, updated_at: at(21), ..l1.clone() };
    store.write(move |c| Box::pin(async move { transfers::save_bank_transfer(c, &p).await })).await.expect("save l1");
    assert!(to_process(&store, tenant, 500).await.is_empty());
    assert_eq!(to_process(&store, other, 500).await, vec![far.id.clone()]);

    // Another tenant cannot save a leg that is not its own.
    let stolen = BankTransferRecord { tenant_id: other, ..l1.clone() };
    assert_not_found(
        store.write(move |c| Box::pin(async move { transfers::save_bank_transfer(c, &stolen).await })).await,
    );
}

// ---------------------------------------------------------------------------------------------
// Transfers (creation, reading, lists)
// ---------------------------------------------------------------------------------------------

/// A bank of `customer` (`None`: the account's), stored.
async fn xfer_source(store: &Store, tenant: TenantId, customer: Option<&str>) -> FundingSourceRecord {
    let mut f = funding_source_record(tenant, "nobody", &unique("fp"), false, T0);
    f.customer_id = customer.map(str::to_owned);
    if customer.is_none() {
        // The account holds one bank: make each of its sources distinct by kind.
        f.kind = openiav_core::payments::FundingSourceKind::Balance;
    }
    put_funding_source(store, &f).await;
    f
}

fn xfer_record(
    tenant: TenantId,
    source: &FundingSourceRecord,
    destination: &FundingSourceRecord,
    cents: i64,
    at: Timestamp,
) -> openiav_store::records::TransferRecord {
    openiav_store::records::TransferRecord {
        id: unique("tr"),
        tenant_id: tenant,
        fee_of: None,
        source_id: source.id.clone(),
        destination_id: destination.id.clone(),
        source_customer_id: source.customer_id.clone(),
        destination_customer_id: destination.customer_id.clone(),
        amount: openiav_core::money::Cents(cents),
        status: openiav_core::payments::TransferStatus::Pending,
        options: r#"{"metadata":{"note":"é✓"}}"#.to_owned(),
        correlation_id: None,
        individual_ach_id: None,
        failure_code: None,
        created_at: at,
        updated_at: at.plus_millis(1),
    }
}

async fn put_xfer(store: &Store, t: &openiav_store::records::TransferRecord) {
    use openiav_store::repo::transfers;
    let t = t.clone();
    store.write(move |c| Box::pin(async move { transfers::insert(c, &t).await })).await.expect("insert transfer");
}

async fn list_xfers(
    store: &Store,
    tenant: TenantId,
    filter: openiav_store::repo::transfers::TransferFilter,
    limit: i64,
    offset: i64,
) -> (i64, Vec<String>) {
    use openiav_store::repo::transfers;
    let page = store
        .read(|mut c| async move { transfers::list(&mut c, tenant, &filter, limit, offset).await })
        .await
        .expect("list transfers");
    (page.total, page.items.into_iter().map(|t| t.id).collect())
}

async fn transfers_round_trip_save_lock_fees_and_stay_in_their_tenant(db: TestDb) {
    use openiav_store::repo::transfers;
    let store = &db.store;
    let tenant = new_tenant(store).await;
    let other = new_tenant(store).await;
    let a = new_customer(store, tenant).await;
    let b = new_customer(store, tenant).await;
    let a_bank = xfer_source(store, tenant, Some(&a.id)).await;
    let b_bank = xfer_source(store, tenant, Some(&b.id)).await;
    let account = xfer_source(store, tenant, None).await;

    let mut t = xfer_record(tenant, &a_bank, &b_bank, 1_234, T0);
    t.correlation_id = Some("corr-1".to_owned());
    put_xfer(store, &t).await;
    let mut fees = Vec::new();
    for (i, cents) in [100, 50].into_iter().enumerate() {
        let mut fee = xfer_record(tenant, &b_bank, &account, cents, T0.plus_millis(i as i64 + 1));
        fee.fee_of = Some(t.id.clone());
        put_xfer(store, &fee).await;
        fees.push(fee);
    }

    let (id, mine) = (t.id.clone(), t.id.clone());
    let found = store.read(|mut c| async move { transfers::find(&mut c, tenant, &id).await }).await.unwrap();
    assert_eq!(found.as_ref(), Some(&t));
    let id = t.id.clone();
    let elsewhere = store.read(|mut c| async move { transfers::find(&mut c, other, &id).await }).await.unwrap();
    assert_eq!(elsewhere, None, "another tenant does not see it");
    let listed = store.read(|mut c| async move { transfers::fees_of(&mut c, tenant, &mine).await }).await.unwrap();
    assert_eq!(listed, fees, "fees in creation order");
    let id = t.id.clone();
    let none = store.read(|mut c| async move { transfers::fees_of(&mut c, other, &id).await }).await.unwrap();
    assert!(none.is_empty());

    // Locked, changed and saved inside one write: status, failure and ACH id are kept.
    let id = t.id.clone();
    let saved = store
        .write(move |c| {
            Box::pin(async move {
                let mut locked = transfers::find_for_update(c, tenant, &id).await?.expect("the transfer");
                locked.status = openiav_core::payments::TransferStatus::Failed;
                locked.failure_code = Some("R01".to_owned());
                locked.individual_ach_id = Some("IDA7ZNXK".to_owned());
                locked.updated_at = T0.plus_millis(99);
                transfers::save(c, &locked).await?;
                Ok(locked)
            })
        })
        .await
        .unwrap();
    let id = t.id.clone();
    let reread = store.read(|mut c| async move { transfers::find(&mut c, tenant, &id).await }).await.unwrap();
    assert_eq!(reread.as_ref(), Some(&saved));
    let id = t.id.clone();
    let locked_elsewhere =
        store.write(move |c| Box::pin(async move { transfers::find_for_update(c, other, &id).await })).await.unwrap();
    assert_eq!(locked_elsewhere, None);
    let mut stranger = saved.clone();
    stranger.tenant_id = other;
    assert_not_found(store.write(move |c| Box::pin(async move { transfers::save(c, &stranger).await })).await);
}

async fn transfers_list_filters_searches_and_pages_newest_first(db: TestDb) {
    use openiav_core::payments::TransferStatus;
    use openiav_store::repo::transfers::TransferFilter;
    let store = &db.store;
    let tenant = new_tenant(store).await;
    let other = new_tenant(store).await;
    let mut a = customer_record(tenant, "ann@example.com", T0);
    a.first_name = "Ann".to_owned();
    put_customer(store, &a).await;
    let mut b = customer_record(tenant, "bob@example.com", T0);
    b.first_name = "Bob".to_owned();
    b.business_name = Some("Bob's_Bikes".to_owned());
    put_customer(store, &b).await;
    let a_bank = xfer_source(store, tenant, Some(&a.id)).await;
    let b_bank = xfer_source(store, tenant, Some(&b.id)).await;
    let account = xfer_source(store, tenant, None).await;

    // t0: a→b 1.00; t1: b→a 2.00 failed; t2: a→account 3.00 corr; fee on t0 charged to b.
    let t0 = xfer_record(tenant, &a_bank, &b_bank, 100, T0);
    let mut t1 = xfer_record(tenant, &b_bank, &a_bank, 200, T0.plus_millis(86_400_000));
    t1.status = TransferStatus::Failed;
    let mut t2 = xfer_record(tenant, &a_bank, &account, 300, T0.plus_millis(2 * 86_400_000));
    t2.correlation_id = Some("order-9".to_owned());
    let mut fee = xfer_record(tenant, &b_bank, &account, 10, T0.plus_millis(5));
    fee.fee_of = Some(t0.id.clone());
    for t in [&t0, &fee, &t1, &t2] {
        put_xfer(store, t).await;
    }
    let ids = |v: &[&openiav_store::records::TransferRecord]| v.iter().map(|t| t.id.clone()).collect::<Vec<_>>();
    let f = TransferFilter::default;

    assert_eq!(list_xfers(store, tenant, f(), 25, 0).await, (3, ids(&[&t2, &t1, &t0])), "newest first, fees aside");
    let with_fees = TransferFilter { include_fees: true, ..f() };
    assert_eq!(list_xfers(store, tenant, with_fees.clone(), 25, 0).await.0, 4);
    assert_eq!(list_xfers(store, tenant, with_fees.clone(), 2, 1).await, (4, ids(&[&t1, &fee])), "a page");
    let of_b = TransferFilter { customer_id: Some(b.id.clone()), include_fees: true, ..f() };
    assert_eq!(list_xfers(store, tenant, of_b, 25, 0).await, (3, ids(&[&t1, &fee, &t0])));
    let account_only = TransferFilter { account_party: true, include_fees: true, ..f() };
    assert_eq!(list_xfers(store, tenant, account_only, 25, 0).await, (2, ids(&[&t2, &fee])));
    let amounts = TransferFilter { min_cents: Some(150), max_cents: Some(300), ..f() };
    assert_eq!(list_xfers(store, tenant, amounts, 25, 0).await, (2, ids(&[&t2, &t1])));
    let dates = TransferFilter {
        created_from: Some(T0.plus_millis(1).millis()),
        created_before: Some(T0.plus_millis(2 * 86_400_000).millis()),
        ..f()
    };
    assert_eq!(list_xfers(store, tenant, dates, 25, 0).await, (1, ids(&[&t1])));
    let failed = TransferFilter { statuses: vec!["failed".to_owned(), "cancelled".to_owned()], ..f() };
    assert_eq!(list_xfers(store, tenant, failed, 25, 0).await, (1, ids(&[&t1])));
    let corr = TransferFilter { correlation_id: Some("order-9".to_owned()), ..f() };
    assert_eq!(list_xfers(store, tenant, corr, 25, 0).await, (1, ids(&[&t2])));
    let search = |text: &str| TransferFilter { search: Some(text.to_owned()), ..f() };
    assert_eq!(list_xfers(store, tenant, search("BOB@EXAMPLE"), 25, 0).await, (2, ids(&[&t1, &t0])));
    assert_eq!(list_xfers(store, tenant, search("ann"), 25, 0).await.0, 3);
    assert_eq!(list_xfers(store, tenant, search("s_b"), 25, 0).await.0, 2, "LIKE wildcards are literal");
    assert_eq!(list_xfers(store, tenant, search("x_b"), 25, 0).await.0, 0);
    assert_eq!(list_xfers(store, tenant, search(&a.id), 25, 0).await.0, 3, "by customer id");
    assert_eq!(list_xfers(store, other, with_fees, 25, 0).await, (0, vec![]), "another tenant lists none");
}

async fn transfers_sent_since_counts_live_sends_and_legs_of_reads_oldest_first(db: TestDb) {
    use openiav_core::payments::{BankTransferDirection, TransferStatus};
    use openiav_store::records::BankTransferRecord;
    use openiav_store::repo::transfers;
    let store = &db.store;
    let tenant = new_tenant(store).await;
    let other = new_tenant(store).await;
    let a = new_customer(store, tenant).await;
    let b = new_customer(store, tenant).await;
    let a_bank = xfer_source(store, tenant, Some(&a.id)).await;
    let b_bank = xfer_source(store, tenant, Some(&b.id)).await;

    let sent = |tenant: TenantId, customer: String, since: Timestamp| async move {
        store.read(|mut c| async move { transfers::sent_since(&mut c, tenant, &customer, since.millis()).await }).await
    };
    assert_eq!(sent(tenant, a.id.clone(), T0).await.unwrap(), 0, "nothing sent yet");
    let early = xfer_record(tenant, &a_bank, &b_bank, 1_000, T0.plus_millis(-1));
    let pending = xfer_record(tenant, &a_bank, &b_bank, 200, T0);
    let mut processed = xfer_record(tenant, &a_bank, &b_bank, 30, T0.plus_millis(1));
    processed.status = TransferStatus::Processed;
    let mut cancelled = xfer_record(tenant, &a_bank, &b_bank, 4_000, T0.plus_millis(2));
    cancelled.status = TransferStatus::Cancelled;
    let received = xfer_record(tenant, &b_bank, &a_bank, 5_000, T0.plus_millis(3));
    let mut fee = xfer_record(tenant, &a_bank, &b_bank, 6_000, T0.plus_millis(4));
    fee.fee_of = Some(pending.id.clone());
    for t in [&early, &pending, &processed, &cancelled, &received, &fee] {
        put_xfer(store, t).await;
    }
    assert_eq!(sent(tenant, a.id.clone(), T0).await.unwrap(), 230);
    assert_eq!(sent(tenant, a.id.clone(), T0.plus_millis(-1)).await.unwrap(), 1_230);
    assert_eq!(sent(other, a.id.clone(), T0).await.unwrap(), 0, "another tenant counts none");

    let leg = |direction, at: Timestamp| BankTransferRecord {
        id: unique("bt"),
        tenant_id: tenant,
        transfer_id: pending.id.clone(),
        direction,
        funding_source_id: a_bank.id.clone(),
        customer_id: Some(a.id.clone()),
        status: TransferStatus::Pending,
        late_return: None,
        failure_code: None,
        created_at: at,
        updated_at: at,
    };
    let legs = vec![leg(BankTransferDirection::Debit, T0), leg(BankTransferDirection::Credit, T0.plus_millis(1))];
    let stored = legs.clone();
    store
        .write(move |c| {
            Box::pin(async move {
                for l in &stored {
                    transfers::insert_bank_transfer(c, l).await?;
                }
                Ok(())
            })
        })
        .await
        .unwrap();
    let id = pending.id.clone();
    let read = store.read(|mut c| async move { transfers::legs_of(&mut c, tenant, &id).await }).await.unwrap();
    assert_eq!(read, legs);
    let id = pending.id.clone();
    let none = store.read(|mut c| async move { transfers::legs_of(&mut c, other, &id).await }).await.unwrap();
    assert!(none.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Tenant clocks
// ---------------------------------------------------------------------------------------------

async fn clock_of(store: &Store, tenant: TenantId) -> Option<ClockSetting> {
    store.read(|mut c| async move { tenant_clocks::get(&mut c, tenant).await }).await.expect("read clock")
}

async fn set_clock(store: &Store, tenant: TenantId, setting: ClockSetting) {
    store
        .write(move |c| Box::pin(async move { tenant_clocks::set(c, tenant, setting, T0).await }))
        .await
        .expect("set clock");
}

async fn tenant_clocks_set_read_and_release_per_tenant(db: TestDb) {
    let store = db.store;
    let (tenant, other) = (new_tenant(&store).await, new_tenant(&store).await);
    let now = |tenant: TenantId, real: Timestamp| {
        let store = store.clone();
        async move { store.read(|mut c| async move { tenant_clocks::now(&mut c, tenant, real).await }).await.unwrap() }
    };
    assert_eq!(clock_of(&store, tenant).await, None, "the real clock is the default");
    assert_eq!(now(tenant, at(5)).await, at(5));

    set_clock(&store, tenant, ClockSetting::frozen(at(-60_000))).await;
    assert_eq!(clock_of(&store, tenant).await, Some(ClockSetting::frozen(at(-60_000))));
    assert_eq!((now(tenant, at(0)).await, now(tenant, at(99_000)).await), (at(-60_000), at(-60_000)));
    assert_eq!(now(other, at(7)).await, at(7), "another tenant keeps the real clock");

    set_clock(&store, tenant, ClockSetting::offset(3_600_000)).await;
    assert_eq!(now(tenant, at(10)).await, at(3_600_010));
    let real = openiav_core::clock::ManualClock::new(at(20));
    assert_eq!(
        store.now_for(&real, tenant).await.unwrap(),
        at(3_600_020),
        "the store's own read, given the real clock"
    );
    assert_eq!(store.now_for(&real, other).await.unwrap(), at(20));
    let locked =
        store.write(move |c| Box::pin(async move { tenant_clocks::get_for_update(c, tenant).await })).await.unwrap();
    assert_eq!(locked, Some(ClockSetting::offset(3_600_000)));

    let released = |tenant: TenantId| {
        let store = store.clone();
        async move { store.write(move |c| Box::pin(async move { tenant_clocks::delete(c, tenant).await })).await.unwrap() }
    };
    assert!(!released(other).await, "nothing to release");
    assert_eq!(clock_of(&store, tenant).await, Some(ClockSetting::offset(3_600_000)));
    assert!(released(tenant).await);
    assert_eq!((clock_of(&store, tenant).await, now(tenant, at(3)).await), (None, at(3)));
}

async fn jobs_fall_due_on_their_tenants_clock_and_wait_for_its_advance(db: TestDb) {
    let store = db.store;
    let (frozen, ahead, real) = (new_tenant(&store).await, new_tenant(&store).await, new_tenant(&store).await);
    set_clock(&store, frozen, ClockSetting::frozen(at(-10_000))).await;
    set_clock(&store, ahead, ClockSetting::offset(3_600_000)).await;
    let f = enqueue(&store, frozen, "q", "frozen", "{}", at(-5_000)).await;
    let a = enqueue(&store, ahead, "q", "ahead", "{}", at(3_000_000)).await;
    let r = enqueue(&store, real, "q", "real", "{}", at(1_000)).await;
    let next_due = || {
        let store = store.clone();
        async move { store.read(|mut c| async move { jobs::next_due(&mut c, "q").await }).await.unwrap() }
    };
    // The offset tenant's job came due 600 s before T0 on the real clock; the frozen one never will.
    assert_eq!(next_due().await, Some(at(3_000_000 - 3_600_000)));

    let long = 100_000_000;
    assert_eq!(seqs(&claim(&store, "q", T0, long, 10).await), vec![a], "due an hour ahead; the others are not");
    assert_eq!(seqs(&claim(&store, "q", at(1_000), long, 10).await), vec![r]);
    assert!(claim(&store, "q", at(1_000_000), 30_000, 10).await.is_empty(), "a frozen clock does not run on real time");

    set_clock(&store, frozen, ClockSetting::frozen(at(-5_000))).await;
    assert_eq!(next_due().await, Some(Timestamp::from_millis(0)), "due at once on the frozen clock");
    // While an advance holds the tenant's lease, workers leave its jobs to it.
    let taken = store
        .write(move |c| {
            Box::pin(async move {
                tenant_clocks::begin_advance(c, frozen, ClockSetting::frozen(at(-5_000)), at(1_000_000), 60_000).await
            })
        })
        .await
        .unwrap();
    assert!(taken);
    assert!(claim(&store, "q", at(1_000_000), 30_000, 10).await.is_empty());
    store.write(move |c| Box::pin(async move { tenant_clocks::end_advance(c, frozen).await })).await.unwrap();
    assert_eq!(seqs(&claim(&store, "q", at(1_000_000), 30_000, 10).await), vec![f]);
}

async fn tenant_clock_advance_lease_is_held_once_and_jobs_claim_one_once(db: TestDb) {
    let store = db.store;
    let (tenant, other) = (new_tenant(&store).await, new_tenant(&store).await);
    let begin = |real: Timestamp| {
        let store = store.clone();
        async move {
            store
                .write(move |c| {
                    Box::pin(async move {
                        tenant_clocks::begin_advance(c, tenant, ClockSetting::offset(0), real, 30_000).await
                    })
                })
                .await
                .unwrap()
        }
    };
    let racing = futures::future::join_all((0..6).map(|_| begin(T0))).await;
    assert_eq!(racing.iter().filter(|t| **t).count(), 1, "one advance holds the lease: {racing:?}");
    assert_eq!(clock_of(&store, tenant).await, Some(ClockSetting::offset(0)), "the lease made the row");
    assert!(!begin(at(29_999)).await);
    assert!(begin(at(30_000)).await, "a lease that ran out is taken again");
    store.write(move |c| Box::pin(async move { tenant_clocks::end_advance(c, tenant).await })).await.unwrap();
    assert!(begin(at(30_001)).await);

    let early = enqueue(&store, tenant, "q", "early", "{}", at(1_000)).await;
    let late = enqueue(&store, tenant, "q2", "late", "{}", at(9_000)).await;
    enqueue(&store, tenant, "elsewhere", "x", "{}", at(0)).await;
    enqueue(&store, other, "q", "other", "{}", at(0)).await;
    let next = |until: Timestamp| {
        let store = store.clone();
        async move {
            store
                .read(|mut c| async move { jobs::next_for_tenant(&mut c, tenant, &["q", "q2"], until).await })
                .await
                .unwrap()
                .map(|j| j.seq)
        }
    };
    assert_eq!((next(at(999)).await, next(at(1_000)).await), (None, Some(early)));
    let claim_one = |seq: i64, tenant: TenantId, tenant_now: Timestamp| {
        let store = store.clone();
        async move {
            store
                .write(move |c| Box::pin(async move { jobs::claim_one(c, tenant, seq, tenant_now, T0, 60_000).await }))
                .await
                .unwrap()
                .map(|j| (j.seq, j.attempts))
        }
    };
    assert_eq!(claim_one(late, tenant, at(8_999)).await, None, "not due yet");
    assert_eq!(claim_one(early, other, at(1_000)).await, None, "another tenant's claim");
    let both = futures::future::join(claim_one(early, tenant, at(1_000)), claim_one(early, tenant, at(1_000))).await;
    assert!(matches!(both, (Some((_, 1)), None) | (None, Some((_, 1)))), "claimed once: {both:?}");
    assert_eq!(next(at(9_000)).await, Some(early), "leased jobs are still next: the advance waits for them");
    let leased = |seq: i64, real: Timestamp| {
        let store = store.clone();
        async move { store.read(|mut c| async move { jobs::is_leased(&mut c, seq, real).await }).await.unwrap() }
    };
    assert!(leased(early, T0).await && !leased(late, T0).await);
    assert!(!leased(early, at(60_000)).await, "the lease ran out");
    store.write(move |c| Box::pin(async move { jobs::complete(c, early).await })).await.unwrap();
    assert!(!leased(early, T0).await, "gone");
    assert_eq!(next(at(9_000)).await, Some(late));
}

async fn idempotency_keys_age_on_their_tenants_clock(db: TestDb) {
    let store = db.store;
    let (frozen, ahead, real) = (new_tenant(&store).await, new_tenant(&store).await, new_tenant(&store).await);
    set_clock(&store, frozen, ClockSetting::frozen(at(-100_000))).await;
    set_clock(&store, ahead, ClockSetting::offset(60_000)).await;
    for tenant in [frozen, ahead, real] {
        let record = IdempotencyRecord {
            tenant_id: tenant,
            key: "k".into(),
            request_hash: "h".into(),
            status: None,
            location: None,
            body: None,
            created_at: at(-110_000),
        };
        let claimed = store
            .write(move |c| Box::pin(async move { idempotency::claim(c, &record, at(-200_000)).await }))
            .await
            .unwrap();
        assert!(claimed);
    }
    // At T0 with a 100-second lifetime: 110 s old on the real clock, 170 s ahead, 10 s frozen.
    let pruned =
        store.write(move |c| Box::pin(async move { idempotency::prune(c, T0, 100_000, 10).await })).await.unwrap();
    assert_eq!(pruned, 2);
    let left = |tenant: TenantId| {
        let store = store.clone();
        async move {
            store
                .read(|mut c| async move { idempotency::find(&mut c, tenant, "k", at(-1_000_000)).await })
                .await
                .unwrap()
        }
    };
    assert!(left(frozen).await.is_some(), "young on its frozen clock");
    assert!(left(ahead).await.is_none() && left(real).await.is_none());
}
