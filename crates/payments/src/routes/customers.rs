//! `/customers`: create (unverified, receive-only, personal, business with its variants), list
//! and search, retrieve, update (fields, status changes, upgrade and retry), with Dwolla's
//! validation rules and its sandbox's name-based verification outcomes.

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use openiav_core::clock::Timestamp;
use openiav_core::payments::{CustomerKind, CustomerStatus, EventResource, EventTopic};
use openiav_store::records::CustomerRecord;
use openiav_store::repo::customers::{self as repo, CustomerFilter};
use openiav_store::StoreError;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{customer_of, paging, CUSTOMER_NOT_FOUND};
use crate::auth::AppToken;
use crate::body::DwollaJson;
use crate::error::{FieldCode, FieldError};
use crate::events;
use crate::hal::{self, link};
use crate::idempotency::{self, Answer, Idempotency};
use crate::{AppState, DwollaError};

/// Characters Dwolla refuses in names.
const NAME_FORBIDDEN: &[char] = &['<', '>', '=', '"', '`', '!', '?', '%', '~', '$', '{', '}', '\\'];

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CustomerBody {
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    business_name: Option<String>,
    correlation_id: Option<String>,
    address1: Option<String>,
    address2: Option<String>,
    city: Option<String>,
    state: Option<String>,
    postal_code: Option<String>,
    date_of_birth: Option<String>,
    ssn: Option<String>,
    phone: Option<String>,
    business_type: Option<String>,
    business_classification: Option<String>,
    ein: Option<String>,
    doing_business_as: Option<String>,
    website: Option<String>,
    controller: Option<Value>,
    status: Option<String>,
}

/// Collects field errors while a body is checked.
#[derive(Default)]
struct Checks(Vec<FieldError>);

impl Checks {
    fn required<'a>(&mut self, value: &'a Option<String>, path: &str, label: &str) -> Option<&'a str> {
        match value.as_deref().map(str::trim) {
            Some(v) if !v.is_empty() => Some(v),
            _ => {
                self.0.push(FieldError::required(path, format!("{label} required.")));
                None
            }
        }
    }

    fn invalid(&mut self, path: &str, message: impl Into<String>) {
        self.0.push(FieldError::invalid(path, message));
    }

    fn name(&mut self, value: &Option<String>, path: &str, label: &str) {
        if let Some(v) = self.required(value, path, label) {
            if v.chars().count() > 50 || v.contains(NAME_FORBIDDEN) {
                self.invalid(path, format!("{label} must be at most 50 characters without special characters."));
            }
        }
    }

    fn email(&mut self, value: &Option<String>) {
        if let Some(v) = self.required(value, "/email", "Email") {
            let (local, domain) = v.split_once('@').unwrap_or_default();
            if local.is_empty() || !domain.contains('.') || v.contains(char::is_whitespace) || v.len() > 255 {
                self.0.push(FieldError::new(FieldCode::InvalidFormat, "/email", "Email invalid."));
            }
        }
    }

    fn finish(self) -> Result<(), DwollaError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DwollaError::validation(self.0))
        }
    }
}

fn is_digits(s: &str, lengths: &[usize]) -> bool {
    lengths.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// Age in whole years on `today` of someone born on `dob` (YYYY-MM-DD).
fn age_on(dob: &str, today: time::Date) -> Option<i32> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let born = time::Date::parse(dob, &format).ok()?;
    let mut age = today.year() - born.year();
    if (today.month() as u8, today.day()) < (born.month() as u8, born.day()) {
        age -= 1;
    }
    Some(age)
}

