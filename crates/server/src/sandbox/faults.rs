//! (scaffold) `openiav sandbox faults`; its owner replaces this file.

use clap::Subcommand;
use serde_json::Value;

use super::ControlClient;

#[derive(Debug, Subcommand)]
pub enum FaultsCommand {
    /// (scaffold)
    Show,
}

pub async fn run(_client: &ControlClient, _command: FaultsCommand) -> anyhow::Result<Option<Value>> {
    anyhow::bail!("not built yet")
}
