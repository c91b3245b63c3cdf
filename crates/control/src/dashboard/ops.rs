//! The sandbox's operations pages: the tenant's clock (advance +1 h, +24 h, +73 h, freeze,
//! release), its fault rules (list, add, remove) and its request journal, each calling the same
//! operation as `/_openiav/clock/…`, `/_openiav/faults` and `/_openiav/journal`.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Extension;
use openiav_store::repo::journal::JournalFilter;

use super::render::{self, cell, code, escape, Action};
use super::session::{after, failure, Posted, Session};
use super::{MAX_ROWS, ROOT};
use crate::faults::rules::NewRule;
use crate::journal::{Recorder, DEFAULT_KEEP};
use crate::{clock, faults, journal, AppState, ControlError};

/// The advance buttons: label and duration.
const ADVANCES: &[(&str, &str)] = &[("+1 h", "1h"), ("+24 h", "24h"), ("+73 h", "73h")];

/// `GET /_openiav/dashboard/clock`.
pub async fn clock_page(State(state): State<AppState>, session: Session) -> Response {
    let view = match clock::show_tenant(&state, session.tenant).await {
        Ok(v) => v,
        Err(e) => return failure(e),
    };
    let back = format!("{ROOT}/clock");
    let advances: String = ADVANCES
        .iter()
        .map(|(label, duration)| {
            let mut a = Action::button("/clock/advance", &back, label);
            a.extra.push(("duration", (*duration).to_owned()));
            a.render(&session)
        })
        .collect();
    let freeze = Action::button("/clock/freeze", &back, "Freeze").render(&session);
    let release = Action::button("/clock/release", &back, "Release").render(&session);
    let body = format!(
        "<dl class=\"facts\"><dt>Mode</dt><dd><span class=\"status\" id=\"clock-mode\">{mode}</span></dd>\
         <dt>Now</dt><dd><time id=\"clock-now\">{now}</time></dd>\
         <dt>Offset from real time</dt><dd>{offset}</dd></dl>\
         <h2>Move the clock</h2><p>An advance runs whatever falls due on the way (member jobs, MFA \
         expiry, webhook deliveries and retries) before the page comes back; a Dwolla bearer token \
         expires when the clock passes its hour.</p>\
         <div class=\"actions-inline\">{advances}{freeze}{release}</div>",
        mode = escape(view.mode),
        now = escape(&view.now),
        offset = escape(&offset_text(view.offset_ms)),
    );
    render::page(&session, "/clock", "Clock", &body)
}

fn offset_text(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "+" };
    let s = ms.unsigned_abs() / 1000;
    format!("{sign}{}h {:02}m {:02}s", s / 3600, (s / 60) % 60, s % 60)
}

/// `POST /_openiav/dashboard/clock/advance`.
pub async fn advance(State(state): State<AppState>, posted: Posted) -> Response {
    let duration = posted.get("duration").unwrap_or_default().to_owned();
    let outcome = clock::advance_tenant(&state, posted.session.tenant, &duration).await.map(|v| {
        let more = if v.complete == Some(false) { " (stopped at its bound: advance again to go on)" } else { "" };
        format!("Advanced {duration}: the clock reads {}{more}.", v.now)
    });
    after(&posted.back(), outcome)
}

/// `POST /_openiav/dashboard/clock/freeze`.
pub async fn freeze(State(state): State<AppState>, posted: Posted) -> Response {
    let outcome = clock::freeze_tenant(&state, posted.session.tenant).await.map(|v| format!("Frozen at {}.", v.now));
    after(&posted.back(), outcome)
}

/// `POST /_openiav/dashboard/clock/release`.
pub async fn release(State(state): State<AppState>, posted: Posted) -> Response {
    let outcome = clock::release_tenant(&state, posted.session.tenant)
        .await
        .map(|_| "Released: the clock reads real time.".into());
    after(&posted.back(), outcome)
}

const LISTENERS: &[&str] = &["any", "mx", "dwolla"];
const METHODS: &[&str] = &["any", "GET", "POST", "PUT", "DELETE"];
const EFFECTS: &[&str] = &["status", "latency", "reset", "rate_limit"];

fn select(id: &str, name: &str, options: &[&str]) -> String {
    let opts: String = options.iter().map(|o| format!("<option value=\"{0}\">{0}</option>", escape(o))).collect();
    format!("<select id=\"{id}\" name=\"{name}\">{opts}</select>")
}

