//! (scaffold) `openiav sandbox journal`; its owner replaces this file.

use clap::Args;
use serde_json::Value;

use super::ControlClient;

#[derive(Debug, Args)]
pub struct JournalArgs {}

pub async fn run(_client: &ControlClient, _args: JournalArgs) -> anyhow::Result<Option<Value>> {
    anyhow::bail!("not built yet")
}
