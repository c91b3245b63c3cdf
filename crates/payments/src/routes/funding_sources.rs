//! Funding sources: create from an exchange (verified, numbers from the verified account) or
//! from routing and account numbers (unverified), retrieve, list with `removed`, rename,
//! remove, and the balance of an exchange-backed source. Account numbers are encrypted at rest
//! and never answered.

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use openiav_core::bank::{AccountNumber, RoutingNumber};
use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use openiav_core::payments::{
    CustomerStatus, EventResource, EventTopic, ExchangeStatus, FundingSourceMicroDepositStatus, FundingSourceStatus,
};
use openiav_store::records::{CustomerRecord, FundingSourceMicroDepositsRecord, FundingSourceRecord};
use openiav_store::repo::{customers, funding_sources as repo};
use openiav_store::StoreError;
use serde_json::{json, Value};

use super::exchanges::{exchange_of, Connection};
use super::{customer_of, find_or_404, CUSTOMER_NOT_FOUND};
use crate::auth::AppToken;
use crate::body::DwollaJson;
use crate::error::{DwollaCode, FieldError};
use crate::events;
use crate::hal::{self, id_from_href, link};
use crate::idempotency::{self, Answer, Idempotency};
use crate::port::{VerifiedAccount, VerifiedNumbers};
use crate::{AppState, DwollaError};

/// How long a removed unverified bank can be added back under its own id.
const REACTIVATE_WITHIN_MS: i64 = 48 * 3_600_000;

/// The bank name used when the routing number is not one the aggregator knows.
const SANDBOX_BANK_NAME: &str = "SANDBOX TEST BANK";

fn number_context(f: &FundingSourceRecord) -> String {
    format!("{}/{}/account_number", f.tenant_id, f.id)
}

/// A funding source as Dwolla renders it; `micro_deposits` (when sent) picks its verification links.
pub fn render(base: &str, f: &FundingSourceRecord, micro_deposits: Option<&FundingSourceMicroDepositsRecord>) -> Value {
    let path = format!("/funding-sources/{}", f.id);
    let mut links = json!({
        "self": link(base, &path, "funding-source"),
        "customer": link(base, &format!("/customers/{}", f.customer_id), "customer"),
    });
    if !f.removed {
        links["remove"] = json!(link(base, &path, "funding-source"));
        if f.status == FundingSourceStatus::Unverified {
            let deposits = link(base, &format!("{path}/micro-deposits"), "micro-deposits");
            let rel = match micro_deposits {
                None => "initiate-micro-deposits",
                Some(m) if m.status == FundingSourceMicroDepositStatus::Failed => "failed-verification-micro-deposits",
                Some(_) => "verify-micro-deposits",
            };
            links[rel] = json!(deposits);
        }
        if let Some(exchange) = &f.exchange_id {
            links["exchange"] = json!(link(base, &format!("/exchanges/{exchange}"), "exchange"));
            links["balance"] = json!(link(base, &format!("{path}/balance"), "balance"));
        }
    }
    let channels: Value = serde_json::from_str(&f.channels).unwrap_or_else(|_| json!(["ach"]));
    json!({
        "_links": links,
        "id": f.id,
        "status": f.status,
        "type": "bank",
        "bankAccountType": f.bank_account_type,
        "name": f.name,
        "created": f.created_at.to_rfc3339_millis(),
        "removed": f.removed,
        "channels": channels,
        "bankName": f.bank_name,
        "fingerprint": f.fingerprint,
    })
}

fn check_name(errors: &mut Vec<FieldError>, name: Option<&str>) -> String {
    match name.map(str::trim) {
        None | Some("") => {
            errors.push(FieldError::required("/name", "Name required."));
            String::new()
        }
        Some(n) if n.chars().count() > 50 => {
            errors.push(FieldError::invalid("/name", "Name must be at most 50 characters."));
            String::new()
        }
        Some(n) => n.to_owned(),
    }
}

/// The sandbox Plaid bank's numbers for a Plaid exchange (Plaid's test institution).
fn plaid_numbers(exchange_id: &str, account_type: &str) -> VerifiedNumbers {
    let digits: String =
        exchange_id.bytes().filter(u8::is_ascii_digit).map(char::from).chain("0000000000".chars()).take(10).collect();
    VerifiedNumbers {
        routing_number: RoutingNumber::parse("011401533").expect("valid routing number"),
        account_number: AccountNumber::parse(&format!("1111{digits}")).expect("valid account number"),
        account_type: account_type.to_owned(),
        institution_name: "Plaid Sandbox Bank".into(),
        available_cents: Some(10_000),
        balance_cents: Some(11_000),
    }
}

