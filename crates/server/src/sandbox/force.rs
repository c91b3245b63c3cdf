//! (scaffold) `openiav sandbox force`; its owner replaces this file.

use clap::Subcommand;
use serde_json::Value;

use super::ControlClient;

#[derive(Debug, Subcommand)]
pub enum ForceCommand {
    /// (scaffold)
    Show,
}

pub async fn run(_client: &ControlClient, _command: ForceCommand) -> anyhow::Result<Option<Value>> {
    anyhow::bail!("not built yet")
}
