//! The dashboard's HTML: escaping, the page layout (navigation, flash message, logout form),
//! the building blocks the pages share (tables, action forms), the error pages, the security
//! headers every dashboard response carries, and the one stylesheet.

use axum::extract::Request;
use axum::http::header::{self, HeaderValue};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use openiav_core::ops::OverTls;

use super::session::{Flash, Session};
use super::ROOT;

/// The stylesheet, served at `/_openiav/dashboard/assets/style.css`.
pub const STYLESHEET: &str = include_str!("style.css");

/// The policy every dashboard response carries: nothing but same-origin styles, images and
/// form posts; no scripts at all, no framing.
pub const CSP: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
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

/// Adds the security headers to a dashboard response (a middleware over every dashboard route);
/// over TLS, every cookie it sets is `Secure` as well.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let over_tls = request.extensions().get::<OverTls>().is_some();
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    if over_tls {
        let cookies: Vec<HeaderValue> = h.get_all(header::SET_COOKIE).iter().filter_map(secure_cookie).collect();
        h.remove(header::SET_COOKIE);
        for cookie in cookies {
            h.append(header::SET_COOKIE, cookie);
        }
    }
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// A `Set-Cookie` value with the `Secure` attribute.
fn secure_cookie(value: &HeaderValue) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("{}; Secure", value.to_str().ok()?)).ok()
}

pub async fn stylesheet() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLESHEET).into_response()
}

/// The navigation: path under the dashboard and label.
const NAV: &[(&str, &str)] = &[
    ("", "Overview"),
    ("/mx/users", "MX users"),
    ("/mx/webhooks", "MX webhooks"),
    ("/dwolla/account", "Dwolla account"),
    ("/dwolla/customers", "Dwolla customers"),
    ("/events", "Events and webhooks"),
    ("/journal", "Journal"),
    ("/clock", "Clock"),
    ("/faults", "Faults"),
];

fn document(title: &str, header: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · openiav dashboard</title>\
         <link rel=\"stylesheet\" href=\"{ROOT}/assets/style.css\"></head>\
         <body>{header}<main>{body}</main></body></html>\n",
        title = escape(title),
    )
}

fn flash_html(flash: Option<&Flash>) -> String {
    match flash {
        None => String::new(),
        Some(Flash::Ok(msg)) => format!("<p class=\"flash ok\" role=\"status\">{}</p>", escape(msg)),
        Some(Flash::Error(msg)) => format!("<p class=\"flash error\" role=\"alert\">{}</p>", escape(msg)),
    }
}

/// A page of a logged-in session: `section` is the navigation entry it belongs to (a path under
/// the dashboard), `body` HTML already escaped.
pub fn page(session: &Session, section: &str, title: &str, body: &str) -> Response {
    let nav: String = NAV
        .iter()
        .map(|(path, label)| {
            let current = if *path == section { " aria-current=\"page\"" } else { "" };
            format!("<li><a href=\"{ROOT}{path}\"{current}>{label}</a></li>")
        })
        .collect();
    let header = format!(
        "<header><p class=\"brand\"><a href=\"{ROOT}\">openiav sandbox</a></p>\
         <nav aria-label=\"Dashboard\"><ul>{nav}</ul></nav>\
         <form method=\"post\" action=\"{ROOT}/logout\" class=\"logout\">{csrf}\
         <button type=\"submit\">Log out</button></form></header>",
        csrf = csrf_field(session),
    );
    let body = format!("<h1>{}</h1>{}{body}", escape(title), flash_html(session.flash.as_ref()));
    let mut response = html(StatusCode::OK, document(title, &header, &body));
    if session.flash.is_some() {
        super::session::clear_flash(&mut response);
    }
    response
}

/// A page outside a session (login, errors).
pub fn bare(status: StatusCode, title: &str, body: &str) -> Response {
    let header = format!("<header><p class=\"brand\"><a href=\"{ROOT}\">openiav sandbox</a></p></header>");
    html(status, document(title, &header, &format!("<h1>{}</h1>{body}", escape(title))))
}

fn html(status: StatusCode, text: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], text).into_response()
}

/// An error page with a way back.
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    bare(status, title, &format!("<p>{}</p><p><a href=\"{ROOT}\">Back to the dashboard</a></p>", escape(message)))
}

/// The hidden field every action form carries.
pub fn csrf_field(session: &Session) -> String {
    format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", escape(&session.csrf))
}

