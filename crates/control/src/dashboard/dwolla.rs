//! The Dwolla pages: the account's own funding sources and transfers, the tenant's customers, and
//! a customer's exchanges, funding sources and transfers (with their ACH legs), with the force forms (customer status, a bank's verified/unverified/removed state,
//! its micro-deposits' outcome, a transfer's outcome with its return code) and a fire-event form
//! on each resource (the same
//! operations as `POST /_openiav/force/…` and `POST /_openiav/fire/dwolla`).

use axum::extract::{Path, Query, State};
use axum::response::Response;
use openiav_core::payments::{CustomerStatus, EventTopic, FundingSourceKind, FundingSourceMicroDepositStatus};
use openiav_payments::events::fired::{subject_of, Party, Subject};
use openiav_payments::funding_sources::rules::ForcedState;
use openiav_payments::transfers::failure::ReturnCode;
use openiav_store::records::{
    BankTransferRecord, CustomerRecord, ExchangeRecord, FundingSourceMicroDepositsRecord, FundingSourceRecord,
    TransferRecord,
};
use openiav_store::repo::customers::CustomerFilter;
use openiav_store::repo::transfers::TransferFilter;
use openiav_store::repo::{customers, exchanges, funding_sources, transfers};

use super::render::{self, cell, code, escape, Action};
use super::session::{after, failure, Posted, Session};
use super::{PageQuery, MAX_ROWS, ROOT};
use crate::{fire, force, AppState};

fn topics(subject: Subject) -> Vec<&'static str> {
    EventTopic::ALL.iter().filter(|t| subject_of(**t) == subject).map(|t| t.as_str()).collect()
}

fn fire_form<'a>(back: &'a str, what: &str, id: &str, subject: Subject) -> Action<'a> {
    Action {
        path: "/dwolla/fire".into(),
        back,
        selects: vec![("topic", format!("Event topic to fire about {what} {id}"), topics(subject))],
        extra: vec![("resource_id", id.to_owned())],
        button: "Fire event",
    }
}

fn status(text: &str) -> String {
    format!("<span class=\"status\">{}</span>", escape(text))
}

fn customer_row(c: &CustomerRecord) -> Vec<String> {
    let name = match &c.business_name {
        Some(b) if !b.is_empty() => b.clone(),
        _ => format!("{} {}", c.first_name, c.last_name),
    };
    vec![
        render::link(&format!("/dwolla/customers/{}", c.id), &c.id),
        escape(&name),
        escape(&c.email),
        escape(c.kind.as_str()),
        status(c.status.as_str()),
        escape(&c.created_at.to_rfc3339_seconds()),
    ]
}

/// `GET /_openiav/dashboard/dwolla/customers`.
pub async fn customers(State(state): State<AppState>, session: Session, Query(page): Query<PageQuery>) -> Response {
    let tenant = session.tenant;
    let found = state
        .store
        .read(|mut c| async move {
            let f = CustomerFilter::default();
            let total = customers::list(&mut c, tenant, &f, 1, 0).await?.total;
            let (offset, limit) = page.oldest_first_window(total);
            let rows =
                if limit == 0 { Vec::new() } else { customers::list(&mut c, tenant, &f, limit, offset).await?.items };
            Ok((rows, total))
        })
        .await;
    let (mut rows, total) = match found {
        Ok(found) => found,
        Err(e) => return failure(e.into()),
    };
    rows.reverse();
    let rows: Vec<Vec<String>> = rows.iter().map(customer_row).collect();
    let body = format!(
        "{}{}",
        render::pager("/dwolla/customers", "customers", page, total),
        render::table("Customers", &["Id", "Name", "Email", "Type", "Status", "Created"], &rows)
    );
    render::page(&session, "/dwolla/customers", "Dwolla customers", &body)
}

fn exchange_row(session: &Session, back: &str, e: &ExchangeRecord) -> Vec<String> {
    vec![
        code(&e.id),
        escape(&e.partner),
        status(e.status.as_str()),
        escape(&e.created_at.to_rfc3339_seconds()),
        fire_form(back, "exchange", &e.id, Subject::Exchange).render(session),
    ]
}