/// Checks a verified customer's address and identity fields.
fn check_verified_person(c: &mut Checks, b: &CustomerBody, today: time::Date, need_identity: bool) {
    c.required(&b.address1, "/address1", "Address1");
    c.required(&b.city, "/city", "City");
    if let Some(state) = c.required(&b.state, "/state", "State") {
        if state.len() != 2 || !state.chars().all(|ch| ch.is_ascii_alphabetic()) {
            c.invalid("/state", "State must be a two-letter abbreviation.");
        }
    }
    if let Some(zip) = c.required(&b.postal_code, "/postalCode", "PostalCode") {
        if !(is_digits(zip, &[5]) || (zip.len() == 10 && zip.as_bytes()[5] == b'-')) {
            c.invalid("/postalCode", "PostalCode must be a 5-digit or ZIP+4 code.");
        }
    }
    if let Some(phone) = b.phone.as_deref().filter(|p| !p.is_empty()) {
        if !is_digits(phone, &[10]) {
            c.invalid("/phone", "Phone must be 10 digits.");
        }
    }
    if need_identity {
        if let Some(dob) = c.required(&b.date_of_birth, "/dateOfBirth", "DateOfBirth") {
            match age_on(dob, today) {
                Some(age) if (18..=125).contains(&age) => {}
                Some(_) => c.invalid("/dateOfBirth", "DateOfBirth must be for someone between 18 and 125 years old."),
                None => c.0.push(FieldError::new(
                    FieldCode::InvalidFormat,
                    "/dateOfBirth",
                    "DateOfBirth must be YYYY-MM-DD.",
                )),
            }
        }
        if let Some(ssn) = c.required(&b.ssn, "/ssn", "Ssn") {
            if !is_digits(&ssn.replace('-', ""), &[4, 9]) {
                c.invalid("/ssn", "Ssn must be the last four or all nine digits.");
            }
        }
    }
}

/// Checks a business customer's business fields and controller.
fn check_business(c: &mut Checks, b: &CustomerBody, today: time::Date) -> bool {
    let Some(kind) = c.required(&b.business_type, "/businessType", "BusinessType") else { return false };
    let sole = kind == "soleProprietorship";
    if !matches!(kind, "soleProprietorship" | "llc" | "corporation" | "partnership") {
        c.invalid("/businessType", "BusinessType must be soleProprietorship, llc, corporation or partnership.");
    }
    c.required(&b.business_name, "/businessName", "BusinessName");
    c.required(&b.business_classification, "/businessClassification", "BusinessClassification");
    check_verified_person(c, b, today, sole);
    if !sole {
        if let Some(ein) = c.required(&b.ein, "/ein", "Ein") {
            if !is_digits(&ein.replace('-', ""), &[9]) {
                c.invalid("/ein", "Ein must be 9 digits.");
            }
        }
        match b.controller.as_ref().and_then(Value::as_object) {
            None => c.0.push(FieldError::required("/controller", "Controller required.")),
            Some(ctrl) => {
                let field = |k: &str| ctrl.get(k).and_then(Value::as_str).map(str::to_owned);
                for (key, label) in [("firstName", "FirstName"), ("lastName", "LastName"), ("title", "Title")] {
                    c.required(&field(key), &format!("/controller/{key}"), label);
                }
                if let Some(dob) = c.required(&field("dateOfBirth"), "/controller/dateOfBirth", "DateOfBirth") {
                    if !age_on(dob, today).is_some_and(|a| (18..=125).contains(&a)) {
                        c.invalid("/controller/dateOfBirth", "DateOfBirth must be YYYY-MM-DD, age 18 to 125.");
                    }
                }
                match ctrl.get("passport").filter(|p| !p.is_null()) {
                    None if field("ssn").is_none() => {
                        c.0.push(FieldError::required("/controller/ssn", "Ssn or passport required."))
                    }
                    None => {}
                    Some(passport) => check_passport(c, passport),
                }
                match ctrl.get("address").and_then(Value::as_object) {
                    None => c.0.push(FieldError::required("/controller/address", "Address required.")),
                    Some(addr) => {
                        for key in ["address1", "city", "country"] {
                            let v = addr.get(key).and_then(Value::as_str).map(str::to_owned);
                            c.required(&v, &format!("/controller/address/{key}"), key);
                        }
                    }
                }
            }
        }
    }
    sole
}

/// A controller's passport: `{"number": "…", "country": "<two-letter code>"}`.
fn check_passport(c: &mut Checks, passport: &Value) {
    let Some(p) = passport.as_object() else {
        c.invalid("/controller/passport", "Passport must be an object with number and country.");
        return;
    };
    let number = p.get("number").and_then(Value::as_str).map(str::trim).unwrap_or_default();
    if number.is_empty() || number.chars().count() > 50 || !number.chars().all(|ch| ch.is_ascii_alphanumeric()) {
        c.invalid("/controller/passport/number", "Passport number must be 1 to 50 letters or digits.");
    }
    let country = p.get("country").and_then(Value::as_str).unwrap_or_default();
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_alphabetic()) {
        c.invalid("/controller/passport/country", "Passport country must be a two-letter country code.");
    }
}

