//! Keeps the conformance suite complete: every public function of the store's API (the query
//! modules in `src/repo/`, the `Store` handle, the backends and the test helpers) must be called
//! from `tests/conformance.rs`, which runs each case on SQLite and on PostgreSQL.
//!
//! Plain text scanning, no parsing: a free function `name` in `src/repo/<module>.rs` counts as
//! called when the suite mentions `<module>::name`; a function in an `impl Type` block when it
//! mentions `Type::name` or `.name(`. Comment lines in the suite do not count.

use std::path::Path;

/// The suite, without its comment lines.
fn suite() -> String {
    include_str!("conformance.rs").lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether `text` holds `needle` as a whole path: not as part of a longer name on either side.
fn mentions(text: &str, needle: &str) -> bool {
    text.match_indices(needle).any(|(i, _)| {
        let before_ok = !needle.starts_with(is_ident) || !text[..i].ends_with(is_ident);
        let after_ok = !needle.ends_with(is_ident) || !text[i + needle.len()..].starts_with(is_ident);
        before_ok && after_ok
    })
}

/// The type an `impl` line is about: `impl Store {` and `impl<T> Trait for Store<T> {` give `Store`.
fn impl_type(line: &str) -> String {
    let mut rest = line.strip_prefix("impl").unwrap_or(line).trim_start();
    if rest.starts_with('<') {
        let mut depth = 0;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '<' => depth += 1,
                    '>' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .map_or(rest.len(), |(i, _)| i + 1);
        rest = rest[end..].trim_start();
    }
    if let Some((_, target)) = rest.split_once(" for ") {
        rest = target.trim_start();
    }
    rest.chars().take_while(|&c| is_ident(c)).collect()
}

/// The name of the function a line declares, if it is a `pub fn` (with any of `const`, `async`,
/// `unsafe` in between); `pub(crate)` and other restricted items are not the public API.
fn public_fn_name(line: &str) -> Option<String> {
    let mut words = line.trim_start().strip_prefix("pub ")?.split_whitespace();
    let mut word = words.next()?;
    while matches!(word, "const" | "async" | "unsafe") {
        word = words.next()?;
    }
    if word != "fn" {
        return None;
    }
    let name: String = words.next()?.chars().take_while(|&c| is_ident(c)).collect();
    (!name.is_empty()).then_some(name)
}

/// One public function: how the report names it, and the mentions that count as a call.
struct Item {
    name: String,
    needles: Vec<String>,
}

/// The public functions `source` declares, free ones as `<module>::name`. Scanning stops at the
/// first `#[cfg(test)]` at the top level (the unit tests at the bottom of a file).
fn public_items(module: &str, file: &str, source: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut current_impl: Option<String> = None;
    for line in source.lines() {
        if line.starts_with("#[cfg(test)]") {
            break;
        }
        let top_level = !line.is_empty() && !line.starts_with(char::is_whitespace);
        if top_level && line.starts_with("impl") {
            current_impl = Some(impl_type(line));
        } else if top_level && !line.starts_with('}') && !line.starts_with('#') && !line.starts_with("//") {
            current_impl = None;
        }
        let Some(name) = public_fn_name(line) else { continue };
        if top_level {
            items.push(Item { name: format!("{module}::{name}"), needles: vec![format!("{module}::{name}")] });
        } else {
            let ty = current_impl.clone().unwrap_or_else(|| {
                panic!("{file}: cannot tell what `pub fn {name}` belongs to (not top level, not in an impl)")
            });
            items.push(Item {
                name: format!("{ty}::{name}"),
                needles: vec![format!("{ty}::{name}"), format!(".{name}(")],
            });
        }
    }
    items
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Every public function of the store crate's API, with its mentions.
fn store_api() -> Vec<Item> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut items = Vec::new();
    // The crate root's free functions are reached as `openiav_store::name`.
    for (file, module) in
        [("lib.rs", "openiav_store"), ("sqlite.rs", "sqlite"), ("postgres.rs", "postgres"), ("testing.rs", "testing")]
    {
        items.extend(public_items(module, file, &read(&src.join(file))));
    }
    let mut repo_files: Vec<_> = std::fs::read_dir(src.join("repo"))
        .expect("list src/repo")
        .map(|e| e.expect("a src/repo entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    repo_files.sort();
    assert!(repo_files.len() >= 15, "src/repo has fewer modules than expected: {repo_files:?}");
    for path in repo_files {
        let stem = path.file_stem().and_then(|s| s.to_str()).expect("a UTF-8 file name").to_owned();
        let module = if stem == "mod" { "repo".to_owned() } else { stem };
        items.extend(public_items(&module, &path.display().to_string(), &read(&path)));
    }
    items
}

#[test]
fn the_scanner_finds_public_functions_and_whole_mentions_only() {
    let source = "\
pub async fn insert(conn: &mut Conn) -> Result<(), E> {
pub fn find_by_key(
pub(crate) fn hidden() {}
fn private() {}
pub struct Thing;
impl Thing {
    pub fn method(&self) {}
    pub async fn open(url: &str) -> Self {}
    fn helper() {}
}
impl<T: Send> Reply for Typed<T> {
    fn succeeded(&self) -> bool {}
}
pub const fn constant() {}
#[cfg(test)]
mod tests {
    pub fn in_tests() {}
}
";
    let names: Vec<String> = public_items("m", "m.rs", source).into_iter().map(|i| i.name).collect();
    assert_eq!(names, ["m::insert", "m::find_by_key", "Thing::method", "Thing::open", "m::constant"]);
    assert_eq!(impl_type("impl<T: Send> Reply for TypedReply<T> {"), "TypedReply");
    assert_eq!(impl_type("impl Store {"), "Store");

    assert!(mentions("x = m::find(c, 1)", "m::find"));
    assert!(mentions(".map(m::find)", "m::find"));
    assert!(!mentions("m::find_by_key(c)", "m::find"), "a longer name is not a mention");
    assert!(!mentions("mm::find(c)", "m::find"), "nor is another module's function");
    assert!(mentions("store.ping().await", ".ping("));
}

#[test]
fn the_store_api_is_read_from_the_sources() {
    let names: Vec<String> = store_api().into_iter().map(|i| i.name).collect();
    for expected in [
        "webhooks::insert_subscription",
        "idempotency::claim",
        "funding_sources::find_micro_deposits",
        "tenants::set_payment_settings",
        "Store::open_with",
        "Store::write",
        "Store::jobs_ready",
        "openiav_store::execute_raw",
        "SqliteDatabase::open",
        "PgDatabase::open",
        "PageRequest::offset",
        "testing::scratch_postgres_url",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} is not among {names:?}");
    }
    assert!(names.len() >= 100, "only {} public functions found: {names:?}", names.len());
    assert!(!names.iter().any(|n| n.ends_with("::from_row") || n.ends_with("::for_update")), "crate-private items");
}

#[test]
fn conformance_calls_every_public_store_function() {
    let suite = suite();
    let missing: Vec<String> = store_api()
        .into_iter()
        .filter(|item| !item.needles.iter().any(|n| mentions(&suite, n)))
        .map(|item| item.name)
        .collect();
    assert!(
        missing.is_empty(),
        "tests/conformance.rs never calls these public store functions; add a conformance case for each \
         (or delete the function if nothing uses it):\n  {}",
        missing.join("\n  ")
    );
}
