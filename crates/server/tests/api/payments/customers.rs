//! `/customers`: create (every type), validation, duplicates, list and search, retrieve,
//! update (fields, email, status changes, retry, upgrade).

use serde_json::{json, Value};

use super::support::{assert_error, assert_field_error, assert_link, assert_timestamp, personal, Dwolla, HAL};
use crate::helpers::TestApp;

fn business(kind: &str, email: &str) -> Value {
    let mut b = json!({
        "firstName": "Bo", "lastName": "Owner", "email": email, "type": "business", "businessType": kind,
        "businessName": "Bo's Bikes", "businessClassification": "9ed3f670-7d6f-11e3-b1ce-5404a6144203",
        "address1": "1 Main St", "city": "Des Moines", "state": "IA", "postalCode": "50309",
    });
    if kind == "soleProprietorship" {
        b["dateOfBirth"] = json!("1980-05-05");
        b["ssn"] = json!("6789");
    } else {
        b["ein"] = json!("00-0000000");
        b["controller"] = json!({
            "firstName": "Cal", "lastName": "Troller", "title": "CEO", "dateOfBirth": "1975-03-03", "ssn": "6789",
            "address": { "address1": "2 Side St", "city": "Des Moines", "stateProvinceRegion": "IA",
                         "postalCode": "50309", "country": "US" }
        });
    }
    b
}

/// A date of birth for someone `years` old today.
fn born_years_ago(years: i32) -> String {
    let today = time::OffsetDateTime::now_utc().date();
    format!("{}-01-01", today.year() - years)
}

async fn create(d: &Dwolla, body: Value) -> Value {
    let r = d.post("/customers", body).await;
    let id = r.created_id();
    let c = d.get(&format!("/customers/{id}")).await;
    assert_eq!(c.status, 200, "{}", c.text);
    c.body
}

#[tokio::test]
async fn unverified_and_receive_only_customers_are_created_with_a_location() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;

    let r = d
        .post(
            "/customers",
            json!({ "firstName": "Jane", "lastName": "Merchant", "email": "jmerchant@nomail.net",
                    "businessName": "Jane Corp", "ipAddress": "99.99.99.99", "correlationId": "fc451a7a-ae30.4b_5" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.text, "", "a create answers no body");
    let location = r.location();
    let id = r.created_id();
    assert_eq!(location, format!("{}/customers/{id}", app.payments_base));
    assert!(uuid_like(&id), "{id}");

    let c = d.get(&location).await;
    assert_eq!(c.status, 200, "{}", c.text);
    let c = &c.body;
    assert_eq!(c["id"], id.as_str());
    assert_eq!(c["firstName"], "Jane");
    assert_eq!(c["lastName"], "Merchant");
    assert_eq!(c["email"], "jmerchant@nomail.net");
    assert_eq!(c["type"], "unverified");
    assert_eq!(c["status"], "unverified");
    assert_eq!(c["businessName"], "Jane Corp");
    assert_eq!(c["correlationId"], "fc451a7a-ae30.4b_5");
    assert_timestamp(&c["created"]);
    assert_link(&c["_links"]["self"], &location, "customer");
    assert_link(&c["_links"]["funding-sources"], &format!("{location}/funding-sources"), "funding-source");
    assert_eq!(c["_links"]["edit"]["type"], HAL);
    assert!(c["_links"]["deactivate"].is_object(), "{c}");

    let explicit =
        create(&d, json!({ "type": "unverified", "firstName": "T", "lastName": "S", "email": "t@ex.com" })).await;
    assert_eq!(explicit["type"], "unverified");
    let r =
        create(&d, json!({ "type": "receive-only", "firstName": "R", "lastName": "O", "email": "ro@ex.com" })).await;
    assert_eq!(r["type"], "receive-only");
    assert_eq!(r["status"], "unverified");
    assert!(r.get("businessName").is_none() && r.get("correlationId").is_none(), "{r}");

    assert_eq!(d.topics_about(&id).await, ["customer_created"]);
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase() || c == '-')
}

