//! `openiav sandbox fixtures FILE`: loads custom sandbox data (institutions, users with their
//! accounts and transactions) into the tenant; prints what it holds.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use serde_json::Value;

use super::ControlClient;

#[derive(Debug, Args)]
pub struct FixturesArgs {
    /// A fixtures document (see docs/sandbox-fixtures.example.json).
    pub file: PathBuf,
}

pub async fn run(client: &ControlClient, args: FixturesArgs) -> anyhow::Result<Option<Value>> {
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let document: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", args.file.display()))?;
    client.post("/_openiav/fixtures", &document).await
}