/// What every funding source row shows: id, name, kind, status and whether it is removed.
fn funding_source_cells(f: &FundingSourceRecord) -> Vec<String> {
    vec![
        code(&f.id),
        escape(&f.name),
        escape(f.kind.as_str()),
        status(f.status.as_str()),
        escape(if f.removed { "yes" } else { "no" }),
    ]
}

fn funding_source_row(
    session: &Session,
    back: &str,
    f: &FundingSourceRecord,
    deposits: Option<&FundingSourceMicroDepositsRecord>,
) -> Vec<String> {
    let force = Action {
        path: format!("/dwolla/funding-sources/{}/force", f.id),
        back,
        selects: vec![(
            "state",
            format!("State to force funding source {} into", f.id),
            ForcedState::ALL.iter().map(|s| s.as_str()).collect(),
        )],
        extra: vec![],
        button: "Force state",
    };
    let fire = fire_form(back, "funding source", &f.id, Subject::FundingSource(Party::Customer));
    let deposits = match deposits {
        Some(d) => {
            let force = Action {
                path: format!("/dwolla/funding-sources/{}/micro-deposits/force", f.id),
                back,
                selects: vec![(
                    "status",
                    format!("Status to force the micro-deposits of funding source {} into", f.id),
                    FundingSourceMicroDepositStatus::ALL.iter().map(|s| s.as_str()).collect(),
                )],
                extra: vec![],
                button: "Force micro-deposits",
            };
            format!("{}{}", escape(d.status.as_str()), force.render(session))
        }
        None => cell(None),
    };
    let mut cells = funding_source_cells(f);
    cells.extend([
        deposits,
        // A balance has no verification state to force.
        match f.kind {
            FundingSourceKind::Bank => format!("{}{}", force.render(session), fire.render(session)),
            FundingSourceKind::Balance => fire.render(session),
        },
    ]);
    cells
}

fn transfer_row(session: &Session, back: &str, party: Party, t: &TransferRecord) -> Vec<String> {
    let mut codes = vec![""];
    codes.extend(ReturnCode::ALL.iter().map(|c| c.as_str()));
    let force = Action {
        path: format!("/dwolla/transfers/{}/force", t.id),
        back,
        selects: vec![
            ("status", format!("Outcome to force transfer {} to", t.id), vec!["processed", "failed", "cancelled"]),
            ("return_code", format!("Return code of transfer {} if it fails", t.id), codes),
        ],
        extra: vec![],
        button: "Force outcome",
    };
    let fire = fire_form(back, "transfer", &t.id, Subject::Transfer(party));
    vec![
        code(&t.id),
        escape(&t.amount.to_string()),
        status(t.status.as_str()),
        cell(t.failure_code.as_deref()),
        code(&t.source_id),
        code(&t.destination_id),
        escape(&t.created_at.to_rfc3339_seconds()),
        format!("{}{}", force.render(session), fire.render(session)),
    ]
}

fn leg_row(session: &Session, back: &str, leg: &BankTransferRecord) -> Vec<String> {
    let party = if leg.customer_id.is_some() { Party::Customer } else { Party::Account };
    vec![
        code(&leg.id),
        code(&leg.transfer_id),
        escape(leg.direction.as_str()),
        code(&leg.funding_source_id),
        status(leg.status.as_str()),
        cell(leg.failure_code.as_deref()),
        fire_form(back, "bank transfer", &leg.id, Subject::BankTransfer(party)).render(session),
    ]
}

/// A page of transfers, newest first, their legs and how many transfers there are in all.
struct TransferPage {
    page: PageQuery,
    transfers: Vec<TransferRecord>,
    legs: Vec<BankTransferRecord>,
    total: i64,
}

/// The transfers table (each with its outcome and fire forms, `party`'s topics) under its
/// pager, and the table of their ACH legs (the bank transfers, each with its own fire form).
/// `back` is the page's own path.
fn transfer_tables(session: &Session, back: &str, party: Party, found: &TransferPage) -> String {
    let t_rows: Vec<Vec<String>> = found.transfers.iter().map(|t| transfer_row(session, back, party, t)).collect();
    let leg_rows: Vec<Vec<String>> = found.legs.iter().map(|l| leg_row(session, back, l)).collect();
    let path = back.strip_prefix(ROOT).unwrap_or(back);
    format!(
        "{}{}{}",
        render::pager(path, "transfers", found.page, found.total),
        render::table(
            "Transfers",
            &["Id", "Amount", "Status", "Return code", "Source", "Destination", "Created", "Actions"],
            &t_rows
        ),
        render::table(
            "Bank transfers (ACH legs)",
            &["Id", "Transfer", "Direction", "Bank", "Status", "Return code", "Actions"],
            &leg_rows
        ),
    )
}