#[tokio::test]
async fn personal_customers_get_the_sandbox_status_their_first_name_picks() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let table = [
        ("Jane", "verified", "customer_verified"),
        ("retry", "retry", "customer_reverification_needed"),
        ("kba", "kba", "customer_kba_verification_needed"),
        ("document", "document", "customer_verification_document_needed"),
        ("suspended", "suspended", "customer_suspended"),
    ];
    for (first, status, topic) in table {
        let mut body = personal(first, &format!("{first}@example.com"));
        body["address2"] = json!("Apt 1");
        body["phone"] = json!("5554321234");
        let c = create(&d, body).await;
        assert_eq!(c["type"], "personal", "{c}");
        assert_eq!(c["status"], status, "{first}: {c}");
        assert_eq!(c["address1"], "99-99 33rd St");
        assert_eq!(c["address2"], "Apt 1");
        assert_eq!(c["city"], "Some City");
        assert_eq!(c["state"], "NY");
        assert_eq!(c["postalCode"], "11101");
        assert!(c.get("ssn").is_none() && c.get("dateOfBirth").is_none(), "identity stays private: {c}");
        assert_eq!(c["_links"]["retry-verification"].is_object(), status == "retry", "{c}");
        let id = c["id"].as_str().unwrap();
        assert_eq!(d.topics_about(id).await, ["customer_created", topic], "{first}");
    }
    // A nine-digit SSN works as well as the last four.
    let mut body = personal("Nina", "nina@example.com");
    body["ssn"] = json!("123-45-6789");
    assert_eq!(create(&d, body).await["status"], "verified");
}

#[tokio::test]
async fn business_customers_are_created_as_sole_proprietorships_or_with_a_controller() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;

    let sole = create(&d, business("soleProprietorship", "sole@example.com")).await;
    assert_eq!(sole["type"], "business");
    assert_eq!(sole["status"], "verified");
    assert_eq!(sole["businessType"], "soleProprietorship");
    assert_eq!(sole["businessName"], "Bo's Bikes");
    assert_eq!(sole["businessClassification"], "9ed3f670-7d6f-11e3-b1ce-5404a6144203");

    let llc = create(&d, business("llc", "llc@example.com")).await;
    assert_eq!(llc["type"], "business");
    assert_eq!(llc["status"], "verified");
    assert_eq!(llc["businessType"], "llc");
    let ctrl = &llc["controller"];
    assert_eq!(ctrl["firstName"], "Cal");
    assert_eq!(ctrl["title"], "CEO");
    assert_eq!(ctrl["address"]["country"], "US");
    assert!(ctrl.get("ssn").is_none() && ctrl.get("dateOfBirth").is_none(), "{ctrl}");
    assert!(!llc.to_string().contains("6789"), "no SSN digits are answered: {llc}");

    let mut corp = business("corporation", "corp@example.com");
    corp["controller"]["ssn"] = Value::Null;
    corp["controller"]["passport"] = json!({ "number": "BKK1234567", "country": "DE" });
    assert_eq!(create(&d, corp).await["status"], "verified");

    let mut doc = business("partnership", "doc@example.com");
    doc["firstName"] = json!("document");
    assert_eq!(create(&d, doc).await["status"], "document");
}

