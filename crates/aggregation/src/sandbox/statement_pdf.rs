//! The PDF of a sandbox statement: one account's calendar month (institution, masked account
//! number, period, opening and closing balance, and the month's transactions with a running
//! balance), built with lopdf's object model in the PDF standard fonts. The same statement
//! always renders to the same bytes, so its SHA-256 is a stable `content_hash`.

use lopdf::content::{Content, Operation};
use lopdf::{dictionary, Document, Object, ObjectId, Stream};

/// One transaction line of a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementLine {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub description: String,
    /// Money in is positive, money out negative.
    pub amount_cents: i64,
}

/// Everything a statement PDF shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementDocument {
    pub statement_guid: String,
    pub institution_name: String,
    pub account_name: String,
    /// The account number as the statement prints it (`******1234`).
    pub masked_account_number: String,
    /// The month's name (`November 2026`).
    pub period_label: String,
    /// First and last day, `YYYY-MM-DD`.
    pub period_start: String,
    pub period_end: String,
    pub opening_balance_cents: i64,
    pub closing_balance_cents: i64,
    /// Oldest first.
    pub lines: Vec<StatementLine>,
}

/// `$1,234.56`, `-$12.00`.
pub fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let dollars = (abs / 100).to_string();
    let mut grouped = String::with_capacity(dollars.len() + dollars.len() / 3);
    for (i, c) in dollars.chars().enumerate() {
        if i > 0 && (dollars.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}${grouped}.{:02}", abs % 100)
}

/// A signed amount as a statement line shows it: `+$2,450.00`, `-$45.12`.
pub fn signed_money(cents: i64) -> String {
    if cents > 0 {
        format!("+{}", money(cents))
    } else {
        money(cents)
    }
}

const PAGE_WIDTH: i64 = 612;
const PAGE_HEIGHT: i64 = 792;
const LEFT: i64 = 56;
const ROW_HEIGHT: i64 = 15;
const BOTTOM: i64 = 72;
/// Courier's advance at 10 pt: its columns of figures are right-aligned by character count.
const MONO_ADVANCE_TENTHS: i64 = 60;
const AMOUNT_RIGHT: i64 = 470;
const BALANCE_RIGHT: i64 = 556;

/// The standard fonts the statement uses, by resource name.
const FONTS: [(&str, &str); 3] = [("F1", "Helvetica"), ("F2", "Helvetica-Bold"), ("F3", "Courier")];

/// Text in the fonts' WinAnsi encoding: Latin-1 maps onto it; anything else prints as `?`.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars().map(|c| u8::try_from(u32::from(c)).ok().filter(|b| *b < 0x80 || *b >= 0xA0).unwrap_or(b'?')).collect()
}

/// One page's drawing operations.
struct Page {
    ops: Vec<Operation>,
}

impl Page {
    fn new() -> Self {
        Self { ops: Vec::new() }
    }

    fn text(&mut self, font: &str, size: i64, x: i64, y: i64, text: &str) {
        self.ops.extend([
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec![Object::Name(font.as_bytes().to_vec()), size.into()]),
            Operation::new("Td", vec![x.into(), y.into()]),
            Operation::new("Tj", vec![Object::string_literal(win_ansi(text))]),
            Operation::new("ET", vec![]),
        ]);
    }

    /// Figures in Courier 10 pt ending at `right`.
    fn figures(&mut self, right: i64, y: i64, text: &str) {
        let width = (text.len() as i64 * MONO_ADVANCE_TENTHS) / 10;
        self.text("F3", 10, right - width, y, text);
    }

    fn rule(&mut self, y: i64) {
        self.ops.extend([
            Operation::new("w", vec![Object::Real(0.5)]),
            Operation::new("m", vec![LEFT.into(), y.into()]),
            Operation::new("l", vec![(PAGE_WIDTH - LEFT).into(), y.into()]),
            Operation::new("S", vec![]),
        ]);
    }

    fn table_header(&mut self, y: i64) {
        self.text("F2", 10, LEFT, y, "Date");
        self.text("F2", 10, LEFT + 80, y, "Description");
        self.text("F2", 10, AMOUNT_RIGHT - 40, y, "Amount");
        self.text("F2", 10, BALANCE_RIGHT - 42, y, "Balance");
        self.rule(y - 5);
    }
}

