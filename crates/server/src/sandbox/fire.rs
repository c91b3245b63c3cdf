//! (scaffold) `openiav sandbox fire`; its owner replaces this file.

use clap::Subcommand;
use serde_json::Value;

use super::ControlClient;

#[derive(Debug, Subcommand)]
pub enum FireCommand {
    /// (scaffold)
    Show,
}

pub async fn run(_client: &ControlClient, _command: FireCommand) -> anyhow::Result<Option<Value>> {
    anyhow::bail!("not built yet")
}