/// A page of the transfers `filter` keeps, with their legs.
async fn transfers_with_legs(
    c: &mut openiav_store::ReadConn,
    tenant: openiav_core::ids::TenantId,
    filter: &TransferFilter,
    page: PageQuery,
) -> Result<TransferPage, openiav_store::StoreError> {
    let found = transfers::list(c, tenant, filter, MAX_ROWS, page.newest_first_offset()).await?;
    let mut legs = Vec::new();
    for t in &found.items {
        legs.extend(transfers::legs_of(c, tenant, &t.id).await?);
    }
    Ok(TransferPage { page, transfers: found.items, legs, total: found.total })
}

/// `GET /_openiav/dashboard/dwolla/account`: the account's own funding sources (its bank and
/// balance) and the transfers it sends or receives, with their fire forms.
pub async fn account(State(state): State<AppState>, session: Session, Query(page): Query<PageQuery>) -> Response {
    let tenant = session.tenant;
    let found = state
        .store
        .read(|mut c| async move {
            let sources = funding_sources::list_for_account(&mut c, tenant, None).await?;
            let filter = TransferFilter { account_party: true, ..TransferFilter::default() };
            let transfers = transfers_with_legs(&mut c, tenant, &filter, page).await?;
            Ok((sources, transfers))
        })
        .await;
    let (sources, transfers) = match found {
        Ok(found) => found,
        Err(e) => return failure(e.into()),
    };
    let back = format!("{ROOT}/dwolla/account");
    let fs_rows: Vec<Vec<String>> = sources
        .iter()
        .map(|f| {
            let mut cells = funding_source_cells(f);
            cells.push(
                fire_form(&back, "funding source", &f.id, Subject::FundingSource(Party::Account)).render(&session),
            );
            cells
        })
        .collect();
    let body = format!(
        "<p>The master account's own funding sources and the transfers it sends or receives.</p>{}{}",
        render::table("Funding sources", &["Id", "Name", "Kind", "Status", "Removed", "Actions"], &fs_rows),
        transfer_tables(&session, &back, Party::Account, &transfers),
    );
    render::page(&session, "/dwolla/account", "Dwolla account", &body)
}

/// `GET /_openiav/dashboard/dwolla/customers/{id}`.
pub async fn customer(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Query(page): Query<PageQuery>,
) -> Response {
    let tenant = session.tenant;
    let id = id.to_ascii_lowercase();
    let found = state
        .store
        .read(|mut c| async move {
            let Some(customer) = customers::find(&mut c, tenant, &id).await? else { return Ok(None) };
            let mut exs = exchanges::list_for_customer(&mut c, tenant, &customer.id).await?;
            let mut sources = funding_sources::list_for_customer(&mut c, tenant, &customer.id, None).await?;
            let filter = TransferFilter { customer_id: Some(customer.id.clone()), ..TransferFilter::default() };
            let transfers = transfers_with_legs(&mut c, tenant, &filter, page).await?;
            let deposits = funding_sources::micro_deposits_for_customer(&mut c, tenant, &customer.id).await?;
            exs.reverse();
            sources.reverse();
            Ok(Some((customer, exs, sources, transfers, deposits)))
        })
        .await;
    let (customer, exs, sources, transfers, deposits) = match found {
        Ok(Some(found)) => found,
        Ok(None) => return failure(crate::ControlError::not_found("customer")),
        Err(e) => return failure(e.into()),
    };
    let back = format!("{ROOT}/dwolla/customers/{}", customer.id);
    let force = Action {
        path: format!("/dwolla/customers/{}/force", customer.id),
        back: &back,
        selects: vec![(
            "status",
            "Status to force this customer into".into(),
            CustomerStatus::ALL.iter().map(|s| s.as_str()).collect(),
        )],
        extra: vec![],
        button: "Force status",
    };
    let fire = fire_form(&back, "customer", &customer.id, Subject::Customer);
    let ex_rows: Vec<Vec<String>> = exs.iter().map(|e| exchange_row(&session, &back, e)).collect();
    let deposits_of = |f: &FundingSourceRecord| deposits.iter().find(|d| d.funding_source_id == f.id);
    let fs_rows: Vec<Vec<String>> =
        sources.iter().map(|f| funding_source_row(&session, &back, f, deposits_of(f))).collect();
    let body = format!(
        "<dl class=\"facts\"><dt>Id</dt><dd><code>{id}</code></dd><dt>Email</dt><dd>{email}</dd>\
         <dt>Type</dt><dd>{kind}</dd><dt>Status</dt><dd>{status}</dd></dl>\
         <div class=\"actions-inline\">{force}{fire}</div>{exchanges}{sources}{transfers}",
        id = escape(&customer.id),
        email = escape(&customer.email),
        kind = escape(customer.kind.as_str()),
        status = status(customer.status.as_str()),
        force = force.render(&session),
        fire = fire.render(&session),
        exchanges = render::table("Exchanges", &["Id", "Partner", "Status", "Created", "Actions"], &ex_rows),
        sources = render::table(
            "Funding sources",
            &["Id", "Name", "Kind", "Status", "Removed", "Micro-deposits", "Actions"],
            &fs_rows
        ),
        transfers = transfer_tables(&session, &back, Party::Customer, &transfers),
    );
    render::page(&session, "/dwolla/customers", &format!("Dwolla customer {}", customer.id), &body)
}