/// `GET /_openiav/dashboard/faults`.
pub async fn faults_page(State(state): State<AppState>, session: Session) -> Response {
    let rules = match faults::list_rules(&state, session.tenant).await {
        Ok(r) => r,
        Err(e) => return failure(e),
    };
    let back = format!("{ROOT}/faults");
    let rows: Vec<Vec<String>> = rules
        .iter()
        .map(|r| {
            let detail = match (r.status, r.latency_ms, r.retry_after) {
                (Some(s), _, _) => format!("status {s}"),
                (_, Some(l), _) => format!("{l} ms"),
                (_, _, Some(after)) => format!("retry after {after} s"),
                _ => String::new(),
            };
            let remove = Action::button(format!("/faults/{}/remove", r.id), &back, "Remove");
            vec![
                code(&r.id),
                escape(r.listener),
                escape(&r.method),
                code(&r.path),
                escape(r.effect),
                cell(Some(&detail)),
                escape(&r.probability.to_string()),
                r.remaining.map_or_else(|| "unlimited".to_owned(), |n| n.to_string()),
                escape(&format!("{} / {}", r.matched, r.applied)),
                remove.render(&session),
            ]
        })
        .collect();
    let body = format!(
        "<p>A rule makes the tenant's matching API requests fail, slow down, drop or be rate-limited; \
         control-plane paths are never faulted.</p>{table}\
         <h2>Add a rule</h2>\
         <form method=\"post\" action=\"{ROOT}/faults\" class=\"login fault\">{csrf}\
         <input type=\"hidden\" name=\"back\" value=\"{back}\"><fieldset><legend>New fault rule</legend>\
         <label for=\"fault-listener\">Listener</label>{listener}\
         <label for=\"fault-method\">Method</label>{method}\
         <label for=\"fault-path\">Path (a route template such as /users/{{user_guid}}, or a prefix ending in *)</label>\
         <input id=\"fault-path\" name=\"path\" required>\
         <label for=\"fault-effect\">Effect</label>{effect}\
         <label for=\"fault-status\">Status (for status)</label><input id=\"fault-status\" name=\"status\" inputmode=\"numeric\">\
         <label for=\"fault-latency\">Latency in ms (for latency)</label><input id=\"fault-latency\" name=\"latency_ms\" inputmode=\"numeric\">\
         <label for=\"fault-count\">Apply to this many requests (empty: unlimited)</label><input id=\"fault-count\" name=\"count\" inputmode=\"numeric\">\
         <label for=\"fault-probability\">Probability, 0 to 1 (empty: 1)</label><input id=\"fault-probability\" name=\"probability\" inputmode=\"decimal\">\
         <button type=\"submit\">Add rule</button></fieldset></form>",
        table = render::table(
            "Rules",
            &["Id", "Listener", "Method", "Path", "Effect", "Detail", "Probability", "Remaining", "Matched / applied", "Actions"],
            &rows
        ),
        csrf = render::csrf_field(&session),
        back = escape(&back),
        listener = select("fault-listener", "listener", LISTENERS),
        method = select("fault-method", "method", METHODS),
        effect = select("fault-effect", "effect", EFFECTS),
    );
    render::page(&session, "/faults", "Fault rules", &body)
}

/// A rule from the add form; numbers that do not parse are a 400 naming the field.
fn new_rule(posted: &Posted) -> Result<NewRule, ControlError> {
    let text = |name: &str| posted.get(name).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let int = |name: &str| -> Result<Option<i64>, ControlError> {
        text(name)
            .map(|v| {
                v.parse::<i64>().map_err(|_| ControlError::bad_request(format!("{name}: {v:?} is not a whole number")))
            })
            .transpose()
    };
    let probability = text("probability")
        .map(|v| v.parse::<f64>().map_err(|_| ControlError::bad_request(format!("probability: {v:?} is not a number"))))
        .transpose()?;
    Ok(NewRule {
        listener: text("listener"),
        method: text("method"),
        path: text("path").unwrap_or_default(),
        effect: text("effect").unwrap_or_default(),
        status: int("status")?,
        latency_ms: int("latency_ms")?,
        retry_after: int("retry_after")?,
        probability,
        seed: None,
        count: int("count")?,
    })
}

/// `POST /_openiav/dashboard/faults`.
pub async fn add_fault(State(state): State<AppState>, posted: Posted) -> Response {
    let outcome = match new_rule(&posted) {
        Ok(rule) => faults::add_rule(&state, posted.session.tenant, rule)
            .await
            .map(|r| format!("Added fault rule {} ({} {} {}).", r.id, r.method, r.path, r.effect)),
        Err(e) => Err(e),
    };
    after(&posted.back(), outcome)
}

/// `POST /_openiav/dashboard/faults/{id}/remove`.
pub async fn remove_fault(State(state): State<AppState>, Path(id): Path<String>, posted: Posted) -> Response {
    let shown = id.clone();
    let outcome =
        faults::remove_rule(&state, posted.session.tenant, id).await.map(|()| format!("Removed fault rule {shown}."));
    after(&posted.back(), outcome)
}

/// `GET /_openiav/dashboard/journal`.
pub async fn journal_page(
    State(state): State<AppState>,
    session: Session,
    recorder: Option<Extension<Recorder>>,
) -> Response {
    let keep = recorder.as_ref().map_or(DEFAULT_KEEP, |r| r.keep());
    let filter = JournalFilter { limit: MAX_ROWS.min(keep), status: None, route: None };
    let entries = match journal::entries(&state, session.tenant, recorder.as_ref().map(|r| &r.0), filter).await {
        Ok(e) => e,
        Err(e) => return failure(e),
    };
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                escape(&e.at),
                escape(e.listener),
                escape(&e.method),
                code(&e.route),
                format!("<span class=\"status\">{}</span>", e.status),
                escape(&e.latency_ms.to_string()),
                cell(Some(&e.resource_ids.join(", "))),
                e.fault.as_deref().map_or_else(|| cell(None), code),
                code(&e.request_id),
            ]
        })
        .collect();
    let body = format!(
        "<p>The tenant's most recent API requests (the newest {MAX_ROWS}), newest first.</p>{}",
        render::table(
            "Requests",
            &["At", "Listener", "Method", "Route", "Status", "Latency (ms)", "Resources", "Fault", "Request id"],
            &rows
        )
    );
    render::page(&session, "/journal", "Request journal", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offset_reads_as_hours_minutes_and_seconds() {
        assert_eq!(offset_text(0), "+0h 00m 00s");
        assert_eq!(offset_text(73 * 3600 * 1000 + 61_000), "+73h 01m 01s");
        assert_eq!(offset_text(-1500), "-0h 00m 01s");
    }
}
