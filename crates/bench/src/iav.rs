//! Seed 000's flow through the payments (Dwolla-compatible) API: customer, MX exchange session,
//! the Connect widget completed as the end user through its own endpoints on the aggregation
//! listener, available exchange connection, exchange, and the verified funding source.

use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE, LOCATION};
use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use crate::client::{Conn, Target};
use crate::flow::{self, FlowPlan};
use crate::load::{one_line, Failure, Worker, DETAIL_CHARS};

/// The media type of Dwolla's HAL API.
pub const HAL_ACCEPT: &str = "application/vnd.dwolla.v1.hal+json";
/// What the widget page's script accepts.
pub const WIDGET_ACCEPT: &str = "application/json";
/// MX's fixed exchange-partner id.
const MX_PARTNER_ID: &str = "bca8d065-49a5-475b-a6b4-509bc8504d22";
/// Where the widget page carries its session token.
const SESSION_META: &str = "name=\"mx-widget-session\" content=\"";
const WIDGET_SESSION: HeaderName = HeaderName::from_static("x-widget-session");

/// Numbers the customers' e-mail addresses across all workers and rounds.
static CUSTOMERS: AtomicU64 = AtomicU64::new(0);

/// What every seed 000 flow needs; fetched and checked once per run.
#[derive(Clone)]
pub struct IavPlan {
    /// The payments listener (no default credentials, HAL).
    payments: Target,
    /// The aggregation listener the widget is served on (no credentials).
    widget: Target,
    /// `client_id=…&client_secret=…&grant_type=client_credentials`.
    token_form: Bytes,
    /// MX's exchange partner on the payments listener.
    partner_href: String,
    /// MX Bank's credential field guids (the widget's are the MX API's).
    flow: FlowPlan,
}

/// A flow worker's side of the widget: its keep-alive connection to the aggregation listener,
/// and the payments access token the worker fetched once.
pub struct WidgetSide {
    pub conn: Conn,
    bearer: Option<HeaderValue>,
}

/// Checks the payments listener once (a token, MX's exchange partner) and returns the plan.
pub async fn plan(
    payments: Target,
    widget: Target,
    dwolla_key: &str,
    dwolla_secret: &str,
    flow: FlowPlan,
) -> anyhow::Result<IavPlan> {
    let partner_href = format!("{}/exchange-partners/{MX_PARTNER_ID}", payments.base_url());
    let token_form = token_form(dwolla_key, dwolla_secret);
    let plan = IavPlan { payments, widget, token_form, partner_href, flow };
    let mut conn = Conn::new(plan.payments.clone());
    let as_error = |f: Failure| anyhow::anyhow!("{}: {}", f.kind, f.detail);
    let bearer = token(&plan, &mut conn).await.map_err(as_error)?;
    let path = plan.payments.path_of(&plan.partner_href).context("the partner's URL")?.to_owned();
    let partner = get(&mut conn, &bearer, "GET /exchange-partners/{mx}", &path).await.map_err(as_error)?;
    anyhow::ensure!(partner["name"] == "MX", "exchange partner {MX_PARTNER_ID} is not MX: {partner}");
    Ok(plan)
}

/// The client-credentials token request of `key` and `secret`.
pub fn token_form(key: &str, secret: &str) -> Bytes {
    Bytes::from(format!(
        "client_id={}&client_secret={}&grant_type=client_credentials",
        form_encode(key),
        form_encode(secret)
    ))
}