/// `POST /_openiav/dashboard/dwolla/customers/{id}/force`.
pub async fn force_customer(State(state): State<AppState>, Path(id): Path<String>, posted: Posted) -> Response {
    let target = posted.get("status").unwrap_or_default().to_owned();
    let outcome = force::force_customer(&state, posted.session.tenant, &id, &target)
        .await
        .map(|c| format!("Customer {} is now {}.", c.record.id, c.record.status.as_str()));
    after(&posted.back(), outcome)
}

/// `POST /_openiav/dashboard/dwolla/funding-sources/{id}/force`.
pub async fn force_funding_source(State(state): State<AppState>, Path(id): Path<String>, posted: Posted) -> Response {
    let target = posted.get("state").unwrap_or_default().to_owned();
    let outcome = force::force_funding_source(&state, posted.session.tenant, &id, &target).await.map(|(f, _)| {
        let removed = if f.removed { " (removed)" } else { "" };
        format!("Funding source {} is now {}{removed}.", f.id, f.status.as_str())
    });
    after(&posted.back(), outcome)
}

/// `POST /_openiav/dashboard/dwolla/funding-sources/{id}/micro-deposits/force`.
pub async fn force_micro_deposits(State(state): State<AppState>, Path(id): Path<String>, posted: Posted) -> Response {
    let target = posted.get("status").unwrap_or_default().to_owned();
    let outcome = force::force_micro_deposits(&state, posted.session.tenant, &id, &target)
        .await
        .map(|(f, d)| format!("The micro-deposits of funding source {} are now {}.", f.id, d.status.as_str()));
    after(&posted.back(), outcome)
}

/// `POST /_openiav/dashboard/dwolla/transfers/{id}/force`.
pub async fn force_transfer(State(state): State<AppState>, Path(id): Path<String>, posted: Posted) -> Response {
    let target = posted.get("status").unwrap_or_default().to_owned();
    let code = posted.get("return_code").filter(|c| !c.is_empty());
    let outcome = force::force_transfer(&state, posted.session.tenant, &id, &target, code)
        .await
        .map(|()| format!("Transfer {id} forced to {target}."));
    after(&posted.back(), outcome)
}

/// `POST /_openiav/dashboard/dwolla/fire`.
pub async fn fire(State(state): State<AppState>, posted: Posted) -> Response {
    let topic = posted.get("topic").unwrap_or_default().to_owned();
    let resource = posted.get("resource_id").unwrap_or_default().to_owned();
    let outcome = fire::fire_dwolla(&state, posted.session.tenant, &topic, resource).await.map(|(events, _)| {
        let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
        let noun = if ids.len() == 1 { "event" } else { "events" };
        format!("Fired {topic} {noun} {}.", ids.join(", "))
    });
    after(&posted.back(), outcome)
}
