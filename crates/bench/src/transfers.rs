//! Transfers on the payments API: a verified personal customer's bank (verified by
//! micro-deposits) paying the account's balance, set up once per run. The `transfers` scenario
//! repeats `POST /transfers` from that bank; the `simulation` measure creates 500 pending bank
//! transfers and times the one `POST /sandbox-simulations` that processes them.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use bytes::Bytes;
use hyper::header::{HeaderValue, CONTENT_TYPE, LOCATION};
use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use crate::client::{Conn, Target};
use crate::iav::HAL_ACCEPT;
use crate::load::DETAIL_CHARS;

/// How many pending bank transfers one simulation is timed on (Dwolla's pass processes the
/// newest 500).
pub const SIMULATED: usize = 500;

/// What the transfer scenarios need: an authorized target and the body of one transfer.
pub struct TransferPlan {
    /// The payments listener, with an access token.
    pub target: Target,
    /// `POST /transfers` of $1.00 from the customer's verified bank to the account's balance.
    pub body: Bytes,
}

/// One payments request that must answer `expected`; returns the reply's JSON (or `Null`) and
/// its `Location`.
async fn call(
    conn: &mut Conn,
    method: Method,
    path: &str,
    body: Option<Value>,
    expected: StatusCode,
) -> anyhow::Result<(Value, Option<String>)> {
    let reply = conn.request(method.clone(), path, body.map(|b| Bytes::from(b.to_string()))).await?;
    ensure!(reply.status == expected, "{method} {path} answered {}: {}", reply.status, reply.text(DETAIL_CHARS));
    let location = reply.headers.get(LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    Ok((serde_json::from_slice(&reply.body).unwrap_or(Value::Null), location))
}

/// Sets up the customer, its verified bank and the account's balance; checks one transfer.
pub async fn plan(payments: SocketAddr, token_form: Bytes) -> anyhow::Result<TransferPlan> {
    let mut anonymous = Conn::new(Target::anonymous(payments, HAL_ACCEPT));
    let form = [(CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"))];
    let reply = anonymous.send(Method::POST, "/token", &form, Some(token_form)).await?;
    ensure!(reply.status == StatusCode::OK, "POST /token answered {}: {}", reply.status, reply.text(DETAIL_CHARS));
    let token: Value = serde_json::from_slice(&reply.body).context("the token answer")?;
    let token = token["access_token"].as_str().context("no access_token")?;
    let target = Target::bearer(payments, token, HAL_ACCEPT)?;
    let mut conn = Conn::new(target.clone());
    let local = |url: Option<String>| -> anyhow::Result<String> {
        let url = url.context("no Location")?;
        Ok(target.path_of(&url).context("a Location elsewhere")?.to_owned())
    };

    let customer = json!({
        "firstName": "Bench", "lastName": "Payer", "email": "bench-payer@example.com", "type": "personal",
        "address1": "99-99 33rd St", "city": "Some City", "state": "NY", "postalCode": "11101",
        "dateOfBirth": "1970-01-01", "ssn": "1234",
    });
    let customer = local(call(&mut conn, Method::POST, "/customers", Some(customer), StatusCode::CREATED).await?.1)?;
    let bank = json!({
        "routingNumber": "222222226", "accountNumber": "123456789", "bankAccountType": "checking", "name": "Bench",
    });
    let path = format!("{customer}/funding-sources");
    let bank = local(call(&mut conn, Method::POST, &path, Some(bank), StatusCode::CREATED).await?.1)?;
    let deposits = format!("{bank}/micro-deposits");
    call(&mut conn, Method::POST, &deposits, Some(json!({})), StatusCode::CREATED).await?;
    let amounts =
        json!({ "amount1": { "value": "0.03", "currency": "USD" }, "amount2": { "value": "0.09", "currency": "USD" } });
    call(&mut conn, Method::POST, &deposits, Some(amounts), StatusCode::OK).await?;

    let (root, _) = call(&mut conn, Method::GET, "/", None, StatusCode::OK).await?;
    let account = root["_links"]["account"]["href"].as_str().context("the root links no account")?;
    let account = target.path_of(account).context("an account elsewhere")?.to_owned();
    let (sources, _) =
        call(&mut conn, Method::GET, &format!("{account}/funding-sources"), None, StatusCode::OK).await?;
    let balance = sources["_embedded"]["funding-sources"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["type"] == "balance")
        .and_then(|f| f["_links"]["self"]["href"].as_str())
        .context("the account has no balance")?
        .to_owned();
    let body = json!({
        "_links": { "source": { "href": format!("{}{bank}", target.base_url()) }, "destination": { "href": balance } },
        "amount": { "currency": "USD", "value": "1.00" },
    });
    let encoded = Bytes::from(body.to_string());
    let (_, transfer) = call(&mut conn, Method::POST, "/transfers", Some(body), StatusCode::CREATED).await?;
    let (created, _) = call(&mut conn, Method::GET, &local(transfer)?, None, StatusCode::OK).await?;
    ensure!(created["status"] == "pending", "a bank transfer starts pending: {created}");
    Ok(TransferPlan { target, body: encoded })
}

/// What one timed simulation measured.
pub struct Simulated {
    pub elapsed: Duration,
    /// The `total` the simulation answered (bank transfers and micro-deposits it processed).
    pub processed: u64,
}

/// Creates [`SIMULATED`] pending bank transfers on `connections` connections (not timed), then
/// times one `POST /sandbox-simulations`; checks that it processed them all.
pub async fn simulate(plan: &TransferPlan, connections: usize) -> anyhow::Result<Simulated> {
    let workers = connections.clamp(1, SIMULATED);
    let mut creating = Vec::new();
    for w in 0..workers {
        let (target, body) = (plan.target.clone(), plan.body.clone());
        let count = SIMULATED / workers + usize::from(w < SIMULATED % workers);
        creating.push(tokio::spawn(async move {
            let mut conn = Conn::new(target);
            for _ in 0..count {
                let reply = conn.request(Method::POST, "/transfers", Some(body.clone())).await?;
                ensure!(reply.status == StatusCode::CREATED, "POST /transfers answered {}", reply.status);
            }
            anyhow::Ok(())
        }));
    }
    for c in creating {
        c.await.context("a creating worker panicked")??;
    }
    let mut conn = Conn::new(plan.target.clone());
    // Open the connection first so the timing is the simulation's alone.
    call(&mut conn, Method::GET, "/", None, StatusCode::OK).await?;
    let began = Instant::now();
    let (answer, _) = call(&mut conn, Method::POST, "/sandbox-simulations", Some(json!({})), StatusCode::OK).await?;
    let elapsed = began.elapsed();
    let processed = answer["total"].as_u64().context("the simulation answered no total")?;
    ensure!(processed >= SIMULATED as u64, "the simulation processed {processed} of {SIMULATED}: {answer}");
    Ok(Simulated { elapsed, processed })
}
