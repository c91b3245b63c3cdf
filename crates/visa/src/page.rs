//! The bank page's screens as HTML: server-rendered forms (no script), every value escaped,
//! the stylesheet from openiav itself, and the headers every screen carries.

use axum::http::{header, HeaderName, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use openiav_core::payments::BankAccountType;

use crate::sandbox::{Bank, TestUser, BANKS};
use crate::{ASSETS_PATH, STEP_PATH};

/// Nothing but openiav's stylesheet and its own forms; the forms' answers may redirect to the
/// app's return address, so form targets are open to http(s). Nobody may frame the bank.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self' http: https:; \
     frame-ancestors 'none'; base-uri 'none'";

fn headers() -> [(HeaderName, &'static str); 5] {
    [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
    ]
}

/// Text safe inside HTML content and double-quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Dollars and cents from cents.
fn dollars(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    let whole = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}${grouped}.{:02}", cents % 100)
}

/// One screen: the Visa frame around `body`, tagged with its step for tests and styles.
fn screen(status: StatusCode, step: &str, title: &str, body: &str) -> Response {
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{title} · Visa</title>\
         <link rel=\"stylesheet\" href=\"{ASSETS_PATH}/visa.css\"></head>\
         <body><div class=\"frame\" data-step=\"{step}\"><header><span class=\"brand\">VISA</span>\
         <span class=\"product\">Account Check</span></header><main>{body}</main>\
         <footer><p>Secured by Visa. Your credentials go to your bank, never to the app.</p></footer></div></body></html>",
        title = escape(title),
        step = escape(step),
    );
    (status, headers(), Html(page)).into_response()
}

fn hidden_page(page_token: &str) -> String {
    format!("<input type=\"hidden\" name=\"page\" value=\"{}\">", escape(page_token))
}

fn cancel_button() -> &'static str {
    "<button class=\"secondary\" type=\"submit\" name=\"action\" value=\"cancel\" formnovalidate>Cancel</button>"
}

/// Step 1: choose a bank.
pub fn banks(page_token: &str) -> Response {
    let choices: String = BANKS
        .iter()
        .map(|b| {
            format!(
                "<li><button class=\"bank\" type=\"submit\" name=\"bank\" value=\"{code}\">\
                 <span class=\"logo\" aria-hidden=\"true\">{initial}</span><span>{name}</span></button></li>",
                code = escape(b.code),
                initial = escape(&b.name[..1]),
                name = escape(b.name),
            )
        })
        .collect();
    let body = format!(
        "<h1>Select your bank</h1><p class=\"lead\">Connect the bank account you want to use. You will sign in \
         with your bank to share its account details.</p>\
         <form method=\"post\" action=\"{STEP_PATH}/bank\">{page}<ul class=\"banks\">{choices}</ul>\
         <div class=\"actions\">{cancel}</div></form>",
        page = hidden_page(page_token),
        cancel = cancel_button(),
    );
    screen(StatusCode::OK, "bank", "Select your bank", &body)
}

/// Step 2: sign in to `bank`, with the bank's message after a failed attempt.
pub fn login(page_token: &str, bank: &Bank, wrong_credentials: bool) -> Response {
    let alert = if wrong_credentials {
        "<p class=\"alert\" role=\"alert\">The username or password you entered is incorrect. Please try again.</p>"
    } else {
        ""
    };
    let body = format!(
        "<h1>Log in to {name}</h1><p class=\"lead\">Enter the credentials you use for {name}'s online banking.</p>\
         {alert}<form method=\"post\" action=\"{STEP_PATH}/login\">{page}\
         <label for=\"username\">Username</label><input id=\"username\" name=\"username\" autocomplete=\"username\" required>\
         <label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" \
         autocomplete=\"current-password\" required>\
         <div class=\"actions\"><button class=\"primary\" type=\"submit\" name=\"action\" value=\"continue\">Log in</button>\
         {cancel}</div></form>",
        name = escape(bank.name),
        page = hidden_page(page_token),
        cancel = cancel_button(),
    );
    screen(StatusCode::OK, "login", "Log in", &body)
}