/// The status a new verified customer gets in the sandbox: its first name picks it.
fn sandbox_status(first_name: &str, kind: CustomerKind) -> CustomerStatus {
    match (first_name.to_ascii_lowercase().as_str(), kind) {
        ("retry", _) => CustomerStatus::Retry,
        ("kba", CustomerKind::Personal) => CustomerStatus::Kba,
        ("document", _) => CustomerStatus::Document,
        ("suspended", _) => CustomerStatus::Suspended,
        _ => CustomerStatus::Verified,
    }
}

/// The event a verified customer's first status raises.
fn status_topic(status: CustomerStatus) -> Option<EventTopic> {
    Some(match status {
        CustomerStatus::Verified => EventTopic::CustomerVerified,
        CustomerStatus::Retry => EventTopic::CustomerReverificationNeeded,
        CustomerStatus::Kba => EventTopic::CustomerKbaVerificationNeeded,
        CustomerStatus::Document => EventTopic::CustomerVerificationDocumentNeeded,
        CustomerStatus::Suspended => EventTopic::CustomerSuspended,
        CustomerStatus::Unverified | CustomerStatus::Deactivated => return None,
    })
}

/// The details a verified customer keeps (never the SSN or passport).
fn profile_of(b: &CustomerBody) -> Value {
    let mut p = Map::new();
    let mut put = |k: &str, v: &Option<String>| {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            p.insert(k.to_owned(), json!(v));
        }
    };
    put("address1", &b.address1);
    put("address2", &b.address2);
    put("city", &b.city);
    put("state", &b.state);
    put("postalCode", &b.postal_code);
    put("phone", &b.phone);
    put("businessType", &b.business_type);
    put("businessClassification", &b.business_classification);
    put("doingBusinessAs", &b.doing_business_as);
    put("website", &b.website);
    if let Some(ctrl) = b.controller.as_ref().and_then(Value::as_object) {
        let mut ctrl = ctrl.clone();
        ctrl.remove("ssn");
        ctrl.remove("passport");
        ctrl.remove("dateOfBirth");
        p.insert("controller".into(), Value::Object(ctrl));
    }
    Value::Object(p)
}

/// A customer as Dwolla renders it.
pub fn render(base: &str, c: &CustomerRecord) -> Value {
    let path = format!("/customers/{}", c.id);
    let mut links = json!({
        "self": link(base, &path, "customer"),
        "edit": link(base, &path, "customer"),
        "funding-sources": link(base, &format!("{path}/funding-sources"), "funding-source"),
        "exchanges": link(base, &format!("{path}/exchanges"), "exchange"),
        "transfers": link(base, &format!("{path}/transfers"), "transfer"),
    });
    match c.status {
        CustomerStatus::Deactivated => links["reactivate"] = json!(link(base, &path, "customer")),
        CustomerStatus::Suspended => {}
        _ => links["deactivate"] = json!(link(base, &path, "customer")),
    }
    if c.status == CustomerStatus::Retry {
        links["retry-verification"] = json!(link(base, &path, "customer"));
    }
    let mut body = json!({
        "_links": links,
        "id": c.id,
        "firstName": c.first_name,
        "lastName": c.last_name,
        "email": c.email,
        "type": c.kind,
        "status": c.status,
        "created": c.created_at.to_rfc3339_millis(),
    });
    if let Some(b) = &c.business_name {
        body["businessName"] = json!(b);
    }
    if let Some(id) = &c.correlation_id {
        body["correlationId"] = json!(id);
    }
    if let Some(Value::Object(profile)) = c.profile.as_deref().and_then(|p| serde_json::from_str(p).ok()) {
        for (k, v) in profile {
            body[k] = v;
        }
    }
    body
}

fn duplicate_email(base: &str, existing: &CustomerRecord) -> DwollaError {
    let mut e = FieldError::new(FieldCode::Duplicate, "/email", "A customer with the specified email already exists.");
    e.about = Some(link(base, &format!("/customers/{}", existing.id), "customer"));
    DwollaError::validation(vec![e])
}

