//! Customer rules: what a create or update body must hold (Dwolla's validation, with its field
//! paths and messages), the status the sandbox gives a new verified customer from its first
//! name, how an update changes a customer, and which events each change raises.

use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use openiav_core::payments::{CustomerKind, CustomerStatus, EventTopic};
use openiav_store::records::CustomerRecord;
use time::Date;

use super::{Controller, ControllerProfile, Customer, CustomerBody, CustomerProfile, Passport, StatusChange};
use crate::body::{Lenient, Named};
use crate::error::{FieldCode, FieldError};
use crate::DwollaError;

/// Characters Dwolla refuses in names.
const NAME_FORBIDDEN: &[char] = &['<', '>', '=', '"', '`', '!', '?', '%', '~', '$', '{', '}', '\\'];

openiav_core::wire_enum! {
    /// A business customer's `businessType`.
    pub enum BusinessType {
        SoleProprietorship = "soleProprietorship",
        Llc = "llc",
        Corporation = "corporation",
        Partnership = "partnership",
    }
}

/// The calendar day `now` falls on, which ages are counted on.
pub fn today(now: Timestamp) -> Date {
    now.to_datetime().date()
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

    fn correlation_id(&mut self, id: &Option<String>) {
        if let Some(id) = id.as_deref() {
            let ok = !id.is_empty()
                && id.len() <= 255
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
            if !ok {
                self.invalid(
                    "/correlationId",
                    "CorrelationId must be up to 255 characters of a-Z, 0-9, '-', '.' and '_'.",
                );
            }
        }
    }

    /// A verified customer's address and, when `need_identity`, date of birth and SSN.
    fn verified_person(&mut self, b: &CustomerBody, today: Date, need_identity: bool) {
        self.required(&b.address1, "/address1", "Address1");
        self.required(&b.city, "/city", "City");
        if let Some(state) = self.required(&b.state, "/state", "State") {
            if state.len() != 2 || !state.chars().all(|ch| ch.is_ascii_alphabetic()) {
                self.invalid("/state", "State must be a two-letter abbreviation.");
            }
        }
        if let Some(zip) = self.required(&b.postal_code, "/postalCode", "PostalCode") {
            if !(is_digits(zip, &[5]) || (zip.len() == 10 && zip.as_bytes()[5] == b'-')) {
                self.invalid("/postalCode", "PostalCode must be a 5-digit or ZIP+4 code.");
            }
        }
        if let Some(phone) = b.phone.as_deref().filter(|p| !p.is_empty()) {
            if !is_digits(phone, &[10]) {
                self.invalid("/phone", "Phone must be 10 digits.");
            }
        }
        if need_identity {
            if let Some(dob) = self.required(&b.date_of_birth, "/dateOfBirth", "DateOfBirth") {
                match age_on(dob, today) {
                    Some(age) if (18..=125).contains(&age) => {}
                    Some(_) => {
                        self.invalid("/dateOfBirth", "DateOfBirth must be for someone between 18 and 125 years old.")
                    }
                    None => self.0.push(FieldError::new(
                        FieldCode::InvalidFormat,
                        "/dateOfBirth",
                        "DateOfBirth must be YYYY-MM-DD.",
                    )),
                }
            }
            if let Some(ssn) = self.required(&b.ssn, "/ssn", "Ssn") {
                if !is_digits(&ssn.replace('-', ""), &[4, 9]) {
                    self.invalid("/ssn", "Ssn must be the last four or all nine digits.");
                }
            }
        }
    }

    /// A business customer's business fields, and the controller unless it is a sole
    /// proprietorship (whose owner's own identity is checked instead).
    fn business(&mut self, b: &CustomerBody, today: Date) {
        let Some(kind) = self.required(&b.business_type, "/businessType", "BusinessType") else { return };
        let kind = kind.parse::<BusinessType>();
        if kind.is_err() {
            self.invalid("/businessType", "BusinessType must be soleProprietorship, llc, corporation or partnership.");
        }
        let sole = kind == Ok(BusinessType::SoleProprietorship);
        self.required(&b.business_name, "/businessName", "BusinessName");
        self.required(&b.business_classification, "/businessClassification", "BusinessClassification");
        self.verified_person(b, today, sole);
        if !sole {
            if let Some(ein) = self.required(&b.ein, "/ein", "Ein") {
                if !is_digits(&ein.replace('-', ""), &[9]) {
                    self.invalid("/ein", "Ein must be 9 digits.");
                }
            }
            match &b.controller {
                None => self.0.push(FieldError::required("/controller", "Controller required.")),
                Some(controller) => self.controller(controller, today),
            }
        }
    }

    fn controller(&mut self, ctrl: &Controller, today: Date) {
        self.required(&ctrl.first_name, "/controller/firstName", "FirstName");
        self.required(&ctrl.last_name, "/controller/lastName", "LastName");
        self.required(&ctrl.title, "/controller/title", "Title");
        if let Some(dob) = self.required(&ctrl.date_of_birth, "/controller/dateOfBirth", "DateOfBirth") {
            if !age_on(dob, today).is_some_and(|a| (18..=125).contains(&a)) {
                self.invalid("/controller/dateOfBirth", "DateOfBirth must be YYYY-MM-DD, age 18 to 125.");
            }
        }
        match &ctrl.passport {
            None if ctrl.ssn.is_none() => {
                self.0.push(FieldError::required("/controller/ssn", "Ssn or passport required."))
            }
            None => {}
            Some(passport) => self.passport(passport),
        }
        match &ctrl.address {
            None => self.0.push(FieldError::required("/controller/address", "Address required.")),
            Some(addr) => {
                self.required(&addr.address1, "/controller/address/address1", "address1");
                self.required(&addr.city, "/controller/address/city", "city");
                self.required(&addr.country, "/controller/address/country", "country");
            }
        }
    }

    fn passport(&mut self, passport: &Lenient<Passport>) {
        let Some(p) = passport.valid() else {
            self.invalid("/controller/passport", "Passport must be an object with number and country.");
            return;
        };
        let text = |part: &Option<Lenient<String>>| part.as_ref().and_then(Lenient::valid).cloned().unwrap_or_default();
        let number = text(&p.number);
        let number = number.trim();
        if number.is_empty() || number.chars().count() > 50 || !number.chars().all(|ch| ch.is_ascii_alphanumeric()) {
            self.invalid("/controller/passport/number", "Passport number must be 1 to 50 letters or digits.");
        }
        let country = text(&p.country);
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_alphabetic()) {
            self.invalid("/controller/passport/country", "Passport country must be a two-letter country code.");
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
fn age_on(dob: &str, today: Date) -> Option<i32> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let born = Date::parse(dob, &format).ok()?;
    let mut age = today.year() - born.year();
    if (today.month() as u8, today.day()) < (born.month() as u8, born.day()) {
        age -= 1;
    }
    Some(age)
}

fn trimmed(value: &Option<String>) -> String {
    value.as_deref().unwrap_or_default().trim().to_owned()
}

fn cannot_be_modified() -> DwollaError {
    DwollaError::invalid_resource_state("Resource cannot be modified.")
}

/// Checks a create body and returns the type it asks for (unverified when it names none).
pub fn check_create(b: &CustomerBody, today: Date) -> Result<CustomerKind, DwollaError> {
    let mut c = Checks::default();
    c.name(&b.first_name, "/firstName", "FirstName");
    c.name(&b.last_name, "/lastName", "LastName");
    c.email(&b.email);
    if b.business_name.as_deref().is_some_and(|n| n.chars().count() > 255) {
        c.invalid("/businessName", "BusinessName must be at most 255 characters.");
    }
    c.correlation_id(&b.correlation_id);
    let kind = b.kind.as_ref().map_or(Some(CustomerKind::Unverified), Named::known);
    match kind {
        Some(CustomerKind::Unverified | CustomerKind::ReceiveOnly) => {}
        Some(CustomerKind::Personal) => c.verified_person(b, today, true),
        Some(CustomerKind::Business) => c.business(b, today),
        None => c.invalid("/type", "Type must be unverified, receive-only, personal or business."),
    }
    c.finish()?;
    Ok(kind.unwrap_or(CustomerKind::Unverified))
}

/// The customer `id` a create body describes, once checked, with the status the sandbox gives it.
pub fn new_customer(id: String, tenant: TenantId, b: &CustomerBody, now: Timestamp) -> Result<Customer, DwollaError> {
    let kind = check_create(b, today(now))?;
    let first_name = trimmed(&b.first_name);
    let email = trimmed(&b.email);
    let record = CustomerRecord {
        id,
        tenant_id: tenant,
        kind,
        status: if kind.is_verified() { sandbox_status(&first_name, kind) } else { CustomerStatus::Unverified },
        first_name,
        last_name: trimmed(&b.last_name),
        email_key: email.to_lowercase(),
        email,
        business_name: b.business_name.clone().filter(|n| !n.is_empty()),
        correlation_id: b.correlation_id.clone(),
        profile: None,
        aggregator_user: None,
        created_at: now,
        updated_at: now,
    };
    Ok(Customer { record, profile: kind.is_verified().then(|| profile_of(b)) })
}

/// The status a new (or newly upgraded) verified customer gets in the sandbox: its first name
/// picks it, as Dwolla's sandbox does.
pub fn sandbox_status(first_name: &str, kind: CustomerKind) -> CustomerStatus {
    match (first_name.to_ascii_lowercase().as_str(), kind) {
        ("retry", _) => CustomerStatus::Retry,
        ("kba", CustomerKind::Personal) => CustomerStatus::Kba,
        ("document", _) => CustomerStatus::Document,
        ("suspended", _) => CustomerStatus::Suspended,
        _ => CustomerStatus::Verified,
    }
}

/// The event a verified customer's verification outcome raises.
pub fn verification_topic(status: CustomerStatus) -> Option<EventTopic> {
    Some(match status {
        CustomerStatus::Verified => EventTopic::CustomerVerified,
        CustomerStatus::Retry => EventTopic::CustomerReverificationNeeded,
        CustomerStatus::Kba => EventTopic::CustomerKbaVerificationNeeded,
        CustomerStatus::Document => EventTopic::CustomerVerificationDocumentNeeded,
        CustomerStatus::Suspended => EventTopic::CustomerSuspended,
        CustomerStatus::Unverified | CustomerStatus::Deactivated => return None,
    })
}

/// The events a new customer raises: its creation, then a verified one's first outcome.
pub fn creation_topics(new: &Customer) -> Vec<EventTopic> {
    let outcome = new.record.kind.is_verified().then(|| verification_topic(new.record.status)).flatten();
    std::iter::once(EventTopic::CustomerCreated).chain(outcome).collect()
}

/// The details a verified customer keeps of a body: never the SSN, a passport or a date of
/// birth; empty top-level fields are left out.
pub fn profile_of(b: &CustomerBody) -> CustomerProfile {
    let given = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
    CustomerProfile {
        address1: given(&b.address1),
        address2: given(&b.address2),
        city: given(&b.city),
        state: given(&b.state),
        postal_code: given(&b.postal_code),
        phone: given(&b.phone),
        business_type: given(&b.business_type),
        business_classification: given(&b.business_classification),
        doing_business_as: given(&b.doing_business_as),
        website: given(&b.website),
        controller: b.controller.as_ref().map(|c| ControllerProfile {
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            title: c.title.clone(),
            address: c.address.clone(),
        }),
    }
}

/// The status a `{"status": …}` update leaves a `kind` customer in, with the event it raises.
fn status_change(
    kind: CustomerKind,
    current: CustomerStatus,
    wanted: &Named<StatusChange>,
) -> Result<(CustomerStatus, EventTopic), DwollaError> {
    use CustomerStatus::{Deactivated, Suspended, Unverified, Verified};
    match (current, wanted.known()) {
        (Deactivated, Some(StatusChange::Reactivate)) => {
            Ok((if kind.is_verified() { Verified } else { Unverified }, EventTopic::CustomerActivated))
        }
        (_, Some(StatusChange::Reactivate)) => {
            Err(DwollaError::invalid_resource_state("Only a deactivated customer can be reactivated."))
        }
        (Deactivated, _) => Err(DwollaError::invalid_resource_state("A deactivated customer can only be reactivated.")),
        (_, Some(StatusChange::Suspend)) => Ok((Suspended, EventTopic::CustomerSuspended)),
        (_, Some(StatusChange::Deactivate)) => Ok((Deactivated, EventTopic::CustomerDeactivated)),
        (_, None) => Err(DwollaError::invalid("/status", "Status must be suspended, deactivated or reactivated.")),
    }
}

/// The events forcing a `kind` customer from `current` to `target` raises (the sandbox control
/// plane's force), as Dwolla's state machine allows: a deactivated customer only comes back to
/// its active status; any other may be suspended or deactivated; a verified type moves between
/// the verification outcomes (`kba` only for a personal customer), an unverified type stays
/// `unverified`.
pub fn forced_status(
    kind: CustomerKind,
    current: CustomerStatus,
    target: CustomerStatus,
) -> Result<Vec<EventTopic>, DwollaError> {
    use CustomerStatus::{Deactivated, Kba, Suspended, Unverified};
    let active = if kind.is_verified() { CustomerStatus::Verified } else { Unverified };
    if current == target {
        return Err(DwollaError::invalid_resource_state(format!("The customer is {target} already.")));
    }
    if current == Deactivated {
        return if target == active {
            Ok(vec![EventTopic::CustomerActivated])
        } else {
            Err(DwollaError::invalid_resource_state(format!(
                "A deactivated customer can only be reactivated (to {active})."
            )))
        };
    }
    match target {
        Deactivated => Ok(vec![EventTopic::CustomerDeactivated]),
        Suspended => Ok(vec![EventTopic::CustomerSuspended]),
        Unverified if !kind.is_verified() => Ok(vec![EventTopic::CustomerActivated]),
        _ if !kind.is_verified() => Err(DwollaError::invalid_resource_state(format!(
            "A {kind} customer is not verified; it can only be unverified, suspended or deactivated."
        ))),
        Unverified => Err(DwollaError::invalid_resource_state(format!(
            "A {kind} customer cannot be unverified; upgrading is one way."
        ))),
        Kba if kind != CustomerKind::Personal => {
            Err(DwollaError::invalid_resource_state("Only a personal customer is asked for KBA."))
        }
        other => Ok(verification_topic(other).into_iter().collect()),
    }
}

/// Applies an update body to `customer` (as it stands inside the write that saves it) and
/// returns the events the change raises: a status change, an upgrade of an unverified customer
/// to a verified one, a retry of a customer in `retry`, or an edit of its fields.
pub fn decide_update(customer: &mut Customer, b: &CustomerBody, today: Date) -> Result<Vec<EventTopic>, DwollaError> {
    let c = &mut customer.record;
    if let Some(wanted) = &b.status {
        let (status, topic) = status_change(c.kind, c.status, wanted)?;
        c.status = status;
        return Ok(vec![topic]);
    }
    if matches!(c.status, CustomerStatus::Document | CustomerStatus::Suspended | CustomerStatus::Deactivated) {
        return Err(cannot_be_modified());
    }
    let mut checks = Checks::default();
    let mut topics = Vec::new();
    if let Some(wanted) = b.kind.as_ref().filter(|k| k.known() != Some(c.kind)) {
        // Only an unverified customer changes type, and only to a verified one.
        let kind = wanted.known().filter(|k| k.is_verified() && c.kind == CustomerKind::Unverified);
        let Some(kind) = kind else { return Err(cannot_be_modified()) };
        checks.name(&b.first_name, "/firstName", "FirstName");
        checks.name(&b.last_name, "/lastName", "LastName");
        checks.email(&b.email);
        if kind == CustomerKind::Personal {
            checks.verified_person(b, today, true);
        } else {
            checks.business(b, today);
        }
        checks.finish()?;
        c.kind = kind;
        c.first_name = trimmed(&b.first_name);
        c.last_name = trimmed(&b.last_name);
        c.status = sandbox_status(&c.first_name, kind);
        if kind == CustomerKind::Business {
            c.business_name = Some(trimmed(&b.business_name));
        }
        topics.extend(verification_topic(c.status));
        customer.profile = Some(profile_of(b));
    } else if c.status == CustomerStatus::Retry {
        checks.verified_person(b, today, true);
        if b.ssn.as_deref().is_some_and(|s| !is_digits(&s.replace('-', ""), &[9])) {
            checks.invalid("/ssn", "A retry needs all nine digits of the SSN.");
        }
        checks.finish()?;
        c.status = CustomerStatus::Verified;
        topics.push(EventTopic::CustomerVerified);
        customer.profile = Some(profile_of(b));
    } else if b.ssn.is_some() || b.date_of_birth.is_some() {
        // Identity is resubmitted only by a retry.
        return Err(cannot_be_modified());
    } else {
        let verified = c.kind.is_verified();
        if verified && (b.first_name.is_some() || b.last_name.is_some()) {
            checks.invalid("/firstName", "The name of a verified customer cannot be changed.");
        }
        if !verified {
            if b.first_name.is_some() {
                checks.name(&b.first_name, "/firstName", "FirstName");
            }
            if b.last_name.is_some() {
                checks.name(&b.last_name, "/lastName", "LastName");
            }
        }
        if b.email.is_some() {
            checks.email(&b.email);
        }
        checks.finish()?;
        if verified {
            if b.address1.is_some() || b.city.is_some() || b.state.is_some() || b.postal_code.is_some() {
                customer.profile = Some(customer.profile.take().unwrap_or_default().merged_with(profile_of(b)));
            }
        } else {
            if let Some(first) = &b.first_name {
                c.first_name = first.trim().to_owned();
            }
            if let Some(last) = &b.last_name {
                c.last_name = last.trim().to_owned();
            }
            if let Some(name) = &b.business_name {
                c.business_name = Some(name.clone()).filter(|n| !n.is_empty());
            }
        }
    }
    if let Some(email) = &b.email {
        c.email = email.trim().to_owned();
        c.email_key = c.email.to_lowercase();
    }
    Ok(topics)
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};
    use time::macros::date;

    use super::*;
    use crate::error::DwollaCode;

    const TODAY: Date = date!(2024 - 06 - 01);

    #[test]
    fn forcing_a_status_follows_dwollas_state_machine() {
        use CustomerKind::{Business, Personal, ReceiveOnly, Unverified as UnverifiedKind};
        use CustomerStatus::*;
        let topics = |k, from, to| forced_status(k, from, to).map_err(|e| e.code());
        assert_eq!(topics(Personal, Verified, Suspended), Ok(vec![EventTopic::CustomerSuspended]));
        assert_eq!(topics(Business, Document, Deactivated), Ok(vec![EventTopic::CustomerDeactivated]));
        assert_eq!(topics(Personal, Deactivated, Verified), Ok(vec![EventTopic::CustomerActivated]));
        assert_eq!(topics(UnverifiedKind, Deactivated, Unverified), Ok(vec![EventTopic::CustomerActivated]));
        assert_eq!(topics(Personal, Verified, Retry), Ok(vec![EventTopic::CustomerReverificationNeeded]));
        assert_eq!(topics(Personal, Verified, Kba), Ok(vec![EventTopic::CustomerKbaVerificationNeeded]));
        assert_eq!(topics(Business, Retry, Document), Ok(vec![EventTopic::CustomerVerificationDocumentNeeded]));
        assert_eq!(topics(Personal, Suspended, Verified), Ok(vec![EventTopic::CustomerVerified]));
        assert_eq!(topics(ReceiveOnly, Suspended, Unverified), Ok(vec![EventTopic::CustomerActivated]));
        let refused = Err(DwollaCode::InvalidResourceState);
        assert_eq!(topics(Personal, Verified, Verified), refused, "already there");
        assert_eq!(topics(Personal, Deactivated, Suspended), refused, "deactivated only reactivates");
        assert_eq!(topics(Business, Deactivated, Unverified), refused, "to its own active status");
        assert_eq!(topics(UnverifiedKind, Unverified, Verified), refused, "unverified types are not verified");
        assert_eq!(topics(Personal, Verified, Unverified), refused, "verified types stay verified types");
        assert_eq!(topics(Business, Verified, Kba), refused, "KBA is for persons");
    }

    fn body(v: Value) -> CustomerBody {
        crate::body::parse(v.to_string().as_bytes()).expect("a body")
    }

    fn personal(first: &str) -> Value {
        json!({
            "firstName": first, "lastName": "Doe", "email": "p@example.com", "type": "personal",
            "address1": "99-99 33rd St", "city": "Some City", "state": "NY", "postalCode": "11101",
            "dateOfBirth": "1970-01-01", "ssn": "1234",
        })
    }

    fn business(kind: &str) -> Value {
        let mut b = json!({
            "firstName": "Bo", "lastName": "Owner", "email": "b@example.com", "type": "business",
            "businessType": kind, "businessName": "Bo's Bikes", "businessClassification": "9ed3f670",
            "address1": "1 Main St", "city": "Des Moines", "state": "IA", "postalCode": "50309",
        });
        if kind == "soleProprietorship" {
            b["dateOfBirth"] = json!("1980-05-05");
            b["ssn"] = json!("6789");
        } else {
            b["ein"] = json!("00-0000000");
            b["controller"] = json!({
                "firstName": "Cal", "lastName": "Troller", "title": "CEO", "dateOfBirth": "1975-03-03",
                "ssn": "6789", "address": { "address1": "2 Side St", "city": "Des Moines", "country": "US" }
            });
        }
        b
    }

    fn unverified() -> Value {
        json!({ "firstName": "Una", "lastName": "Doe", "email": "u@example.com" })
    }

    fn created(v: Value) -> Customer {
        let now = Timestamp::from_millis(1_717_200_000_000);
        new_customer("c1".into(), TenantId::generate(), &body(v), now).expect("created")
    }

    /// The field errors a refusal carries, as `(path, code, message)`.
    fn errors(e: &DwollaError) -> Vec<(String, FieldCode, String)> {
        let envelope: Value = serde_json::from_str(&e.body()).unwrap();
        envelope["_embedded"]["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                let text = |k: &str| e[k].as_str().unwrap().to_owned();
                (text("path"), text("code").parse().unwrap(), text("message"))
            })
            .collect()
    }

    fn refused_at(v: Value) -> Vec<(String, FieldCode)> {
        let e = check_create(&body(v), TODAY).expect_err("refused");
        assert_eq!(e.code(), DwollaCode::ValidationError);
        errors(&e).into_iter().map(|(path, code, _)| (path, code)).collect()
    }

    fn update(c: &mut Customer, v: Value) -> Result<Vec<EventTopic>, DwollaError> {
        decide_update(c, &body(v), TODAY)
    }

    fn assert_state_refusal(r: Result<Vec<EventTopic>, DwollaError>, message: &str) {
        let e = r.expect_err("refused");
        assert_eq!(
            (e.code(), e.to_string()),
            (DwollaCode::InvalidResourceState, format!("InvalidResourceState: {message}"))
        );
    }

    #[test]
    fn a_create_without_a_type_is_unverified_and_an_unknown_type_is_named() {
        assert_eq!(check_create(&body(unverified()), TODAY).unwrap(), CustomerKind::Unverified);
        let mut v = unverified();
        v["type"] = json!("receive-only");
        assert_eq!(check_create(&body(v.clone()), TODAY).unwrap(), CustomerKind::ReceiveOnly);
        v["type"] = json!("robot");
        v["firstName"] = json!("Bad<");
        let e = check_create(&body(v), TODAY).unwrap_err();
        let errors = errors(&e);
        assert!(errors.iter().any(|(p, c, _)| p == "/firstName" && *c == FieldCode::Invalid), "{errors:?}");
        let (_, code, message) = errors.iter().find(|(p, _, _)| p == "/type").expect("/type");
        assert_eq!(
            (*code, message.as_str()),
            (FieldCode::Invalid, "Type must be unverified, receive-only, personal or business.")
        );
    }

    #[test]
    fn fields_of_the_wrong_type_are_refused_at_their_path_before_any_rule() {
        for (v, path) in [
            (json!({ "type": 42 }), "/type"),
            (json!({ "status": ["suspended"] }), "/status"),
            (json!({ "controller": "Cal" }), "/controller"),
            (json!({ "controller": { "address": { "city": 5 } } }), "/controller/address/city"),
        ] {
            let e = crate::body::parse::<CustomerBody>(v.to_string().as_bytes()).unwrap_err();
            assert_eq!(errors(&e)[0].0, path, "{v}");
        }
    }

    #[test]
    fn names_emails_and_correlation_ids_follow_dwollas_rules() {
        let with = |k: &str, v: Value| {
            let mut b = unverified();
            b[k] = v;
            refused_at(b)
        };
        assert_eq!(with("firstName", json!("Who?")), [("/firstName".into(), FieldCode::Invalid)]);
        assert_eq!(with("lastName", json!("x".repeat(51))), [("/lastName".into(), FieldCode::Invalid)]);
        assert_eq!(with("firstName", json!("  ")), [("/firstName".into(), FieldCode::Required)]);
        assert_eq!(with("email", json!("a b@example.com")), [("/email".into(), FieldCode::InvalidFormat)]);
        assert_eq!(with("businessName", json!("b".repeat(256))), [("/businessName".into(), FieldCode::Invalid)]);
        assert_eq!(with("correlationId", json!("Has Spaces")), [("/correlationId".into(), FieldCode::Invalid)]);
        let mut ok = unverified();
        ok["correlationId"] = json!("fc451a7a-ae30-4404-aB95.e3_5");
        assert!(check_create(&body(ok), TODAY).is_ok());
    }

    #[test]
    fn a_personal_customer_needs_an_address_and_an_identity_of_an_adult() {
        assert_eq!(check_create(&body(personal("Jane")), TODAY).unwrap(), CustomerKind::Personal);
        let with = |k: &str, v: Value| {
            let mut b = personal("Jane");
            b[k] = v;
            refused_at(b)
        };
        assert_eq!(with("state", json!("N1")), [("/state".into(), FieldCode::Invalid)]);
        assert_eq!(with("postalCode", json!("1234")), [("/postalCode".into(), FieldCode::Invalid)]);
        assert_eq!(with("phone", json!("555-1234")), [("/phone".into(), FieldCode::Invalid)]);
        assert_eq!(with("dateOfBirth", json!("2010-01-01")), [("/dateOfBirth".into(), FieldCode::Invalid)]);
        assert_eq!(with("dateOfBirth", json!("01/01/1970")), [("/dateOfBirth".into(), FieldCode::InvalidFormat)]);
        assert_eq!(with("ssn", json!("12ab")), [("/ssn".into(), FieldCode::Invalid)]);
        assert_eq!(with("ssn", Value::Null), [("/ssn".into(), FieldCode::Required)]);
        let mut nine = personal("Jane");
        nine["ssn"] = json!("123-45-6789");
        nine["postalCode"] = json!("11101-1234");
        assert!(check_create(&body(nine), TODAY).is_ok());
    }

    #[test]
    fn a_business_needs_its_fields_and_a_controller_unless_sole_proprietor() {
        for kind in ["soleProprietorship", "llc", "corporation", "partnership"] {
            assert_eq!(check_create(&body(business(kind)), TODAY).unwrap(), CustomerKind::Business, "{kind}");
        }
        let mut coop = business("llc");
        coop["businessType"] = json!("cooperative");
        assert_eq!(refused_at(coop), [("/businessType".into(), FieldCode::Invalid)]);
        let mut sole = business("soleProprietorship");
        sole["ssn"] = Value::Null;
        assert_eq!(refused_at(sole), [("/ssn".into(), FieldCode::Required)]);
        let mut llc = business("llc");
        llc["controller"] = Value::Null;
        llc["ein"] = json!("12-345");
        assert_eq!(refused_at(llc), [("/ein".into(), FieldCode::Invalid), ("/controller".into(), FieldCode::Required)]);
    }

    #[test]
    fn controller_errors_point_inside_the_controller() {
        let mut b = business("llc");
        b["controller"] = json!({ "firstName": "Cal", "dateOfBirth": "2012-01-01", "address": { "city": "X" } });
        assert_eq!(
            refused_at(b),
            [
                ("/controller/lastName".into(), FieldCode::Required),
                ("/controller/title".into(), FieldCode::Required),
                ("/controller/dateOfBirth".into(), FieldCode::Invalid),
                ("/controller/ssn".into(), FieldCode::Required),
                ("/controller/address/address1".into(), FieldCode::Required),
                ("/controller/address/country".into(), FieldCode::Required),
            ]
        );
        let mut no_address = business("llc");
        no_address["controller"]["address"] = Value::Null;
        assert_eq!(refused_at(no_address), [("/controller/address".into(), FieldCode::Required)]);
    }

    #[test]
    fn a_passport_stands_in_for_the_controllers_ssn_and_is_checked_whatever_its_shape() {
        let with_passport = |passport: Value| {
            let mut b = business("corporation");
            b["controller"]["ssn"] = Value::Null;
            b["controller"]["passport"] = passport;
            b
        };
        assert!(check_create(&body(with_passport(json!({ "number": "BKK1234567", "country": "DE" }))), TODAY).is_ok());
        assert_eq!(
            refused_at(with_passport(json!({ "number": "", "country": {} }))),
            [
                ("/controller/passport/number".into(), FieldCode::Invalid),
                ("/controller/passport/country".into(), FieldCode::Invalid),
            ]
        );
        assert_eq!(refused_at(with_passport(json!("nope"))), [("/controller/passport".into(), FieldCode::Invalid)]);
        assert_eq!(
            refused_at(with_passport(json!({ "number": "P-1", "country": "GBR" }))),
            [
                ("/controller/passport/number".into(), FieldCode::Invalid),
                ("/controller/passport/country".into(), FieldCode::Invalid),
            ]
        );
    }

    #[test]
    fn the_sandbox_status_comes_from_the_first_name() {
        use CustomerStatus::*;
        for (first, kind, status) in [
            ("Jane", CustomerKind::Personal, Verified),
            ("verified", CustomerKind::Personal, Verified),
            ("retry", CustomerKind::Personal, Retry),
            ("RETRY", CustomerKind::Business, Retry),
            ("kba", CustomerKind::Personal, Kba),
            ("kba", CustomerKind::Business, Verified),
            ("document", CustomerKind::Business, Document),
            ("Suspended", CustomerKind::Personal, Suspended),
        ] {
            assert_eq!(sandbox_status(first, kind), status, "{first} {kind}");
        }
    }

    #[test]
    fn a_new_customer_raises_created_and_a_verified_one_its_outcome() {
        let plain = created(unverified());
        assert_eq!((plain.record.kind, plain.record.status), (CustomerKind::Unverified, CustomerStatus::Unverified));
        assert_eq!(plain.profile, None);
        assert_eq!(creation_topics(&plain), [EventTopic::CustomerCreated]);
        let mut named_retry = unverified();
        named_retry["firstName"] = json!("retry");
        assert_eq!(created(named_retry).record.status, CustomerStatus::Unverified, "only verified types simulate");
        for (first, topic) in [
            ("Jane", EventTopic::CustomerVerified),
            ("retry", EventTopic::CustomerReverificationNeeded),
            ("kba", EventTopic::CustomerKbaVerificationNeeded),
            ("document", EventTopic::CustomerVerificationDocumentNeeded),
            ("suspended", EventTopic::CustomerSuspended),
        ] {
            assert_eq!(creation_topics(&created(personal(first))), [EventTopic::CustomerCreated, topic], "{first}");
        }
    }

    #[test]
    fn a_new_customer_is_trimmed_and_keeps_no_identity() {
        let mut v = business("llc");
        v["firstName"] = json!("  Bo ");
        v["email"] = json!(" Bo@Example.com ");
        v["address2"] = json!("");
        let c = created(v);
        assert_eq!((c.record.first_name.as_str(), c.record.email.as_str()), ("Bo", "Bo@Example.com"));
        assert_eq!(c.record.email_key, "bo@example.com");
        assert_eq!(c.record.business_name.as_deref(), Some("Bo's Bikes"));
        let profile = c.profile.expect("a verified customer keeps a profile");
        assert_eq!(profile.address2, None, "empty details are left out");
        assert_eq!(profile.business_type.as_deref(), Some("llc"));
        let kept = serde_json::to_string(&profile).unwrap();
        assert!(!kept.contains("6789") && !kept.contains("1975") && !kept.contains("dateOfBirth"), "{kept}");
        assert_eq!(profile.controller.and_then(|c| c.title).as_deref(), Some("CEO"));
    }

    #[test]
    fn status_changes_suspend_deactivate_and_reactivate() {
        let mut c = created(personal("Sue"));
        assert_eq!(update(&mut c, json!({ "status": "suspended" })).unwrap(), [EventTopic::CustomerSuspended]);
        assert_eq!(c.record.status, CustomerStatus::Suspended);
        assert_state_refusal(
            update(&mut c, json!({ "status": "reactivated" })),
            "Only a deactivated customer can be reactivated.",
        );
        assert_eq!(update(&mut c, json!({ "status": "deactivated" })).unwrap(), [EventTopic::CustomerDeactivated]);
        for status in ["suspended", "deactivated", "bogus"] {
            assert_state_refusal(
                update(&mut c, json!({ "status": status })),
                "A deactivated customer can only be reactivated.",
            );
        }
        assert_eq!(update(&mut c, json!({ "status": "reactivated" })).unwrap(), [EventTopic::CustomerActivated]);
        assert_eq!(c.record.status, CustomerStatus::Verified);

        let mut u = created(unverified());
        update(&mut u, json!({ "status": "deactivated" })).unwrap();
        update(&mut u, json!({ "status": "reactivated" })).unwrap();
        assert_eq!(u.record.status, CustomerStatus::Unverified, "an unverified customer comes back unverified");
        let e = update(&mut u, json!({ "status": "verified" })).unwrap_err();
        assert_eq!(errors(&e)[0].0, "/status");
        assert_eq!(errors(&e)[0].2, "Status must be suspended, deactivated or reactivated.");
    }

    #[test]
    fn document_suspended_and_deactivated_customers_cannot_be_modified() {
        for first in ["document", "suspended"] {
            let mut c = created(personal(first));
            assert_state_refusal(update(&mut c, json!({ "address1": "6 Old Rd" })), "Resource cannot be modified.");
        }
        let mut c = created(unverified());
        update(&mut c, json!({ "status": "deactivated" })).unwrap();
        for v in [json!({ "firstName": "Daniel" }), json!({ "email": "d@example.com" }), personal("Dan")] {
            assert_state_refusal(update(&mut c, v), "Resource cannot be modified.");
        }
        assert_eq!(c.record.first_name, "Una");
    }

    #[test]
    fn an_unverified_customer_upgrades_to_personal_with_its_sandbox_outcome() {
        let mut c = created(unverified());
        let e = update(
            &mut c,
            json!({ "type": "personal", "firstName": "Una", "lastName": "Doe", "email": "u@example.com" }),
        )
        .unwrap_err();
        let paths: Vec<String> = errors(&e).into_iter().map(|(p, _, _)| p).collect();
        assert_eq!(paths, ["/address1", "/city", "/state", "/postalCode", "/dateOfBirth", "/ssn"]);
        assert_eq!(c.record.kind, CustomerKind::Unverified, "a refused upgrade changes nothing");

        assert_eq!(update(&mut c, personal("kba")).unwrap(), [EventTopic::CustomerKbaVerificationNeeded]);
        assert_eq!((c.record.kind, c.record.status), (CustomerKind::Personal, CustomerStatus::Kba));
        assert_eq!(c.record.first_name, "kba");
        assert_eq!(c.profile.as_ref().and_then(|p| p.city.as_deref()), Some("Some City"));
    }

    #[test]
    fn an_unverified_customer_upgraded_to_a_business_keeps_its_business_name() {
        for kind in ["soleProprietorship", "llc"] {
            let mut c = created(unverified());
            assert_eq!(update(&mut c, business(kind)).unwrap(), [EventTopic::CustomerVerified], "{kind}");
            assert_eq!(c.record.kind, CustomerKind::Business);
            assert_eq!(c.record.business_name.as_deref(), Some("Bo's Bikes"), "{kind}");
        }
    }

    #[test]
    fn only_an_unverified_customer_changes_type_and_only_to_a_verified_one() {
        let mut verified = created(personal("Uma"));
        assert_state_refusal(update(&mut verified, business("llc")), "Resource cannot be modified.");
        let mut same = personal("Uma");
        same["ssn"] = Value::Null;
        same["dateOfBirth"] = Value::Null;
        same["firstName"] = Value::Null;
        same["lastName"] = Value::Null;
        assert!(update(&mut verified, same).is_ok(), "naming its own type is no upgrade");
        let mut receive_only = unverified();
        receive_only["type"] = json!("receive-only");
        let mut r = created(receive_only);
        assert_state_refusal(update(&mut r, personal("Ro")), "Resource cannot be modified.");
        let mut u = created(unverified());
        for kind in ["receive-only", "robot"] {
            assert_state_refusal(update(&mut u, json!({ "type": kind })), "Resource cannot be modified.");
        }
    }

    #[test]
    fn a_retry_customer_is_verified_with_all_nine_ssn_digits() {
        let mut c = created(personal("retry"));
        let e = update(&mut c, personal("retry")).unwrap_err();
        assert_eq!(errors(&e)[0].2, "A retry needs all nine digits of the SSN.");
        let mut full = personal("retry");
        full["ssn"] = json!("123-45-6789");
        full["address1"] = json!("7 Retry Ln");
        assert_eq!(update(&mut c, full).unwrap(), [EventTopic::CustomerVerified]);
        assert_eq!(c.record.status, CustomerStatus::Verified);
        assert_eq!(c.profile.as_ref().and_then(|p| p.address1.as_deref()), Some("7 Retry Ln"));
    }

    #[test]
    fn identity_is_resubmitted_only_by_a_retry() {
        let mut c = created(personal("Vic"));
        let mut full = personal("Vic");
        full["ssn"] = json!("123456789");
        assert_state_refusal(update(&mut c, full), "Resource cannot be modified.");
        assert_state_refusal(update(&mut c, json!({ "dateOfBirth": "1970-01-01" })), "Resource cannot be modified.");
    }

    #[test]
    fn a_verified_customer_updates_its_address_and_email_but_not_its_name() {
        let mut c = created(personal("Vera"));
        let topics =
            update(&mut c, json!({ "address1": "5 New Rd", "city": "Ames", "email": " V@Example.com " })).unwrap();
        assert!(topics.is_empty(), "an edit raises no event");
        let profile = c.profile.clone().unwrap();
        assert_eq!((profile.address1.as_deref(), profile.city.as_deref()), (Some("5 New Rd"), Some("Ames")));
        assert_eq!(profile.postal_code.as_deref(), Some("11101"), "what it does not give is kept");
        assert_eq!((c.record.email.as_str(), c.record.email_key.as_str()), ("V@Example.com", "v@example.com"));
        let e = update(&mut c, json!({ "firstName": "Other" })).unwrap_err();
        assert_eq!(errors(&e)[0].0, "/firstName");
        assert_eq!(c.record.first_name, "Vera");
    }

    #[test]
    fn an_unverified_customer_is_renamed_and_a_blank_business_name_unsets_it() {
        let mut c = created(unverified());
        update(&mut c, json!({ "firstName": " Josephine ", "lastName": "March", "businessName": "March Co" })).unwrap();
        assert_eq!((c.record.first_name.as_str(), c.record.last_name.as_str()), ("Josephine", "March"));
        assert_eq!(c.record.business_name.as_deref(), Some("March Co"));
        update(&mut c, json!({ "businessName": "" })).unwrap();
        assert_eq!(c.record.business_name, None);
        let e = update(&mut c, json!({ "firstName": "Bad{Name}", "email": "broken" })).unwrap_err();
        let paths: Vec<String> = errors(&e).into_iter().map(|(p, _, _)| p).collect();
        assert_eq!(paths, ["/firstName", "/email"]);
        assert_eq!(c.record.first_name, "Josephine");
        assert_eq!(c.profile, None, "an unverified customer keeps no profile");
    }
}
