//! (scaffold) `openiav sandbox clock`; its owner replaces this file.

use clap::Subcommand;
use serde_json::Value;

use super::ControlClient;

#[derive(Debug, Subcommand)]
pub enum ClockCommand {
    /// (scaffold)
    Show,
}

pub async fn run(_client: &ControlClient, _command: ClockCommand) -> anyhow::Result<Option<Value>> {
    anyhow::bail!("not built yet")
}