/// A concurrent request took the e-mail address (or correlation id) between the check and the
/// write: the same answer the check gives.
fn lost_race(e: StoreError) -> DwollaError {
    match e {
        StoreError::Conflict(_) => DwollaError::validation(vec![FieldError::new(
            FieldCode::Duplicate,
            "/email",
            "A customer with the specified email or correlationId already exists.",
        )]),
        other => other.into(),
    }
}

fn check_correlation_id(c: &mut Checks, id: &Option<String>) {
    if let Some(id) = id.as_deref() {
        let ok = !id.is_empty()
            && id.len() <= 255
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
        if !ok {
            c.invalid("/correlationId", "CorrelationId must be up to 255 characters of a-Z, 0-9, '-', '.' and '_'.");
        }
    }
}

fn today(now: Timestamp) -> time::Date {
    now.to_datetime().date()
}

pub async fn create(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    idempotency: Idempotency,
    DwollaJson(b): DwollaJson<CustomerBody>,
) -> Result<Response, DwollaError> {
    let kind = b.kind.as_deref().map(str::parse::<CustomerKind>).unwrap_or(Ok(CustomerKind::Unverified));
    let now = state.clock.now();
    let mut c = Checks::default();
    c.name(&b.first_name, "/firstName", "FirstName");
    c.name(&b.last_name, "/lastName", "LastName");
    c.email(&b.email);
    if b.business_name.as_deref().is_some_and(|n| n.chars().count() > 255) {
        c.invalid("/businessName", "BusinessName must be at most 255 characters.");
    }
    check_correlation_id(&mut c, &b.correlation_id);
    match kind {
        Ok(CustomerKind::Unverified | CustomerKind::ReceiveOnly) => {}
        Ok(CustomerKind::Personal) => check_verified_person(&mut c, &b, today(now), true),
        Ok(CustomerKind::Business) => {
            check_business(&mut c, &b, today(now));
        }
        Err(_) => c.invalid("/type", "Type must be unverified, receive-only, personal or business."),
    }
    c.finish()?;
    let kind = kind.unwrap_or(CustomerKind::Unverified);
    let first_name = b.first_name.clone().unwrap_or_default().trim().to_owned();
    let verified_kind = kind.is_verified();
    let status = if verified_kind { sandbox_status(&first_name, kind) } else { CustomerStatus::Unverified };
    let email = b.email.clone().unwrap_or_default().trim().to_owned();
    let record = CustomerRecord {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant,
        kind,
        status,
        first_name,
        last_name: b.last_name.clone().unwrap_or_default().trim().to_owned(),
        email_key: email.to_lowercase(),
        email,
        business_name: b.business_name.clone().filter(|n| !n.is_empty()),
        correlation_id: b.correlation_id.clone(),
        profile: verified_kind.then(|| profile_of(&b).to_string()),
        aggregator_user: None,
        created_at: now,
        updated_at: now,
    };
    let base = state.base().to_owned();
    let answer = idempotency::write(&state, idempotency, move |conn| {
        Box::pin(async move {
            if let Some(existing) = repo::find_by_email_key(conn, tenant, &record.email_key).await? {
                return Ok(Err(duplicate_email(&base, &existing)));
            }
            if let Some(cid) = &record.correlation_id {
                if repo::find_by_correlation_id(conn, tenant, cid).await?.is_some() {
                    return Ok(Err(DwollaError::validation(vec![FieldError::new(
                        FieldCode::Duplicate,
                        "/correlationId",
                        "A customer with the specified correlationId already exists.",
                    )])));
                }
            }
            repo::insert(conn, &record).await?;
            events::record(
                conn,
                &base,
                tenant,
                EventTopic::CustomerCreated,
                EventResource::Customers,
                &record.id,
                Some(&record.id),
                now,
            )
            .await?;
            if let Some(topic) = verified_kind.then(|| status_topic(record.status)).flatten() {
                events::record(conn, &base, tenant, topic, EventResource::Customers, &record.id, Some(&record.id), now)
                    .await?;
            }
            Ok(Ok(Answer::created(&base, &format!("/customers/{}", record.id))))
        })
    })
    .await
    .map_err(lost_race)??;
    Ok(answer.into_response())
}