/// The numbers behind an exchange.
async fn exchange_numbers(
    state: &AppState,
    customer: &CustomerRecord,
    exchange_id: &str,
    connection: &Connection,
    account_type: &str,
) -> Result<VerifiedNumbers, DwollaError> {
    match connection {
        Connection::Mx { member, account, name } => {
            let user = customer.aggregator_user.as_deref().ok_or_else(inactive_exchange)?;
            let account = VerifiedAccount { member: member.clone(), account: account.clone(), name: name.clone() };
            state.verifier.account_numbers(customer.tenant_id, user, &account).await.map_err(|_| inactive_exchange())
        }
        Connection::Plaid { .. } => Ok(plaid_numbers(exchange_id, account_type)),
    }
}

fn inactive_exchange() -> DwollaError {
    DwollaError::new(DwollaCode::InactiveExchange, "The Exchange was removed or disabled.")
}

pub async fn create(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    idempotency: Idempotency,
    Path(customer_id): Path<String>,
    DwollaJson(body): DwollaJson<Value>,
) -> Result<Response, DwollaError> {
    let customer = customer_of(&state, tenant, &customer_id, "Customer ID not found. Check Customer ID.").await?;
    if matches!(customer.status.as_str(), "deactivated" | "suspended") {
        return Err(DwollaError::forbidden("Not authorized to create funding source."));
    }
    let mut errors = Vec::new();
    let name = check_name(&mut errors, body.get("name").and_then(Value::as_str));
    let account_type = body.get("bankAccountType").and_then(Value::as_str).unwrap_or_default().to_owned();
    let from_exchange = body.pointer("/_links/exchange/href").and_then(Value::as_str);
    let now = state.clock.now();
    let (numbers, exchange_id, status) = if let Some(href) = from_exchange {
        if !matches!(account_type.as_str(), "checking" | "savings") {
            errors.push(FieldError::invalid("/bankAccountType", "BankAccountType must be checking or savings."));
        }
        let exchange = match id_from_href(href, "exchanges") {
            Some(id) => exchange_of(&state, tenant, &id).await?.filter(|e| e.customer_id == customer.id),
            None => None,
        };
        let Some(exchange) = exchange else {
            errors.push(FieldError::invalid("/_links/exchange/href", "/_links/exchange/href is invalid."));
            return Err(DwollaError::validation(errors));
        };
        if !errors.is_empty() {
            return Err(DwollaError::validation(errors));
        }
        if exchange.status != ExchangeStatus::Active {
            return Err(inactive_exchange());
        }
        let connection = Connection::of(&exchange)?;
        let numbers = exchange_numbers(&state, &customer, &exchange.id, &connection, &account_type).await?;
        (numbers, Some(exchange.id), FundingSourceStatus::Verified)
    } else {
        if !matches!(account_type.as_str(), "checking" | "savings" | "general-ledger" | "loan") {
            errors.push(FieldError::invalid(
                "/bankAccountType",
                "BankAccountType must be checking, savings, general-ledger or loan.",
            ));
        }
        let routing = body.get("routingNumber").and_then(Value::as_str).map(str::trim);
        let routing = match routing {
            None | Some("") => {
                errors.push(FieldError::required("/routingNumber", "RoutingNumber required."));
                None
            }
            Some(r) => RoutingNumber::parse(r).or_else(|| {
                errors.push(FieldError::invalid("/routingNumber", "Routing number invalid."));
                None
            }),
        };
        let account = match body.get("accountNumber").and_then(Value::as_str).map(str::trim) {
            None | Some("") => {
                errors.push(FieldError::required("/accountNumber", "AccountNumber required."));
                None
            }
            Some(a) => AccountNumber::parse(a).or_else(|| {
                errors.push(FieldError::invalid("/accountNumber", "Account number must be 4 to 17 digits."));
                None
            }),
        };
        let (Some(routing), Some(account), true) = (routing, account, errors.is_empty()) else {
            return Err(DwollaError::validation(errors));
        };
        let institution_name = state.verifier.bank_name(&routing).unwrap_or_else(|| SANDBOX_BANK_NAME.to_owned());
        let numbers = VerifiedNumbers {
            routing_number: routing,
            account_number: account,
            account_type: account_type.clone(),
            institution_name,
            available_cents: None,
            balance_cents: None,
        };
        (numbers, None, FundingSourceStatus::Unverified)
    };
    let channels = match body.get("channels") {
        Some(Value::Array(list)) if list.iter().all(|c| c.as_str().is_some_and(|c| matches!(c, "ach" | "wire"))) => {
            Value::Array(list.clone())
        }
        Some(_) => return Err(DwollaError::invalid("/channels", "Channels must be ach or wire.")),
        None => json!(["ach"]),
    };
    let fingerprint =
        state.keyring.fingerprint(&["bank-account", numbers.routing_number.as_str(), numbers.account_number.expose()]);
    let mut record = FundingSourceRecord {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant,
        customer_id: customer.id.clone(),
        exchange_id,
        status,
        bank_account_type: account_type,
        name,
        bank_name: numbers.institution_name.clone(),
        routing_number: numbers.routing_number.as_str().to_owned(),
        account_number: Vec::new(),
        account_number_last4: numbers.account_number.last4().to_owned(),
        fingerprint,
        channels: channels.to_string(),
        removed: false,
        created_at: now,
        updated_at: now,
    };
    record.account_number = state.keyring.encrypt(&number_context(&record), numbers.account_number.expose().as_bytes());
    let base = state.base().to_owned();
    let (customer_id, fingerprint) = (record.customer_id.clone(), record.fingerprint.clone());
    let written = idempotency::write(&state, idempotency, move |c| {
        Box::pin(async move {
            // The customer may have been deactivated or suspended since it was read.
            match customers::find_for_update(c, tenant, &record.customer_id).await? {
                Some(owner) if !matches!(owner.status, CustomerStatus::Deactivated | CustomerStatus::Suspended) => {}
                Some(_) => return Ok(Err(DwollaError::forbidden("Not authorized to create funding source."))),
                None => return Ok(Err(DwollaError::not_found("Customer ID not found. Check Customer ID."))),
            }
            if let Some(dup) = repo::find_by_fingerprint(c, tenant, &record.customer_id, &record.fingerprint).await? {
                return Ok(Err(duplicate(&base, &dup.id)));
            }
            // An unverified bank removed in the last 48 hours comes back under its own id.
            if record.status == FundingSourceStatus::Unverified {
                let removed = repo::find_removed_by_fingerprint(c, tenant, &record.customer_id, &record.fingerprint)
                    .await?
                    .filter(|f| {
                        f.status == FundingSourceStatus::Unverified
                            && now.millis() - f.created_at.millis() < REACTIVATE_WITHIN_MS
                    });
                if let Some(mut back) = removed {
                    back.removed = false;
                    back.name = record.name.clone();
                    back.bank_account_type = record.bank_account_type.clone();
                    back.updated_at = now;
                    repo::save(c, &back).await?;
                    let customer = Some(back.customer_id.as_str());
                    events::record(
                        c,
                        &base,
                        tenant,
                        EventTopic::CustomerFundingSourceAdded,
                        EventResource::FundingSources,
                        &back.id,
                        customer,
                        now,
                    )
                    .await?;
                    return Ok(Ok(Answer::created(&base, &format!("/funding-sources/{}", back.id))));
                }
            }
            repo::insert(c, &record).await?;
            let customer = Some(record.customer_id.as_str());
            events::record(
                c,
                &base,
                tenant,
                EventTopic::CustomerFundingSourceAdded,
                EventResource::FundingSources,
                &record.id,
                customer,
                now,
            )
            .await?;
            if record.status == FundingSourceStatus::Verified {
                events::record(
                    c,
                    &base,
                    tenant,
                    EventTopic::CustomerFundingSourceVerified,
                    EventResource::FundingSources,
                    &record.id,
                    customer,
                    now,
                )
                .await?;
            }
            Ok(Ok(Answer::created(&base, &format!("/funding-sources/{}", record.id))))
        })
    })
    .await;
    let answer = match written {
        // A concurrent create of the same account committed first.
        Err(StoreError::Conflict(_)) => {
            let dup = state
                .store
                .read(
                    |mut c| async move { repo::find_by_fingerprint(&mut c, tenant, &customer_id, &fingerprint).await },
                )
                .await?;
            return Err(dup.map_or_else(
                || DwollaError::internal("a funding source conflict without a twin"),
                |d| duplicate(state.base(), &d.id),
            ));
        }
        other => other??,
    };
    Ok(answer.into_response())
}