/// A table with a caption, column headings and rows of cells (HTML already escaped); a
/// sentence instead when there are no rows.
pub fn table(caption: &str, headings: &[&str], rows: &[Vec<String>]) -> String {
    if rows.is_empty() {
        return format!("<h2>{}</h2><p class=\"empty\">None yet.</p>", escape(caption));
    }
    let head: String = headings.iter().map(|h| format!("<th scope=\"col\">{}</th>", escape(h))).collect();
    let body: String = rows
        .iter()
        .map(|cells| format!("<tr>{}</tr>", cells.iter().map(|c| format!("<td>{c}</td>")).collect::<String>()))
        .collect();
    format!(
        "<h2>{caption}</h2><div class=\"scroll\"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>",
        caption = escape(caption)
    )
}

/// An action form posting to `path` (under the dashboard) with the CSRF field, the page to
/// come back to, hidden fields, selects (`name`, accessible label, options; an empty option
/// reads "none") and a button.
pub struct Action<'a> {
    pub path: String,
    pub back: &'a str,
    pub selects: Vec<(&'a str, String, Vec<&'a str>)>,
    pub extra: Vec<(&'a str, String)>,
    pub button: &'a str,
}

impl<'a> Action<'a> {
    /// A form of one button.
    pub fn button(path: impl Into<String>, back: &'a str, button: &'a str) -> Self {
        Self { path: path.into(), back, selects: vec![], extra: vec![], button }
    }

    pub fn render(&self, session: &Session) -> String {
        let selects: String = self
            .selects
            .iter()
            .map(|(name, label, options)| {
                let opts: String = options
                    .iter()
                    .map(|o| {
                        let text = if o.is_empty() { "none" } else { o };
                        format!("<option value=\"{}\">{}</option>", escape(o), escape(text))
                    })
                    .collect();
                format!("<select name=\"{}\" aria-label=\"{}\">{opts}</select>", escape(name), escape(label))
            })
            .collect();
        let extra: String = self
            .extra
            .iter()
            .map(|(name, value)| {
                format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", escape(name), escape(value))
            })
            .collect();
        format!(
            "<form method=\"post\" action=\"{ROOT}{path}\" class=\"action\">{csrf}\
             <input type=\"hidden\" name=\"back\" value=\"{back}\">{extra}{selects}\
             <button type=\"submit\">{button}</button></form>",
            path = escape(&self.path),
            csrf = csrf_field(session),
            back = escape(self.back),
            button = escape(self.button),
        )
    }
}

/// The count of a list shown a page at a time, and links to the newer and older pages.
pub fn pager(path: &str, what: &str, page: super::PageQuery, total: i64) -> String {
    let n = page.number();
    let pages = ((total + super::MAX_ROWS - 1) / super::MAX_ROWS).max(1);
    let link = |to: i64, rel: &str, text: &str| {
        format!("<a href=\"{ROOT}{}?page={to}\" rel=\"{rel}\">{text}</a>", escape(path))
    };
    let newer = if n > 1 { link(n - 1, "prev", "Newer") } else { String::new() };
    let older = if n < pages { link(n + 1, "next", "Older") } else { String::new() };
    format!(
        "<nav class=\"pager\" aria-label=\"Pages of {what}\"><p>{total} {what}, newest first: page {n} of {pages}.</p>{newer}{older}</nav>",
        what = escape(what),
    )
}

/// A link to a page under the dashboard.
pub fn link(path: &str, text: &str) -> String {
    format!("<a href=\"{ROOT}{}\">{}</a>", escape(path), escape(text))
}

/// Text for a cell, escaped; an em dash for nothing.
pub fn cell(text: Option<&str>) -> String {
    match text {
        Some(t) if !t.is_empty() => escape(t),
        _ => "—".to_owned(),
    }
}

/// A `<code>` cell.
pub fn code(text: &str) -> String {
    format!("<code>{}</code>", escape(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_every_character_that_can_open_markup_or_leave_an_attribute() {
        assert_eq!(escape("<script>alert('x')</script>"), "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
        assert_eq!(escape("\" onmouseover=\"x"), "&quot; onmouseover=&quot;x");
        assert_eq!(escape("a & b"), "a &amp; b");
        assert_eq!(escape("&amp;"), "&amp;amp;", "escaping twice shows the escaped text, never markup");
        assert_eq!(escape("plain MBR-1 ünïcode"), "plain MBR-1 ünïcode");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn a_table_escapes_its_caption_and_headings_and_says_when_it_is_empty() {
        assert_eq!(table("<b>", &["x"], &[]), "<h2>&lt;b&gt;</h2><p class=\"empty\">None yet.</p>");
        let t = table("Rows", &["<i>"], &[vec![escape("<x>")]]);
        assert!(t.contains("<th scope=\"col\">&lt;i&gt;</th>") && t.contains("<td>&lt;x&gt;</td>"), "{t}");
    }

    #[test]
    fn an_empty_cell_is_a_dash() {
        assert_eq!(cell(None), "—");
        assert_eq!(cell(Some("")), "—");
        assert_eq!(cell(Some("<")), "&lt;");
    }
}