#[tokio::test]
async fn invalid_customers_are_refused_with_json_pointer_paths() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;

    let r = d.post("/customers", json!({})).await;
    for path in ["/firstName", "/lastName", "/email"] {
        assert_field_error(&r, path, "Required");
    }

    let with = |patch: Value, base: Value| {
        let mut b = base;
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                b.as_object_mut().unwrap().remove(k);
            } else {
                b[k] = v.clone();
            }
        }
        b
    };
    let unverified = json!({ "firstName": "Val", "lastName": "Id", "email": "valid@example.com" });
    let p = personal("Val", "valid@example.com");
    let llc = business("llc", "valid@example.com");
    let table: Vec<(Value, &str, &str)> = vec![
        (with(json!({ "firstName": "Bad<Name>" }), unverified.clone()), "/firstName", "Invalid"),
        (with(json!({ "firstName": "Who?" }), unverified.clone()), "/firstName", "Invalid"),
        (with(json!({ "lastName": "Cash$" }), unverified.clone()), "/lastName", "Invalid"),
        (with(json!({ "lastName": "x".repeat(51) }), unverified.clone()), "/lastName", "Invalid"),
        (with(json!({ "firstName": "  " }), unverified.clone()), "/firstName", "Required"),
        (with(json!({ "email": "not-an-email" }), unverified.clone()), "/email", "InvalidFormat"),
        (with(json!({ "email": "a b@example.com" }), unverified.clone()), "/email", "InvalidFormat"),
        (with(json!({ "businessName": "b".repeat(256) }), unverified.clone()), "/businessName", "Invalid"),
        (with(json!({ "correlationId": "Has Spaces" }), unverified.clone()), "/correlationId", "Invalid"),
        (with(json!({ "type": "robot" }), unverified.clone()), "/type", "Invalid"),
        (with(json!({ "state": "New York" }), p.clone()), "/state", "Invalid"),
        (with(json!({ "state": "N1" }), p.clone()), "/state", "Invalid"),
        (with(json!({ "postalCode": "1234" }), p.clone()), "/postalCode", "Invalid"),
        (with(json!({ "phone": "555-1234" }), p.clone()), "/phone", "Invalid"),
        (with(json!({ "dateOfBirth": born_years_ago(10) }), p.clone()), "/dateOfBirth", "Invalid"),
        (with(json!({ "dateOfBirth": born_years_ago(130) }), p.clone()), "/dateOfBirth", "Invalid"),
        (with(json!({ "dateOfBirth": "01/01/1970" }), p.clone()), "/dateOfBirth", "InvalidFormat"),
        (with(json!({ "ssn": "12345" }), p.clone()), "/ssn", "Invalid"),
        (with(json!({ "ssn": "12ab" }), p.clone()), "/ssn", "Invalid"),
        (with(json!({ "address1": null }), p.clone()), "/address1", "Required"),
        (with(json!({ "city": null }), p.clone()), "/city", "Required"),
        (with(json!({ "state": null }), p.clone()), "/state", "Required"),
        (with(json!({ "postalCode": null }), p.clone()), "/postalCode", "Required"),
        (with(json!({ "dateOfBirth": null }), p.clone()), "/dateOfBirth", "Required"),
        (with(json!({ "ssn": null }), p.clone()), "/ssn", "Required"),
        (with(json!({ "ein": null }), llc.clone()), "/ein", "Required"),
        (with(json!({ "ein": "12-345" }), llc.clone()), "/ein", "Invalid"),
        (with(json!({ "controller": null }), llc.clone()), "/controller", "Required"),
        (with(json!({ "businessType": "cooperative" }), llc.clone()), "/businessType", "Invalid"),
        (with(json!({ "businessType": null }), llc.clone()), "/businessType", "Required"),
        (with(json!({ "businessName": null }), llc.clone()), "/businessName", "Required"),
        (with(json!({ "businessClassification": null }), llc.clone()), "/businessClassification", "Required"),
        (
            with(json!({ "dateOfBirth": null }), business("soleProprietorship", "s@example.com")),
            "/dateOfBirth",
            "Required",
        ),
        (with(json!({ "ssn": null }), business("soleProprietorship", "s@example.com")), "/ssn", "Required"),
    ];
    for (body, path, code) in &table {
        let r = d.post("/customers", body.clone()).await;
        assert!(r.status == 400 && r.paths().contains(&path.to_string()), "{path} for {body}: {}", r.text);
        assert_field_error(&r, path, code);
    }

    // Controller fields point inside the controller.
    let mut b = business("llc", "ctrl@example.com");
    b["controller"] = json!({ "firstName": "Cal", "dateOfBirth": born_years_ago(12), "address": { "city": "X" } });
    let r = d.post("/customers", b).await;
    for (path, code) in [
        ("/controller/lastName", "Required"),
        ("/controller/title", "Required"),
        ("/controller/dateOfBirth", "Invalid"),
        ("/controller/ssn", "Required"),
        ("/controller/address/address1", "Required"),
        ("/controller/address/country", "Required"),
    ] {
        assert_field_error(&r, path, code);
    }

    // Several mistakes are reported together.
    let r =
        d.post("/customers", json!({ "firstName": "A<", "email": "nope", "type": "personal", "state": "Iowa" })).await;
    for (path, code) in
        [("/firstName", "Invalid"), ("/lastName", "Required"), ("/email", "InvalidFormat"), ("/state", "Invalid")]
    {
        assert_field_error(&r, path, code);
    }

    assert_eq!(d.get("/customers").await.body["total"], 0, "nothing invalid was created");
    assert_eq!(d.get("/events").await.body["total"], 0, "nor any event");
}