fn duplicate(base: &str, existing: &str) -> DwollaError {
    let about = link(base, &format!("/funding-sources/{existing}"), "funding-source");
    DwollaError::new(DwollaCode::DuplicateResource, format!("Bank already exists: id={existing}")).with_about(about)
}

/// The tenant's funding source `id`.
pub(crate) async fn source_of(
    state: &AppState,
    tenant: TenantId,
    id: &str,
) -> Result<FundingSourceRecord, DwollaError> {
    find_or_404(
        state,
        id,
        "Funding source not found.",
        |mut c, id| async move { repo::find(&mut c, tenant, &id).await },
    )
    .await
}

pub async fn retrieve(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(id): Path<String>,
) -> Result<Response, DwollaError> {
    let source = source_of(&state, tenant, &id).await?;
    Ok(hal::ok(&render(state.base(), &source, micro_deposits_of(&state, &source).await?.as_ref())))
}

/// The micro-deposits sent to a source, if any.
async fn micro_deposits_of(
    state: &AppState,
    source: &FundingSourceRecord,
) -> Result<Option<FundingSourceMicroDepositsRecord>, DwollaError> {
    let (tenant, id) = (source.tenant_id, source.id.clone());
    Ok(state.store.read(|mut c| async move { repo::find_micro_deposits(&mut c, tenant, &id).await }).await?)
}

