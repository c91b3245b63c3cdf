//! The bank page's routes: the link's URL, one form post per step, and the stylesheet. Each
//! handler only reads the form, asks [`link`] to move the page, and renders the next screen or
//! sends the browser back to the app.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use openiav_core::visa::{VisaError, VisaStage};
use openiav_store::records::VisaLinkRecord;
use openiav_store::StoreError;
use serde::Deserialize;

use crate::link::{self, ConnectQuery, Opened, Return};
use crate::sandbox::{self, SignIn};
use crate::{page, AppState};

openiav_core::wire_enum! {
    /// Which button of a step's form was pressed.
    pub enum Action {
        Continue = "continue",
        Cancel = "cancel",
    }
}

/// Every step's form: the page token and the step's own fields.
#[derive(Debug, Default, Deserialize)]
pub struct StepForm {
    page: Option<String>,
    action: Option<String>,
    bank: Option<String>,
    username: Option<String>,
    password: Option<String>,
    account: Option<String>,
}

impl StepForm {
    fn action(&self) -> Option<Action> {
        match self.action.as_deref() {
            None => Some(Action::Continue),
            Some(a) => a.parse().ok(),
        }
    }
}

fn failed(e: StoreError) -> Response {
    tracing::error!(error = %e, "the Visa bank page's store failed");
    page::unavailable()
}

/// Sends the browser back to the app (a form's answer, so See Other: the app's page is a GET).
fn back(r: Return) -> Response {
    Redirect::to(&r.url).into_response()
}

pub async fn connect(State(visa): State<AppState>, query: Result<Query<ConnectQuery>, QueryRejection>) -> Response {
    let Ok(Query(query)) = query else { return page::link_gone() };
    match link::open(&visa, &query).await {
        Ok(Opened::Page(token)) => page::banks(&token),
        Ok(Opened::Gone) => page::link_gone(),
        Ok(Opened::Altered) => page::link_altered(),
        Err(e) => failed(e),
    }
}

/// The live page a form names, at `stage`; the screen to answer with otherwise.
async fn live_page(visa: &AppState, form: &StepForm, stage: VisaStage) -> Result<(VisaLinkRecord, String), Response> {
    let token = form.page.clone().filter(|t| !t.is_empty()).ok_or_else(page::step_gone)?;
    match link::page(visa, &token).await {
        Ok(Some(found)) if found.stage == stage => Ok((found, token)),
        Ok(_) => Err(page::step_gone()),
        Err(e) => Err(failed(e)),
    }
}

/// Ends the page at `stage` with `error`.
async fn end_with(visa: &AppState, token: &str, stage: VisaStage, error: VisaError) -> Response {
    match link::finish_with_error(visa, token, stage, error).await {
        Ok(Some(r)) => back(r),
        Ok(None) => page::step_gone(),
        Err(e) => failed(e),
    }
}

macro_rules! step {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(response) => return response,
        }
    };
}

pub async fn choose_bank(State(visa): State<AppState>, form: Result<Form<StepForm>, FormRejection>) -> Response {
    let Ok(Form(form)) = form else { return page::bad_form() };
    let (_, token) = step!(live_page(&visa, &form, VisaStage::Bank).await);
    if form.action() == Some(Action::Cancel) {
        return end_with(&visa, &token, VisaStage::Bank, VisaError::UserCancelled).await;
    }
    let Some(bank) = form.bank.as_deref().and_then(sandbox::bank) else { return page::bad_form() };
    match link::advance(&visa, &token, VisaStage::Bank, VisaStage::Login, Some(bank), None).await {
        Ok(Some(_)) => page::login(&token, bank, false),
        Ok(None) => page::step_gone(),
        Err(e) => failed(e),
    }
}

pub async fn log_in(State(visa): State<AppState>, form: Result<Form<StepForm>, FormRejection>) -> Response {
    let Ok(Form(form)) = form else { return page::bad_form() };
    let (found, token) = step!(live_page(&visa, &form, VisaStage::Login).await);
    match form.action() {
        Some(Action::Cancel) => return end_with(&visa, &token, VisaStage::Login, VisaError::UserCancelled).await,
        Some(Action::Continue) => {}
        None => return page::bad_form(),
    }
    let Some(bank) = found.bank.as_deref().and_then(sandbox::bank) else { return page::step_gone() };
    let judged =
        sandbox::sign_in(form.username.as_deref().unwrap_or_default(), form.password.as_deref().unwrap_or_default());
    match judged {
        SignIn::WrongCredentials => page::login(&token, bank, true),
        SignIn::Fails(error) => end_with(&visa, &token, VisaStage::Login, error).await,
        SignIn::SignedIn(user) => {
            match link::advance(&visa, &token, VisaStage::Login, VisaStage::Consent, None, Some(user.username)).await {
                Ok(Some(_)) => page::consent(&token, bank),
                Ok(None) => page::step_gone(),
                Err(e) => failed(e),
            }
        }
    }
}

pub async fn consent(State(visa): State<AppState>, form: Result<Form<StepForm>, FormRejection>) -> Response {
    let Ok(Form(form)) = form else { return page::bad_form() };
    let (found, token) = step!(live_page(&visa, &form, VisaStage::Consent).await);
    match form.action() {
        Some(Action::Cancel) => return end_with(&visa, &token, VisaStage::Consent, VisaError::UserCancelled).await,
        Some(Action::Continue) => {}
        None => return page::bad_form(),
    }
    let signed_in = found.bank.as_deref().and_then(sandbox::bank).zip(found.login.as_deref().and_then(sandbox::user));
    let Some((bank, user)) = signed_in else { return page::step_gone() };
    match link::advance(&visa, &token, VisaStage::Consent, VisaStage::Account, None, None).await {
        Ok(Some(_)) => page::accounts(&token, bank, user),
        Ok(None) => page::step_gone(),
        Err(e) => failed(e),
    }
}

pub async fn choose_account(State(visa): State<AppState>, form: Result<Form<StepForm>, FormRejection>) -> Response {
    let Ok(Form(form)) = form else { return page::bad_form() };
    let (found, token) = step!(live_page(&visa, &form, VisaStage::Account).await);
    match form.action() {
        Some(Action::Cancel) => return end_with(&visa, &token, VisaStage::Account, VisaError::UserCancelled).await,
        Some(Action::Continue) => {}
        None => return page::bad_form(),
    }
    let Some(user) = found.login.as_deref().and_then(sandbox::user) else { return page::step_gone() };
    let Some(account) = form.account.as_deref().and_then(|a| user.account(a)) else { return page::bad_form() };
    match link::finish_with_account(&visa, &token, VisaStage::Account, account).await {
        Ok(Some(r)) => back(r),
        Ok(None) => page::step_gone(),
        Err(e) => failed(e),
    }
}

const VISA_CSS: &str = include_str!("../assets/visa.css");

pub async fn asset(Path(file): Path<String>) -> Response {
    if file != "visa.css" {
        return page::message(StatusCode::NOT_FOUND, "Not found", "There is nothing here.");
    }
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        VISA_CSS,
    )
        .into_response()
}