#[tokio::test]
async fn malformed_json_is_a_bad_request_that_quotes_no_parser() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    for body in ["{\"firstName\":", "not json", "[]", "42", "{\"firstName\": \"a\"} trailing"] {
        let r = d.post_raw("/customers", Some("application/json"), body).await;
        assert_error(&r, 400, "BadRequest", None);
        assert!(
            r.message().starts_with("The request body contains bad syntax or is incomplete")
                || r.message() == "The request body must be a JSON object.",
            "{}",
            r.text
        );
        assert!(!r.text.contains("line ") && !r.text.contains("column"), "{}", r.text);
    }
    let wrong_type = "{\"firstName\": 12, \"lastName\": \"x\", \"email\": \"e@x.com\"}";
    let r = d.post_raw("/customers", Some("application/json"), wrong_type).await;
    assert_field_error(&r, "/firstName", "Invalid");
    assert!(!r.text.contains("line ") && !r.text.contains("expected"), "{}", r.text);
    assert_eq!(d.get("/customers").await.body["total"], 0, "nothing was created");
}

#[tokio::test]
async fn correlation_ids_take_upper_and_lower_case_letters() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    // Dwolla's own spec example has an upper-case B.
    let body = json!({ "firstName": "C", "lastName": "D", "email": "cid@example.com",
                       "correlationId": "fc451a7a-ae30-4404-aB95-e3553fcd733" });
    let r = d.post("/customers", body.clone()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let c = d.get(r.location.as_deref().unwrap()).await;
    assert_eq!(c.body["correlationId"], "fc451a7a-ae30-4404-aB95-e3553fcd733");
}

#[tokio::test]
async fn a_malformed_controller_passport_is_refused() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let mut body = business("llc", "passport@example.com");
    body["controller"].as_object_mut().unwrap().remove("ssn");
    body["controller"]["passport"] = json!({ "number": "", "country": {} });
    let r = d.post("/customers", body.clone()).await;
    assert_field_error(&r, "/controller/passport/number", "Invalid");
    assert_field_error(&r, "/controller/passport/country", "Invalid");
    body["controller"]["passport"] = json!("nope");
    assert_field_error(&d.post("/customers", body.clone()).await, "/controller/passport", "Invalid");
    body["controller"]["passport"] = json!({ "number": "P1234567", "country": "GB" });
    let r = d.post("/customers", body.clone()).await;
    assert_eq!(r.status, 201, "{}", r.text);
}

#[tokio::test]
async fn duplicate_emails_are_refused_case_insensitively_with_a_link_to_the_customer() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let first = d.customer("Jane", "Jane.Doe@Example.com").await;

    for email in ["jane.doe@example.com", "JANE.DOE@EXAMPLE.COM", " Jane.Doe@Example.com "] {
        let mut bodies = vec![json!({ "firstName": "Other", "lastName": "One", "email": email })];
        bodies.push(personal("Other", email));
        for body in bodies {
            let r = d.post("/customers", body).await;
            assert_field_error(&r, "/email", "Duplicate");
            let e = r.error_at("/email");
            assert_eq!(e["message"], "A customer with the specified email already exists.");
            assert_link(&e["_links"]["about"], &format!("{}/customers/{first}", app.payments_base), "customer");
        }
    }
    assert_eq!(d.get("/customers").await.body["total"], 1);

    // Another tenant may use the same email.
    let (other, _) = Dwolla::other_tenant(&app).await;
    other.customer("Jane", "jane.doe@example.com").await;
}