pub async fn list(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    RawQuery(query): RawQuery,
) -> Result<Response, DwollaError> {
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()).into_owned().collect();
    let (limit, offset) = paging(&params, 25, 200)?;
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).filter(|v| !v.is_empty());
    let filter = CustomerFilter {
        search: get("search"),
        email_key: get("email").map(|e| e.trim().to_lowercase()),
        statuses: params.iter().filter(|(n, _)| n == "status").map(|(_, v)| v.clone()).collect(),
    };
    let mut kept: Vec<String> = Vec::new();
    for (k, v) in &params {
        if matches!(k.as_str(), "search" | "email" | "status") {
            kept.push(url::form_urlencoded::Serializer::new(String::new()).append_pair(k, v).finish());
        }
    }
    let page =
        state.store.read(|mut c| async move { repo::list(&mut c, tenant, &filter, limit, offset).await }).await?;
    let base = state.base();
    let customers: Vec<Value> = page.items.iter().map(|c| render(base, c)).collect();
    Ok(hal::ok(&json!({
        "_links": hal::Links::paging(base, "/customers", &kept.join("&"), "customer", hal::Paging { limit, offset, total: page.total }),
        "_embedded": { "customers": customers },
        "total": page.total,
    })))
}

pub async fn retrieve(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(id): Path<String>,
) -> Result<Response, DwollaError> {
    let customer = customer_of(&state, tenant, &id, CUSTOMER_NOT_FOUND).await?;
    Ok(hal::ok(&render(state.base(), &customer)))
}

/// The status change a `{"status": …}` update asks for, with the event it raises.
fn status_change(current: CustomerStatus, wanted: &str) -> Result<(CustomerStatus, EventTopic), DwollaError> {
    use CustomerStatus::{Deactivated, Suspended, Verified};
    match (current, wanted) {
        (Deactivated, "reactivated") => Ok((Verified, EventTopic::CustomerActivated)),
        (_, "reactivated") => {
            Err(DwollaError::invalid_resource_state("Only a deactivated customer can be reactivated."))
        }
        (Deactivated, _) => Err(DwollaError::invalid_resource_state("A deactivated customer can only be reactivated.")),
        (_, "suspended") => Ok((Suspended, EventTopic::CustomerSuspended)),
        (_, "deactivated") => Ok((Deactivated, EventTopic::CustomerDeactivated)),
        _ => Err(DwollaError::invalid("/status", "Status must be suspended, deactivated or reactivated.")),
    }
}