/// Lays the statement out on as many pages as its lines need.
fn layout(doc: &StatementDocument) -> Vec<Page> {
    let mut pages = Vec::new();
    let mut page = Page::new();
    let mut y = PAGE_HEIGHT - 72;
    page.text("F2", 18, LEFT, y, &doc.institution_name);
    y -= 22;
    page.text("F1", 12, LEFT, y, "Account Statement");
    y -= 30;
    let facts = [
        ("Account", doc.account_name.clone()),
        ("Account number", doc.masked_account_number.clone()),
        ("Statement period", format!("{} ({} to {})", doc.period_label, doc.period_start, doc.period_end)),
        ("Opening balance", money(doc.opening_balance_cents)),
        ("Closing balance", money(doc.closing_balance_cents)),
    ];
    for (label, value) in facts {
        page.text("F2", 10, LEFT, y, &format!("{label}:"));
        page.text("F1", 10, LEFT + 110, y, &value);
        y -= ROW_HEIGHT;
    }
    y -= 20;
    page.table_header(y);
    y -= ROW_HEIGHT + 4;
    let mut balance = doc.opening_balance_cents;
    page.text("F1", 10, LEFT + 80, y, "Opening balance");
    page.figures(BALANCE_RIGHT, y, &money(balance));
    y -= ROW_HEIGHT;
    for line in &doc.lines {
        if y < BOTTOM {
            pages.push(page);
            page = Page::new();
            y = PAGE_HEIGHT - 72;
            page.table_header(y);
            y -= ROW_HEIGHT + 4;
        }
        balance += line.amount_cents;
        page.text("F1", 10, LEFT, y, &line.date);
        page.text("F1", 10, LEFT + 80, y, &line.description);
        page.figures(AMOUNT_RIGHT, y, &signed_money(line.amount_cents));
        page.figures(BALANCE_RIGHT, y, &money(balance));
        y -= ROW_HEIGHT;
    }
    if y < BOTTOM {
        pages.push(page);
        page = Page::new();
        y = PAGE_HEIGHT - 72;
    }
    page.rule(y + ROW_HEIGHT - 5);
    page.text("F2", 10, LEFT + 80, y, "Closing balance");
    page.figures(BALANCE_RIGHT, y, &money(doc.closing_balance_cents));
    pages.push(page);
    let count = pages.len();
    for (i, p) in pages.iter_mut().enumerate() {
        let footer = format!("Statement {} - page {} of {count}", doc.statement_guid, i + 1);
        p.text("F1", 8, LEFT, 40, &footer);
    }
    pages
}

/// The statement as PDF bytes.
pub fn render(doc: &StatementDocument) -> Result<Vec<u8>, lopdf::Error> {
    let mut pdf = Document::with_version("1.5");
    let pages_id = pdf.new_object_id();
    let mut fonts = lopdf::Dictionary::new();
    for (name, base) in FONTS {
        let id = pdf.add_object(dictionary! {
            "Type" => "Font",
            "Subtype" => "Type1",
            "BaseFont" => base,
            "Encoding" => "WinAnsiEncoding",
        });
        fonts.set(name, id);
    }
    let resources_id = pdf.add_object(dictionary! { "Font" => fonts });
    let mut kids: Vec<Object> = Vec::new();
    for page in layout(doc) {
        let content = Content { operations: page.ops };
        let mut stream = Stream::new(dictionary! {}, content.encode()?);
        // A failed compression keeps the stream as it is, which is just as valid.
        let _ = stream.compress();
        let content_id = pdf.add_object(stream);
        let page_id: ObjectId = pdf.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "Contents" => content_id,
        });
        kids.push(page_id.into());
    }
    let count = kids.len() as i64;
    pdf.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => count,
            "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), PAGE_WIDTH.into(), PAGE_HEIGHT.into()],
        }),
    );
    let catalog_id = pdf.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    let title = format!("{} statement, {}", doc.institution_name, doc.period_label);
    let info_id = pdf.add_object(dictionary! {
        "Title" => Object::string_literal(win_ansi(&title)),
        "Producer" => Object::string_literal("openiav"),
    });
    pdf.trailer.set("Root", catalog_id);
    pdf.trailer.set("Info", info_id);
    let mut out = Vec::new();
    pdf.save_to(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(lines: usize) -> StatementDocument {
        StatementDocument {
            statement_guid: "STA-1".into(),
            institution_name: "MX Bank".into(),
            account_name: "Checking".into(),
            masked_account_number: "******6789".into(),
            period_label: "November 2026".into(),
            period_start: "2026-11-01".into(),
            period_end: "2026-11-30".into(),
            opening_balance_cents: 100_000,
            closing_balance_cents: 100_000 - 1_234 * lines as i64,
            lines: (0..lines)
                .map(|i| StatementLine {
                    date: format!("2026-11-{:02}", i % 30 + 1),
                    description: format!("Grocery Mart {i}"),
                    amount_cents: -1_234,
                })
                .collect(),
        }
    }

    fn text_of(bytes: &[u8]) -> (usize, String) {
        let doc = Document::load_mem(bytes).unwrap();
        let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
        (pages.len(), doc.extract_text(&pages).unwrap())
    }

    #[test]
    fn money_groups_thousands_and_signs_amounts() {
        assert_eq!(money(0), "$0.00");
        assert_eq!(money(5), "$0.05");
        assert_eq!(money(123_456_789), "$1,234,567.89");
        assert_eq!(money(-100_000), "-$1,000.00");
        assert_eq!(signed_money(245_000), "+$2,450.00");
        assert_eq!(signed_money(-4_512), "-$45.12");
    }

    #[test]
    fn a_statement_renders_to_the_same_readable_pdf_every_time() {
        let doc = sample(3);
        let bytes = render(&doc).unwrap();
        assert!(bytes.starts_with(b"%PDF-"));
        assert_eq!(render(&doc).unwrap(), bytes, "deterministic");
        let (pages, text) = text_of(&bytes);
        assert_eq!(pages, 1);
        for needle in ["MX Bank", "******6789", "November 2026", "$1,000.00", "$962.98", "Grocery Mart 2", "-$12.34"] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
    }

    #[test]
    fn long_months_continue_on_further_pages() {
        let (pages, text) = text_of(&render(&sample(90)).unwrap());
        assert!(pages >= 2, "{pages}");
        assert!(text.contains("Grocery Mart 89") && text.contains(&format!("page {pages} of {pages}")));
    }

    #[test]
    fn text_outside_latin_1_prints_as_a_question_mark() {
        assert_eq!(win_ansi("Caf\u{e9} \u{2013} 1"), b"Caf\xe9 ? 1".to_vec());
    }
}