#[tokio::test]
async fn duplicate_correlation_ids_are_refused() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let body = |email: &str| json!({ "firstName": "C", "lastName": "D", "email": email, "correlationId": "order-42" });
    assert_eq!(d.post("/customers", body("c1@example.com")).await.status, 201);
    let r = d.post("/customers", body("c2@example.com")).await;
    assert_field_error(&r, "/correlationId", "Duplicate");
    assert_eq!(d.get("/customers").await.body["total"], 1);
}

#[tokio::test]
async fn customers_are_listed_searched_filtered_and_paged() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let base = &app.payments_base;
    let alice = d.customer("Alice", "alice@example.com").await;
    let bob = create(
        &d,
        json!({ "firstName": "Bob", "lastName": "Jones", "email": "Bob@Example.com", "businessName": "Bobco" }),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let retry = create(&d, personal("retry", "r@example.org")).await["id"].as_str().unwrap().to_owned();
    let document = create(&d, personal("document", "doc@example.org")).await["id"].as_str().unwrap().to_owned();
    let carol = create(&d, personal("Carol", "carol@example.org")).await["id"].as_str().unwrap().to_owned();

    let all = d.get("/customers").await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(all.body["total"], 5);
    assert_eq!(
        ids(&all),
        [alice.as_str(), bob.as_str(), retry.as_str(), document.as_str(), carol.as_str()],
        "sorted by creation"
    );
    assert_link(&all.body["_links"]["self"], &format!("{base}/customers?limit=25&offset=0"), "customer");
    assert_eq!(all.body["_links"]["first"]["href"], format!("{base}/customers?limit=25&offset=0"));
    assert_eq!(all.body["_links"]["last"]["href"], format!("{base}/customers?limit=25&offset=0"));
    assert!(all.body["_links"].get("next").is_none() && all.body["_links"].get("prev").is_none());
    assert_eq!(all.body["_embedded"]["customers"][0]["_links"]["self"]["href"], format!("{base}/customers/{alice}"));

    // search: any part of a name, business name or email, case-insensitively.
    for (q, expected) in [
        ("ali", vec![alice.as_str()]),
        ("JONES", vec![bob.as_str()]),
        ("bobco", vec![bob.as_str()]),
        ("example.org", vec![retry.as_str(), document.as_str(), carol.as_str()]),
        ("nobody", vec![]),
        ("%", vec![]),
    ] {
        let r = d.get(&format!("/customers?search={}", urlencode(q))).await;
        assert_eq!(ids(&r), expected, "search={q}: {}", r.text);
        assert_eq!(r.body["total"], expected.len(), "search={q}");
    }
    let r = d.get("/customers?search=ali").await;
    assert_eq!(r.body["_links"]["self"]["href"], format!("{base}/customers?limit=25&offset=0&search=ali"));

    // email: exact.
    assert_eq!(ids(&d.get("/customers?email=bob%40example.com").await), [bob.as_str()]);
    assert_eq!(ids(&d.get("/customers?email=bob%40example").await), Vec::<&str>::new());

    // status: repeatable.
    assert_eq!(ids(&d.get("/customers?status=retry&status=document").await), [retry.as_str(), document.as_str()]);
    assert_eq!(ids(&d.get("/customers?status=unverified").await), [alice.as_str(), bob.as_str()]);
    assert_eq!(ids(&d.get("/customers?status=verified&search=carol").await), [carol.as_str()]);
    assert_eq!(d.get("/customers?status=deactivated").await.body["total"], 0);

    // limit and offset.
    let page = d.get("/customers?limit=2&offset=0").await;
    assert_eq!(ids(&page), [alice.as_str(), bob.as_str()]);
    assert_eq!(page.body["total"], 5);
    assert_eq!(page.body["_links"]["next"]["href"], format!("{base}/customers?limit=2&offset=2"));
    assert_eq!(page.body["_links"]["last"]["href"], format!("{base}/customers?limit=2&offset=4"));
    assert!(page.body["_links"].get("prev").is_none());
    let page = d.get("/customers?limit=2&offset=2").await;
    assert_eq!(ids(&page), [retry.as_str(), document.as_str()]);
    assert_eq!(page.body["_links"]["prev"]["href"], format!("{base}/customers?limit=2&offset=0"));
    let page = d.get(page.body["_links"]["next"]["href"].as_str().unwrap()).await;
    assert_eq!(ids(&page), [carol.as_str()]);
    assert!(page.body["_links"].get("next").is_none());
    let page = d.get("/customers?limit=2&offset=2&status=retry&status=document&status=verified").await;
    assert_eq!(ids(&page), [carol.as_str()]);
    assert_eq!(page.body["total"], 3);
    assert_eq!(
        page.body["_links"]["prev"]["href"],
        format!("{base}/customers?limit=2&offset=0&status=retry&status=document&status=verified")
    );
    let r = d.get("/customers?offset=10").await;
    assert_eq!((ids(&r).len(), r.body["total"].as_i64()), (0, Some(5)));
    let r = d.get("/customers?limit=1000").await;
    assert_eq!(r.body["_links"]["self"]["href"], format!("{base}/customers?limit=200&offset=0"), "at most 200");
    for bad in ["limit=abc", "offset=-1"] {
        let r = d.get(&format!("/customers?{bad}")).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
        assert_eq!(r.code(), "ValidationError");
    }
}