pub async fn list(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(customer_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, DwollaError> {
    let customer = customer_of(&state, tenant, &customer_id, CUSTOMER_NOT_FOUND).await?;
    let removed = url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "removed")
        .map(|(_, v)| match v.as_ref() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(DwollaError::invalid("/removed", "Removed must be true or false.")),
        })
        .transpose()?;
    let cid = customer.id.clone();
    let (found, deposits) = state
        .store
        .read(|mut c| async move {
            let found = repo::list_for_customer(&mut c, tenant, &cid, removed).await?;
            Ok((found, repo::micro_deposits_for_customer(&mut c, tenant, &cid).await?))
        })
        .await?;
    let base = state.base();
    let list: Vec<Value> =
        found.iter().map(|f| render(base, f, deposits.iter().find(|m| m.funding_source_id == f.id))).collect();
    let path = format!("/customers/{}", customer.id);
    Ok(hal::ok(&json!({
        "_links": {
            "self": link(base, &format!("{path}/funding-sources"), "funding-source"),
            "customer": link(base, &path, "customer"),
        },
        "_embedded": { "funding-sources": list },
        "total": list.len(),
    })))
}

/// Applies an update body to `source` (as it stands inside the write that saves it); returns
/// the event the change raises.
fn decide_update(
    state: &AppState,
    source: &mut FundingSourceRecord,
    body: &Value,
    now: Timestamp,
) -> Result<Option<EventTopic>, DwollaError> {
    if source.removed {
        return Err(DwollaError::invalid_resource_state("A removed bank cannot be updated."));
    }
    let mut topic = None;
    match body.get("removed") {
        Some(Value::Bool(true)) => {
            source.removed = true;
            topic = Some(EventTopic::CustomerFundingSourceRemoved);
        }
        Some(Value::Bool(false)) | None => {}
        Some(_) => return Err(DwollaError::invalid("/removed", "Removed must be a boolean.")),
    }
    if let Some(name) = body.get("name") {
        match name.as_str().map(str::trim) {
            Some(n) if !n.is_empty() && n.chars().count() <= 50 => {
                source.name = n.to_owned();
                topic = topic.or(Some(EventTopic::CustomerFundingSourceUpdated));
            }
            _ => return Err(DwollaError::invalid("/name", "Invalid bank name.")),
        }
    }
    let changes_details = ["routingNumber", "accountNumber", "bankAccountType"].iter().any(|f| body.get(*f).is_some());
    if changes_details {
        if source.status != FundingSourceStatus::Unverified {
            return Err(DwollaError::invalid("/routingNumber", "A verified bank's details cannot be changed."));
        }
        change_details(state, source, body)?;
        topic = topic.or(Some(EventTopic::CustomerFundingSourceUpdated));
    }
    source.updated_at = now;
    Ok(topic)
}