/// `application/x-www-form-urlencoded` for one value.
fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => char::from(b).to_string(),
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `POST /token` with the sandbox tenant's Dwolla key and secret; returns `Bearer <token>`.
async fn token(plan: &IavPlan, conn: &mut Conn) -> Result<HeaderValue, Failure> {
    let label = "POST /token";
    let form = [(CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"))];
    let reply = flow::exchange(conn, Method::POST, label, "/token", &form, Some(plan.token_form.clone())).await?;
    let token = flow::string_at(&flow::json_of(&reply, label)?, "/access_token", label)?;
    HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|e| Failure::new(format!("{label}: unusable token"), format!("{e}: {token}")))
}

/// A payments `GET` of a JSON resource.
async fn get(conn: &mut Conn, bearer: &HeaderValue, label: &str, path: &str) -> Result<Value, Failure> {
    let auth = [(AUTHORIZATION, bearer.clone())];
    flow::json_of(&flow::exchange(conn, Method::GET, label, path, &auth, None).await?, label)
}

/// A payments `POST` that creates a resource: 201 and its `Location`, as a path on `target`.
async fn create(
    conn: &mut Conn,
    target: &Target,
    bearer: &HeaderValue,
    label: &str,
    path: &str,
    body: Value,
) -> Result<String, Failure> {
    let auth = [(AUTHORIZATION, bearer.clone())];
    let body = Some(Bytes::from(body.to_string()));
    let reply = flow::exchange(conn, Method::POST, label, path, &auth, body).await?;
    if reply.status != StatusCode::CREATED {
        return Err(Failure::new(format!("{label} → {} (not 201)", reply.status.as_u16()), reply.text(DETAIL_CHARS)));
    }
    let location = reply.headers.get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
    local_path(target, location, &format!("{label}: Location"))
}

/// The path of `url` on `target`; a URL elsewhere fails the flow.
fn local_path(target: &Target, url: &str, what: &str) -> Result<String, Failure> {
    target
        .path_of(url)
        .map(str::to_owned)
        .ok_or_else(|| Failure::new(format!("{what} is not on {}", target.base_url()), one_line(url)))
}

/// A widget API call in the session `session`: its `member`.
async fn widget_member(
    conn: &mut Conn,
    session: &HeaderValue,
    method: Method,
    label: &str,
    path: &str,
    body: Option<Value>,
) -> Result<Value, Failure> {
    let headers = [(WIDGET_SESSION, session.clone())];
    let body = body.map(|v| Bytes::from(v.to_string()));
    let reply = flow::exchange(conn, method, label, path, &headers, body).await?;
    let mut v = flow::json_of(&reply, label)?;
    match v.get_mut("member") {
        Some(member) => Ok(member.take()),
        None => Err(Failure::new(format!("{label}: no member"), one_line(&v.to_string()))),
    }
}

/// Follows the widget's member from `member`, polling without sleeping, until its outcome is
/// `wanted`; an `error`, `denied` or `oauth` outcome, or too many polls, fails the flow.
async fn follow(
    conn: &mut Conn,
    session: &HeaderValue,
    poll_cap: u32,
    member_path: &str,
    mut member: Value,
    wanted: &str,
) -> Result<Value, Failure> {
    for _ in 0..poll_cap {
        match member["outcome"].as_str() {
            Some(o) if o == wanted => return Ok(member),
            Some(o @ ("error" | "denied" | "oauth")) => {
                return Err(Failure::new(
                    format!("widget member {o} while waiting for {wanted}"),
                    one_line(&member.to_string()),
                ))
            }
            _ => {}
        }
        member =
            widget_member(conn, session, Method::GET, "GET /md/connect/api/members/{m}", member_path, None).await?;
    }
    Err(Failure::new(format!("widget member not {wanted} after {poll_cap} polls"), one_line(&member.to_string())))
}

/// Runs one whole flow on the worker's two connections, fetching the access token first if the
/// worker has none (once per worker; again only after a 401).
pub async fn run(plan: &IavPlan, worker: &mut Worker) -> Result<(), Failure> {
    let Worker { conn: api, widget } = worker;
    let side = widget.get_or_insert_with(|| WidgetSide { conn: Conn::new(plan.widget.clone()), bearer: None });
    let bearer = match &side.bearer {
        Some(b) => b.clone(),
        None => side.bearer.insert(token(plan, api).await?).clone(),
    };
    let result = flow_once(plan, api, &mut side.conn, &bearer).await;
    if result.as_ref().is_err_and(|f| f.kind.contains("→ 401")) {
        side.bearer = None;
    }
    result
}

async fn flow_once(plan: &IavPlan, api: &mut Conn, widget: &mut Conn, bearer: &HeaderValue) -> Result<(), Failure> {
    let payments = &plan.payments;
    let n = CUSTOMERS.fetch_add(1, Ordering::Relaxed);
    let customer = create(
        api,
        payments,
        bearer,
        "POST /customers",
        "/customers",
        json!({ "firstName": "Bench", "lastName": "Flow", "email": format!("bench-flow-{n}@example.com") }),
    )
    .await?;

    let partner = json!({ "exchange-partner": { "href": plan.partner_href } });
    let label = "POST /customers/{c}/exchange-sessions";
    let session_path = create(
        api,
        payments,
        bearer,
        label,
        &format!("{customer}/exchange-sessions"),
        json!({ "_links": partner.clone() }),
    )
    .await?;
    let label = "GET /exchange-sessions/{s}";
    let exchange_session = get(api, bearer, label, &session_path).await?;
    let widget_url = flow::string_at(&exchange_session, "/_links/external-provider-session/href", label)?;
    let widget_path = local_path(&plan.widget, &widget_url, "the widget URL")?;

    // The end user in the widget: the page, then its API in the page's session.
    let label = "GET /md/connect/{token}";
    let page = flow::exchange(widget, Method::GET, label, &widget_path, &[], None).await?;
    let page = String::from_utf8_lossy(&page.body);
    let session = page
        .find(SESSION_META)
        .map(|i| &page[i + SESSION_META.len()..])
        .and_then(|rest| rest.split('"').next())
        .and_then(|token| HeaderValue::from_str(token).ok())
        .ok_or_else(|| Failure::new(format!("{label}: no session token"), one_line(&page)))?;

    let member = widget_member(
        widget,
        &session,
        Method::POST,
        "POST /md/connect/api/members",
        "/md/connect/api/members",
        Some(json!({
            "institution_code": "mxbank",
            "credentials": [
                { "guid": plan.flow.login_guid, "value": "mxuser" },
                { "guid": plan.flow.password_guid, "value": "password" }
            ]
        })),
    )
    .await?;
    let member_guid = flow::string_at(&member, "/guid", "POST /md/connect/api/members")?;
    let member_path = format!("/md/connect/api/members/{member_guid}");
    let cap = plan.flow.poll_cap;
    let choosing = follow(widget, &session, cap, &member_path, member, "select_account").await?;
    let label = "select_account";
    let answer = json!({ "answers": [{
        "guid": flow::string_at(&choosing, "/challenges/0/guid", label)?,
        "value": flow::string_at(&choosing, "/challenges/0/options/0/value", label)?
    }]});
    let label = "PUT /md/connect/api/members/{m}/answers";
    let answered =
        widget_member(widget, &session, Method::PUT, label, &format!("{member_path}/answers"), Some(answer)).await?;
    follow(widget, &session, cap, &member_path, answered, "connected").await?;

    let label = "GET /customers/{c}/available-exchange-connections";
    let available = get(api, bearer, label, &format!("{customer}/available-exchange-connections")).await?;
    let connection_token =
        flow::string_at(&available, "/_embedded/available-exchange-connections/0/availableConnectionToken", label)?;
    let exchange = create(
        api,
        payments,
        bearer,
        "POST /customers/{c}/exchanges",
        &format!("{customer}/exchanges"),
        json!({ "_links": partner, "mx": { "availableConnectionToken": connection_token } }),
    )
    .await?;
    let source = create(
        api,
        payments,
        bearer,
        "POST /customers/{c}/funding-sources",
        &format!("{customer}/funding-sources"),
        json!({
            "_links": { "exchange": { "href": format!("{}{exchange}", payments.base_url()) } },
            "bankAccountType": "checking",
            "name": "Bench"
        }),
    )
    .await?;
    let label = "GET /funding-sources/{f}";
    let funding_source = get(api, bearer, label, &source).await?;
    if funding_source["status"] != "verified" {
        return Err(Failure::new(format!("{label}: not verified"), one_line(&funding_source.to_string())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_are_encoded() {
        assert_eq!(form_encode("bench-dwolla-key"), "bench-dwolla-key");
        assert_eq!(form_encode("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
    }

    #[test]
    fn urls_become_paths_on_their_own_server_only() {
        let t = Target::anonymous("127.0.0.1:8081".parse().unwrap(), HAL_ACCEPT);
        assert_eq!(t.path_of("http://127.0.0.1:8081/customers/x"), Some("/customers/x"));
        assert_eq!(t.path_of("http://127.0.0.1:80810/customers/x"), None);
        assert_eq!(t.path_of("http://127.0.0.1:8080/customers/x"), None);
    }
}