/// Step 3: consent to sharing the account details.
pub fn consent(page_token: &str, bank: &Bank) -> Response {
    let body = format!(
        "<h1>Share your account details</h1><p class=\"lead\">The app you came from is asking Visa for access to \
         your accounts at {name}. It will receive:</p><ul class=\"scopes\"><li>Account name and type</li>\
         <li>Account and routing numbers</li><li>Balances</li></ul><p class=\"fine\">You can withdraw this \
         consent at any time with the app.</p>\
         <form method=\"post\" action=\"{STEP_PATH}/consent\">{page}<div class=\"actions\">\
         <button class=\"primary\" type=\"submit\" name=\"action\" value=\"continue\">Allow</button>{cancel}</div></form>",
        name = escape(bank.name),
        page = hidden_page(page_token),
        cancel = cancel_button(),
    );
    screen(StatusCode::OK, "consent", "Consent", &body)
}

/// Step 4: choose one of `user`'s accounts.
pub fn accounts(page_token: &str, bank: &Bank, user: &TestUser) -> Response {
    let choices: String = user
        .accounts()
        .iter()
        .enumerate()
        .map(|(i, a)| {
            format!(
                "<li><label class=\"account\"><input type=\"radio\" name=\"account\" value=\"{id}\"{checked}>\
                 <span class=\"name\">{name}</span><span class=\"mask\">{kind} ••••{mask}</span>\
                 <span class=\"balance\">{balance}</span></label></li>",
                id = escape(a.id),
                checked = if i == 0 { " checked" } else { "" },
                name = escape(a.name),
                kind = match a.kind {
                    BankAccountType::Savings => "Savings",
                    _ => "Checking",
                },
                mask = escape(a.mask()),
                balance = escape(&dollars(a.available_cents)),
            )
        })
        .collect();
    let body = format!(
        "<h1>Choose an account</h1><p class=\"lead\">Select the {name} account to connect.</p>\
         <form method=\"post\" action=\"{STEP_PATH}/account\">{page}<ul class=\"accounts\">{choices}</ul>\
         <div class=\"actions\"><button class=\"primary\" type=\"submit\" name=\"action\" value=\"continue\">Connect \
         account</button>{cancel}</div></form>",
        name = escape(bank.name),
        page = hidden_page(page_token),
        cancel = cancel_button(),
    );
    screen(StatusCode::OK, "account", "Choose an account", &body)
}

/// A screen that ends the flow without going back to the app.
pub fn message(status: StatusCode, title: &str, text: &str) -> Response {
    let body = format!("<h1>{}</h1><p class=\"lead\">{}</p>", escape(title), escape(text));
    screen(status, "message", title, &body)
}

/// The link is unknown, already opened or too old.
pub fn link_gone() -> Response {
    message(
        StatusCode::GONE,
        "This link has expired",
        "This bank connection link was already used or is no longer valid. Return to the app and start again.",
    )
}

/// The link's URL is not the one it was minted with.
pub fn link_altered() -> Response {
    message(
        StatusCode::BAD_REQUEST,
        "This link is not valid",
        "This bank connection link was changed on its way here. Return to the app and start again.",
    )
}

/// The page's session is over, or the step was already taken.
pub fn step_gone() -> Response {
    message(
        StatusCode::GONE,
        "This session has ended",
        "This step was already completed or the session is too old. Return to the app and start again.",
    )
}

/// A form the page did not send.
pub fn bad_form() -> Response {
    message(StatusCode::BAD_REQUEST, "Something is missing", "Go back and choose one of the options offered.")
}

/// The store failed.
pub fn unavailable() -> Response {
    message(StatusCode::SERVICE_UNAVAILABLE, "Something went wrong", "Please try again in a moment.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_no_markup() {
        assert_eq!(escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn balances_read_as_dollars() {
        assert_eq!(dollars(125_034), "$1,250.34");
        assert_eq!(dollars(98_000_000), "$980,000.00");
        assert_eq!(dollars(5), "$0.05");
        assert_eq!(dollars(-1_234_567), "-$12,345.67");
    }
}