pub async fn update(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    idempotency: Idempotency,
    Path(id): Path<String>,
    DwollaJson(body): DwollaJson<Value>,
) -> Result<Response, DwollaError> {
    let id = id.to_ascii_lowercase();
    let now = state.clock.now();
    let base = state.base().to_owned();
    let context = state.clone();
    let answer = idempotency::write(&state, idempotency, move |c| {
        Box::pin(async move {
            let Some(mut source) = repo::find_for_update(c, tenant, &id).await? else {
                return Ok(Err(DwollaError::not_found("Funding source not found.")));
            };
            let topic = match decide_update(&context, &mut source, &body, now) {
                Ok(topic) => topic,
                Err(e) => return Ok(Err(e)),
            };
            repo::save(c, &source).await?;
            if let Some(topic) = topic {
                events::record(
                    c,
                    &base,
                    tenant,
                    topic,
                    EventResource::FundingSources,
                    &source.id,
                    Some(&source.customer_id),
                    now,
                )
                .await?;
            }
            let deposits = repo::find_micro_deposits(c, tenant, &source.id).await?;
            Ok(Ok(Answer::ok(&render(&base, &source, deposits.as_ref()))))
        })
    })
    .await??;
    Ok(answer.into_response())
}

/// Applies new routing number, account number or account type to an unverified bank.
fn change_details(state: &AppState, source: &mut FundingSourceRecord, body: &Value) -> Result<(), DwollaError> {
    let mut errors = Vec::new();
    let text = |f: &str| body.get(f).and_then(Value::as_str).map(str::trim);
    if let Some(kind) = body.get("bankAccountType") {
        match kind.as_str() {
            Some(k @ ("checking" | "savings" | "general-ledger" | "loan")) => source.bank_account_type = k.to_owned(),
            _ => errors.push(FieldError::invalid(
                "/bankAccountType",
                "BankAccountType must be checking, savings, general-ledger or loan.",
            )),
        }
    }
    let routing = match text("routingNumber") {
        None if body.get("routingNumber").is_none() => RoutingNumber::parse(&source.routing_number),
        r => r.and_then(RoutingNumber::parse).or_else(|| {
            errors.push(FieldError::invalid("/routingNumber", "Routing number invalid."));
            None
        }),
    };
    let account = match text("accountNumber") {
        None if body.get("accountNumber").is_none() => state
            .keyring
            .decrypt(&number_context(source), &source.account_number)
            .ok()
            .and_then(|plain| AccountNumber::parse(&String::from_utf8_lossy(&plain))),
        a => a.and_then(AccountNumber::parse).or_else(|| {
            errors.push(FieldError::invalid("/accountNumber", "Account number must be 4 to 17 digits."));
            None
        }),
    };
    let (Some(routing), Some(account), true) = (routing, account, errors.is_empty()) else {
        return Err(DwollaError::validation(errors));
    };
    source.bank_name = state.verifier.bank_name(&routing).unwrap_or_else(|| SANDBOX_BANK_NAME.to_owned());
    source.fingerprint = state.keyring.fingerprint(&["bank-account", routing.as_str(), account.expose()]);
    source.routing_number = routing.as_str().to_owned();
    source.account_number_last4 = account.last4().to_owned();
    source.account_number = state.keyring.encrypt(&number_context(source), account.expose().as_bytes());
    Ok(())
}

fn money(cents: i64) -> Value {
    let sign = if cents < 0 { "-" } else { "" };
    json!({ "value": format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100), "currency": "USD" })
}

pub async fn balance(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(id): Path<String>,
) -> Result<Response, DwollaError> {
    let source = source_of(&state, tenant, &id).await?;
    let unsupported = || {
        DwollaError::new(
            DwollaCode::UnsupportedOperation,
            "Retrieving the balance is not supported for this type of funding source.",
        )
    };
    let exchange_id = source.exchange_id.clone().filter(|_| !source.removed).ok_or_else(unsupported)?;
    let exchange = exchange_of(&state, tenant, &exchange_id).await?.ok_or_else(unsupported)?;
    let customer = customer_of(&state, tenant, &source.customer_id, CUSTOMER_NOT_FOUND).await?;
    let numbers =
        exchange_numbers(&state, &customer, &exchange.id, &Connection::of(&exchange)?, &source.bank_account_type)
            .await?;
    let base = state.base();
    let path = format!("/funding-sources/{}", source.id);
    Ok(hal::ok(&json!({
        "_links": {
            "self": link(base, &format!("{path}/balance"), "balance"),
            "funding-source": link(base, &path, "funding-source"),
        },
        "available": money(numbers.available_cents.unwrap_or(0)),
        "closing": money(numbers.balance_cents.or(numbers.available_cents).unwrap_or(0)),
        "lastUpdated": state.clock.now().to_rfc3339_millis(),
    })))
}
