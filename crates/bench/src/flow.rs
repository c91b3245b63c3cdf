//! The API-only instant account verification flow of MX's seed 001: user, institution search,
//! member, verify, account-choice challenge, resume, account numbers.

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use hyper::Method;
use serde_json::{json, Value};

use crate::client::{Conn, Reply};
use crate::load::{one_line, Failure, DETAIL_CHARS};

/// What every flow needs and the run fetches once: MX Bank's credential field guids.
#[derive(Debug, Clone)]
pub struct FlowPlan {
    pub login_guid: String,
    pub password_guid: String,
    /// Most status polls one wait may take before the flow counts as failed.
    pub poll_cap: u32,
}

/// One request with `headers` added (JSON body when given); anything but a 2xx is a failure of
/// kind `label`.
pub async fn exchange(
    conn: &mut Conn,
    method: Method,
    label: &str,
    path: &str,
    headers: &[(HeaderName, HeaderValue)],
    body: Option<Bytes>,
) -> Result<Reply, Failure> {
    let reply = conn
        .send(method, path, headers, body)
        .await
        .map_err(|e| Failure::new(format!("{label}: transport error"), format!("{e:#}")))?;
    if !reply.status.is_success() {
        return Err(Failure::new(format!("{label} → {}", reply.status.as_u16()), reply.text(DETAIL_CHARS)));
    }
    Ok(reply)
}

/// The reply's body as JSON; anything else is a failure of kind `label`.
pub fn json_of(reply: &Reply, label: &str) -> Result<Value, Failure> {
    serde_json::from_slice(&reply.body)
        .map_err(|e| Failure::new(format!("{label}: not JSON"), format!("{e}: {}", reply.text(DETAIL_CHARS))))
}

/// One JSON request; anything but a 2xx with a JSON body is a failure of kind `label`.
async fn call(conn: &mut Conn, method: Method, label: &str, path: &str, body: Option<Value>) -> Result<Value, Failure> {
    let body = body.map(|v| Bytes::from(v.to_string()));
    json_of(&exchange(conn, method, label, path, &[], body).await?, label)
}

pub fn string_at(v: &Value, pointer: &str, label: &str) -> Result<String, Failure> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| Failure::new(format!("{label}: no {pointer}"), one_line(&v.to_string())))
}

/// Reads MX Bank's LOGIN and PASSWORD credential guids.
pub async fn plan(conn: &mut Conn, poll_cap: u32) -> anyhow::Result<FlowPlan> {
    let label = "GET /institutions/mxbank/credentials";
    let v = call(conn, Method::GET, label, "/institutions/mxbank/credentials", None)
        .await
        .map_err(|f| anyhow::anyhow!("{}: {}", f.kind, f.detail))?;
    let guid_of = |field_type: &str| {
        v["credentials"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["field_type"] == field_type))
            .and_then(|c| c["guid"].as_str())
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("{label}: no {field_type} field in {v}"))
    };
    Ok(FlowPlan { login_guid: guid_of("LOGIN")?, password_guid: guid_of("PASSWORD")?, poll_cap })
}

/// Polls the member's status, without sleeping, until `done` says so; a job that stops
/// (`is_being_aggregated == false`) in any other state, or too many polls, fails the flow.
async fn poll_until(
    conn: &mut Conn,
    status_path: &str,
    cap: u32,
    waiting_for: &str,
    done: impl Fn(&Value) -> bool,
) -> Result<Value, Failure> {
    let label = "GET …/status";
    let mut last = Value::Null;
    for _ in 0..cap {
        let s = call(conn, Method::GET, label, status_path, None).await?;
        let member = s["member"].clone();
        if done(&member) {
            return Ok(member);
        }
        if member["is_being_aggregated"] == false {
            let state = member["connection_status"].as_str().unwrap_or("?").to_owned();
            return Err(Failure::new(
                format!("job stopped as {state} while waiting for {waiting_for}"),
                one_line(&member.to_string()),
            ));
        }
        last = member;
    }
    Err(Failure::new(format!("still not {waiting_for} after {cap} polls"), one_line(&last.to_string())))
}

/// Runs one whole flow on `conn`; returns the user and member guids.
pub async fn run(plan: &FlowPlan, conn: &mut Conn) -> Result<(String, String), Failure> {
    let label = "POST /users";
    let user = call(conn, Method::POST, label, "/users", Some(json!({ "user": {} }))).await?;
    let user_guid = string_at(&user, "/user/guid", label)?;

    let label = "GET /institutions?name=MX%20Bank";
    let search = call(conn, Method::GET, label, "/institutions?name=MX%20Bank", None).await?;
    if search["institutions"][0]["code"] != "mxbank" {
        return Err(Failure::new(format!("{label}: mxbank not first"), one_line(&search.to_string())));
    }

    let label = "POST /users/{u}/members";
    let member = call(
        conn,
        Method::POST,
        label,
        &format!("/users/{user_guid}/members"),
        Some(json!({ "member": {
            "institution_code": "mxbank",
            "skip_aggregation": true,
            "credentials": [
                { "guid": plan.login_guid, "value": "mxuser" },
                { "guid": plan.password_guid, "value": "password" }
            ]
        }})),
    )
    .await?;
    let member_guid = string_at(&member, "/member/guid", label)?;
    let base = format!("/users/{user_guid}/members/{member_guid}");
    let status_path = format!("{base}/status");

    call(conn, Method::POST, "POST …/verify", &format!("{base}/verify"), None).await?;

    let challenged =
        poll_until(conn, &status_path, plan.poll_cap, "CHALLENGED", |m| m["connection_status"] == "CHALLENGED").await?;
    let label = "challenge";
    let challenge_guid = string_at(&challenged, "/challenges/0/guid", label)?;
    let choice = string_at(&challenged, "/challenges/0/options/0/value", label)?;

    call(
        conn,
        Method::PUT,
        "PUT …/resume",
        &format!("{base}/resume"),
        Some(json!({ "member": { "challenges": [{ "guid": challenge_guid, "value": choice }] } })),
    )
    .await?;

    poll_until(conn, &status_path, plan.poll_cap, "CONNECTED", |m| {
        m["connection_status"] == "CONNECTED" && m["is_being_aggregated"] == false
    })
    .await?;

    let label = "GET …/account_numbers";
    let numbers = call(conn, Method::GET, label, &format!("{base}/account_numbers"), None).await?;
    let count = numbers["account_numbers"].as_array().map_or(0, Vec::len);
    if count != 1 {
        return Err(Failure::new(format!("{label}: expected 1 entry, got {count}"), one_line(&numbers.to_string())));
    }
    Ok((user_guid, member_guid))
}