/// Applies an update body to `customer` (as it stands inside the write that saves it);
/// returns the events the change raises.
fn decide_update(
    customer: &mut CustomerRecord,
    b: &CustomerBody,
    now: Timestamp,
) -> Result<Vec<EventTopic>, DwollaError> {
    let mut topics: Vec<EventTopic> = Vec::new();
    if let Some(wanted) = b.status.as_deref() {
        let (status, topic) = status_change(customer.status, wanted)?;
        customer.status = if status == CustomerStatus::Verified && !customer.kind.is_verified() {
            CustomerStatus::Unverified
        } else {
            status
        };
        topics.push(topic);
    } else {
        if matches!(customer.status, CustomerStatus::Document | CustomerStatus::Suspended | CustomerStatus::Deactivated)
        {
            return Err(DwollaError::invalid_resource_state("Resource cannot be modified."));
        }
        let mut c = Checks::default();
        let upgrade = b.kind.as_deref().filter(|k| *k != customer.kind.as_str());
        let retry = customer.status == CustomerStatus::Retry;
        if let Some(kind) = upgrade {
            // An unverified customer becomes a verified one.
            let kind = kind.parse::<CustomerKind>().ok().filter(|k| k.is_verified());
            let Some(kind) = kind.filter(|_| customer.kind == CustomerKind::Unverified) else {
                return Err(DwollaError::invalid_resource_state("Resource cannot be modified."));
            };
            c.name(&b.first_name, "/firstName", "FirstName");
            c.name(&b.last_name, "/lastName", "LastName");
            c.email(&b.email);
            if kind == CustomerKind::Personal {
                check_verified_person(&mut c, b, today(now), true);
            } else {
                check_business(&mut c, b, today(now));
            }
            c.finish()?;
            customer.kind = kind;
            customer.first_name = b.first_name.clone().unwrap_or_default().trim().to_owned();
            customer.last_name = b.last_name.clone().unwrap_or_default().trim().to_owned();
            customer.status = sandbox_status(&customer.first_name, kind);
            customer.profile = Some(profile_of(b).to_string());
            if kind == CustomerKind::Business {
                customer.business_name = b.business_name.as_deref().map(str::trim).map(str::to_owned);
            }
            topics.extend(status_topic(customer.status));
        } else if retry {
            check_verified_person(&mut c, b, today(now), true);
            if b.ssn.as_deref().is_some_and(|s| !is_digits(&s.replace('-', ""), &[9])) {
                c.invalid("/ssn", "A retry needs all nine digits of the SSN.");
            }
            c.finish()?;
            customer.status = CustomerStatus::Verified;
            customer.profile = Some(profile_of(b).to_string());
            topics.push(EventTopic::CustomerVerified);
        } else if b.ssn.is_some() || b.date_of_birth.is_some() {
            // Identity is resubmitted only by a retry.
            return Err(DwollaError::invalid_resource_state("Resource cannot be modified."));
        } else {
            let verified = customer.kind.is_verified();
            if verified && (b.first_name.is_some() || b.last_name.is_some()) {
                c.invalid("/firstName", "The name of a verified customer cannot be changed.");
            }
            if !verified {
                if b.first_name.is_some() {
                    c.name(&b.first_name, "/firstName", "FirstName");
                }
                if b.last_name.is_some() {
                    c.name(&b.last_name, "/lastName", "LastName");
                }
            }
            if b.email.is_some() {
                c.email(&b.email);
            }
            if verified && (b.address1.is_some() || b.city.is_some() || b.state.is_some() || b.postal_code.is_some()) {
                let mut merged: Map<String, Value> =
                    customer.profile.as_deref().and_then(|p| serde_json::from_str(p).ok()).unwrap_or_default();
                for (k, v) in profile_of(b).as_object().into_iter().flatten() {
                    merged.insert(k.clone(), v.clone());
                }
                customer.profile = Some(Value::Object(merged).to_string());
            }
            c.finish()?;
            if !verified {
                if let Some(f) = &b.first_name {
                    customer.first_name = f.trim().to_owned();
                }
                if let Some(l) = &b.last_name {
                    customer.last_name = l.trim().to_owned();
                }
                if let Some(n) = &b.business_name {
                    customer.business_name = Some(n.clone()).filter(|n| !n.is_empty());
                }
            }
        }
        if let Some(email) = &b.email {
            customer.email = email.trim().to_owned();
            customer.email_key = customer.email.to_lowercase();
        }
    }
    customer.updated_at = now;
    Ok(topics)
}

pub async fn update(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    idempotency: Idempotency,
    Path(id): Path<String>,
    DwollaJson(b): DwollaJson<CustomerBody>,
) -> Result<Response, DwollaError> {
    let id = id.to_ascii_lowercase();
    let now = state.clock.now();
    let base = state.base().to_owned();
    let answer = idempotency::write(&state, idempotency, move |conn| {
        Box::pin(async move {
            let Some(mut customer) = repo::find_for_update(conn, tenant, &id).await? else {
                return Ok(Err(DwollaError::not_found(CUSTOMER_NOT_FOUND)));
            };
            let topics = match decide_update(&mut customer, &b, now) {
                Ok(topics) => topics,
                Err(e) => return Ok(Err(e)),
            };
            if let Some(other) = repo::find_by_email_key(conn, tenant, &customer.email_key).await? {
                if other.id != customer.id {
                    return Ok(Err(duplicate_email(&base, &other)));
                }
            }
            repo::save(conn, &customer).await?;
            for topic in topics {
                events::record(
                    conn,
                    &base,
                    tenant,
                    topic,
                    EventResource::Customers,
                    &customer.id,
                    Some(&customer.id),
                    now,
                )
                .await?;
            }
            Ok(Ok(Answer::ok(&render(&base, &customer))))
        })
    })
    .await
    .map_err(lost_race)??;
    Ok(answer.into_response())
}