fn ids(r: &super::support::HalResp) -> Vec<String> {
    let list = r.body["_embedded"]["customers"].as_array().unwrap_or_else(|| panic!("{}", r.text));
    list.iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b == b'.' { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

#[tokio::test]
async fn unknown_and_other_tenants_customers_are_not_found() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let (other, _) = Dwolla::other_tenant(&app).await;
    let theirs = other.customer("Their", "their@example.com").await;
    let mine = d.customer("Mine", "mine@example.com").await;

    for id in [theirs.as_str(), "b0c9e9f4-0000-4000-8000-000000000000", "not-a-uuid"] {
        let r = d.get(&format!("/customers/{id}")).await;
        assert_error(&r, 404, "NotFound", Some("Customer not found."));
        let r = d.post(&format!("/customers/{id}"), json!({ "firstName": "Hijack" })).await;
        assert_error(&r, 404, "NotFound", Some("Customer not found."));
    }
    assert_eq!(other.get(&format!("/customers/{theirs}")).await.body["firstName"], "Their", "unchanged");
    // Ids are case-insensitive.
    assert_eq!(d.get(&format!("/customers/{}", mine.to_uppercase())).await.status, 200);
}

#[tokio::test]
async fn unverified_customers_are_renamed_and_change_email_unless_it_is_taken() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let id = d.customer("Jo", "jo@example.com").await;
    let other = d.customer("Amy", "amy@example.com").await;
    let path = format!("/customers/{id}");

    let r = d.post(&path, json!({ "firstName": "Josephine", "lastName": "March", "businessName": "March Co" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["id"], id.as_str());
    assert_eq!(r.body["firstName"], "Josephine");
    assert_eq!(r.body["lastName"], "March");
    assert_eq!(r.body["businessName"], "March Co");
    assert_eq!(d.get(&path).await.body["firstName"], "Josephine", "saved");
    let r = d.post(&path, json!({ "businessName": "" })).await;
    assert!(r.body.get("businessName").is_none(), "\"\" unsets it: {}", r.text);

    let r = d.post(&path, json!({ "email": "Jo.March@Example.com" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["email"], "Jo.March@Example.com");
    // Its own email, in another case, is no duplicate.
    assert_eq!(d.post(&path, json!({ "email": "jo.march@example.com" })).await.status, 200);

    let r = d.post(&format!("/customers/{other}"), json!({ "email": "JO.MARCH@example.com" })).await;
    assert_field_error(&r, "/email", "Duplicate");
    assert_link(&r.error_at("/email")["_links"]["about"], &format!("{}{path}", app.payments_base), "customer");
    assert_eq!(d.get(&format!("/customers/{other}")).await.body["email"], "amy@example.com", "unchanged");
    // The freed email can be taken.
    let r = d.post(&format!("/customers/{other}"), json!({ "email": "jo@example.com" })).await;
    assert_eq!(r.status, 200, "{}", r.text);

    assert_field_error(&d.post(&path, json!({ "email": "broken" })).await, "/email", "InvalidFormat");
    assert_field_error(&d.post(&path, json!({ "firstName": "Bad{Name}" })).await, "/firstName", "Invalid");
    assert_eq!(d.get(&path).await.body["firstName"], "Josephine");
}

#[tokio::test]
async fn verified_customers_update_their_address_but_not_their_name() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let id = create(&d, personal("Vera", "vera@example.com")).await["id"].as_str().unwrap().to_owned();
    let path = format!("/customers/{id}");

    let r =
        d.post(&path, json!({ "address1": "5 New Rd", "city": "Ames", "state": "IA", "postalCode": "50010" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["address1"], "5 New Rd");
    assert_eq!(r.body["city"], "Ames");
    assert_eq!(r.body["status"], "verified");
    let r = d.post(&path, json!({ "firstName": "Other" })).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(d.get(&path).await.body["firstName"], "Vera");

    // A customer waiting for a document cannot be updated.
    let doc = create(&d, personal("document", "doc@example.com")).await["id"].as_str().unwrap().to_owned();
    let r = d.post(&format!("/customers/{doc}"), json!({ "address1": "6 Old Rd" })).await;
    assert_error(&r, 403, "InvalidResourceState", Some("Resource cannot be modified."));
}

#[tokio::test]
async fn status_changes_suspend_deactivate_and_reactivate_with_their_events() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;

    let s = create(&d, personal("Sue", "sue@example.com")).await["id"].as_str().unwrap().to_owned();
    let r = d.post(&format!("/customers/{s}"), json!({ "status": "suspended" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "suspended");
    assert_eq!(d.topics_about(&s).await, ["customer_created", "customer_verified", "customer_suspended"]);
    let r = d.post(&format!("/customers/{s}"), json!({ "address1": "x" })).await;
    assert_error(&r, 403, "InvalidResourceState", Some("Resource cannot be modified."));
    let r = d.post(&format!("/customers/{s}"), json!({ "status": "reactivated" })).await;
    assert_error(&r, 403, "InvalidResourceState", None);

    let v = create(&d, personal("Dee", "dee@example.com")).await["id"].as_str().unwrap().to_owned();
    let r = d.post(&format!("/customers/{v}"), json!({ "status": "deactivated" })).await;
    assert_eq!(r.body["status"], "deactivated", "{}", r.text);
    assert!(r.body["_links"]["reactivate"].is_object() && r.body["_links"].get("deactivate").is_none(), "{}", r.text);
    let r = d.post(&format!("/customers/{v}"), json!({ "status": "reactivated" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "verified");
    assert_eq!(
        d.topics_about(&v).await,
        ["customer_created", "customer_verified", "customer_deactivated", "customer_activated"]
    );

    let u = d.customer("Una", "una@example.com").await;
    assert_eq!(
        d.post(&format!("/customers/{u}"), json!({ "status": "deactivated" })).await.body["status"],
        "deactivated"
    );
    let r = d.post(&format!("/customers/{u}"), json!({ "status": "reactivated" })).await;
    assert_eq!(r.body["status"], "unverified", "an unverified customer comes back unverified: {}", r.text);
    assert_eq!(d.topics_about(&u).await, ["customer_created", "customer_deactivated", "customer_activated"]);

    // Only a deactivated customer can be reactivated, and statuses are a closed set.
    let r = d.post(&format!("/customers/{u}"), json!({ "status": "reactivated" })).await;
    assert_error(&r, 403, "InvalidResourceState", None);
    let r = d.post(&format!("/customers/{u}"), json!({ "status": "verified" })).await;
    assert_field_error(&r, "/status", "Invalid");
}

#[tokio::test]
async fn a_deactivated_customer_refuses_every_update_but_reactivation() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let id = d.customer("Dan", "dan@example.com").await;
    let path = format!("/customers/{id}");
    assert_eq!(d.post(&path, json!({ "status": "deactivated" })).await.status, 200);

    for body in [
        json!({ "firstName": "Daniel" }),
        json!({ "email": "daniel@example.com" }),
        json!({ "status": "suspended" }),
        json!({ "status": "deactivated" }),
        personal("Dan", "dan@example.com"),
    ] {
        let r = d.post(&path, body.clone()).await;
        assert_eq!(r.status, 403, "{body}: {}", r.text);
        assert_eq!(r.code(), "InvalidResourceState", "{}", r.text);
    }
    let c = d.get(&path).await.body;
    assert_eq!((c["firstName"].as_str(), c["status"].as_str()), (Some("Dan"), Some("deactivated")));
    assert_eq!(d.topics_about(&id).await, ["customer_created", "customer_deactivated"]);
}

#[tokio::test]
async fn a_retry_customer_is_verified_with_all_nine_ssn_digits() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let id = create(&d, personal("retry", "retry@example.com")).await["id"].as_str().unwrap().to_owned();
    let path = format!("/customers/{id}");

    let r = d.post(&path, personal("retry", "retry@example.com")).await;
    assert_field_error(&r, "/ssn", "Invalid");
    let mut incomplete = personal("retry", "retry@example.com");
    incomplete.as_object_mut().unwrap().remove("address1");
    incomplete["ssn"] = json!("123456789");
    assert_field_error(&d.post(&path, incomplete).await, "/address1", "Required");
    assert_eq!(d.get(&path).await.body["status"], "retry");

    let mut full = personal("retry", "retry@example.com");
    full["ssn"] = json!("123456789");
    full["address1"] = json!("7 Retry Ln");
    let r = d.post(&path, full).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "verified");
    assert_eq!(r.body["address1"], "7 Retry Ln");
    assert!(r.body["_links"].get("retry-verification").is_none(), "{}", r.text);
    assert!(!r.text.contains("123456789"));
    assert_eq!(d.topics_about(&id).await, ["customer_created", "customer_reverification_needed", "customer_verified"]);
}

#[tokio::test]
async fn a_retry_is_refused_unless_the_customer_is_in_retry() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let id = create(&d, personal("Vic", "vic@example.com")).await["id"].as_str().unwrap().to_owned();
    let mut full = personal("Vic", "vic@example.com");
    full["ssn"] = json!("123456789");
    let r = d.post(&format!("/customers/{id}"), full).await;
    assert_error(&r, 403, "InvalidResourceState", Some("Resource cannot be modified."));
}

#[tokio::test]
async fn an_unverified_customer_upgrades_to_a_verified_personal_customer() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let id = d.customer("Uma", "uma@example.com").await;
    let path = format!("/customers/{id}");

    let r = d
        .post(&path, json!({ "type": "personal", "firstName": "Uma", "lastName": "Doe", "email": "uma@example.com" }))
        .await;
    for p in ["/address1", "/city", "/state", "/postalCode", "/dateOfBirth", "/ssn"] {
        assert_field_error(&r, p, "Required");
    }
    assert_eq!(d.get(&path).await.body["type"], "unverified");

    let r = d.post(&path, personal("Uma", "uma@example.com")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["id"], id.as_str());
    assert_eq!(r.body["type"], "personal");
    assert_eq!(r.body["status"], "verified");
    assert_eq!(r.body["city"], "Some City");
    assert_eq!(d.topics_about(&id).await, ["customer_created", "customer_verified"]);

    // A verified customer does not change type.
    let r = d.post(&path, business("llc", "uma@example.com")).await;
    assert_error(&r, 403, "InvalidResourceState", None);
}

#[tokio::test]
async fn an_unverified_customer_upgraded_to_a_business_keeps_its_business_name() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    for kind in ["soleProprietorship", "llc"] {
        let email = format!("{kind}@example.com").to_lowercase();
        let id = d.customer("Bo", &email).await;
        let path = format!("/customers/{id}");
        let r = d.post(&path, business(kind, &email)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["status"], "verified");
        assert_eq!(r.body["businessName"], "Bo's Bikes", "{kind}: {}", r.text);
        assert_eq!(d.get(&path).await.body["businessName"], "Bo's Bikes");
        let listed = d.get(&format!("/customers?email={email}")).await;
        assert_eq!(listed.body["_embedded"]["customers"][0]["businessName"], "Bo's Bikes");
    }
}
